import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { Ipv6Address } from '../../src/core/address.js';
import { Ipv6Prefix } from '../../src/core/prefix.js';
import { isReservedIid } from '../../src/core/reserved-iid.js';
import { isStable6Error } from '../../src/errors.js';

test('RFC 5952 text: examples from the RFC', () => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'], // §4.1 leading zeros, §4.2.1 longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3 first of equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2 never :: for one group
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.3 the longest run wins
    ['2001:DB8::AAAA', '2001:db8::aaaa'], // §4.3 lower case
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['fe80::1:2', 'fe80::1:2'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
  ];
  for (const [input, expected] of cases) assert.equal(Ipv6Address.parse(input).toString(), expected, input);
});

test('parse refuses what is not an IPv6 address, naming the text', () => {
  for (const bad of ['', '1.2.3.4', '2001:db8::1::2', '2001:db8:::1', 'g::1', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', ' ::1']) {
    assert.throws(() => Ipv6Address.parse(bad), (e) => isStable6Error(e, 'ERR_ADDRESS_INVALID') && e.message.includes(JSON.stringify(bad)), bad);
  }
  assert.throws(() => Ipv6Address.fromBytes(new Uint8Array(15)), (e) => isStable6Error(e, 'ERR_ADDRESS_INVALID'));
});

const bytesArb = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  // addresses with zero runs, where RFC 5952 has its rules
  fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff, 0xdb8), { minLength: 8, maxLength: 8 }).map((groups) => {
    const b = new Uint8Array(16);
    groups.forEach((g, i) => {
      b[2 * i] = g >> 8;
      b[2 * i + 1] = g & 0xff;
    });
    return b;
  }),
);

test('property: our RFC 5952 writer agrees with ipaddr.js and parses back to the same bytes', () => {
  fc.assert(
    fc.property(bytesArb, (bytes) => {
      const address = Ipv6Address.fromBytes(bytes);
      const text = address.toString();
      const reference = ipaddr.fromByteArray([...bytes]) as ipaddr.IPv6;
      if (!reference.isIPv4MappedAddress()) assert.equal(text, reference.toRFC5952String());
      assert.deepEqual(Ipv6Address.parse(text).toBytes(), bytes);
    }),
    { numRuns: 2000 },
  );
});

test('halves and bytes agree', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (high, low) => {
      const a = Ipv6Address.fromHalves(high, low);
      assert.equal(a.high64, high);
      assert.equal(a.low64, low);
      assert.ok(Ipv6Address.fromBytes(a.toBytes()).equals(a));
    }),
  );
});

test('prefixes: parse, host bits refused, containment, subnets', () => {
  const p = Ipv6Prefix.parse('2001:db8:1:2::/64');
  assert.equal(p.toString(), '2001:db8:1:2::/64');
  assert.ok(p.contains(Ipv6Address.parse('2001:db8:1:2:ffff::1')));
  assert.ok(!p.contains(Ipv6Address.parse('2001:db8:1:3::1')));
  assert.throws(() => Ipv6Prefix.parse('2001:db8:1:2::1/64'), (e) => isStable6Error(e, 'ERR_PREFIX_HOST_BITS') && e.message.includes('2001:db8:1:2::/64'));
  for (const bad of ['2001:db8::', '2001:db8::/', '2001:db8::/129', 'x/64', '2001:db8::/6 4', '/64']) {
    assert.throws(() => Ipv6Prefix.parse(bad), (e) => isStable6Error(e) && (e.code === 'ERR_PREFIX_INVALID' || e.code === 'ERR_PREFIX_LENGTH'), bad);
  }
  assert.equal(Ipv6Prefix.parse('::/0').toString(), '::/0');
  assert.equal(Ipv6Prefix.parse('2001:db8::1/128').toString(), '2001:db8::1/128');
  const p56 = Ipv6Prefix.parse('2001:db8:aa00::/56');
  assert.equal(p56.subnet64(6n).toString(), '2001:db8:aa00:6::/64');
  assert.equal(p56.subnet64(255n).toString(), '2001:db8:aa00:ff::/64');
  assert.throws(() => p56.subnet64(256n), (e) => isStable6Error(e, 'ERR_SUBNET_ID_RANGE'));
  assert.ok(p56.covers(p56.subnet64(7n)));
  assert.ok(!p56.subnet64(7n).covers(p56));
  assert.equal(Ipv6Prefix.containing(Ipv6Address.parse('2001:db8:1:2:3:4:5:6'), 48).toString(), '2001:db8:1::/48');
});

test('property: a prefix contains exactly the addresses that share its first bits', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }), (a, b, length) => {
      const prefix = Ipv6Prefix.containing(Ipv6Address.fromBytes(a), length);
      const other = Ipv6Address.fromBytes(b);
      const bitsOf = (x: Uint8Array): string => [...x].map((v) => v.toString(2).padStart(8, '0')).join('').slice(0, length);
      assert.equal(prefix.contains(other), bitsOf(a) === bitsOf(b));
      assert.ok(prefix.contains(Ipv6Address.fromBytes(a)));
    }),
  );
});

test('reserved interface identifiers (RFC 5453, RFC 2526, RFC 4291)', () => {
  const iid = (hex: string): Uint8Array => Buffer.from(hex.replace(/:/g, ''), 'hex');
  for (const r of ['0000:0000:0000:0000', '0200:5eff:fe00:0000', '0200:5eff:feff:ffff', '0200:5eff:fe12:3456', 'fdff:ffff:ffff:ff80', 'fdff:ffff:ffff:ffff']) {
    assert.ok(isReservedIid(iid(r)), r);
  }
  for (const ok of ['0000:0000:0000:0001', '0200:5eff:fd00:0000', '0200:5eff:ff00:0000', 'fdff:ffff:ffff:ff7f', 'fdff:ffff:fffe:ffff', '0300:5eff:fe00:0000']) {
    assert.ok(!isReservedIid(iid(ok)), ok);
  }
});
