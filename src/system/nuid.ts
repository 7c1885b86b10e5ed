/**
 * Event ids shaped like nats-server's (NUIDs): 22 base62 characters, a random 12-character
 * prefix and a 10-character sequence that starts at a random value and steps by a random
 * increment, so ids are unique and cheap to make.
 */

const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const PRE_LEN = 12;
const SEQ_LEN = 10;
const MAX_SEQ = 62n ** BigInt(SEQ_LEN);

function randomBig(max: bigint): bigint {
  const b = crypto.getRandomValues(new BigUint64Array(1));
  return b[0] % max;
}

export class Nuid {
  #pre = "";
  #seq = 0n;
  #inc = 0n;

  constructor() {
    this.#reset();
  }

  #reset(): void {
    let p = "";
    for (let i = 0; i < PRE_LEN; i++) p += DIGITS[Number(randomBig(62n))];
    this.#pre = p;
    this.#seq = randomBig(MAX_SEQ / 2n);
    this.#inc = 33n + randomBig(300n);
  }

  next(): string {
    this.#seq += this.#inc;
    if (this.#seq >= MAX_SEQ) this.#reset();
    let n = this.#seq;
    let s = "";
    for (let i = 0; i < SEQ_LEN; i++) {
      s = DIGITS[Number(n % 62n)] + s;
      n /= 62n;
    }
    return this.#pre + s;
  }
}
