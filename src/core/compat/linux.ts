/**
 * `linux`: the address the Linux kernel gives with `addr_gen_mode=2` (stable privacy) and a
 * `stable_secret` (net/ipv6/addrconf.c `ipv6_generate_stable_address`, since 4.1; checked
 * against kernel 6.18 in network namespaces, see test/integration/compat-linux.test.ts).
 *
 * F (one 64-byte block, zero-filled):
 *   [0..16)  the secret (the 16 bytes of `stable_secret`, written to sysctl as IPv6 text)
 *   [16..24) the first 8 bytes of the prefix
 *   [24..56) the device's PERMANENT hardware address (`perm_addr`, `addr_len` bytes, rest 0);
 *            all-zero on veth, bridges and most virtual NICs; the current MAC never enters
 *   [56]     dad_count (u8), then zeros
 * IID = state words h0, h1 of ONE SHA-1 compression of that block from the standard initial
 * state (no padding, no length: it is not SHA1(block)), each stored in CPU byte order: on
 * little-endian hosts IID = LE32(h0) || LE32(h1).
 *
 * Reserved IIDs (`ipv6_reserved_interfaceid`): 0; the IANA Ethernet block tested with the mask
 * 0xfe000000 on the last word, so 0200:5eff:fe00:0000 – 0200:5eff:ffff:ffff (QUIRK: wider than
 * RFC 5453's ...:feff:ffff, reproduced); fdff:ffff:ffff:ff80 – fdff:ffff:ffff:ffff. A reserved
 * hit re-hashes with dad_count + 1 and gives up when dad_count > idgen_retries (default 3).
 *
 * Retries (`addrconf_dad_failure`): the kernel counts DAD retries in the address
 * (`stable_privacy_retry`), not the dad_count the hash used. Retry r starts hashing at r.
 * QUIRK: when a reserved hit moved an address to dad_count r+1, its retry r+1 starts at r+1
 * and yields the same address again. Reproduced: nextDadCounter = start + 1.
 * The same function makes the fe80::/64 link-local address. Only /64 prefixes.
 */
import type { Ipv6Prefix } from '../prefix.js';
import { sha1Compress } from './sha1-compress.js';
import { addressOf, exhausted, requireBytes, requireCounter, requirePrefix64, type CompatResult } from './compat-result.js';

export const LINUX = 'linux';
/** MAX_ADDR_LEN: the size of the hardware-address field in the block. */
export const LINUX_MAX_ADDR_LEN = 32;
/** net.ipv6.idgen_retries default. */
export const LINUX_IDGEN_RETRIES = 3;

export interface LinuxInput {
  /** The 16 bytes of `stable_secret` (the interface's, else net.ipv6.conf.default's). */
  secret: Uint8Array;
  prefix: Ipv6Prefix;
  /** `perm_addr`, `addr_len` bytes (6 on Ethernet); empty or all-zero on veth. */
  permHwAddress?: Uint8Array;
  /** The DAD retry number (0 for the first address): where the hash starts. */
  dadCounter: number;
}

export interface LinuxOptions {
  /** net.ipv6.idgen_retries (default 3). */
  idgenRetries?: number;
  /** The CPU byte order the state words are stored in (default little-endian: x86, arm64). */
  byteOrder?: 'le' | 'be';
}

/** The kernel's `ipv6_reserved_interfaceid` on 8 IID bytes (note the wide Ethernet-block mask). */
export function linuxIsReservedIid(iid: Uint8Array): boolean {
  const v = new DataView(iid.buffer, iid.byteOffset, 8);
  const w2 = v.getUint32(0);
  const w3 = v.getUint32(4);
  if ((w2 | w3) === 0) return true;
  if (w2 === 0x02005eff && (w3 & 0xfe000000) >>> 0 === 0xfe000000) return true;
  return w2 === 0xfdffffff && (w3 & 0xffffff80) >>> 0 === 0xffffff80;
}

/** F for one dad_count: the raw 8-byte IID, no reserved check. */
export function linuxStableIid(
  secret: Uint8Array,
  prefixHigh8: Uint8Array,
  permHwAddress: Uint8Array,
  dadCount: number,
  byteOrder: 'le' | 'be' = 'le',
): Uint8Array {
  const block = new Uint8Array(64);
  block.set(secret.subarray(0, 16), 0);
  block.set(prefixHigh8.subarray(0, 8), 16);
  block.set(permHwAddress.subarray(0, LINUX_MAX_ADDR_LEN), 24);
  block[56] = dadCount & 0xff;
  const [h0 = 0, h1 = 0] = sha1Compress(block);
  const iid = new Uint8Array(8);
  const view = new DataView(iid.buffer);
  view.setUint32(0, h0, byteOrder === 'le');
  view.setUint32(4, h1, byteOrder === 'le');
  return iid;
}

/** The address the kernel makes for this retry number, or ERR_GEN_EXHAUSTED where it makes none. */
export function generateLinux(input: LinuxInput, options: LinuxOptions = {}): CompatResult {
  const secret = requireBytes(LINUX, 'the stable_secret', input.secret, 16, 16);
  const high = requirePrefix64(LINUX, input.prefix);
  const perm = requireBytes(LINUX, 'the permanent hardware address', input.permHwAddress ?? new Uint8Array(0), 0, LINUX_MAX_ADDR_LEN);
  const retries = options.idgenRetries ?? LINUX_IDGEN_RETRIES;
  requireCounter(LINUX, retries, 255);
  requireCounter(LINUX, input.dadCounter, 255);
  if (input.dadCounter > retries) {
    throw exhausted(LINUX, input.prefix, `retry ${input.dadCounter} is past idgen_retries (${retries})`);
  }
  for (let count = input.dadCounter; count <= retries; count++) {
    const iid = linuxStableIid(secret, high, perm, count, options.byteOrder);
    if (linuxIsReservedIid(iid)) continue;
    const next = input.dadCounter + 1;
    return { address: addressOf(high, iid), iid, dadCounter: count, nextDadCounter: next > retries ? undefined : next };
  }
  throw exhausted(LINUX, input.prefix, `every dad_count from ${input.dadCounter} to ${retries} gave a reserved IID`);
}
