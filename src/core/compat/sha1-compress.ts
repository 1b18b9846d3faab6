/**
 * One SHA-1 compression (FIPS 180-4 §6.1.2, steps 1–4 for a single block), without the
 * padding, the length block or the big-endian serialisation of a full SHA-1.
 *
 * Why it exists: the Linux kernel's stable-privacy addresses (`ipv6_generate_stable_address`)
 * run exactly one `sha1_transform` over a 64-byte block and read the raw state words. That is
 * not SHA1(block), and node:crypto has no way to expose one compression, so it lives here.
 */

/** FIPS 180-4 §5.3.1: the initial hash value H(0). */
export const SHA1_INITIAL_STATE: readonly number[] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];

/**
 * Compresses one 64-byte block (read as 16 big-endian words, as SHA-1 does) into `state`
 * (default: the initial state) and returns the five new state words (unsigned 32-bit).
 */
export function sha1Compress(block: Uint8Array, state: readonly number[] = SHA1_INITIAL_STATE): number[] {
  if (block.length !== 64) throw new RangeError(`a SHA-1 block is 64 bytes, got ${block.length}`);
  if (state.length !== 5) throw new RangeError(`a SHA-1 state is 5 words, got ${state.length}`);
  const w = new Uint32Array(80);
  const view = new DataView(block.buffer, block.byteOffset, 64);
  for (let t = 0; t < 16; t++) w[t] = view.getUint32(t * 4);
  for (let t = 16; t < 80; t++) {
    const x = (w[t - 3] ?? 0) ^ (w[t - 8] ?? 0) ^ (w[t - 14] ?? 0) ^ (w[t - 16] ?? 0);
    w[t] = (x << 1) | (x >>> 31);
  }
  let [a, b, c, d, e] = state as [number, number, number, number, number];
  for (let t = 0; t < 80; t++) {
    let f: number;
    let k: number;
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    const temp = (((a << 5) | (a >>> 27)) + f + e + k + (w[t] ?? 0)) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = temp;
  }
  return [
    ((state[0] ?? 0) + a) >>> 0,
    ((state[1] ?? 0) + b) >>> 0,
    ((state[2] ?? 0) + c) >>> 0,
    ((state[3] ?? 0) + d) >>> 0,
    ((state[4] ?? 0) + e) >>> 0,
  ];
}
