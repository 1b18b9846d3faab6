import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ipv6Address } from '../../../src/core/address.js';
import {
  decodeRouterAdvertisement,
  encodeRouterAdvertisement,
  type NdOption,
  type RouterAdvertisement,
} from '../../../src/codec/ndp/router-advertisement.js';
import { isStable6Error } from '../../../src/errors.js';

/**
 * Captured from radvd 2.19 on Linux 6.18: the RA as received on a raw ICMPv6 socket
 * (python3 socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6) in a namespace peered by veth with
 * a namespace running `radvd --nodaemon -C radvd.conf`, prefix 2001:db8:1:2::/64 valid
 * 86400 preferred 14400, AdvDefaultLifetime 1800, AdvLinkMTU 1480, RDNSS 2001:db8::53
 * lifetime 600, router MAC 02:00:00:00:00:01).
 */
const RADVD_RA = Buffer.from(
  [
    '86', // type 134 Router Advertisement
    '00', // code 0
    'c2d7', // checksum (filled in by the sender's kernel)
    '40', // Cur Hop Limit 64
    '00', // M=0 O=0 Prf=medium
    '0708', // Router Lifetime 1800 s
    '00000000', // Reachable Time unspecified
    '00000000', // Retrans Timer unspecified
    // option 3 Prefix Information, length 4 (32 bytes)
    '0304',
    '40', // prefix length 64
    'c0', // L=1 A=1
    '00015180', // valid lifetime 86400
    '00003840', // preferred lifetime 14400
    '00000000', // Reserved2
    '20010db8000100020000000000000000', // 2001:db8:1:2::
    // option 25 RDNSS, length 3 (24 bytes)
    '1903',
    '0000', // reserved
    '00000258', // lifetime 600
    '20010db8000000000000000000000053', // 2001:db8::53
    // option 5 MTU, length 1
    '0501',
    '0000',
    '000005c8', // 1480
    // option 1 Source Link-Layer Address, length 1
    '0101',
    '020000000001',
  ].join(''),
  'hex',
);

const RADVD_VALUE: RouterAdvertisement = {
  curHopLimit: 64,
  managed: false,
  other: false,
  preference: 'medium',
  routerLifetimeSec: 1800,
  reachableTimeMs: 0,
  retransTimerMs: 0,
  options: [
    {
      kind: 'prefix-information',
      prefixLength: 64,
      onLink: true,
      autonomous: true,
      validLifetimeSec: 86400,
      preferredLifetimeSec: 14400,
      prefix: Ipv6Address.parse('2001:db8:1:2::'),
    },
    { kind: 'rdnss', lifetimeSec: 600, servers: [Ipv6Address.parse('2001:db8::53')] },
    { kind: 'mtu', mtu: 1480 },
    { kind: 'source-link-layer-address', address: Uint8Array.from([2, 0, 0, 0, 0, 1]) },
  ],
};

function plain(ra: RouterAdvertisement): unknown {
  return JSON.parse(JSON.stringify(ra, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)));
}

test('golden: radvd 2.19 RA decodes field by field', () => {
  assert.deepEqual(plain(decodeRouterAdvertisement(RADVD_RA)), plain(RADVD_VALUE));
});

test('golden: encoding gives radvd bytes, with the checksum left to the kernel', () => {
  const expected = Buffer.from(RADVD_RA);
  expected.writeUInt16BE(0, 2);
  assert.deepEqual(encodeRouterAdvertisement(RADVD_VALUE), expected);
});

test('unknown options and odd-length known options survive a round trip as raw bytes', () => {
  const bytes = Buffer.concat([
    encodeRouterAdvertisement({ ...RADVD_VALUE, options: [] }),
    Buffer.from('1f02000000000258aabbccddeeff0011', 'hex'), // DNSSL (31), kept raw
    Buffer.from('0301400000000000', 'hex'), // a PIO of the wrong length: kept, not refused
  ]);
  const ra = decodeRouterAdvertisement(bytes);
  assert.deepEqual(ra.options.map((o) => o.kind), ['unknown', 'unknown']);
  const again = encodeRouterAdvertisement(ra);
  assert.deepEqual(again.subarray(16), bytes.subarray(16));
});

test('malformed RAs are refused with ERR_NDP_DECODE (RFC 4861 §4.6: zero-length option)', () => {
  const head = encodeRouterAdvertisement({ ...RADVD_VALUE, options: [] });
  const cases: [Buffer, RegExp][] = [
    [head.subarray(0, 15), /at least 16/],
    [Buffer.concat([Buffer.from([133]), head.subarray(1)]), /type 133/],
    [Buffer.concat([head, Buffer.from('0300', 'hex')]), /length 0/],
    [Buffer.concat([head, Buffer.from('0304', 'hex')]), /past the end/],
    [Buffer.concat([head, Buffer.from('03', 'hex')]), /cut/],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(() => decodeRouterAdvertisement(bytes), (e) => isStable6Error(e, 'ERR_NDP_DECODE') && pattern.test(e.message));
  }
  assert.throws(() => encodeRouterAdvertisement({ ...RADVD_VALUE, routerLifetimeSec: 70000 }), (e) => isStable6Error(e, 'ERR_NDP_ENCODE'));
});

const addressArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Ipv6Address.fromBytes(b));
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const optionArb: fc.Arbitrary<NdOption> = fc.oneof(
  fc.record({ kind: fc.constant('source-link-layer-address' as const), address: fc.uint8Array({ minLength: 6, maxLength: 6 }) }),
  fc.record({
    kind: fc.constant('prefix-information' as const),
    prefixLength: fc.integer({ min: 0, max: 128 }),
    onLink: fc.boolean(),
    autonomous: fc.boolean(),
    validLifetimeSec: u32,
    preferredLifetimeSec: u32,
    prefix: addressArb,
  }),
  fc.record({ kind: fc.constant('mtu' as const), mtu: u32 }),
  fc.record({ kind: fc.constant('rdnss' as const), lifetimeSec: u32, servers: fc.array(addressArb, { minLength: 1, maxLength: 4 }) }),
  fc.record({
    kind: fc.constant('unknown' as const),
    type: fc.integer({ min: 0, max: 255 }).filter((t) => ![1, 3, 5, 25].includes(t)),
    bytes: fc.integer({ min: 0, max: 4 }).chain((n) => fc.uint8Array({ minLength: 8 * n + 6, maxLength: 8 * n + 6 })),
  }),
);

test('property: decode(encode(ra)) is ra, and encode(decode(bytes)) is the same bytes', () => {
  fc.assert(
    fc.property(
      fc.record({
        curHopLimit: fc.integer({ min: 0, max: 255 }),
        managed: fc.boolean(),
        other: fc.boolean(),
        preference: fc.constantFrom('high' as const, 'medium' as const, 'low' as const),
        routerLifetimeSec: fc.integer({ min: 0, max: 0xffff }),
        reachableTimeMs: u32,
        retransTimerMs: u32,
        options: fc.array(optionArb, { maxLength: 6 }),
      }),
      (ra) => {
        const bytes = encodeRouterAdvertisement(ra);
        const decoded = decodeRouterAdvertisement(bytes);
        assert.deepEqual(plain(decoded), plain(ra));
        assert.deepEqual(encodeRouterAdvertisement(decoded), bytes);
      },
    ),
  );
});

test('property: decoding arbitrary bytes either succeeds or throws ERR_NDP_DECODE, never anything else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (tail) => {
      const bytes = Buffer.concat([Buffer.from([134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), tail]);
      try {
        decodeRouterAdvertisement(bytes);
      } catch (e) {
        assert.ok(isStable6Error(e, 'ERR_NDP_DECODE'), String(e));
      }
    }),
  );
});
