import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHmac, createSecretKey } from 'node:crypto';
import { Ipv6Address } from '../../src/core/address.js';
import { Ipv6Prefix } from '../../src/core/prefix.js';
import { isReservedIid } from '../../src/core/reserved-iid.js';
import {
  autoSubnetId,
  generateStable6V1,
  resolveSubnet64,
  stable6V1Iid,
  type Stable6V1Input,
} from '../../src/core/stable6-v1.js';
import { isStable6Error } from '../../src/errors.js';
import { loadVectors } from '../helpers/vectors.js';

const vectors = loadVectors();

test('the spec has vectors to check (a missing file must fail, not pass)', () => {
  assert.ok(vectors.iid.length >= 8);
  assert.ok(vectors.autoSubnet.length >= 4);
});

for (const v of vectors.iid) {
  test(`vector: ${v.prefix} ${JSON.stringify(v.netIface)} label=${JSON.stringify(v.label)} networkId=${JSON.stringify(v.networkId)} dad=${v.dadCounter}`, () => {
    const result = generateStable6V1({
      secret: Buffer.from(v.secret, 'hex'),
      prefix: Ipv6Prefix.parse(v.prefix),
      netIface: v.netIface,
      networkId: Buffer.from(v.networkId, 'utf8'),
      label: v.label,
      dadCounter: v.dadCounter,
    });
    assert.equal(result.address.toString(), v.address);
    assert.equal(result.dadCounter, v.dadCounter);
  });
}

for (const v of vectors.autoSubnet) {
  test(`auto subnet vector: ${v.prefix} ${v.netIface}`, () => {
    const secret = Buffer.from(v.secret, 'hex');
    const prefix = Ipv6Prefix.parse(v.prefix);
    assert.equal(autoSubnetId(secret, prefix, v.netIface), BigInt(v.subnetId));
    assert.equal(resolveSubnet64(secret, prefix, v.netIface, { kind: 'auto' }).prefix.toString(), v.subnet);
  });
}

test('F is HMAC-SHA-256 over the length-prefixed message of the spec, IID = RID[24..32]', () => {
  const secret = Buffer.alloc(32, 7);
  const message = Buffer.concat([
    Buffer.from('stable6-v1'),
    Buffer.from('20010db800010002', 'hex'),
    Buffer.from([4]),
    Buffer.from('eth0'),
    Buffer.from([2]),
    Buffer.from('id'),
    Buffer.from([3]),
    Buffer.from('web'),
    Buffer.from([9]),
  ]);
  const expected = createHmac('sha256', secret).update(message).digest().subarray(24, 32);
  const iid = stable6V1Iid({
    secret,
    prefix: Ipv6Prefix.parse('2001:db8:1:2::/64'),
    netIface: 'eth0',
    networkId: Buffer.from('id'),
    label: 'web',
    dadCounter: 9,
  });
  assert.deepEqual(Buffer.from(iid), expected);
});

test('a KeyObject secret gives the same address as its raw bytes', () => {
  const raw = Buffer.from(vectors.iid[0]?.secret ?? '', 'hex');
  const input = { prefix: Ipv6Prefix.parse('2001:db8:1:2::/64'), netIface: 'eth0', dadCounter: 0 };
  assert.ok(
    generateStable6V1({ ...input, secret: raw }).address.equals(generateStable6V1({ ...input, secret: createSecretKey(raw) }).address),
  );
});

test('a taken IID moves to the next counter, like a DAD failure', () => {
  const input: Stable6V1Input = { secret: Buffer.alloc(16, 1), prefix: Ipv6Prefix.parse('2001:db8::/64'), netIface: 'eth0', dadCounter: 0 };
  const first = generateStable6V1(input);
  const second = generateStable6V1(input, { isTaken: (a) => a.equals(first.address) });
  assert.equal(second.dadCounter, first.dadCounter + 1);
  assert.ok(!second.address.equals(first.address));
  assert.throws(
    () => generateStable6V1(input, { maxDadCounter: 2, isTaken: () => true }),
    (e) => isStable6Error(e, 'ERR_GEN_EXHAUSTED'),
  );
});

test('inputs out of range are refused with ERR_GEN_INPUT or ERR_PREFIX_LENGTH', () => {
  const base: Stable6V1Input = { secret: Buffer.alloc(16, 1), prefix: Ipv6Prefix.parse('2001:db8::/64'), netIface: 'eth0', dadCounter: 0 };
  const refused: [Partial<Stable6V1Input>, string][] = [
    [{ netIface: '' }, 'ERR_GEN_INPUT'],
    [{ netIface: 'x'.repeat(256) }, 'ERR_GEN_INPUT'],
    [{ netIface: 'é'.repeat(128) }, 'ERR_GEN_INPUT'], // 256 bytes of UTF-8 in 128 characters
    [{ label: 'l'.repeat(256) }, 'ERR_GEN_INPUT'],
    [{ networkId: new Uint8Array(256) }, 'ERR_GEN_INPUT'],
    [{ dadCounter: 256 }, 'ERR_GEN_INPUT'],
    [{ dadCounter: -1 }, 'ERR_GEN_INPUT'],
    [{ dadCounter: 1.5 }, 'ERR_GEN_INPUT'],
    [{ secret: Buffer.alloc(15) }, 'ERR_GEN_INPUT'],
    [{ secret: Buffer.alloc(65) }, 'ERR_GEN_INPUT'],
    [{ prefix: Ipv6Prefix.parse('2001:db8::/48') }, 'ERR_PREFIX_LENGTH'],
  ];
  for (const [change, code] of refused) {
    assert.throws(
      () => generateStable6V1({ ...base, ...change }),
      (e) => isStable6Error(e) && e.code === code,
      JSON.stringify(Object.keys(change)),
    );
  }
  assert.doesNotThrow(() => generateStable6V1({ ...base, netIface: 'x'.repeat(255), label: 'l'.repeat(255), networkId: new Uint8Array(255), dadCounter: 255 }));
});

test('resolveSubnet64: fixed IDs in range, /64 has only subnet 0, shorter prefixes need a choice', () => {
  const secret = Buffer.alloc(16, 1);
  const p48 = Ipv6Prefix.parse('2001:db8:2700::/48');
  assert.equal(resolveSubnet64(secret, p48, 'eth0', { kind: 'fixed', id: 0xbeefn }).prefix.toString(), '2001:db8:2700:beef::/64');
  assert.throws(() => resolveSubnet64(secret, p48, 'eth0', { kind: 'fixed', id: 0x10000n }), (e) => isStable6Error(e, 'ERR_SUBNET_ID_RANGE'));
  assert.throws(() => resolveSubnet64(secret, p48, 'eth0', undefined), (e) => isStable6Error(e, 'ERR_SUBNET_REQUIRED'));
  const p64 = Ipv6Prefix.parse('2001:db8::/64');
  assert.equal(resolveSubnet64(secret, p64, 'eth0', undefined).prefix, p64);
  assert.throws(() => resolveSubnet64(secret, p64, 'eth0', { kind: 'auto' }), (e) => isStable6Error(e, 'ERR_SUBNET_ID_RANGE'));
  assert.throws(() => resolveSubnet64(secret, Ipv6Prefix.parse('2001:db8::/80'), 'eth0', undefined), (e) => isStable6Error(e, 'ERR_PREFIX_LENGTH'));
});

// ---- properties --------------------------------------------------------------------

const secretArb = fc.uint8Array({ minLength: 16, maxLength: 64 });
const prefixArb = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((high) => Ipv6Prefix.of(Ipv6Address.fromHalves(high, 0n), 64));
const nameArb = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => Buffer.byteLength(s) <= 255);
const labelArb = fc.string({ maxLength: 40 });
const inputArb = fc.record({
  secret: secretArb,
  prefix: prefixArb,
  netIface: nameArb,
  networkId: fc.uint8Array({ maxLength: 32 }),
  label: labelArb,
  dadCounter: fc.integer({ min: 0, max: 200 }),
});

test('property: the IID is never reserved, and the address lies in its prefix', () => {
  fc.assert(
    fc.property(inputArb, (input) => {
      const r = generateStable6V1(input);
      assert.ok(!isReservedIid(r.iid));
      assert.ok(input.prefix.contains(r.address));
      assert.ok(r.dadCounter >= input.dadCounter);
    }),
  );
});

test('property: the same inputs always give the same address', () => {
  fc.assert(
    fc.property(inputArb, (input) => {
      const copy = { ...input, secret: Uint8Array.from(input.secret), networkId: Uint8Array.from(input.networkId) };
      assert.ok(generateStable6V1(input).address.equals(generateStable6V1(copy).address));
    }),
  );
});

test('property: changing any one input changes the IID', () => {
  const oneChange = fc.constantFrom('secret', 'prefix', 'netIface', 'networkId', 'label', 'dadCounter');
  fc.assert(
    fc.property(inputArb, oneChange, fc.integer({ min: 1, max: 50 }), (input, field, n) => {
      const changed = { ...input };
      switch (field) {
        case 'secret': {
          const s = Uint8Array.from(input.secret);
          s[n % s.length] = (s[n % s.length] ?? 0) ^ 1;
          changed.secret = s;
          break;
        }
        case 'prefix':
          changed.prefix = Ipv6Prefix.of(Ipv6Address.fromHalves(input.prefix.high64 ^ BigInt(n), 0n), 64);
          break;
        case 'netIface':
          changed.netIface = `${input.netIface}${n}`;
          break;
        case 'networkId':
          changed.networkId = Uint8Array.from([...input.networkId, n]);
          break;
        case 'label':
          changed.label = `${input.label}${n}`;
          break;
        case 'dadCounter':
          changed.dadCounter = input.dadCounter + n;
          break;
      }
      assert.notDeepEqual(stable6V1Iid(changed), stable6V1Iid(input));
    }),
  );
});

test('property: the length prefixes keep field boundaries apart (netIface "ab"+label "c" differs from "a"+"bc")', () => {
  fc.assert(
    fc.property(secretArb, fc.string({ minLength: 2, maxLength: 20 }), fc.integer({ min: 1, max: 19 }), (secret, text, cut) => {
      fc.pre(cut < text.length);
      const prefix = Ipv6Prefix.parse('2001:db8::/64');
      const a = stable6V1Iid({ secret, prefix, netIface: text.slice(0, cut), label: text.slice(cut), dadCounter: 0 });
      const b = stable6V1Iid({ secret, prefix, netIface: text, label: '', dadCounter: 0 });
      fc.pre(Buffer.byteLength(text.slice(0, cut)) > 0);
      assert.notDeepEqual(a, b);
    }),
  );
});

test('property: auto subnet IDs are never 0 and always fit', () => {
  fc.assert(
    fc.property(secretArb, fc.integer({ min: 0, max: 63 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), nameArb, (secret, length, high, name) => {
      const prefix = Ipv6Prefix.containing(Ipv6Address.fromHalves(high, 0n), length);
      const id = autoSubnetId(secret, prefix, name);
      assert.ok(id >= 1n && id < 1n << BigInt(64 - length));
      assert.ok(prefix.covers(prefix.subnet64(id)));
    }),
  );
});

test('property: hmacSha256 equals createHmac for keys of every size and any message', async () => {
  const { hmacSha256 } = await import('../../src/core/hmac-sha256.js');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 1100 }), (key, message) => {
      assert.deepEqual(hmacSha256(key, message), createHmac('sha256', key).update(message).digest());
    }),
    { numRuns: 500 },
  );
  const key = createSecretKey(Buffer.alloc(32, 5));
  assert.deepEqual(hmacSha256(key, Buffer.from('m')), createHmac('sha256', key).update('m').digest());
});
