/**
 * Sends a Router Solicitation (RFC 4861 §6.3.7) on one interface through a raw ICMPv6 socket.
 *
 * RFC 4861 §6.1.1: a router discards an RS whose hop limit is not 255, so both hop-limit
 * options are set to 255. The socket is bound to the interface (SO_BINDTODEVICE) and, when
 * the interface has a usable link-local address, to that address, so the kernel neither
 * picks another source nor routes the packet elsewhere. The kernel fills the checksum.
 */
import { Stable6Error } from '../../errors.js';
import type { Ipv6Address } from '../../core/address.js';
import { encodeRouterSolicitation } from '../../codec/icmpv6/router-solicitation.js';
import {
  AF_INET6,
  IPPROTO_ICMPV6,
  IPPROTO_IPV6,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_UNICAST_HOPS,
  MSG_DONTWAIT,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_SOCKET,
  SO_BINDTODEVICE,
  cInt,
  errnoName,
  libc,
} from './libc.js';

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

/** struct sockaddr_in6 (28 bytes): family, port 0, flowinfo 0, address, scope id. */
function sockaddrIn6(address: Uint8Array, scopeId: number): Uint8Array {
  const out = new Uint8Array(28);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, AF_INET6, true); // sa_family_t is host order; x86/arm little-endian hosts
  out.set(address, 8);
  dv.setUint32(24, scopeId, true);
  return out;
}

export const sendRouterSolicitationRaw: RouterSolicitationSender = async (target) => {
  const c = libc();
  const operation = `send a Router Solicitation on ${target.ifname}`;
  const fail = (step: string): never => {
    const errno = errnoName(c.errno());
    throw new Stable6Error('ERR_ICMPV6_SEND', `${operation}: ${step} failed: ${errno}`, { details: { operation, step, errno, ifindex: target.ifindex } });
  };
  const fd = c.socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
  if (fd < 0) fail('socket');
  try {
    const name = new TextEncoder().encode(`${target.ifname}\0`);
    if (c.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length) < 0) fail('SO_BINDTODEVICE');
    if (c.setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, cInt(255), 4) < 0) fail('IPV6_MULTICAST_HOPS');
    if (c.setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, cInt(255), 4) < 0) fail('IPV6_UNICAST_HOPS');
    if (c.setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, cInt(target.ifindex), 4) < 0) fail('IPV6_MULTICAST_IF');
    if (target.source && c.bind(fd, sockaddrIn6(target.source.toBytes(), target.ifindex), 28) < 0) fail('bind');
    const packet = encodeRouterSolicitation(target.source && target.linkLayerAddress ? { sourceLinkLayerAddress: target.linkLayerAddress } : {});
    const to = sockaddrIn6(ALL_ROUTERS, target.ifindex);
    if (c.sendto(fd, packet, packet.length, MSG_DONTWAIT, to, 28) !== packet.length) fail('sendto');
  } finally {
    c.close(fd);
  }
};
