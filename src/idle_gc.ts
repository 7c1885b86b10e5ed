/**
 * Gives memory back when a load stops. V8 collects when allocation demands it, and its memory
 * reducer shrinks the heap only after it judges the allocation rate low, which took more than
 * 10 s after a connection storm or a burst of new subjects (measured): until then the server
 * kept the heap, and the RSS, the load had grown. Here the server's shared tick watches its own
 * activity and, once it has been quiet for QUIET_MS after enough work, asks V8 for one full,
 * memory-reducing collection, then has the C heap hand back the pages the collection freed
 * (malloc_trim.ts): the buffers a load leaves behind, TLS ones above all, live there, and without
 * the trim their memory stayed in the process after they were freed.
 *
 * This needs `gc` from V8's `--expose-gc`, which `deno task start` and the release builds pass
 * (see README, Performance). Without it (a server embedded in a test, or run without the flags)
 * nothing is done and V8's own heuristics apply.
 */

import { trimNativeHeap } from "./malloc_trim.ts";

/** V8's gc() with the options it accepts under --expose-gc. */
type GcFunction = (options?: { type?: string; execution?: string; flavor?: string }) => void;

/** How long without activity before collecting (the tick runs at least once a second). */
const QUIET_MS = 1500;
/**
 * Messages and connections since the last collection that make one worth it: a thousand
 * connections leave tens of MB behind, and a collection of a quiet heap costs a few ms.
 */
const MIN_WORK = 1000;

export class IdleCollector {
  readonly #gc: GcFunction | undefined;
  readonly #trim: () => unknown;
  #lastWork = 0;
  #workAtCollect = 0;
  #quietSince = 0;
  /** Collections done, for tests and curiosity. */
  collections = 0;

  /** `trim` returns freed native memory to the OS after each collection. */
  constructor(gc = (globalThis as { gc?: GcFunction }).gc, trim: () => unknown = trimNativeHeap) {
    this.#gc = gc;
    this.#trim = trim;
  }

  get enabled(): boolean {
    return this.#gc !== undefined;
  }

  /** Called on each shared tick with a counter that moves with any work (messages, connections). */
  tick(work: number, now: number): void {
    if (this.#gc === undefined) return;
    if (work !== this.#lastWork) {
      this.#lastWork = work;
      this.#quietSince = now;
      return;
    }
    if (now - this.#quietSince < QUIET_MS || work - this.#workAtCollect < MIN_WORK) return;
    this.#workAtCollect = work;
    this.collections++;
    // "last-resort" is V8's most thorough collection: it compacts and releases freed pages.
    this.#gc({ type: "major", execution: "sync", flavor: "last-resort" });
    this.#trim();
  }
}
