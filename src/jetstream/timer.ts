/**
 * A restartable one-shot timer: the few timers a consumer keeps (ack wait, idle heartbeat, pull
 * expiry, inactivity) are each one of these, never one per message.
 */
export class Timer {
  #id: ReturnType<typeof setTimeout> | undefined;
  #due = 0;

  constructor(readonly fn: () => void) {}

  get active(): boolean {
    return this.#id !== undefined;
  }

  /** When it fires (Date.now() clock), 0 when stopped. */
  get due(): number {
    return this.#id === undefined ? 0 : this.#due;
  }

  /** (Re)arms it to fire in `ms`. */
  reset(ms: number): void {
    if (this.#id !== undefined) clearTimeout(this.#id);
    const delay = Math.max(0, ms);
    this.#due = Date.now() + delay;
    this.#id = setTimeout(() => {
      this.#id = undefined;
      this.fn();
    }, delay);
  }

  /** Arms it unless it already fires at or before `ms` from now. */
  atMost(ms: number): void {
    if (this.#id !== undefined && this.#due <= Date.now() + ms) return;
    this.reset(ms);
  }

  stop(): void {
    if (this.#id === undefined) return;
    clearTimeout(this.#id);
    this.#id = undefined;
  }
}
