// Golden bytes both ways and round-trip properties for the IP Helper rows.
// Provenance of the golden rows: written by hand, field by field, from the layouts that
// layout-headers.test.ts checks against the Windows headers. No bytes captured on a real
// Windows host are available here (see docs/windows.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ipv6Address } from '../../../src/core/address.js';
import {
  decodeIpForwardRow2,
  decodeIpForwardTable2,
  decodeIpInterfaceRow,
  decodeUnicastIpAddressRow,
  decodeUnicastIpAddressTable,
  encodeIpForwardRow2,
  encodeIpForwardTable2,
  encodeIpInterfaceRow,
  encodeUnicastIpAddressRow,
  encodeUnicastIpAddressTable,
  inet6,
  type IpForwardRow2,
  type IpInterfaceRow,
  type SockaddrInet,
  type UnicastIpAddressRow,
} from '../../../src/codec/win32/rows.js';

function hex(text: string): Uint8Array {
  const clean = text.replace(/#.*$/gm, '').replace(/\s+/g, '');
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

const UNICAST_GOLDEN = hex(`
  1700 0000 00000000                    # Address: sin6_family AF_INET6 (23), port 0, flowinfo 0
  20010db8000000000000000000000001      # sin6_addr 2001:db8::1
  00000000                              # sin6_scope_id 0
  00000000                              # padding to 32
  0000000100000600                      # InterfaceLuid 0x0006000001000000 (IfType 6, NetLuidIndex 1)
  0c000000                              # InterfaceIndex 12
  01000000                              # PrefixOrigin IpPrefixOriginManual
  01000000                              # SuffixOrigin IpSuffixOriginManual
  80510100                              # ValidLifetime 86400
  40380000                              # PreferredLifetime 14400
  40 00 0000                            # OnLinkPrefixLength 64, SkipAsSource FALSE, padding
  04000000                              # DadState IpDadStatePreferred
  00000000                              # ScopeId 0
  0000000000000000                      # CreationTimeStamp 0
`);

const UNICAST_VALUE: UnicastIpAddressRow = {
  address: inet6(Ipv6Address.parse('2001:db8::1')),
  interfaceLuid: 0x0006000001000000n,
  interfaceIndex: 12,
  prefixOrigin: 1,
  suffixOrigin: 1,
  validLifetimeSec: 86400,
  preferredLifetimeSec: 14400,
  onLinkPrefixLength: 64,
  skipAsSource: false,
  dadState: 4,
  scopeId: 0,
  creationTimeStamp: 0n,
};

test('MIB_UNICASTIPADDRESS_ROW golden bytes decode', () => {
  assert.equal(UNICAST_GOLDEN.length, 80);
  assert.deepEqual(decodeUnicastIpAddressRow(UNICAST_GOLDEN), UNICAST_VALUE);
});

test('MIB_UNICASTIPADDRESS_ROW golden bytes encode', () => {
  assert.deepEqual(encodeUnicastIpAddressRow(UNICAST_VALUE), UNICAST_GOLDEN);
});

const ROUTE_GOLDEN = hex(`
  0000000100000600                      # InterfaceLuid
  0c000000                              # InterfaceIndex 12
  1700 0000 00000000                    # DestinationPrefix.Prefix: AF_INET6, port 0, flowinfo 0
  00000000000000000000000000000000      # ::
  00000000                              # scope 0
  00 000000                             # PrefixLength 0, padding (IP_ADDRESS_PREFIX is 32 bytes)
  1700 0000 00000000                    # NextHop: AF_INET6
  fe800000000000000000000000000001      # fe80::1
  00000000                              # scope 0
  00 000000                             # SitePrefixLength 0, padding
  ffffffff                              # ValidLifetime infinite
  ffffffff                              # PreferredLifetime infinite
  00010000                              # Metric 256
  03000000                              # Protocol MIB_IPPROTO_NETMGMT
  00 00 01 01                           # Loopback, AutoconfigureAddress, Publish, Immortal
  00000000                              # Age 0
  00000000                              # Origin NlroManual
`);

const ROUTE_VALUE: IpForwardRow2 = {
  interfaceLuid: 0x0006000001000000n,
  interfaceIndex: 12,
  destinationPrefix: { prefix: inet6(Ipv6Address.parse('::')), prefixLength: 0 },
  nextHop: inet6(Ipv6Address.parse('fe80::1')),
  sitePrefixLength: 0,
  validLifetimeSec: 0xffffffff,
  preferredLifetimeSec: 0xffffffff,
  metric: 256,
  protocol: 3,
  loopback: false,
  autoconfigureAddress: false,
  publish: true,
  immortal: true,
  ageSec: 0,
  origin: 0,
};

test('MIB_IPFORWARD_ROW2 golden bytes both ways', () => {
  assert.equal(ROUTE_GOLDEN.length, 104);
  assert.deepEqual(decodeIpForwardRow2(ROUTE_GOLDEN), ROUTE_VALUE);
  assert.deepEqual(encodeIpForwardRow2(ROUTE_VALUE), ROUTE_GOLDEN);
});

test('SOCKADDR_IN6 port and flowinfo are network order inside the little-endian row', () => {
  const row = { ...UNICAST_VALUE, address: { ...inet6(Ipv6Address.parse('2001:db8::1')), port: 0x1234, flowInfo: 0xabcdef } };
  const bytes = encodeUnicastIpAddressRow(row as UnicastIpAddressRow);
  assert.deepEqual([...bytes.subarray(2, 8)], [0x12, 0x34, 0x00, 0xab, 0xcd, 0xef]);
});

test('an address of another family survives a round trip as raw bytes', () => {
  const bytes = Uint8Array.from(UNICAST_GOLDEN);
  bytes.set([2, 0, 0, 0, 192, 0, 2, 1], 0); // AF_INET 192.0.2.1
  const row = decodeUnicastIpAddressRow(bytes);
  assert.equal(row.address.kind, 'unknown');
  assert.deepEqual(encodeUnicastIpAddressRow(row), bytes);
});

test('tables: NumEntries at 0, rows from 8', () => {
  const table = encodeUnicastIpAddressTable([UNICAST_VALUE, { ...UNICAST_VALUE, interfaceIndex: 13 }]);
  assert.equal(table.length, 8 + 2 * 80);
  assert.deepEqual([...table.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(table.subarray(8, 88), UNICAST_GOLDEN);
  assert.deepEqual(decodeUnicastIpAddressTable(table).map((r) => r.interfaceIndex), [12, 13]);
  assert.deepEqual(decodeIpForwardTable2(encodeIpForwardTable2([ROUTE_VALUE])), [ROUTE_VALUE]);
  assert.deepEqual(decodeUnicastIpAddressTable(Uint8Array.of(0, 0, 0, 0)), []);
  assert.throws(() => decodeUnicastIpAddressTable(table.subarray(0, 100)), RangeError);
});

test('a short buffer is refused, not read past', () => {
  assert.throws(() => decodeUnicastIpAddressRow(new Uint8Array(79)), RangeError);
  assert.throws(() => decodeIpForwardRow2(new Uint8Array(103)), RangeError);
  assert.throws(() => decodeIpInterfaceRow(new Uint8Array(167)), RangeError);
});

// ---- properties ----------------------------------------------------------------------------

const PLAIN = { noNullPrototype: true } as const;
const u8 = fc.integer({ min: 0, max: 0xff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const i32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const i64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });

const sockaddr: fc.Arbitrary<SockaddrInet> = fc.oneof(
  fc.record({
    kind: fc.constant('inet6' as const),
    address: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Ipv6Address.fromBytes(b)),
    port: fc.integer({ min: 0, max: 0xffff }),
    flowInfo: u32,
    scopeId: u32,
  }, PLAIN),
  fc
    .tuple(fc.integer({ min: 0, max: 0xffff }).filter((f) => f !== 23), fc.uint8Array({ minLength: 26, maxLength: 26 }))
    .map(([family, rest]) => {
      const bytes = new Uint8Array(28);
      bytes[0] = family & 0xff;
      bytes[1] = family >> 8;
      bytes.set(rest, 2);
      return { kind: 'unknown' as const, family, bytes };
    }),
);

const unicastRow: fc.Arbitrary<UnicastIpAddressRow> = fc.record({
  address: sockaddr,
  interfaceLuid: u64,
  interfaceIndex: u32,
  prefixOrigin: i32,
  suffixOrigin: i32,
  validLifetimeSec: u32,
  preferredLifetimeSec: u32,
  onLinkPrefixLength: u8,
  skipAsSource: fc.boolean(),
  dadState: i32,
  scopeId: u32,
  creationTimeStamp: i64,
}, PLAIN);

const forwardRow: fc.Arbitrary<IpForwardRow2> = fc.record({
  interfaceLuid: u64,
  interfaceIndex: u32,
  destinationPrefix: fc.record({ prefix: sockaddr, prefixLength: u8 }, PLAIN),
  nextHop: sockaddr,
  sitePrefixLength: u8,
  validLifetimeSec: u32,
  preferredLifetimeSec: u32,
  metric: u32,
  protocol: i32,
  loopback: fc.boolean(),
  autoconfigureAddress: fc.boolean(),
  publish: fc.boolean(),
  immortal: fc.boolean(),
  ageSec: u32,
  origin: i32,
}, PLAIN);

const interfaceRow: fc.Arbitrary<IpInterfaceRow> = fc.record({
  family: fc.integer({ min: 0, max: 0xffff }),
  interfaceLuid: u64,
  interfaceIndex: u32,
  maxReassemblySize: u32,
  interfaceIdentifier: u64,
  minRouterAdvertisementInterval: u32,
  maxRouterAdvertisementInterval: u32,
  advertisingEnabled: fc.boolean(),
  forwardingEnabled: fc.boolean(),
  weakHostSend: fc.boolean(),
  weakHostReceive: fc.boolean(),
  useAutomaticMetric: fc.boolean(),
  useNeighborUnreachabilityDetection: fc.boolean(),
  managedAddressConfigurationSupported: fc.boolean(),
  otherStatefulConfigurationSupported: fc.boolean(),
  advertiseDefaultRoute: fc.boolean(),
  routerDiscoveryBehavior: i32,
  dadTransmits: u32,
  baseReachableTime: u32,
  retransmitTime: u32,
  pathMtuDiscoveryTimeout: u32,
  linkLocalAddressBehavior: i32,
  linkLocalAddressTimeout: u32,
  zoneIndices: fc.array(u32, { minLength: 16, maxLength: 16 }),
  sitePrefixLength: u32,
  metric: u32,
  nlMtu: u32,
  connected: fc.boolean(),
  supportsWakeUpPatterns: fc.boolean(),
  supportsNeighborDiscovery: fc.boolean(),
  supportsRouterDiscovery: fc.boolean(),
  reachableTime: u32,
  transmitOffload: u8,
  receiveOffload: u8,
  disableDefaultRoutes: fc.boolean(),
}, PLAIN);

test('property: unicast rows round-trip value -> bytes -> value', () => {
  fc.assert(fc.property(unicastRow, (row) => assert.deepEqual(decodeUnicastIpAddressRow(encodeUnicastIpAddressRow(row)), row)));
});

test('property: forward rows round-trip', () => {
  fc.assert(fc.property(forwardRow, (row) => assert.deepEqual(decodeIpForwardRow2(encodeIpForwardRow2(row)), row)));
});

test('property: interface rows round-trip', () => {
  fc.assert(fc.property(interfaceRow, (row) => assert.deepEqual(decodeIpInterfaceRow(encodeIpInterfaceRow(row)), row)));
});

test('property: encoding into a table slot leaves the neighbours alone', () => {
  fc.assert(
    fc.property(fc.array(unicastRow, { maxLength: 5 }), (rows) => {
      assert.deepEqual(decodeUnicastIpAddressTable(encodeUnicastIpAddressTable(rows)), rows);
    }),
  );
});
