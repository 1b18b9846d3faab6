/**
 * HMAC-SHA-256 (RFC 2104) over two one-shot SHA-256 calls.
 *
 * `createHmac` builds a native Hmac object per call, which costs as much as the hashing
 * itself for messages as short as stable6-v1's; `crypto.hash` (Node ≥ 20.12) hashes in
 * one call with no object. The result is the same HMAC, byte for byte: a property test
 * compares it with `createHmac` on random keys and messages.
 *
 * For the hot path, callers write the message straight into `MESSAGE` (a view that
 * starts one block into the inner buffer) and call `hmacOverMessage`, so the message is
 * never copied. Everything here is synchronous, so one set of buffers serves all callers.
 */
import { createHmac, hash, type KeyObject } from 'node:crypto';

const BLOCK = 64; // SHA-256 block size (RFC 2104 "B")
export const MAX_MESSAGE = 1024;
const INNER = Buffer.alloc(BLOCK + MAX_MESSAGE);
const OUTER = Buffer.alloc(BLOCK + 32);
const oneShot = typeof hash === 'function';

/** Where `hmacOverMessage` reads its message from (MAX_MESSAGE bytes). */
export const MESSAGE = INNER.subarray(BLOCK);

/** Views of INNER by message length, made once each: a view per call costs more than the copy it saves. */
const INNER_VIEWS: Buffer[] = [];

let padsFor: Uint8Array | undefined;
const padsKey = Buffer.alloc(BLOCK);

/** Sets K ⊕ ipad and K ⊕ opad for `key`, unless they are already set for the same bytes. */
function preparePads(key: Uint8Array): void {
  // Keys longer than a block are hashed first (RFC 2104 §2); then zero-padded to a block.
  const k = key.length > BLOCK ? hash('sha256', key, 'buffer') : key;
  if (padsFor === key && padsKey.compare(k, 0, k.length, 0, k.length) === 0 && k.length === padsLength) return;
  padsKey.fill(0);
  padsKey.set(k);
  padsLength = k.length;
  for (let i = 0; i < BLOCK; i++) {
    INNER[i] = (padsKey[i] as number) ^ 0x36;
    OUTER[i] = (padsKey[i] as number) ^ 0x5c;
  }
  padsFor = key;
}
let padsLength = -1;

/** HMAC-SHA-256(key, MESSAGE[0..length)). */
export function hmacOverMessage(key: Uint8Array | KeyObject, length: number): Buffer {
  if (!oneShot || !(key instanceof Uint8Array)) return createHmac('sha256', key).update(MESSAGE.subarray(0, length)).digest();
  preparePads(key);
  const view = (INNER_VIEWS[length] ??= INNER.subarray(0, BLOCK + length));
  const inner = hash('sha256', view, 'buffer');
  inner.copy(OUTER, BLOCK);
  return hash('sha256', OUTER, 'buffer');
}

/** HMAC-SHA-256(key, message). */
export function hmacSha256(key: Uint8Array | KeyObject, message: Uint8Array): Buffer {
  if (!oneShot || !(key instanceof Uint8Array) || message.length > MAX_MESSAGE) {
    return createHmac('sha256', key).update(message).digest();
  }
  MESSAGE.set(message);
  return hmacOverMessage(key, message.length);
}
