/**
 * `systemd-networkd`: networkd's `Token=prefixstable` addresses
 * (src/network/networkd-address-generation.c; the vector is networkd's own integration test,
 * checked with networkd 252).
 *
 * F = SipHash-2-4 (16-byte key) over, with no separators:
 *   prefix (8 bytes) || interface name (no NUL) || the CURRENT hardware address
 *   (`hw_addr.length` bytes; InfiniBand: its last 8) || the SSID (no NUL; only on an
 *   associated Wi-Fi link, since v255) || u8 dad counter
 * IID = the 64-bit result stored little-endian.
 *
 * Key: the UUID in `Token=prefixstable[:PREFIX][,UUID]`, else the machine's app-specific id
 * for NDisc (secret-formats.ts `networkdAppSpecificKey`).
 *
 * QUIRK (reproduced): its reserved-range check (`stable_private_address_is_valid`) tests the
 * PREFIX half of the address against ::/64, 0200:5eff:fe00::/40 and fdff:ffff:ffff:ff80::/57,
 * never the IID. So every IID is accepted, and for a prefix inside those ranges counters 0..2
 * all fail; networkd then falls back to EUI-64 from the current MAC (Ethernet), which this
 * mode reproduces (`fallback: 'eui64'`).
 *
 * Retries: the counter moves only on that (prefix) check; networkd makes no new address after a
 * DAD failure (nextDadCounter is undefined), so the only meaningful input counter is 0.
 */
import type { Ipv6Prefix } from '../prefix.js';
import { siphash24 } from './siphash.js';
import { addressOf, compatInput, exhausted, requireBytes, requireCounter, requirePrefix64, type CompatResult } from './compat-result.js';

export const SYSTEMD_NETWORKD = 'systemd-networkd';
/** DAD_CONFLICTS_IDGEN_RETRIES_RFC7217 */
export const NETWORKD_IDGEN_RETRIES = 3;

export interface NetworkdInput {
  /** The 16-byte key (the Token's UUID, or the app-specific machine id). */
  key: Uint8Array;
  prefix: Ipv6Prefix;
  ifname: string;
  /** The current hardware address as the link reports it (6 bytes on Ethernet, 20 on InfiniBand). */
  hwAddress: Uint8Array;
  /** The SSID of an associated Wi-Fi link (networkd ≥ 255), else omitted. */
  ssid?: Uint8Array;
  dadCounter: number;
}

/** F for one counter: the raw 8-byte IID. */
export function networkdStableIid(input: NetworkdInput): Uint8Array {
  const name = Buffer.from(input.ifname, 'utf8');
  // InfiniBand addresses are 20 bytes and only their last 8 are stable (RFC 4391 §8).
  const hw = input.hwAddress.length === 20 ? input.hwAddress.subarray(12) : input.hwAddress;
  const message = Buffer.concat([
    input.prefix.address.toBytes().subarray(0, 8),
    name,
    hw,
    input.ssid ?? new Uint8Array(0),
    Uint8Array.of(input.dadCounter & 0xff),
  ]);
  const iid = new Uint8Array(8);
  new DataView(iid.buffer).setBigUint64(0, siphash24(input.key, message), true);
  return iid;
}

/** networkd's check, applied (wrongly) to the first 8 bytes of the address: the prefix. */
export function networkdPrefixLooksReserved(prefixHigh8: Uint8Array): boolean {
  const b = (i: number): number => prefixHigh8[i] ?? 0;
  if (prefixHigh8.subarray(0, 8).every((x) => x === 0)) return true;
  if (b(0) === 0x02 && b(1) === 0x00 && b(2) === 0x5e && b(3) === 0xff && b(4) === 0xfe) return true;
  return b(0) === 0xfd && b(1) === 0xff && b(2) === 0xff && b(3) === 0xff && b(4) === 0xff && b(5) === 0xff && b(6) === 0xff && (b(7) & 0x80) !== 0;
}

/** RFC 4291 §2.5.1 modified EUI-64 from a 48-bit MAC. */
export function eui64Iid(mac: Uint8Array): Uint8Array {
  return Uint8Array.of((mac[0] ?? 0) ^ 0x02, mac[1] ?? 0, mac[2] ?? 0, 0xff, 0xfe, mac[3] ?? 0, mac[4] ?? 0, mac[5] ?? 0);
}

export function generateNetworkd(input: NetworkdInput): CompatResult {
  requireBytes(SYSTEMD_NETWORKD, 'the key', input.key, 16, 16);
  const high = requirePrefix64(SYSTEMD_NETWORKD, input.prefix);
  requireBytes(SYSTEMD_NETWORKD, 'the current hardware address', input.hwAddress, 0, 32);
  if (input.ifname.length === 0) throw compatInput(`${SYSTEMD_NETWORKD}: the interface name is required`);
  requireCounter(SYSTEMD_NETWORKD, input.dadCounter, 255);
  if (input.dadCounter !== 0) {
    throw exhausted(SYSTEMD_NETWORKD, input.prefix, 'networkd makes no new prefixstable address after a DAD failure (its counter always starts at 0)');
  }
  if (!networkdPrefixLooksReserved(high)) {
    const iid = networkdStableIid(input);
    return { address: addressOf(high, iid), iid, dadCounter: 0, nextDadCounter: undefined };
  }
  // Counters 0..2 all "fail" on the prefix; the only token failed, so networkd uses EUI-64.
  if (input.hwAddress.length !== 6) {
    throw exhausted(SYSTEMD_NETWORKD, input.prefix, 'the prefix trips networkd\'s (prefix-half) reserved check and the link has no MAC for its EUI-64 fallback');
  }
  const iid = eui64Iid(input.hwAddress);
  return { address: addressOf(high, iid), iid, dadCounter: NETWORKD_IDGEN_RETRIES - 1, nextDadCounter: undefined, fallback: 'eui64' };
}
