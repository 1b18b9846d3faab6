/**
 * `slaacd`: OpenBSD slaacd's `soii` addresses (sbin/slaacd/engine.c `gen_addr`; from the
 * source, not run here: no OpenBSD oracle on this machine).
 *
 * F = SHA-512 over: the FULL 16-byte prefix field of the Router Advertisement's PIO (as
 * received, not masked: bits past the prefix length enter the hash) || the MAC (6 bytes) ||
 * dad counter (int, 4 bytes, host order) || the 16-byte key (`net.inet6.ip6.soiikey`, set
 * from /etc/soii.key).
 * IID = the last 16 bytes of the digest, masked to the bits past the prefix length: for a
 * /64 digest[56..64].
 * No reserved-IID check, no retry limit: a duplicate raises the per-prefix counter by one.
 * Host byte order: little-endian (amd64, arm64) unless told otherwise.
 */
import { createHash } from 'node:crypto';
import type { Ipv6Prefix } from '../prefix.js';
import { addressOf, requireBytes, requireCounter, requirePrefix64, type CompatResult } from './compat-result.js';

export const SLAACD = 'slaacd';

export interface SlaacdInput {
  /** The 16-byte soiikey. */
  secret: Uint8Array;
  prefix: Ipv6Prefix;
  /** The 16-byte prefix field as the RA carried it, when it had bits past the length (default: the prefix). */
  raPrefixField?: Uint8Array;
  hwAddress: Uint8Array;
  dadCounter: number;
}

export function slaacdStableIid(input: SlaacdInput, byteOrder: 'le' | 'be' = 'le'): Uint8Array {
  const counter = Buffer.alloc(4);
  if (byteOrder === 'le') counter.writeInt32LE(input.dadCounter);
  else counter.writeInt32BE(input.dadCounter);
  const digest = createHash('sha512')
    .update(input.raPrefixField ?? input.prefix.address.toBytes())
    .update(input.hwAddress)
    .update(counter)
    .update(input.secret)
    .digest();
  return Uint8Array.from(digest.subarray(56, 64));
}

export function generateSlaacd(input: SlaacdInput, options: { byteOrder?: 'le' | 'be' } = {}): CompatResult {
  requireBytes(SLAACD, 'the soiikey', input.secret, 16, 16);
  const high = requirePrefix64(SLAACD, input.prefix);
  requireBytes(SLAACD, 'the MAC address', input.hwAddress, 6, 6);
  if (input.raPrefixField !== undefined) requireBytes(SLAACD, 'the RA prefix field', input.raPrefixField, 16, 16);
  requireCounter(SLAACD, input.dadCounter, 0x7fffffff);
  const iid = slaacdStableIid(input, options.byteOrder);
  const next = input.dadCounter + 1;
  return { address: addressOf(high, iid), iid, dadCounter: input.dadCounter, nextDadCounter: next > 0x7fffffff ? undefined : next };
}
