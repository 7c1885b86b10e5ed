/**
 * NATS unique identifiers (the nuid package nats-server uses for advisory ids): 22 base-62
 * characters, a random 12-character prefix and a 10-character sequence that advances by a random
 * step, so ids are unique without coordination and cheap to make.
 */

const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const PRE_LEN = 12;
const SEQ_LEN = 10;
const MAX_SEQ = 62 ** 10;
const MIN_INC = 33;
const MAX_INC = 333;

function randomInt(n: number): number {
  const b = new Uint32Array(1);
  crypto.getRandomValues(b);
  return b[0] % n;
}

export class Nuid {
  #pre = "";
  #seq = 0;
  #inc = 0;

  constructor() {
    this.#reset();
  }

  #reset(): void {
    const b = new Uint8Array(PRE_LEN);
    crypto.getRandomValues(b);
    let pre = "";
    for (const x of b) pre += DIGITS[x % 62];
    this.#pre = pre;
    this.#seq = randomInt(MAX_SEQ / 1e6) * 1e6 + randomInt(1e6);
    this.#inc = MIN_INC + randomInt(MAX_INC - MIN_INC);
  }

  next(): string {
    this.#seq += this.#inc;
    if (this.#seq >= MAX_SEQ) this.#reset();
    let s = "";
    let l = this.#seq;
    for (let i = 0; i < SEQ_LEN; i++) {
      s = DIGITS[l % 62] + s;
      l = Math.floor(l / 62);
    }
    return this.#pre + s;
  }
}

/** The process-wide generator. */
export const nuid = new Nuid();
