/**
 * Reserved IPv6 interface identifiers (IANA registry, RFC 5453), widened to match the
 * Linux kernel's `ipv6_reserved_interfaceid()`. stable6-v1 never uses one of these.
 *
 * - 0000:0000:0000:0000                         Subnet-Router anycast (RFC 4291 §2.6.1)
 * - 0200:5eff:fe00:0000 – 0200:5eff:feff:ffff   IANA Ethernet block / Proxy Mobile IPv6 (RFC 5453, RFC 6543)
 * - fdff:ffff:ffff:ff80 – fdff:ffff:ffff:ffff   reserved subnet anycast (RFC 2526)
 */
export function isReservedIid(iid: Uint8Array, offset = 0): boolean {
  if (iid.length < offset + 8) throw new RangeError('an interface identifier is 8 bytes');
  const at = (i: number): number => iid[offset + i] as number;
  const high = ((at(0) << 24) | (at(1) << 16) | (at(2) << 8) | at(3)) >>> 0;
  const low = ((at(4) << 24) | (at(5) << 16) | (at(6) << 8) | at(7)) >>> 0;
  if (high === 0 && low === 0) return true;
  if (high === 0x02005eff && low >>> 24 === 0xfe) return true;
  return high === 0xfdffffff && low >= 0xffffff80;
}
