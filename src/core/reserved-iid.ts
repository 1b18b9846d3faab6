/**
 * Reserved IPv6 interface identifiers (IANA registry, RFC 5453), widened to match the
 * Linux kernel's `ipv6_reserved_interfaceid()`. stable6-v1 never uses one of these.
 *
 * - 0000:0000:0000:0000                         Subnet-Router anycast (RFC 4291 §2.6.1)
 * - 0200:5eff:fe00:0000 – 0200:5eff:feff:ffff   IANA Ethernet block / Proxy Mobile IPv6 (RFC 5453, RFC 6543)
 * - fdff:ffff:ffff:ff80 – fdff:ffff:ffff:ffff   reserved subnet anycast (RFC 2526)
 */
export function isReservedIid(iid: Uint8Array, offset = 0): boolean {
  const b = (i: number): number => iid[offset + i] ?? 0;
  if (b(0) === 0 && b(1) === 0 && b(2) === 0 && b(3) === 0 && b(4) === 0 && b(5) === 0 && b(6) === 0 && b(7) === 0) {
    return true;
  }
  if (b(0) === 0x02 && b(1) === 0x00 && b(2) === 0x5e && b(3) === 0xff && b(4) === 0xfe) return true;
  return (
    b(0) === 0xfd &&
    b(1) === 0xff &&
    b(2) === 0xff &&
    b(3) === 0xff &&
    b(4) === 0xff &&
    b(5) === 0xff &&
    b(6) === 0xff &&
    (b(7) & 0x80) === 0x80
  );
}
