/**
 * `dhcpcd`: dhcpcd's `slaac private` addresses (ipv6.c `ipv6_makestableprivate1`; checked
 * against the real dhcpcd 9.4.1 from Debian in a namespace, see test/integration/compat-dhcpcd.test.ts).
 *
 * F = SHA-256 over one buffer:
 *   prefix (ceil(prefixlen/8) bytes: 8 for a /64) || the CURRENT hardware address ||
 *   the SSID (raw, wireless only) || VLAN id (u16, host byte order, only when non-zero) ||
 *   dad counter (u32, host byte order) || secret
 * IID = the last 8 bytes of the digest (for a /64).
 *
 * QUIRKS (reproduced):
 * - Its reserved table has low and high swapped, so only IID 0 is ever rejected.
 * - After a reserved hit the loop hashes again with a buffer length that was overwritten by
 *   16 - prefix bytes, i.e. SHA-256 of the first 8 bytes of the buffer (the prefix alone),
 *   whatever the counter: `dhcpcdRetryIid`. (Reached only when F gives IID 0.)
 * Retries: after a DAD failure dhcpcd uses the counter the address was made with + 1 and gives
 * up when that reaches 3 (IDGEN_RETRIES); nextDadCounter follows that source behaviour.
 * OBSERVED on Linux (dhcpcd 9.4.1, kernel 6.18): the retry never happens. The kernel deletes a
 * duplicate global address (finite lifetimes) and dhcpcd takes that for a plain deletion and
 * adds the same counter-0 address again at the next RA; a duplicate link-local stays
 * `dadfailed` and dhcpcd waits for it forever. So on Linux a dhcpcd address is counter 0.
 * Host byte order: little-endian unless told otherwise.
 */
import { createHash } from 'node:crypto';
import type { Ipv6Prefix } from '../prefix.js';
import { addressOf, compatInput, exhausted, requireBytes, requireCounter, requirePrefix64, type CompatResult } from './compat-result.js';

export const DHCPCD = 'dhcpcd';
export const DHCPCD_IDGEN_RETRIES = 3;

export interface DhcpcdInput {
  /** The bytes of dhcpcd's `secret` file (secret-formats.ts `parseDhcpcdSecret`). */
  secret: Uint8Array;
  prefix: Ipv6Prefix;
  /** The current hardware address (`ifp->hwaddr`, `hwlen` bytes). */
  hwAddress: Uint8Array;
  ssid?: Uint8Array;
  /** 0 = none (not hashed). */
  vlanId?: number;
  dadCounter: number;
}

export interface DhcpcdOptions {
  byteOrder?: 'le' | 'be';
}

function message(input: DhcpcdInput, counter: number, le: boolean): Buffer {
  const high = input.prefix.address.toBytes().subarray(0, 8);
  const vlan = input.vlanId ?? 0;
  const vlanBytes = Buffer.alloc(vlan !== 0 ? 2 : 0);
  if (vlan !== 0) {
    if (le) vlanBytes.writeUInt16LE(vlan);
    else vlanBytes.writeUInt16BE(vlan);
  }
  const counterBytes = Buffer.alloc(4);
  if (le) counterBytes.writeUInt32LE(counter >>> 0);
  else counterBytes.writeUInt32BE(counter >>> 0);
  return Buffer.concat([high, input.hwAddress, input.ssid ?? new Uint8Array(0), vlanBytes, counterBytes, input.secret]);
}

/** F for one counter: the raw 8-byte IID. */
export function dhcpcdStableIid(input: DhcpcdInput, counter: number, options: DhcpcdOptions = {}): Uint8Array {
  const digest = createHash('sha256').update(message(input, counter, (options.byteOrder ?? 'le') === 'le')).digest();
  return Uint8Array.from(digest.subarray(24, 32));
}

/** What dhcpcd's loop computes after a reserved hit: SHA-256 of the prefix bytes only (its length bug). */
export function dhcpcdRetryIid(prefix: Ipv6Prefix): Uint8Array {
  return Uint8Array.from(createHash('sha256').update(prefix.address.toBytes().subarray(0, 8)).digest().subarray(24, 32));
}

/** dhcpcd's `ipv6_reserved`: with its swapped bounds only IID 0 matches. */
export function dhcpcdIsReservedIid(iid: Uint8Array): boolean {
  return iid.subarray(0, 8).every((b) => b === 0);
}

export function generateDhcpcd(input: DhcpcdInput, options: DhcpcdOptions = {}): CompatResult {
  requireBytes(DHCPCD, 'the secret', input.secret, 1, 1024);
  const high = requirePrefix64(DHCPCD, input.prefix);
  requireBytes(DHCPCD, 'the current hardware address', input.hwAddress, 0, 32);
  if (input.ssid) requireBytes(DHCPCD, 'the SSID', input.ssid, 0, 32);
  const vlan = input.vlanId ?? 0;
  if (!Number.isInteger(vlan) || vlan < 0 || vlan > 4095) throw compatInput(`${DHCPCD}: the VLAN id must be 0 to 4095, got ${vlan}`);
  requireCounter(DHCPCD, input.dadCounter, 0xffffffff);
  if (input.dadCounter >= DHCPCD_IDGEN_RETRIES) {
    throw exhausted(DHCPCD, input.prefix, `counter ${input.dadCounter} is past dhcpcd's ${DHCPCD_IDGEN_RETRIES} tries`);
  }
  let counter = input.dadCounter;
  let iid = dhcpcdStableIid(input, counter, options);
  // Only IID 0 ever counts as reserved; from then on the buffer length bug hashes the prefix alone.
  while (dhcpcdIsReservedIid(iid)) {
    counter = (counter + 1) >>> 0;
    iid = dhcpcdRetryIid(input.prefix);
    if (dhcpcdIsReservedIid(iid)) throw exhausted(DHCPCD, input.prefix, 'dhcpcd would loop forever here');
  }
  const next = counter + 1;
  return { address: addressOf(high, iid), iid, dadCounter: counter, nextDadCounter: next >= DHCPCD_IDGEN_RETRIES ? undefined : next };
}
