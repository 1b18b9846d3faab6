/**
 * Pure encode/decode of the IP Helper rows and tables between bytes and TypeScript values.
 *
 * Strict when encoding (every field written, padding zeroed, values range-checked by
 * DataView), lenient when decoding (a SOCKADDR_INET of a family we do not read is kept as
 * its 28 raw bytes and written back unchanged). Lifetimes keep Win32's unit, seconds, with
 * 0xffffffff as infinite, and say so in their names.
 */
import { Ipv6Address } from '../../core/address.js';
import { AF_INET6 } from './constants.js';
import { RowView } from './layout.js';
import {
  IP_ADDRESS_PREFIX,
  MIB_IPFORWARD_ROW2,
  MIB_IPINTERFACE_ROW,
  MIB_UNICASTIPADDRESS_ROW,
  SOCKADDR_IN6,
  SOCKADDR_INET,
} from './structs.js';

/** A SOCKADDR_INET: an IPv6 socket address, or anything else kept as raw bytes. */
export type SockaddrInet =
  | { kind: 'inet6'; address: Ipv6Address; port: number; flowInfo: number; scopeId: number }
  | { kind: 'unknown'; family: number; bytes: Uint8Array };

export interface UnicastIpAddressRow {
  address: SockaddrInet;
  interfaceLuid: bigint;
  interfaceIndex: number;
  prefixOrigin: number;
  suffixOrigin: number;
  validLifetimeSec: number;
  preferredLifetimeSec: number;
  onLinkPrefixLength: number;
  skipAsSource: boolean;
  dadState: number;
  scopeId: number;
  /** A FILETIME-style LARGE_INTEGER (100 ns units); informational only. */
  creationTimeStamp: bigint;
}

export interface IpForwardRow2 {
  interfaceLuid: bigint;
  interfaceIndex: number;
  destinationPrefix: { prefix: SockaddrInet; prefixLength: number };
  nextHop: SockaddrInet;
  sitePrefixLength: number;
  validLifetimeSec: number;
  preferredLifetimeSec: number;
  metric: number;
  protocol: number;
  loopback: boolean;
  autoconfigureAddress: boolean;
  publish: boolean;
  immortal: boolean;
  ageSec: number;
  origin: number;
}

export interface IpInterfaceRow {
  family: number;
  interfaceLuid: bigint;
  interfaceIndex: number;
  maxReassemblySize: number;
  interfaceIdentifier: bigint;
  minRouterAdvertisementInterval: number;
  maxRouterAdvertisementInterval: number;
  advertisingEnabled: boolean;
  forwardingEnabled: boolean;
  weakHostSend: boolean;
  weakHostReceive: boolean;
  useAutomaticMetric: boolean;
  useNeighborUnreachabilityDetection: boolean;
  managedAddressConfigurationSupported: boolean;
  otherStatefulConfigurationSupported: boolean;
  advertiseDefaultRoute: boolean;
  routerDiscoveryBehavior: number;
  dadTransmits: number;
  baseReachableTime: number;
  retransmitTime: number;
  pathMtuDiscoveryTimeout: number;
  linkLocalAddressBehavior: number;
  linkLocalAddressTimeout: number;
  zoneIndices: number[];
  sitePrefixLength: number;
  metric: number;
  nlMtu: number;
  connected: boolean;
  supportsWakeUpPatterns: boolean;
  supportsNeighborDiscovery: boolean;
  supportsRouterDiscovery: boolean;
  reachableTime: number;
  /** NL_INTERFACE_OFFLOAD_ROD bit fields, one raw byte each. */
  transmitOffload: number;
  receiveOffload: number;
  disableDefaultRoutes: boolean;
}

// ---- SOCKADDR_INET -------------------------------------------------------------------------

const S6 = SOCKADDR_IN6.fields;

export function inet6(address: Ipv6Address, scopeId = 0): SockaddrInet {
  return { kind: 'inet6', address, port: 0, flowInfo: 0, scopeId };
}

/** The all-zero SOCKADDR_INET (family AF_UNSPEC), as InitializeXxxEntry leaves it. */
export function unspecifiedSockaddr(): SockaddrInet {
  return { kind: 'unknown', family: 0, bytes: new Uint8Array(SOCKADDR_INET.size) };
}

function readSockaddr(v: RowView, at: number): SockaddrInet {
  const family = v.u16(at + SOCKADDR_INET.fields.si_family.offset);
  if (family !== AF_INET6) return { kind: 'unknown', family, bytes: v.bytes(at, SOCKADDR_INET.size) };
  // sin6_port and sin6_flowinfo are in network order (big-endian) inside a little-endian struct.
  const raw = v.bytes(at, SOCKADDR_IN6.size);
  const be = new DataView(raw.buffer);
  return {
    kind: 'inet6',
    port: be.getUint16(S6.sin6_port.offset),
    flowInfo: be.getUint32(S6.sin6_flowinfo.offset),
    address: Ipv6Address.fromBytes(raw.subarray(S6.sin6_addr.offset, S6.sin6_addr.offset + 16)),
    scopeId: v.u32(at + S6.sin6_scope_id.offset),
  };
}

function writeSockaddr(v: RowView, at: number, value: SockaddrInet): void {
  if (value.kind === 'unknown') {
    if (value.bytes.length !== SOCKADDR_INET.size) throw new RangeError('a raw SOCKADDR_INET is 28 bytes');
    v.setBytes(at, value.bytes);
    return;
  }
  v.setU16(at + S6.sin6_family.offset, AF_INET6);
  v.view.setUint16(v.base + at + S6.sin6_port.offset, value.port, false);
  v.view.setUint32(v.base + at + S6.sin6_flowinfo.offset, value.flowInfo, false);
  v.setBytes(at + S6.sin6_addr.offset, value.address.toBytes());
  v.setU32(at + S6.sin6_scope_id.offset, value.scopeId);
}

// ---- MIB_UNICASTIPADDRESS_ROW --------------------------------------------------------------

const U = MIB_UNICASTIPADDRESS_ROW.fields;

export function decodeUnicastIpAddressRow(bytes: Uint8Array, base = 0): UnicastIpAddressRow {
  checkLength(bytes, base, MIB_UNICASTIPADDRESS_ROW.size, MIB_UNICASTIPADDRESS_ROW.cType);
  const v = new RowView(bytes, base);
  return {
    address: readSockaddr(v, U.Address.offset),
    interfaceLuid: v.u64(U.InterfaceLuid.offset),
    interfaceIndex: v.u32(U.InterfaceIndex.offset),
    prefixOrigin: v.i32(U.PrefixOrigin.offset),
    suffixOrigin: v.i32(U.SuffixOrigin.offset),
    validLifetimeSec: v.u32(U.ValidLifetime.offset),
    preferredLifetimeSec: v.u32(U.PreferredLifetime.offset),
    onLinkPrefixLength: v.u8(U.OnLinkPrefixLength.offset),
    skipAsSource: v.u8(U.SkipAsSource.offset) !== 0,
    dadState: v.i32(U.DadState.offset),
    scopeId: v.u32(U.ScopeId.offset),
    creationTimeStamp: v.i64(U.CreationTimeStamp.offset),
  };
}

export function encodeUnicastIpAddressRow(row: UnicastIpAddressRow, into?: Uint8Array, base = 0): Uint8Array {
  const bytes = into ?? new Uint8Array(MIB_UNICASTIPADDRESS_ROW.size);
  checkLength(bytes, base, MIB_UNICASTIPADDRESS_ROW.size, MIB_UNICASTIPADDRESS_ROW.cType);
  bytes.fill(0, base, base + MIB_UNICASTIPADDRESS_ROW.size);
  const v = new RowView(bytes, base);
  writeSockaddr(v, U.Address.offset, row.address);
  v.setU64(U.InterfaceLuid.offset, row.interfaceLuid);
  v.setU32(U.InterfaceIndex.offset, row.interfaceIndex);
  v.setI32(U.PrefixOrigin.offset, row.prefixOrigin);
  v.setI32(U.SuffixOrigin.offset, row.suffixOrigin);
  v.setU32(U.ValidLifetime.offset, row.validLifetimeSec);
  v.setU32(U.PreferredLifetime.offset, row.preferredLifetimeSec);
  v.setU8(U.OnLinkPrefixLength.offset, row.onLinkPrefixLength);
  v.setU8(U.SkipAsSource.offset, row.skipAsSource ? 1 : 0);
  v.setI32(U.DadState.offset, row.dadState);
  v.setU32(U.ScopeId.offset, row.scopeId);
  v.setI64(U.CreationTimeStamp.offset, row.creationTimeStamp);
  return bytes;
}

// ---- MIB_IPFORWARD_ROW2 --------------------------------------------------------------------

const R = MIB_IPFORWARD_ROW2.fields;
const P = IP_ADDRESS_PREFIX.fields;

export function decodeIpForwardRow2(bytes: Uint8Array, base = 0): IpForwardRow2 {
  checkLength(bytes, base, MIB_IPFORWARD_ROW2.size, MIB_IPFORWARD_ROW2.cType);
  const v = new RowView(bytes, base);
  const dst = R.DestinationPrefix.offset;
  return {
    interfaceLuid: v.u64(R.InterfaceLuid.offset),
    interfaceIndex: v.u32(R.InterfaceIndex.offset),
    destinationPrefix: {
      prefix: readSockaddr(v, dst + P.Prefix.offset),
      prefixLength: v.u8(dst + P.PrefixLength.offset),
    },
    nextHop: readSockaddr(v, R.NextHop.offset),
    sitePrefixLength: v.u8(R.SitePrefixLength.offset),
    validLifetimeSec: v.u32(R.ValidLifetime.offset),
    preferredLifetimeSec: v.u32(R.PreferredLifetime.offset),
    metric: v.u32(R.Metric.offset),
    protocol: v.i32(R.Protocol.offset),
    loopback: v.u8(R.Loopback.offset) !== 0,
    autoconfigureAddress: v.u8(R.AutoconfigureAddress.offset) !== 0,
    publish: v.u8(R.Publish.offset) !== 0,
    immortal: v.u8(R.Immortal.offset) !== 0,
    ageSec: v.u32(R.Age.offset),
    origin: v.i32(R.Origin.offset),
  };
}

export function encodeIpForwardRow2(row: IpForwardRow2, into?: Uint8Array, base = 0): Uint8Array {
  const bytes = into ?? new Uint8Array(MIB_IPFORWARD_ROW2.size);
  checkLength(bytes, base, MIB_IPFORWARD_ROW2.size, MIB_IPFORWARD_ROW2.cType);
  bytes.fill(0, base, base + MIB_IPFORWARD_ROW2.size);
  const v = new RowView(bytes, base);
  const dst = R.DestinationPrefix.offset;
  v.setU64(R.InterfaceLuid.offset, row.interfaceLuid);
  v.setU32(R.InterfaceIndex.offset, row.interfaceIndex);
  writeSockaddr(v, dst + P.Prefix.offset, row.destinationPrefix.prefix);
  v.setU8(dst + P.PrefixLength.offset, row.destinationPrefix.prefixLength);
  writeSockaddr(v, R.NextHop.offset, row.nextHop);
  v.setU8(R.SitePrefixLength.offset, row.sitePrefixLength);
  v.setU32(R.ValidLifetime.offset, row.validLifetimeSec);
  v.setU32(R.PreferredLifetime.offset, row.preferredLifetimeSec);
  v.setU32(R.Metric.offset, row.metric);
  v.setI32(R.Protocol.offset, row.protocol);
  v.setU8(R.Loopback.offset, row.loopback ? 1 : 0);
  v.setU8(R.AutoconfigureAddress.offset, row.autoconfigureAddress ? 1 : 0);
  v.setU8(R.Publish.offset, row.publish ? 1 : 0);
  v.setU8(R.Immortal.offset, row.immortal ? 1 : 0);
  v.setU32(R.Age.offset, row.ageSec);
  v.setI32(R.Origin.offset, row.origin);
  return bytes;
}

// ---- MIB_IPINTERFACE_ROW -------------------------------------------------------------------

const I = MIB_IPINTERFACE_ROW.fields;

export function decodeIpInterfaceRow(bytes: Uint8Array, base = 0): IpInterfaceRow {
  checkLength(bytes, base, MIB_IPINTERFACE_ROW.size, MIB_IPINTERFACE_ROW.cType);
  const v = new RowView(bytes, base);
  const bool = (offset: number): boolean => v.u8(offset) !== 0;
  const zoneIndices: number[] = [];
  for (let i = 0; i < I.ZoneIndices.type.count; i++) zoneIndices.push(v.u32(I.ZoneIndices.offset + 4 * i));
  return {
    family: v.u16(I.Family.offset),
    interfaceLuid: v.u64(I.InterfaceLuid.offset),
    interfaceIndex: v.u32(I.InterfaceIndex.offset),
    maxReassemblySize: v.u32(I.MaxReassemblySize.offset),
    interfaceIdentifier: v.u64(I.InterfaceIdentifier.offset),
    minRouterAdvertisementInterval: v.u32(I.MinRouterAdvertisementInterval.offset),
    maxRouterAdvertisementInterval: v.u32(I.MaxRouterAdvertisementInterval.offset),
    advertisingEnabled: bool(I.AdvertisingEnabled.offset),
    forwardingEnabled: bool(I.ForwardingEnabled.offset),
    weakHostSend: bool(I.WeakHostSend.offset),
    weakHostReceive: bool(I.WeakHostReceive.offset),
    useAutomaticMetric: bool(I.UseAutomaticMetric.offset),
    useNeighborUnreachabilityDetection: bool(I.UseNeighborUnreachabilityDetection.offset),
    managedAddressConfigurationSupported: bool(I.ManagedAddressConfigurationSupported.offset),
    otherStatefulConfigurationSupported: bool(I.OtherStatefulConfigurationSupported.offset),
    advertiseDefaultRoute: bool(I.AdvertiseDefaultRoute.offset),
    routerDiscoveryBehavior: v.i32(I.RouterDiscoveryBehavior.offset),
    dadTransmits: v.u32(I.DadTransmits.offset),
    baseReachableTime: v.u32(I.BaseReachableTime.offset),
    retransmitTime: v.u32(I.RetransmitTime.offset),
    pathMtuDiscoveryTimeout: v.u32(I.PathMtuDiscoveryTimeout.offset),
    linkLocalAddressBehavior: v.i32(I.LinkLocalAddressBehavior.offset),
    linkLocalAddressTimeout: v.u32(I.LinkLocalAddressTimeout.offset),
    zoneIndices,
    sitePrefixLength: v.u32(I.SitePrefixLength.offset),
    metric: v.u32(I.Metric.offset),
    nlMtu: v.u32(I.NlMtu.offset),
    connected: bool(I.Connected.offset),
    supportsWakeUpPatterns: bool(I.SupportsWakeUpPatterns.offset),
    supportsNeighborDiscovery: bool(I.SupportsNeighborDiscovery.offset),
    supportsRouterDiscovery: bool(I.SupportsRouterDiscovery.offset),
    reachableTime: v.u32(I.ReachableTime.offset),
    transmitOffload: v.u8(I.TransmitOffload.offset),
    receiveOffload: v.u8(I.ReceiveOffload.offset),
    disableDefaultRoutes: bool(I.DisableDefaultRoutes.offset),
  };
}

export function encodeIpInterfaceRow(row: IpInterfaceRow, into?: Uint8Array, base = 0): Uint8Array {
  const bytes = into ?? new Uint8Array(MIB_IPINTERFACE_ROW.size);
  checkLength(bytes, base, MIB_IPINTERFACE_ROW.size, MIB_IPINTERFACE_ROW.cType);
  if (row.zoneIndices.length !== I.ZoneIndices.type.count) throw new RangeError('ZoneIndices has 16 entries');
  bytes.fill(0, base, base + MIB_IPINTERFACE_ROW.size);
  const v = new RowView(bytes, base);
  const bool = (offset: number, value: boolean): void => v.setU8(offset, value ? 1 : 0);
  v.setU16(I.Family.offset, row.family);
  v.setU64(I.InterfaceLuid.offset, row.interfaceLuid);
  v.setU32(I.InterfaceIndex.offset, row.interfaceIndex);
  v.setU32(I.MaxReassemblySize.offset, row.maxReassemblySize);
  v.setU64(I.InterfaceIdentifier.offset, row.interfaceIdentifier);
  v.setU32(I.MinRouterAdvertisementInterval.offset, row.minRouterAdvertisementInterval);
  v.setU32(I.MaxRouterAdvertisementInterval.offset, row.maxRouterAdvertisementInterval);
  bool(I.AdvertisingEnabled.offset, row.advertisingEnabled);
  bool(I.ForwardingEnabled.offset, row.forwardingEnabled);
  bool(I.WeakHostSend.offset, row.weakHostSend);
  bool(I.WeakHostReceive.offset, row.weakHostReceive);
  bool(I.UseAutomaticMetric.offset, row.useAutomaticMetric);
  bool(I.UseNeighborUnreachabilityDetection.offset, row.useNeighborUnreachabilityDetection);
  bool(I.ManagedAddressConfigurationSupported.offset, row.managedAddressConfigurationSupported);
  bool(I.OtherStatefulConfigurationSupported.offset, row.otherStatefulConfigurationSupported);
  bool(I.AdvertiseDefaultRoute.offset, row.advertiseDefaultRoute);
  v.setI32(I.RouterDiscoveryBehavior.offset, row.routerDiscoveryBehavior);
  v.setU32(I.DadTransmits.offset, row.dadTransmits);
  v.setU32(I.BaseReachableTime.offset, row.baseReachableTime);
  v.setU32(I.RetransmitTime.offset, row.retransmitTime);
  v.setU32(I.PathMtuDiscoveryTimeout.offset, row.pathMtuDiscoveryTimeout);
  v.setI32(I.LinkLocalAddressBehavior.offset, row.linkLocalAddressBehavior);
  v.setU32(I.LinkLocalAddressTimeout.offset, row.linkLocalAddressTimeout);
  row.zoneIndices.forEach((zone, i) => v.setU32(I.ZoneIndices.offset + 4 * i, zone));
  v.setU32(I.SitePrefixLength.offset, row.sitePrefixLength);
  v.setU32(I.Metric.offset, row.metric);
  v.setU32(I.NlMtu.offset, row.nlMtu);
  bool(I.Connected.offset, row.connected);
  bool(I.SupportsWakeUpPatterns.offset, row.supportsWakeUpPatterns);
  bool(I.SupportsNeighborDiscovery.offset, row.supportsNeighborDiscovery);
  bool(I.SupportsRouterDiscovery.offset, row.supportsRouterDiscovery);
  v.setU32(I.ReachableTime.offset, row.reachableTime);
  v.setU8(I.TransmitOffload.offset, row.transmitOffload);
  v.setU8(I.ReceiveOffload.offset, row.receiveOffload);
  bool(I.DisableDefaultRoutes.offset, row.disableDefaultRoutes);
  return bytes;
}

// ---- tables --------------------------------------------------------------------------------

/**
 * Every MIB_*_TABLE is `ULONG NumEntries` then the rows from offset 8 (the rows' 8-byte
 * alignment pads the count), as the *_TABLE layouts in structs.ts assert.
 */
export const TABLE_ROWS_OFFSET = 8;

export function decodeTable<T>(
  bytes: Uint8Array,
  rowSize: number,
  decodeRow: (bytes: Uint8Array, base: number) => T,
): T[] {
  if (bytes.length < 4) throw new RangeError('a MIB table starts with a 4-byte NumEntries');
  const count = new RowView(bytes).u32(0);
  const needed = TABLE_ROWS_OFFSET + count * rowSize;
  if (count > 0 && bytes.length < needed) {
    throw new RangeError(`a table of ${count} rows needs ${needed} bytes, got ${bytes.length}`);
  }
  const rows: T[] = [];
  for (let i = 0; i < count; i++) rows.push(decodeRow(bytes, TABLE_ROWS_OFFSET + i * rowSize));
  return rows;
}

export function encodeTable<T>(
  rows: readonly T[],
  rowSize: number,
  encodeRow: (row: T, into: Uint8Array, base: number) => Uint8Array,
): Uint8Array {
  const bytes = new Uint8Array(TABLE_ROWS_OFFSET + rows.length * rowSize);
  new RowView(bytes).setU32(0, rows.length);
  rows.forEach((row, i) => encodeRow(row, bytes, TABLE_ROWS_OFFSET + i * rowSize));
  return bytes;
}

export const decodeUnicastIpAddressTable = (bytes: Uint8Array): UnicastIpAddressRow[] =>
  decodeTable(bytes, MIB_UNICASTIPADDRESS_ROW.size, decodeUnicastIpAddressRow);
export const encodeUnicastIpAddressTable = (rows: readonly UnicastIpAddressRow[]): Uint8Array =>
  encodeTable(rows, MIB_UNICASTIPADDRESS_ROW.size, encodeUnicastIpAddressRow);
export const decodeIpForwardTable2 = (bytes: Uint8Array): IpForwardRow2[] =>
  decodeTable(bytes, MIB_IPFORWARD_ROW2.size, decodeIpForwardRow2);
export const encodeIpForwardTable2 = (rows: readonly IpForwardRow2[]): Uint8Array =>
  encodeTable(rows, MIB_IPFORWARD_ROW2.size, encodeIpForwardRow2);
export const decodeIpInterfaceTable = (bytes: Uint8Array): IpInterfaceRow[] =>
  decodeTable(bytes, MIB_IPINTERFACE_ROW.size, decodeIpInterfaceRow);
export const encodeIpInterfaceTable = (rows: readonly IpInterfaceRow[]): Uint8Array =>
  encodeTable(rows, MIB_IPINTERFACE_ROW.size, encodeIpInterfaceRow);

/** The size in bytes of a table with `count` rows (what the real binding copies out). */
export function tableByteLength(count: number, rowSize: number): number {
  return TABLE_ROWS_OFFSET + count * rowSize;
}

function checkLength(bytes: Uint8Array, base: number, size: number, cType: string): void {
  if (base < 0 || bytes.length < base + size) {
    throw new RangeError(`${cType} is ${size} bytes; ${bytes.length - base} available at offset ${base}`);
  }
}
