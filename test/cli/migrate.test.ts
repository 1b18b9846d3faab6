import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'smol-toml';
import { FakePlatform } from '../../src/platform/fake/fake-platform.js';
import { runMigrate } from '../../src/cli/commands/migrate.js';
import { checkConfig } from '../../src/daemon/config.js';
import { Ipv6Prefix } from '../../src/core/prefix.js';
import { ALGORITHMS } from '../../src/core/algorithms.js';
import { networkdAppSpecificKey, nmHostId, parseMachineId } from '../../src/core/compat/secret-formats.js';
import type { CliIo } from '../../src/cli/cli-io.js';

const STABLE_SECRET = '2001:0db8:0001:0002:0003:0004:0005:0006';
const MAC = Uint8Array.from([0x02, 0x12, 0x34, 0x56, 0x78, 0x9a]);
const MACHINE_ID = '3d1219c7c4c5404aaa1f6d2a48adfda4';

async function run(argv: string[], platform: FakePlatform): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), readStdin: async () => '', env: {} };
  const status = await runMigrate(argv, io, platform).catch((error: { code?: string; message: string }) => {
    stderr += `stable6: ${error.code}: ${error.message}\n`;
    return 2;
  });
  return { status, stdout, stderr };
}

async function tree(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 's6-migrate-'));
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), content);
  }
  return dir;
}

/** A fake host whose eth0 has the addresses `mode` gives for `prefixes` (as the peer would have made them). */
function hostWith(addresses: string[]): { platform: FakePlatform; ifindex: number } {
  const platform = new FakePlatform({ linkLocal: false });
  const link = platform.addInterface({ name: 'eth0', hwAddress: MAC, permHwAddress: new Uint8Array(6) });
  for (const a of addresses) platform.addForeignAddress(link.index, a, { prefixLength: 64 });
  return { platform, ifindex: link.index };
}

const addr = (name: keyof typeof ALGORITHMS, inputs: Parameters<(typeof ALGORITHMS)['linux']['generate']>[0]): string => ALGORITHMS[name].generate(inputs).address.toString();

test('migrate --from linux: every present stable-privacy address matched; the config keeps them, no secret in it', async () => {
  const secret = Buffer.from(STABLE_SECRET.replace(/:/g, ''), 'hex');
  const prefixes = ['fe80::/64', '2001:db8:1:1::/64'];
  const present = prefixes.map((p) => addr('linux', { secret, prefix: Ipv6Prefix.parse(p), ifname: 'eth0', dadCounter: 0 }));
  const { platform } = hostWith(present);
  const proc = await tree({ 'sys/net/ipv6/conf/eth0/stable_secret': `${STABLE_SECRET}\n` });
  const configFile = path.join(proc, 'out.toml');
  try {
    const r = await run(['--from', 'linux', '--proc-root', proc, '--write-config', configFile], platform);
    assert.equal(r.status, 0, r.stderr);
    for (const a of present) assert.ok(r.stdout.includes(`= stable6 ${a}`), r.stdout);
    const text = await fs.readFile(configFile, 'utf8');
    assert.ok(!text.includes('0db8:0001') && !text.includes(secret.toString('hex')), 'no secret in the config');
    const config = checkConfig(parse(text), configFile);
    assert.equal(config.interfaces[0]?.algorithm, 'linux');
    assert.equal(config.interfaces[0]?.algorithmInputs.secret_file, path.join(proc, 'sys/net/ipv6/conf/eth0/stable_secret'));
    const json = await run(['--from', 'linux', '--proc-root', proc, '--json'], platform);
    const report = JSON.parse(json.stdout) as { allMatched: boolean; interfaces: { rows: { match: boolean }[] }[] };
    assert.equal(report.allMatched, true);
    assert.equal(report.interfaces[0]?.rows.length, 2);
  } finally {
    await fs.rm(proc, { recursive: true, force: true });
  }
});

test('migrate --from linux: the default stable_secret is used when the interface has none; a retry address matches at counter 1', async () => {
  const secret = Buffer.from(STABLE_SECRET.replace(/:/g, ''), 'hex');
  const prefix = Ipv6Prefix.parse('2001:db8:1:1::/64');
  const retry = ALGORITHMS.linux.generate({ secret, prefix, ifname: 'eth0', dadCounter: 1 });
  const { platform } = hostWith([retry.address.toString()]);
  const proc = await tree({ 'sys/net/ipv6/conf/default/stable_secret': STABLE_SECRET });
  try {
    const r = await run(['--from', 'linux', '--proc-root', proc, '--json'], platform);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { interfaces: { secretFile: string; rows: { dadCounter: number }[] }[] };
    assert.equal(report.interfaces[0]?.rows[0]?.dadCounter, 1);
    assert.ok(report.interfaces[0]?.secretFile.endsWith('default/stable_secret'));
  } finally {
    await fs.rm(proc, { recursive: true, force: true });
  }
});

test('migrate: a mismatch is loud (MISMATCH line, ERR_COMPAT_MISMATCH on stderr, exit 1)', async () => {
  const { platform } = hostWith(['2001:db8:1:1::1234']);
  const proc = await tree({ 'sys/net/ipv6/conf/eth0/stable_secret': STABLE_SECRET });
  try {
    const r = await run(['--from', 'linux', '--proc-root', proc], platform);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /MISMATCH: present 2001:db8:1:1::1234/);
    assert.match(r.stderr, /ERR_COMPAT_MISMATCH: .*eth0 2001:db8:1:1::\/64/);
  } finally {
    await fs.rm(proc, { recursive: true, force: true });
  }
});

test('migrate --from dhcpcd, systemd-networkd, networkmanager: secrets read where each keeps them (--root)', async () => {
  const dhcpcdSecret = '00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff';
  const nmKey = Buffer.concat([Buffer.from('nm-v2:'), Buffer.alloc(32, 0x33)]);
  const root = await tree({
    'var/lib/dhcpcd/secret': `${dhcpcdSecret}\n`,
    'etc/machine-id': `${MACHINE_ID}\n`,
    'var/lib/NetworkManager/secret_key': nmKey,
  });
  try {
    const prefix = Ipv6Prefix.parse('2001:db8:2:2::/64');
    const machineId = parseMachineId(MACHINE_ID, 'm');
    const cases: [string, string, string[]][] = [
      ['dhcpcd', addr('dhcpcd', { secret: Buffer.from(dhcpcdSecret.replace(/:/g, ''), 'hex'), prefix, ifname: 'eth0', hwAddress: MAC, dadCounter: 0 }), []],
      ['systemd-networkd', addr('systemd-networkd', { secret: networkdAppSpecificKey(machineId), prefix, ifname: 'eth0', hwAddress: MAC, dadCounter: 0 }), []],
      [
        'networkmanager',
        addr('networkmanager', { secret: nmHostId(nmKey, machineId, 'k'), prefix, ifname: 'eth0', stableType: 1, stableId: 'home', dadCounter: 0 }),
        ['--stable-id', 'home'],
      ],
    ];
    for (const [from, present, extra] of cases) {
      const { platform } = hostWith([present]);
      const r = await run(['--from', from, '--root', root, ...extra], platform);
      assert.equal(r.status, 0, `${from}: ${r.stdout} ${r.stderr}`);
      assert.ok(r.stdout.includes(`= stable6 ${present}`), r.stdout);
    }
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});

test('migrate: missing or malformed secrets name the file; bad flags are usage errors', async () => {
  const root = await tree({ 'var/lib/dhcpcd/secret': 'garbage here\n' });
  try {
    const { platform } = hostWith(['2001:db8:2:2::1']);
    const missing = await run(['--from', 'systemd-networkd', '--root', root], platform);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, new RegExp(`ERR_COMPAT_SECRET_MISSING: ${path.join(root, 'etc/machine-id')}`));
    const bad = await run(['--from', 'dhcpcd', '--root', root], platform);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, new RegExp(`ERR_COMPAT_SECRET_MALFORMED: ${path.join(root, 'var/lib/dhcpcd/secret')}`));
    assert.ok(!bad.stderr.includes('garbage'));
    const proc = path.join(root, 'proc');
    const unset = await run(['--from', 'linux', '--proc-root', proc, '--json'], platform);
    assert.equal(unset.status, 1);
    assert.match(unset.stdout, /ERR_COMPAT_SECRET_MISSING/);
    for (const argv of [['--from', 'windows'], [], ['--from', 'linux', '--stable-id', 'x'], ['--from', 'networkmanager', '--stable-type', '7']]) {
      const r = await run(argv, platform);
      assert.equal(r.status, 2, argv.join(' '));
      assert.match(r.stderr, /ERR_CLI_USAGE/);
    }
    const noNm = await run(['--from', 'networkmanager', '--root', root], hostWith(['2001:db8:2:2::1']).platform);
    assert.equal(noNm.status, 2, 'no secret_key there');
    assert.match(noNm.stderr, /ERR_COMPAT_SECRET_MISSING: .*secret_key/);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});
