/**
 * Sends one ICMPv6 packet on one interface through a raw ICMPv6 socket (Router Solicitations
 * for the daemon, Router Advertisements for the lab's small router).
 *
 * RFC 4861 §6.1.1/§6.1.2: routers and hosts discard Neighbor Discovery messages whose hop
 * limit is not 255, so both hop-limit options are 255. The socket is bound to the interface
 * (SO_BINDTODEVICE) and, when given, to a source address, so the kernel neither picks another
 * source nor routes the packet elsewhere. The kernel fills in the checksum (RFC 3542 §3.1).
 */
import { Stable6Error } from '../../errors.js';
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

export interface Icmpv6Target {
  ifindex: number;
  ifname: string;
  /** Bind to this source address (a usable link-local one of the interface). */
  source?: Uint8Array;
}

/** struct sockaddr_in6 (28 bytes): family, port 0, flowinfo 0, address, scope id. */
export function sockaddrIn6(address: Uint8Array, scopeId: number): Uint8Array {
  const out = new Uint8Array(28);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, AF_INET6, true); // sa_family_t is host order; x86/arm little-endian hosts
  out.set(address, 8);
  dv.setUint32(24, scopeId, true);
  return out;
}

/** Sends `packet` (from the ICMPv6 header on) to `destination` on the target interface. */
export function sendIcmpv6(target: Icmpv6Target, destination: Uint8Array, packet: Uint8Array, what: string): void {
  const c = libc();
  const operation = `send ${what} on ${target.ifname}`;
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
    if (target.source && c.bind(fd, sockaddrIn6(target.source, target.ifindex), 28) < 0) fail('bind');
    const to = sockaddrIn6(destination, target.ifindex);
    if (c.sendto(fd, packet, packet.length, MSG_DONTWAIT, to, 28) !== packet.length) fail('sendto');
  } finally {
    c.close(fd);
  }
}
