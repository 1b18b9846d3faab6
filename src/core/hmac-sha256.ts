/**
 * HMAC-SHA-256 (RFC 2104) over two one-shot SHA-256 calls.
 *
 * `createHmac` builds a native Hmac object per call, which costs more than the hashing
 * itself for messages as short as stable6-v1's; `crypto.hash` (Node ≥ 20.12) hashes in
 * one call with no object. The result is the same HMAC, byte for byte: a property test
 * compares it with `createHmac` on random keys and messages.
 */
import { createHmac, hash, type KeyObject } from 'node:crypto';

const BLOCK = 64; // SHA-256 block size (RFC 2104 "B")
const INNER = Buffer.alloc(BLOCK + 1024);
const OUTER = Buffer.alloc(BLOCK + 32);
const oneShot = typeof hash === 'function';

/** HMAC-SHA-256(key, message); `message` at most 1024 bytes on the fast path. */
export function hmacSha256(key: Uint8Array | KeyObject, message: Uint8Array): Buffer {
  if (!oneShot || !(key instanceof Uint8Array) || message.length > INNER.length - BLOCK) {
    return createHmac('sha256', key).update(message).digest();
  }
  // Keys longer than a block are hashed first (RFC 2104 §2); then zero-padded to a block.
  const k = key.length > BLOCK ? hash('sha256', key, 'buffer') : key;
  for (let i = 0; i < BLOCK; i++) {
    const b = i < k.length ? (k[i] as number) : 0;
    INNER[i] = b ^ 0x36;
    OUTER[i] = b ^ 0x5c;
  }
  INNER.set(message, BLOCK);
  const inner = hash('sha256', INNER.subarray(0, BLOCK + message.length), 'buffer');
  inner.copy(OUTER, BLOCK);
  return hash('sha256', OUTER, 'buffer');
}
