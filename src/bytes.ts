/**
 * Joining byte arrays, the one way the code base does it (archives, config tokens, tests). The
 * result is always a new array, so its owner may change it.
 */

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** An empty byte array, shared: nothing can be written into it. */
export const NO_BYTES = new Uint8Array(0);
