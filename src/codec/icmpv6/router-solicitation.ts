/**
 * Router Solicitation (RFC 4861 §4.1), pure.
 *
 *   type 133, code 0, checksum, 4 reserved bytes, options.
 *
 * The checksum is left zero: on a raw ICMPv6 socket the kernel computes it (RFC 3542 §3.1),
 * because it covers the IPv6 pseudo-header the kernel fills in.
 */
import { Stable6Error } from '../../errors.js';

export const ICMPV6_ROUTER_SOLICITATION = 133;
export const ND_OPT_SOURCE_LINK_LAYER_ADDRESS = 1;

export interface RouterSolicitation {
  /**
   * RFC 4861 §4.1: "The link-layer address of the sender, if known. MUST NOT be included if
   * the Source Address is the unspecified address."
   */
  sourceLinkLayerAddress?: Uint8Array;
}

export function encodeRouterSolicitation(rs: RouterSolicitation): Uint8Array {
  const lla = rs.sourceLinkLayerAddress;
  // The option's length counts 8-octet units, including its 2-byte type/length (RFC 4861 §4.6.1).
  const optionUnits = lla && lla.length > 0 ? Math.ceil((2 + lla.length) / 8) : 0;
  if (optionUnits > 255) throw new Stable6Error('ERR_NETLINK_ENCODE', `link-layer address of ${lla?.length} bytes is too long`);
  const out = new Uint8Array(8 + optionUnits * 8);
  out[0] = ICMPV6_ROUTER_SOLICITATION;
  if (lla && optionUnits > 0) {
    out[8] = ND_OPT_SOURCE_LINK_LAYER_ADDRESS;
    out[9] = optionUnits;
    out.set(lla, 10);
  }
  return out;
}

export function decodeRouterSolicitation(bytes: Uint8Array): RouterSolicitation {
  if (bytes.length < 8 || bytes[0] !== ICMPV6_ROUTER_SOLICITATION || bytes[1] !== 0) {
    throw new Stable6Error('ERR_NETLINK_DECODE', 'not a Router Solicitation (type 133, code 0, at least 8 bytes)');
  }
  const out: RouterSolicitation = {};
  let offset = 8;
  while (offset + 2 <= bytes.length) {
    const type = bytes[offset] ?? 0;
    const units = bytes[offset + 1] ?? 0;
    // RFC 4861 §4.6: a zero length is invalid and the packet must be discarded.
    if (units === 0 || offset + units * 8 > bytes.length) throw new Stable6Error('ERR_NETLINK_DECODE', `bad ND option length at ${offset}`);
    if (type === ND_OPT_SOURCE_LINK_LAYER_ADDRESS && out.sourceLinkLayerAddress === undefined) {
      // Ethernet (6 bytes) is the only link type whose padding we can tell apart; longer ones keep theirs.
      out.sourceLinkLayerAddress = Uint8Array.from(bytes.subarray(offset + 2, offset + units * 8));
    }
    offset += units * 8;
  }
  return out;
}
