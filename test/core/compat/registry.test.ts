import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipv6Address } from '../../../src/core/address.js';
import { Ipv6Prefix } from '../../../src/core/prefix.js';
import { ALGORITHM_NAMES, ALGORITHMS, algorithmByName, registryGenerator } from '../../../src/core/algorithms.js';
import { generateStable6V1 } from '../../../src/core/stable6-v1.js';
import { isStable6Error } from '../../../src/errors.js';

const P = (text: string): Ipv6Prefix => Ipv6Prefix.parse(text);
const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/:/g, ''), 'hex'));

test('registry: every algorithm is listed, each reproduces its vector through the common contract', () => {
  assert.deepEqual([...ALGORITHM_NAMES].sort(), ['dhcpcd', 'linux', 'networkmanager', 'slaacd', 'stable6-v1', 'systemd-networkd']);
  const cases = [
    { name: 'linux', inputs: { secret: Ipv6Address.parse('2001:db8:1:2:3:4:5:6').toBytes(), prefix: P('fe80::/64'), ifname: 'x' }, want: 'fe80::ff05:eb87:4e94:b3ad' },
    {
      name: 'networkmanager',
      inputs: { secret: Buffer.from('key'), prefix: P('1234::/64'), ifname: 'eth666', stableType: 0 as const, stableId: '6b138152-9f3e-4b97-aaf7-e6e553f2a24e' },
      want: '1234::4ceb:14cd:3d54:793f',
    },
    {
      name: 'systemd-networkd',
      inputs: { secret: hex('86b123b969ba4b7eb8b3d8605123525a'), prefix: P('2002:da8:1::/64'), ifname: 'veth99', hwAddress: hex('12:34:56:78:9a:bc') },
      want: '2002:da8:1:0:b47e:7975:fc7a:7d6e',
    },
    {
      name: 'dhcpcd',
      inputs: { secret: hex('00112233445566778899aabbccddeeff'), prefix: P('fe80::/64'), ifname: 'x', hwAddress: hex('02:12:34:56:78:9a') },
      want: 'fe80::adec:d99c:d09b:550c',
    },
  ];
  for (const c of cases) {
    assert.equal(algorithmByName(c.name).generate({ ...c.inputs, dadCounter: 0 }).address.toString(), c.want, c.name);
  }
  const secret = new Uint8Array(32).fill(9);
  const v1 = ALGORITHMS['stable6-v1'].generate({ secret, prefix: P('2001:db8::/64'), ifname: 'eth0', label: 'web', dadCounter: 0 });
  assert.ok(v1.address.equals(generateStable6V1({ secret, prefix: P('2001:db8::/64'), netIface: 'eth0', label: 'web', dadCounter: 0 }).address));
});

test('registry: a missing required input names itself (ERR_COMPAT_INPUT); unknown names refused', () => {
  for (const name of ['networkmanager', 'systemd-networkd', 'dhcpcd', 'slaacd'] as const) {
    const secret = new Uint8Array(16).fill(1);
    assert.throws(() => ALGORITHMS[name].generate({ secret, prefix: P('2001:db8::/64'), ifname: 'eth0', dadCounter: 0 }), (e) => isStable6Error(e, 'ERR_COMPAT_INPUT'), name);
  }
  assert.throws(() => algorithmByName('windows'), (e) => isStable6Error(e, 'ERR_COMPAT_INPUT'));
});

test('registryGenerator: a taken address moves on as the peer moves after DAD; the peer limit ends it', () => {
  const secret = Ipv6Address.parse('2001:db8:1:2:3:4:5:6').toBytes();
  const prefix = P('2001:db8:9::/64');
  const gen = registryGenerator('linux', { secret });
  const context = { prefix, netIface: 'eth0', networkId: new Uint8Array(0), label: '', dadCounter: 0, maxDadCounter: 3 };
  const first = gen({ ...context, isTaken: () => false });
  const taken = new Set([first.address.toString()]);
  const second = gen({ ...context, isTaken: (a) => taken.has(a.toString()) });
  assert.equal(second.dadCounter, 1);
  assert.ok(second.address.equals(ALGORITHMS.linux.generate({ secret, prefix, ifname: 'eth0', dadCounter: 1 }).address));
  assert.throws(() => gen({ ...context, isTaken: () => true }), (e) => isStable6Error(e, 'ERR_GEN_EXHAUSTED'));
  const nd = registryGenerator('systemd-networkd', { secret: new Uint8Array(16).fill(3), hwAddress: hex('02:00:00:00:00:01') });
  assert.throws(() => nd({ ...context, isTaken: () => true }), (e) => isStable6Error(e, 'ERR_GEN_EXHAUSTED'), 'networkd never retries');
});
