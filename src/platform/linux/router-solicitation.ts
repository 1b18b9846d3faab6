/**
 * Sends a Router Solicitation (RFC 4861 §6.3.7) on one interface (icmpv6-socket.ts), from
 * the interface's usable link-local address when it has one.
 */
import type { Ipv6Address } from '../../core/address.js';
import { encodeRouterSolicitation } from '../../codec/icmpv6/router-solicitation.js';
import { sendIcmpv6 } from './icmpv6-socket.js';

export interface RouterSolicitationTarget {
  ifindex: number;
  ifname: string;
  /** A non-tentative link-local address of the interface, when it has one. */
  source?: Ipv6Address;
  /** Included as the Source Link-Layer Address option; only given with a source. */
  linkLayerAddress?: Uint8Array;
}

export type RouterSolicitationSender = (target: RouterSolicitationTarget) => Promise<void>;

const ALL_ROUTERS = Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);

export const sendRouterSolicitationRaw: RouterSolicitationSender = async (target) => {
  const packet = encodeRouterSolicitation(target.source && target.linkLayerAddress ? { sourceLinkLayerAddress: target.linkLayerAddress } : {});
  sendIcmpv6({ ifindex: target.ifindex, ifname: target.ifname, ...(target.source ? { source: target.source.toBytes() } : {}) }, ALL_ROUTERS, packet, 'a Router Solicitation');
};
