/**
 * rtnetlink bodies to and from the Platform's plain values. Pure.
 */
import { Ipv6Address } from '../../core/address.js';
import { Ipv6Prefix } from '../../core/prefix.js';
import {
  AF_INET6,
  IFA_ADDRESS,
  IFA_CACHEINFO,
  IFA_FLAGS,
  IFA_LOCAL,
  IFA_PROTO,
  IFA_F_DADFAILED,
  IFA_F_DEPRECATED,
  IFA_F_NODAD,
  IFA_F_NOPREFIXROUTE,
  IFA_F_OPTIMISTIC,
  IFA_F_PERMANENT,
  IFA_F_TENTATIVE,
  IFF_RUNNING,
  IFF_UP,
  PIO_FLAG_AUTONOMOUS,
  PIO_FLAG_ON_LINK,
  RT_TABLE_MAIN,
  RTN_UNICAST,
  USER_HZ,
  attributeValue,
  readU16,
  readU32,
  type AddressBody,
  type LinkBody,
  type NdUserOptionBody,
  type PrefixBody,
  type RouteAttribute,
  type RouteBody,
} from '../../codec/netlink/index.js';
import {
  INFINITE_LIFETIME,
  STABLE6_PROTOCOL,
  type AddressInfo,
  type InterfaceInfo,
  type NdUserOptionReport,
  type PrefixReport,
  type RouteInfo,
} from '../platform.js';

export function linkInfo(body: LinkBody): InterfaceInfo {
  const a = body.attributes;
  const info: InterfaceInfo = {
    index: body.index,
    name: attributeValue(a, 'ifname') ?? `if${body.index}`,
    up: (body.flags & IFF_UP) !== 0,
    running: (body.flags & IFF_RUNNING) !== 0,
  };
  const mtu = attributeValue(a, 'mtu');
  if (mtu !== undefined) info.mtu = mtu;
  const hw = attributeValue(a, 'address');
  if (hw !== undefined) info.hwAddress = hw;
  const perm = attributeValue(a, 'permAddress');
  if (perm !== undefined) info.permHwAddress = perm;
  return info;
}

/** undefined for a non-IPv6 address or one without an address attribute. */
export function addressInfo(body: AddressBody): AddressInfo | undefined {
  if (body.family !== AF_INET6) return undefined;
  const a = body.attributes;
  const raw = attributeValue(a, 'address') ?? attributeValue(a, 'local');
  if (raw === undefined || raw.length !== 16) return undefined;
  // IFA_FLAGS holds all 32 bits; ifa_flags only the low 8 (older kernels send just that).
  const flags = attributeValue(a, 'flags') ?? body.flags;
  const cache = attributeValue(a, 'cacheinfo');
  const permanent = (flags & IFA_F_PERMANENT) !== 0;
  const protocol = attributeValue(a, 'proto');
  const info: AddressInfo = {
    ifindex: body.index,
    address: Ipv6Address.fromBytes(raw),
    prefixLength: body.prefixLength,
    validLifetimeSec: permanent || !cache ? INFINITE_LIFETIME : cache.validSec,
    preferredLifetimeSec: permanent || !cache ? INFINITE_LIFETIME : cache.preferredSec,
    flags: {
      tentative: (flags & IFA_F_TENTATIVE) !== 0,
      dadFailed: (flags & IFA_F_DADFAILED) !== 0,
      deprecated: (flags & IFA_F_DEPRECATED) !== 0,
      optimistic: (flags & IFA_F_OPTIMISTIC) !== 0,
      permanent,
      noDad: (flags & IFA_F_NODAD) !== 0,
      noPrefixRoute: (flags & IFA_F_NOPREFIXROUTE) !== 0,
    },
    owned: protocol === STABLE6_PROTOCOL,
  };
  if (protocol !== undefined) info.protocol = protocol;
  return info;
}

/**
 * The same as `addressInfo(decoded body)` for an RTM_NEWADDR message whose payload is
 * `bytes[start, end)` and whose attribute chain was already checked (checkNetlinkBody), read
 * straight from the bytes: for big dumps, where the intermediate objects of a full decode
 * (body, attribute list, attribute objects, value copies) are most of the cost.
 * undefined where addressInfo gives undefined or the payload would decode as a raw body.
 */
export function addressInfoAt(bytes: Uint8Array, start: number, end: number): AddressInfo | undefined {
  if (end - start < 8 || bytes[start] !== AF_INET6) return undefined;
  // The first attribute of each kind that decodes (decode keeps one of the wrong length as unknown).
  let address = -1;
  let addressLength = 0;
  let local = -1;
  let localLength = 0;
  let cache = -1;
  let flags: number | undefined;
  let protocol: number | undefined;
  for (let offset = start + 8; offset + 4 <= end; ) {
    const length = readU16(bytes, offset);
    const type = readU16(bytes, offset + 2);
    const value = offset + 4;
    const size = length - 4;
    if (type === IFA_ADDRESS && address < 0) [address, addressLength] = [value, size];
    else if (type === IFA_LOCAL && local < 0) [local, localLength] = [value, size];
    else if (type === IFA_CACHEINFO && size === 16 && cache < 0) cache = value;
    else if (type === IFA_FLAGS && size === 4 && flags === undefined) flags = readU32(bytes, value);
    else if (type === IFA_PROTO && size === 1 && protocol === undefined) protocol = bytes[value] ?? 0;
    offset += (length + 3) & ~3;
  }
  const raw = address >= 0 ? address : local;
  if (raw < 0 || (address >= 0 ? addressLength : localLength) !== 16) return undefined;
  const f = flags ?? bytes[start + 2] ?? 0;
  const permanent = (f & IFA_F_PERMANENT) !== 0;
  const ip = new Uint8Array(16);
  for (let i = 0; i < 16; i++) ip[i] = bytes[raw + i] as number;
  const info: AddressInfo = {
    ifindex: readU32(bytes, start + 4),
    address: Ipv6Address.adopt(ip),
    prefixLength: bytes[start + 1] ?? 0,
    validLifetimeSec: permanent || cache < 0 ? INFINITE_LIFETIME : readU32(bytes, cache + 4),
    preferredLifetimeSec: permanent || cache < 0 ? INFINITE_LIFETIME : readU32(bytes, cache),
    flags: {
      tentative: (f & IFA_F_TENTATIVE) !== 0,
      dadFailed: (f & IFA_F_DADFAILED) !== 0,
      deprecated: (f & IFA_F_DEPRECATED) !== 0,
      optimistic: (f & IFA_F_OPTIMISTIC) !== 0,
      permanent,
      noDad: (f & IFA_F_NODAD) !== 0,
      noPrefixRoute: (f & IFA_F_NOPREFIXROUTE) !== 0,
    },
    owned: protocol === STABLE6_PROTOCOL,
  };
  if (protocol !== undefined) info.protocol = protocol;
  return info;
}

export function addressKey(a: { ifindex: number; address: Ipv6Address; prefixLength: number }): string {
  return `${a.ifindex}|${a.address.toString()}/${a.prefixLength}`;
}

const DEFAULT_DESTINATION = Ipv6Prefix.parse('::/0');

/** The default routes of the main table in a route message: one per next hop (multipath included). */
export function defaultRoutes(body: RouteBody): RouteInfo[] {
  const a = body.attributes;
  const table = attributeValue(a, 'table') ?? body.table;
  if (body.family !== AF_INET6 || body.dstLength !== 0 || table !== RT_TABLE_MAIN || body.routeType !== RTN_UNICAST) return [];
  const cache = attributeValue(a, 'cacheinfo');
  // rta_expires is a signed count of USER_HZ ticks, 0 when the route does not expire.
  const ticks = cache ? cache.expires | 0 : 0;
  const expiresSec = ticks > 0 ? Math.ceil(ticks / USER_HZ) : INFINITE_LIFETIME;
  const metric = attributeValue(a, 'priority') ?? 0;
  const base = { destination: DEFAULT_DESTINATION, metric, protocol: body.protocol, expiresSec, owned: body.protocol === STABLE6_PROTOCOL };
  const hops = attributeValue(a, 'multipath');
  if (hops !== undefined) return hops.map((hop) => withGateway({ ...base, ifindex: hop.ifindex }, hop.attributes));
  return [withGateway({ ...base, ifindex: attributeValue(a, 'oif') ?? 0 }, a)];
}

function withGateway(route: RouteInfo, attributes: RouteAttribute[]): RouteInfo {
  const gw = attributeValue(attributes, 'gateway');
  if (gw !== undefined && gw.length === 16) route.gateway = Ipv6Address.fromBytes(gw);
  return route;
}

export function routeKey(r: { ifindex: number; gateway?: Ipv6Address; metric: number }): string {
  return `${r.ifindex}|${r.gateway?.toString() ?? ''}|${r.metric}`;
}

export function prefixReport(body: PrefixBody): PrefixReport | undefined {
  if (body.family !== AF_INET6) return undefined;
  const address = attributeValue(body.attributes, 'address');
  const cache = attributeValue(body.attributes, 'cacheinfo');
  if (address === undefined || cache === undefined) return undefined;
  return {
    ifindex: body.index,
    prefix: Ipv6Address.fromBytes(address),
    prefixLength: body.prefixLength,
    onLink: (body.flags & PIO_FLAG_ON_LINK) !== 0,
    autonomous: (body.flags & PIO_FLAG_AUTONOMOUS) !== 0,
    validLifetimeSec: cache.validSec,
    preferredLifetimeSec: cache.preferredSec,
  };
}

export function ndUserOptionReport(body: NdUserOptionBody): NdUserOptionReport | undefined {
  if (body.family !== AF_INET6) return undefined;
  const options: { type: number; bytes: Uint8Array }[] = [];
  let offset = 0;
  while (offset + 2 <= body.options.length) {
    const units = body.options[offset + 1] ?? 0;
    if (units === 0 || offset + units * 8 > body.options.length) break; // RFC 4861 §4.6: length 0 is invalid
    options.push({ type: body.options[offset] ?? 0, bytes: body.options.slice(offset, offset + units * 8) });
    offset += units * 8;
  }
  const report: NdUserOptionReport = { ifindex: body.index, icmpType: body.icmpType, options };
  const source = attributeValue(body.attributes, 'source');
  if (source !== undefined) report.router = Ipv6Address.fromBytes(source);
  return report;
}

/** Same flags, protocol and prefix length; lifetimes not extended beyond what time explains. */
export function sameAddress(before: AddressInfo, after: AddressInfo, elapsedSec: number): boolean {
  const f = before.flags;
  const g = after.flags;
  const flagsSame =
    f.tentative === g.tentative &&
    f.dadFailed === g.dadFailed &&
    f.deprecated === g.deprecated &&
    f.optimistic === g.optimistic &&
    f.permanent === g.permanent &&
    f.noDad === g.noDad &&
    f.noPrefixRoute === g.noPrefixRoute;
  const notExtended = (old: number, now: number) =>
    old === INFINITE_LIFETIME ? now === INFINITE_LIFETIME : now !== INFINITE_LIFETIME && now <= old - elapsedSec + 2;
  return (
    flagsSame &&
    before.protocol === after.protocol &&
    notExtended(before.validLifetimeSec, after.validLifetimeSec) &&
    notExtended(before.preferredLifetimeSec, after.preferredLifetimeSec)
  );
}

export function sameLink(a: InterfaceInfo, b: InterfaceInfo): boolean {
  const eq = (x?: Uint8Array, y?: Uint8Array) => (x === undefined ? y === undefined : y !== undefined && Buffer.compare(x, y) === 0);
  return a.name === b.name && a.up === b.up && a.running === b.running && a.mtu === b.mtu && eq(a.hwAddress, b.hwAddress) && eq(a.permHwAddress, b.permHwAddress);
}

export function sameRoute(a: RouteInfo, b: RouteInfo): boolean {
  return a.protocol === b.protocol && (a.expiresSec === INFINITE_LIFETIME) === (b.expiresSec === INFINITE_LIFETIME);
}
