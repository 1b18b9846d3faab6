import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cli } from '../helpers/cli.js';
import { Ipv6Prefix } from '../../src/core/prefix.js';
import { generateNetworkManager } from '../../src/core/compat/networkmanager.js';
import { networkdAppSpecificKey, nmHostId, parseMachineId } from '../../src/core/compat/secret-formats.js';
import { generateNetworkd } from '../../src/core/compat/systemd-networkd.js';

const oneLine = (stderr: string, code: string): void => {
  assert.equal(stderr.split('\n').filter(Boolean).length, 1, stderr);
  assert.ok(stderr.startsWith(`stable6: ${code}:`), stderr);
};

test('gen --algorithm reproduces each peer\'s vector', async () => {
  const cases: [string[], string][] = [
    [['--algorithm', 'linux', '--prefix', 'fd00:1234:5678:9abc::/64', '--secret-text', '2001:db8:1:2:3:4:5:6'], 'fd00:1234:5678:9abc:58fa:2725:8c2:19ff'],
    [['--algorithm', 'linux', '--prefix', 'fe80::/64', '--secret-text', '2001:db8:1:2:3:4:5:6', '--perm-hwaddr', '00:00:00:00:00:00'], 'fe80::ff05:eb87:4e94:b3ad'],
    [['--algorithm', 'systemd-networkd', '--prefix', '2002:da8:1::/64', '--iface', 'veth99', '--hwaddr', '12:34:56:78:9a:bc', '--secret-text', '86b123b9-69ba-4b7e-b8b3-d8605123525a'], '2002:da8:1:0:b47e:7975:fc7a:7d6e'],
    [['--algorithm', 'dhcpcd', '--prefix', 'fe80::/64', '--hwaddr', '02:12:34:56:78:9a', '--secret-text', '00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff'], 'fe80::adec:d99c:d09b:550c'],
  ];
  for (const [args, want] of cases) {
    assert.deepEqual(await cli(['gen', ...args]), { status: 0, stdout: `${want}\n`, stderr: '' }, args.join(' '));
  }
});

test('gen --algorithm networkmanager: UUID (type 0), stable-id (1), generated (2) match the library', async () => {
  const key = 'a-legacy-secret-key-of-32-bytes!';
  const prefix = Ipv6Prefix.parse('2001:db8:4::/64');
  const uuid = '6b138152-9f3e-4b97-aaf7-e6e553f2a24e';
  const secret = nmHostId(Buffer.from(key), undefined, 'k');
  for (const [type, id] of [['0', uuid], ['1', 'office']] as const) {
    const r = await cli(['gen', '--algorithm', 'networkmanager', '--prefix', prefix.toString(), '--iface', 'wlan0', '--stable-id', id, '--stable-type', type, '--secret-text', key]);
    const want = generateNetworkManager({ secret, prefix, ifname: 'wlan0', stableType: Number(type) as 0 | 1, networkId: id, dadCounter: 0 });
    assert.deepEqual(r, { status: 0, stdout: `${want.address.toString()}\n`, stderr: '' });
  }
  const r2 = await cli(['gen', '--algorithm', 'networkmanager', '--prefix', prefix.toString(), '--iface', 'wlan0', '--stable-id', 'x', '--stable-type', '2', '--secret-text', key, '--json']);
  assert.equal(r2.status, 0);
  assert.ok(!r2.stdout.includes(key));
});

test('gen --secret-file reads each peer\'s own file format (nm-v2 with a machine-id, networkd machine-id)', async () => {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 's6-gen-compat-'));
  try {
    const machineIdText = '3d1219c7c4c5404aaa1f6d2a48adfda4\n';
    const nmKey = Buffer.concat([Buffer.from('nm-v2:'), Buffer.alloc(32, 0x5a)]);
    await fs.writeFile(path.join(dir, 'machine-id'), machineIdText);
    await fs.writeFile(path.join(dir, 'secret_key'), nmKey, { mode: 0o600 });
    await fs.writeFile(path.join(dir, 'stable_secret'), '2001:0db8:0001:0002:0003:0004:0005:0006\n');
    const prefix = Ipv6Prefix.parse('2001:db8:4::/64');
    const nm = await cli(['gen', '--algorithm', 'networkmanager', '--prefix', prefix.toString(), '--iface', 'eth0', '--stable-id', 'lab',
      '--secret-file', path.join(dir, 'secret_key'), '--machine-id-file', path.join(dir, 'machine-id')]);
    const nmWant = generateNetworkManager({ secret: nmHostId(nmKey, parseMachineId(machineIdText, 'm'), 'k'), prefix, ifname: 'eth0', stableType: 1, networkId: 'lab', dadCounter: 0 });
    assert.deepEqual(nm, { status: 0, stdout: `${nmWant.address.toString()}\n`, stderr: '' });
    const nd = await cli(['gen', '--algorithm', 'systemd-networkd', '--prefix', prefix.toString(), '--iface', 'eth0', '--hwaddr', '02:00:00:00:00:01', '--secret-file', path.join(dir, 'machine-id')]);
    const ndWant = generateNetworkd({ key: networkdAppSpecificKey(parseMachineId(machineIdText, 'm')), prefix, ifname: 'eth0', hwAddress: Buffer.from('020000000001', 'hex'), dadCounter: 0 });
    assert.deepEqual(nd, { status: 0, stdout: `${ndWant.address.toString()}\n`, stderr: '' });
    const lx = await cli(['gen', '--algorithm', 'linux', '--prefix', 'fe80::/64', '--secret-file', path.join(dir, 'stable_secret')]);
    assert.deepEqual(lx, { status: 0, stdout: 'fe80::ff05:eb87:4e94:b3ad\n', stderr: '' });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('gen --algorithm: bad input is one line naming the problem, exit 2', async () => {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 's6-gen-compat-'));
  try {
    const missing = path.join(dir, 'nope');
    await fs.writeFile(path.join(dir, 'bad'), 'not:hex:zz\n');
    const runs: [string[], string, string?][] = [
      [['--algorithm', 'dhcpcd', '--prefix', 'fe80::/64', '--hwaddr', '02:12:34:56:78:9a', '--secret-file', missing], 'ERR_COMPAT_SECRET_MISSING', missing],
      [['--algorithm', 'dhcpcd', '--prefix', 'fe80::/64', '--hwaddr', '02:12:34:56:78:9a', '--secret-file', path.join(dir, 'bad')], 'ERR_COMPAT_SECRET_MALFORMED', path.join(dir, 'bad')],
      [['--algorithm', 'dhcpcd', '--prefix', 'fe80::/64', '--secret-text', '00:11'], 'ERR_CLI_USAGE', '--hwaddr'],
      [['--algorithm', 'dhcpcd', '--prefix', 'fe80::/64', '--hwaddr', 'zz', '--secret-text', '00:11'], 'ERR_CLI_USAGE', '--hwaddr'],
      [['--algorithm', 'linux', '--prefix', 'fe80::/64', '--secret-text', '2001:db8::1', '--stable-id', 'x'], 'ERR_CLI_USAGE', '--stable-id'],
      [['--algorithm', 'linux', '--prefix', 'fe80::/64'], 'ERR_CLI_USAGE', '--secret-file'],
      [['--algorithm', 'linux', '--prefix', '2001:db8::/56', '--secret-text', '2001:db8::1'], 'ERR_PREFIX_LENGTH'],
      [['--algorithm', 'linux', '--prefix', 'fe80::/64', '--secret-text', '2001:db8::1', '--label', 'web'], 'ERR_CLI_USAGE', '--label'],
      [['--algorithm', 'linux', '--prefix', 'fe80::/64', '--secret-text', '2001:db8::1', '--dad-counter', '9'], 'ERR_GEN_EXHAUSTED'],
      [['--algorithm', 'windows', '--prefix', 'fe80::/64'], 'ERR_COMPAT_INPUT'],
      [['--prefix', '2001:db8::/64', '--iface', 'eth0', '--secret-hex', '00'.repeat(16), '--hwaddr', '02:00:00:00:00:01'], 'ERR_CLI_USAGE', '--hwaddr'],
    ];
    for (const [args, code, mention] of runs) {
      const r = await cli(['gen', ...args]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      oneLine(r.stderr, code);
      if (mention) assert.ok(r.stderr.includes(mention), r.stderr);
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
