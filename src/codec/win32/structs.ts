/**
 * The IP Helper structs stable6 reads and writes, x64 layout (see layout.ts for how these
 * numbers are checked against the Windows headers).
 *
 * Headers: <ws2ipdef.h> (SOCKADDR_IN6, SOCKADDR_INET), <ifdef.h> (NET_LUID),
 * <netioapi.h> (the MIB_* rows and tables).
 */
import type { StructLayout } from './layout.js';

/** `struct sockaddr_in6`: 28 bytes; port, flowinfo and address in network order. */
export const SOCKADDR_IN6 = {
  cType: 'SOCKADDR_IN6',
  size: 28,
  align: 4,
  fields: {
    sin6_family: { offset: 0, type: 'u16' },
    sin6_port: { offset: 2, type: 'u16' },
    sin6_flowinfo: { offset: 4, type: 'u32' },
    sin6_addr: { offset: 8, type: { bytes: 16 } },
    sin6_scope_id: { offset: 24, type: 'u32' },
  },
} as const satisfies StructLayout;

/** `SOCKADDR_INET`: a union of sockaddr_in, sockaddr_in6 and the family alone. */
export const SOCKADDR_INET = {
  cType: 'SOCKADDR_INET',
  size: 28,
  align: 4,
  fields: {
    si_family: { offset: 0, type: 'u16' },
    Ipv6: { offset: 0, type: { struct: SOCKADDR_IN6 } },
  },
} as const satisfies StructLayout;

/** `NET_LUID`: a union whose 64-bit `Value` is all we need (the LUID is an opaque key). */
export const NET_LUID = {
  cType: 'NET_LUID',
  size: 8,
  align: 8,
  fields: { Value: { offset: 0, type: 'u64' } },
} as const satisfies StructLayout;

export const IP_ADDRESS_PREFIX = {
  cType: 'IP_ADDRESS_PREFIX',
  size: 32,
  align: 4,
  fields: {
    Prefix: { offset: 0, type: { struct: SOCKADDR_INET } },
    PrefixLength: { offset: 28, type: 'u8' },
  },
} as const satisfies StructLayout;

/** `MIB_UNICASTIPADDRESS_ROW`: 80 bytes (wireguard-windows asserts the same numbers). */
export const MIB_UNICASTIPADDRESS_ROW = {
  cType: 'MIB_UNICASTIPADDRESS_ROW',
  size: 80,
  align: 8,
  fields: {
    Address: { offset: 0, type: { struct: SOCKADDR_INET } },
    InterfaceLuid: { offset: 32, type: { struct: NET_LUID } },
    InterfaceIndex: { offset: 40, type: 'u32' },
    PrefixOrigin: { offset: 44, type: 'i32' },
    SuffixOrigin: { offset: 48, type: 'i32' },
    ValidLifetime: { offset: 52, type: 'u32' },
    PreferredLifetime: { offset: 56, type: 'u32' },
    OnLinkPrefixLength: { offset: 60, type: 'u8' },
    SkipAsSource: { offset: 61, type: 'u8' },
    DadState: { offset: 64, type: 'i32' },
    ScopeId: { offset: 68, type: 'u32' },
    CreationTimeStamp: { offset: 72, type: 'i64' },
  },
} as const satisfies StructLayout;

/** `MIB_UNICASTIPADDRESS_TABLE`: NumEntries, then the rows from offset 8 (row alignment). */
export const MIB_UNICASTIPADDRESS_TABLE = {
  cType: 'MIB_UNICASTIPADDRESS_TABLE',
  size: 88,
  align: 8,
  fields: {
    NumEntries: { offset: 0, type: 'u32' },
    Table: { offset: 8, type: { struct: MIB_UNICASTIPADDRESS_ROW, count: 1 } },
  },
} as const satisfies StructLayout;

/** `MIB_IPFORWARD_ROW2`: 104 bytes. */
export const MIB_IPFORWARD_ROW2 = {
  cType: 'MIB_IPFORWARD_ROW2',
  size: 104,
  align: 8,
  fields: {
    InterfaceLuid: { offset: 0, type: { struct: NET_LUID } },
    InterfaceIndex: { offset: 8, type: 'u32' },
    DestinationPrefix: { offset: 12, type: { struct: IP_ADDRESS_PREFIX } },
    NextHop: { offset: 44, type: { struct: SOCKADDR_INET } },
    SitePrefixLength: { offset: 72, type: 'u8' },
    ValidLifetime: { offset: 76, type: 'u32' },
    PreferredLifetime: { offset: 80, type: 'u32' },
    Metric: { offset: 84, type: 'u32' },
    Protocol: { offset: 88, type: 'i32' },
    Loopback: { offset: 92, type: 'u8' },
    AutoconfigureAddress: { offset: 93, type: 'u8' },
    Publish: { offset: 94, type: 'u8' },
    Immortal: { offset: 95, type: 'u8' },
    Age: { offset: 96, type: 'u32' },
    Origin: { offset: 100, type: 'i32' },
  },
} as const satisfies StructLayout;

export const MIB_IPFORWARD_TABLE2 = {
  cType: 'MIB_IPFORWARD_TABLE2',
  size: 112,
  align: 8,
  fields: {
    NumEntries: { offset: 0, type: 'u32' },
    Table: { offset: 8, type: { struct: MIB_IPFORWARD_ROW2, count: 1 } },
  },
} as const satisfies StructLayout;

/** `MIB_IPINTERFACE_ROW`: 168 bytes. */
export const MIB_IPINTERFACE_ROW = {
  cType: 'MIB_IPINTERFACE_ROW',
  size: 168,
  align: 8,
  fields: {
    Family: { offset: 0, type: 'u16' },
    InterfaceLuid: { offset: 8, type: { struct: NET_LUID } },
    InterfaceIndex: { offset: 16, type: 'u32' },
    MaxReassemblySize: { offset: 20, type: 'u32' },
    InterfaceIdentifier: { offset: 24, type: 'u64' },
    MinRouterAdvertisementInterval: { offset: 32, type: 'u32' },
    MaxRouterAdvertisementInterval: { offset: 36, type: 'u32' },
    AdvertisingEnabled: { offset: 40, type: 'u8' },
    ForwardingEnabled: { offset: 41, type: 'u8' },
    WeakHostSend: { offset: 42, type: 'u8' },
    WeakHostReceive: { offset: 43, type: 'u8' },
    UseAutomaticMetric: { offset: 44, type: 'u8' },
    UseNeighborUnreachabilityDetection: { offset: 45, type: 'u8' },
    ManagedAddressConfigurationSupported: { offset: 46, type: 'u8' },
    OtherStatefulConfigurationSupported: { offset: 47, type: 'u8' },
    AdvertiseDefaultRoute: { offset: 48, type: 'u8' },
    RouterDiscoveryBehavior: { offset: 52, type: 'i32' },
    DadTransmits: { offset: 56, type: 'u32' },
    BaseReachableTime: { offset: 60, type: 'u32' },
    RetransmitTime: { offset: 64, type: 'u32' },
    PathMtuDiscoveryTimeout: { offset: 68, type: 'u32' },
    LinkLocalAddressBehavior: { offset: 72, type: 'i32' },
    LinkLocalAddressTimeout: { offset: 76, type: 'u32' },
    ZoneIndices: { offset: 80, type: { array: 'u32', count: 16 } },
    SitePrefixLength: { offset: 144, type: 'u32' },
    Metric: { offset: 148, type: 'u32' },
    NlMtu: { offset: 152, type: 'u32' },
    Connected: { offset: 156, type: 'u8' },
    SupportsWakeUpPatterns: { offset: 157, type: 'u8' },
    SupportsNeighborDiscovery: { offset: 158, type: 'u8' },
    SupportsRouterDiscovery: { offset: 159, type: 'u8' },
    ReachableTime: { offset: 160, type: 'u32' },
    // NL_INTERFACE_OFFLOAD_ROD: eight one-bit BOOLEAN fields in one byte, kept raw.
    TransmitOffload: { offset: 164, type: { bytes: 1 } },
    ReceiveOffload: { offset: 165, type: { bytes: 1 } },
    DisableDefaultRoutes: { offset: 166, type: 'u8' },
  },
} as const satisfies StructLayout;

export const MIB_IPINTERFACE_TABLE = {
  cType: 'MIB_IPINTERFACE_TABLE',
  size: 176,
  align: 8,
  fields: {
    NumEntries: { offset: 0, type: 'u32' },
    Table: { offset: 8, type: { struct: MIB_IPINTERFACE_ROW, count: 1 } },
  },
} as const satisfies StructLayout;

/** Every layout, for the header test and the self-consistency checks. */
export const ALL_LAYOUTS: readonly StructLayout[] = [
  SOCKADDR_IN6,
  SOCKADDR_INET,
  NET_LUID,
  IP_ADDRESS_PREFIX,
  MIB_UNICASTIPADDRESS_ROW,
  MIB_UNICASTIPADDRESS_TABLE,
  MIB_IPFORWARD_ROW2,
  MIB_IPFORWARD_TABLE2,
  MIB_IPINTERFACE_ROW,
  MIB_IPINTERFACE_TABLE,
];
