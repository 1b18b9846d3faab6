import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Ipv6Address } from '../../../src/core/address.js';
import { Ipv6Prefix } from '../../../src/core/prefix.js';
import { isStable6Error } from '../../../src/errors.js';
import { generateLinux, linuxIsReservedIid, linuxStableIid } from '../../../src/core/compat/linux.js';
import {
  generateNetworkManager,
  nmIsReservedIid,
  nmNetworkId,
  nmStablePrivacyDigest,
  nmStablePrivacyIid,
} from '../../../src/core/compat/networkmanager.js';
import { eui64Iid, generateNetworkd, networkdPrefixLooksReserved } from '../../../src/core/compat/systemd-networkd.js';
import { dhcpcdIsReservedIid, dhcpcdRetryIid, dhcpcdStableIid, generateDhcpcd } from '../../../src/core/compat/dhcpcd.js';
import { generateSlaacd } from '../../../src/core/compat/slaacd.js';

const P = (text: string): Ipv6Prefix => Ipv6Prefix.parse(text);
const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/[:-]/g, ''), 'hex'));
const iidHex = (iid: Uint8Array): string => Buffer.from(iid).toString('hex');

const prefix64 = fc
  .tuple(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }))
  .map(([high]) => Ipv6Prefix.of(Ipv6Address.fromHalves(high, 0n), 64));

// ---- linux (vectors checked on kernel 6.18; see the notes) ----

const LINUX_SECRET = Ipv6Address.parse('2001:db8:1:2:3:4:5:6').toBytes();

test('linux: the kernel vector (ULA prefix, all-zero perm_addr, dad 0)', () => {
  const r = generateLinux({ secret: LINUX_SECRET, prefix: P('fd00:1234:5678:9abc::/64'), permHwAddress: new Uint8Array(6), dadCounter: 0 });
  assert.equal(r.address.toString(), 'fd00:1234:5678:9abc:58fa:2725:8c2:19ff');
  assert.equal(r.dadCounter, 0);
  assert.equal(r.nextDadCounter, 1);
});

test('linux: the kernel vector for the link-local address (fe80::/64)', () => {
  const r = generateLinux({ secret: LINUX_SECRET, prefix: P('fe80::/64'), dadCounter: 0 });
  assert.equal(r.address.toString(), 'fe80::ff05:eb87:4e94:b3ad');
});

test('linux: an all-zero perm_addr of any length is the same as none (veth)', () => {
  fc.assert(
    fc.property(prefix64, fc.integer({ min: 0, max: 32 }), (prefix, len) => {
      const a = generateLinux({ secret: LINUX_SECRET, prefix, dadCounter: 0 });
      const b = generateLinux({ secret: LINUX_SECRET, prefix, permHwAddress: new Uint8Array(len), dadCounter: 0 });
      assert.ok(a.address.equals(b.address));
    }),
    { numRuns: 50 },
  );
});

test('linux: a real perm_addr changes the address; big-endian hosts store the words swapped', () => {
  const prefix = P('2001:db8::/64');
  const high = prefix.address.toBytes().subarray(0, 8);
  const mac = hex('02:11:22:33:44:55');
  assert.notEqual(iidHex(linuxStableIid(LINUX_SECRET, high, mac, 0)), iidHex(linuxStableIid(LINUX_SECRET, high, new Uint8Array(6), 0)));
  const le = linuxStableIid(LINUX_SECRET, high, mac, 0, 'le');
  const be = linuxStableIid(LINUX_SECRET, high, mac, 0, 'be');
  assert.deepEqual(Array.from(be), [le[3], le[2], le[1], le[0], le[7], le[6], le[5], le[4]]);
});

test('linux: the kernel reserved check, including its wide 0200:5eff:fe00:0 – 0200:5eff:ffff:ffff block', () => {
  assert.ok(linuxIsReservedIid(hex('0000000000000000')));
  assert.ok(linuxIsReservedIid(hex('02005efffe000000')));
  assert.ok(linuxIsReservedIid(hex('02005efffeffffff')));
  assert.ok(linuxIsReservedIid(hex('02005effff123456')), 'the kernel mask 0xfe000000 also takes ff..');
  assert.ok(!linuxIsReservedIid(hex('02005efffd000000')));
  assert.ok(linuxIsReservedIid(hex('fdffffffffffff80')));
  assert.ok(linuxIsReservedIid(hex('fdffffffffffffff')));
  assert.ok(!linuxIsReservedIid(hex('fdffffffffffff7f')));
});

test('linux: retries follow the kernel (start at the retry number, give up past idgen_retries)', () => {
  const prefix = P('2001:db8:5::/64');
  const at = (n: number): string => iidHex(linuxStableIid(LINUX_SECRET, prefix.address.toBytes(), new Uint8Array(0), n));
  for (let n = 0; n <= 3; n++) {
    const r = generateLinux({ secret: LINUX_SECRET, prefix, dadCounter: n });
    assert.equal(iidHex(r.iid), at(n));
    assert.equal(r.nextDadCounter, n < 3 ? n + 1 : undefined);
  }
  assert.throws(() => generateLinux({ secret: LINUX_SECRET, prefix, dadCounter: 4 }), (e) => isStable6Error(e, 'ERR_GEN_EXHAUSTED'));
  const r = generateLinux({ secret: LINUX_SECRET, prefix, dadCounter: 4 }, { idgenRetries: 5 });
  assert.equal(iidHex(r.iid), at(4));
});

test('linux: refuses a secret that is not 16 bytes and a prefix that is not a /64', () => {
  assert.throws(() => generateLinux({ secret: new Uint8Array(15), prefix: P('2001:db8::/64'), dadCounter: 0 }), (e) => isStable6Error(e, 'ERR_COMPAT_INPUT'));
  assert.throws(() => generateLinux({ secret: LINUX_SECRET, prefix: P('2001:db8::/56'), dadCounter: 0 }), (e) => isStable6Error(e, 'ERR_PREFIX_LENGTH'));
});

// ---- networkmanager (vectors from NM's own unit tests, secret = "key") ----

const NM_KEY = Buffer.from('key');

test('networkmanager: NM test vector, type 0 (connection UUID), dad 0', () => {
  const r = generateNetworkManager({
    secret: NM_KEY,
    prefix: P('1234::/64'),
    ifname: 'eth666',
    stableType: 0,
    networkId: '6b138152-9f3e-4b97-aaf7-e6e553f2a24e',
    dadCounter: 0,
  });
  assert.equal(r.address.toString(), '1234::4ceb:14cd:3d54:793f');
  assert.equal(r.nextDadCounter, 1);
});

test('networkmanager: NM test vector, empty network id, dad 384 (the raw function, past the retry limit)', () => {
  const iid = nmStablePrivacyIid({ secret: NM_KEY, prefix: P('1::/64'), ifname: 'eth666', stableType: 0, networkId: '', dadCounter: 384 });
  assert.equal(Ipv6Address.fromBytes(Buffer.concat([P('1::/64').address.toBytes().subarray(0, 8), iid])).toString(), '1::11aa:2530:9144:dafa');
});

test('networkmanager: the message layout, type byte omitted only for type 0 (property, independent encoding)', () => {
  fc.assert(
    fc.property(
      prefix64,
      fc.string({ minLength: 1, maxLength: 15 }).filter((s) => !s.includes('\0')),
      fc.string({ maxLength: 40 }).filter((s) => !s.includes('\0')),
      fc.constantFrom<0 | 1 | 2>(0, 1, 2),
      fc.nat(1000),
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      (prefix, ifname, networkId, stableType, dadCounter, secret) => {
        const parts: Buffer[] = [];
        if (stableType !== 0) parts.push(Buffer.of(stableType));
        const n = Buffer.alloc(8);
        n.writeUInt32BE(dadCounter, 0);
        n.writeUInt32BE(secret.length, 4);
        parts.push(Buffer.from(prefix.address.toBytes().subarray(0, 8)), Buffer.from(`${ifname}\0${networkId}\0`, 'utf8'), n, Buffer.from(secret));
        const want = createHash('sha256').update(Buffer.concat(parts)).digest('hex');
        assert.equal(nmStablePrivacyDigest({ secret, prefix, ifname, networkId, stableType, dadCounter }).toString('hex'), want);
      },
    ),
    { numRuns: 100 },
  );
});

test('networkmanager: retry limits (3 for SLAAC, 6 for link-local)', () => {
  const base = { secret: NM_KEY, ifname: 'eth0', stableType: 1 as const, networkId: 'home' };
  assert.equal(generateNetworkManager({ ...base, prefix: P('2001:db8::/64'), dadCounter: 2 }).nextDadCounter, undefined);
  assert.throws(() => generateNetworkManager({ ...base, prefix: P('2001:db8::/64'), dadCounter: 3 }), (e) => isStable6Error(e, 'ERR_GEN_EXHAUSTED'));
  assert.equal(generateNetworkManager({ ...base, prefix: P('fe80::/64'), dadCounter: 4 }).nextDadCounter, 5);
  assert.throws(() => generateNetworkManager({ ...base, prefix: P('fe80::/64'), dadCounter: 6 }), (e) => isStable6Error(e, 'ERR_GEN_EXHAUSTED'));
});

test('networkmanager: reserved check and network ids for each stable-id form', () => {
  assert.ok(nmIsReservedIid(hex('0000000000000000')));
  assert.ok(nmIsReservedIid(hex('02005efffe123456')));
  assert.ok(!nmIsReservedIid(hex('02005effff123456')), 'NM, unlike the kernel, takes only the fe block');
  assert.ok(nmIsReservedIid(hex('fdffffffffffff80')));
  assert.ok(!nmIsReservedIid(hex('fdffffffffffff7f')));
  assert.deepEqual(nmNetworkId({ uuid: 'u-1' }), { stableType: 0, networkId: 'u-1' });
  assert.deepEqual(nmNetworkId({ uuid: 'u-1', stableId: 'office' }), { stableType: 1, networkId: 'office' });
  const generated = nmNetworkId({ stableId: '${CONNECTION}', expanded: 'x' });
  assert.equal(generated.stableType, 2);
  assert.equal(generated.networkId, createHash('sha1').update('x').digest('base64').slice(0, 27));
  assert.throws(() => nmNetworkId({ stableId: '${CONNECTION}' }), (e) => isStable6Error(e, 'ERR_COMPAT_INPUT'));
  assert.throws(() => nmNetworkId({ stableId: '${RANDOM}' }), (e) => isStable6Error(e, 'ERR_COMPAT_INPUT'));
});

// ---- systemd-networkd (networkd's own integration-test vector) ----

const ND_KEY = hex('86b123b969ba4b7eb8b3d8605123525a');

test('systemd-networkd: networkd test vector (veth99, 12:34:56:78:9a:bc, 2002:da8:1::/64)', () => {
  const r = generateNetworkd({ key: ND_KEY, prefix: P('2002:da8:1::/64'), ifname: 'veth99', hwAddress: hex('12:34:56:78:9a:bc'), dadCounter: 0 });
  assert.equal(r.address.toString(), '2002:da8:1:0:b47e:7975:fc7a:7d6e');
  assert.equal(r.nextDadCounter, undefined, 'networkd makes no new address after a DAD failure');
  assert.equal(r.fallback, undefined);
});

test('systemd-networkd: the current MAC and the SSID enter F', () => {
  const base = { key: ND_KEY, prefix: P('2002:da8:1::/64'), ifname: 'veth99', dadCounter: 0 };
  const a = generateNetworkd({ ...base, hwAddress: hex('12:34:56:78:9a:bc') });
  const b = generateNetworkd({ ...base, hwAddress: hex('12:34:56:78:9a:bd') });
  const c = generateNetworkd({ ...base, hwAddress: hex('12:34:56:78:9a:bc'), ssid: Buffer.from('cafe') });
  assert.ok(!a.address.equals(b.address));
  assert.ok(!a.address.equals(c.address));
});

test('systemd-networkd: QUIRK: the reserved check looks at the prefix; such prefixes fall back to EUI-64', () => {
  assert.ok(networkdPrefixLooksReserved(hex('0000000000000000')));
  assert.ok(networkdPrefixLooksReserved(hex('02005efffe000001')));
  assert.ok(networkdPrefixLooksReserved(hex('fdffffffffffff80')));
  assert.ok(!networkdPrefixLooksReserved(hex('fdffffffffffff7f')));
  assert.ok(!networkdPrefixLooksReserved(hex('20010db800000000')));
  const mac = hex('12:34:56:78:9a:bc');
  const r = generateNetworkd({ key: ND_KEY, prefix: P('200:5eff:fe00:1::/64'), ifname: 'veth99', hwAddress: mac, dadCounter: 0 });
  assert.equal(r.fallback, 'eui64');
  assert.equal(r.address.toString(), '200:5eff:fe00:1:1034:56ff:fe78:9abc');
  assert.equal(iidHex(eui64Iid(mac)), '103456fffe789abc');
  assert.throws(
    () => generateNetworkd({ key: ND_KEY, prefix: P('2002:da8:1::/64'), ifname: 'veth99', hwAddress: mac, dadCounter: 1 }),
    (e) => isStable6Error(e, 'ERR_GEN_EXHAUSTED'),
  );
});

// ---- dhcpcd (vector from the real dhcpcd 9.4.1) ----

const DHCPCD_SECRET = hex('00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff');

test('dhcpcd: the real-binary vector (fe80::/64, 02:12:34:56:78:9a, dad 0)', () => {
  const r = generateDhcpcd({ secret: DHCPCD_SECRET, prefix: P('fe80::/64'), hwAddress: hex('02:12:34:56:78:9a'), dadCounter: 0 });
  assert.equal(r.address.toString(), 'fe80::adec:d99c:d09b:550c');
  assert.equal(r.nextDadCounter, 1);
});

test('dhcpcd: the layout (property, independent encoding); VLAN 0 is not hashed', () => {
  fc.assert(
    fc.property(
      prefix64,
      fc.uint8Array({ minLength: 6, maxLength: 6 }),
      fc.option(fc.uint8Array({ maxLength: 32 }), { nil: undefined }),
      fc.integer({ min: 0, max: 4095 }),
      fc.integer({ min: 0, max: 2 }),
      fc.uint8Array({ minLength: 2, maxLength: 64 }),
      (prefix, hw, ssid, vlanId, dadCounter, secret) => {
        const vlan = Buffer.alloc(vlanId === 0 ? 0 : 2);
        if (vlanId !== 0) vlan.writeUInt16LE(vlanId);
        const counter = Buffer.alloc(4);
        counter.writeUInt32LE(dadCounter);
        const digest = createHash('sha256')
          .update(Buffer.concat([prefix.address.toBytes().subarray(0, 8), hw, ssid ?? Buffer.alloc(0), vlan, counter, secret]))
          .digest();
        assert.equal(iidHex(dhcpcdStableIid({ secret, prefix, hwAddress: hw, ssid, vlanId, dadCounter }, dadCounter)), digest.subarray(24).toString('hex'));
      },
    ),
    { numRuns: 100 },
  );
});

test('dhcpcd: QUIRKS: only IID 0 is reserved; its retry hashes the prefix alone; 3 tries', () => {
  assert.ok(dhcpcdIsReservedIid(hex('0000000000000000')));
  assert.ok(!dhcpcdIsReservedIid(hex('02005efffe000000')), 'its table has the bounds swapped');
  assert.ok(!dhcpcdIsReservedIid(hex('fdffffffffffffff')));
  assert.equal(iidHex(dhcpcdRetryIid(P('2001:db8::/64'))), createHash('sha256').update(hex('20010db800000000')).digest().subarray(24).toString('hex'));
  const base = { secret: DHCPCD_SECRET, prefix: P('2001:db8::/64'), hwAddress: hex('02:12:34:56:78:9a') };
  assert.equal(generateDhcpcd({ ...base, dadCounter: 2 }).nextDadCounter, undefined);
  assert.throws(() => generateDhcpcd({ ...base, dadCounter: 3 }), (e) => isStable6Error(e, 'ERR_GEN_EXHAUSTED'));
});

// ---- slaacd (from the source; no oracle here) ----

test('slaacd: SHA-512 over the 16-byte prefix field, MAC, int counter and key; IID = digest[56..64]', () => {
  const key = hex('000102030405060708090a0b0c0d0e0f');
  const mac = hex('00:11:22:33:44:55');
  const prefix = P('2001:db8:1:2::/64');
  const counter = Buffer.alloc(4);
  counter.writeInt32LE(1);
  const digest = createHash('sha512').update(prefix.address.toBytes()).update(mac).update(counter).update(key).digest();
  const r = generateSlaacd({ secret: key, prefix, hwAddress: mac, dadCounter: 1 });
  assert.equal(iidHex(r.iid), digest.subarray(56).toString('hex'));
  assert.equal(r.nextDadCounter, 2, 'no retry limit');
  // Bits past the prefix length in the RA's field enter the hash (slaacd does not mask them).
  const field = prefix.address.toBytes();
  field[15] = 1;
  const odd = generateSlaacd({ secret: key, prefix, raPrefixField: field, hwAddress: mac, dadCounter: 1 });
  assert.notEqual(iidHex(odd.iid), iidHex(r.iid));
  assert.equal(odd.address.high64, prefix.high64);
});
