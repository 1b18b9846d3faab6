import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { cli } from '../helpers/cli.js';
import { loadVectors } from '../helpers/vectors.js';

const execFileAsync = promisify(execFile);
const BIN = path.resolve('dist/src/cli/main.js');
const vectors = loadVectors();
const SECRET = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

test('gen reproduces every public vector through the command line (--secret-hex)', async () => {
  for (const v of vectors.iid) {
    const args = ['gen', '--prefix', v.prefix, '--iface', v.netIface, '--secret-hex', v.secret, '--dad-counter', String(v.dadCounter)];
    if (v.label) args.push('--label', v.label);
    if (v.networkId) args.push('--network-id', v.networkId);
    const r = await cli(args);
    assert.deepEqual(r, { status: 0, stdout: `${v.address}\n`, stderr: '' }, JSON.stringify(v));
  }
});

test('gen --json gives address, prefix, iid, dadCounter and algorithm, and no secret', async () => {
  const r = await cli(['gen', '--prefix', '2001:db8:1:2::/64', '--iface', 'eth0', '--secret-hex', SECRET, '--json']);
  assert.equal(r.status, 0);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(out.address, '2001:db8:1:2:f8e6:ddc5:cfb3:52e0');
  assert.equal(out.prefix, '2001:db8:1:2::/64');
  assert.equal(out.iid, 'f8e6ddc5cfb352e0');
  assert.equal(out.dadCounter, 0);
  assert.equal(out.algorithm, 'stable6-v1');
  assert.ok(!r.stdout.includes(SECRET));
});

test('gen with a routed prefix and --subnet auto|N uses the spec subnet, and says the /64 must be routed', async () => {
  for (const v of vectors.autoSubnet) {
    const r = await cli(['gen', '--prefix', v.prefix, '--subnet', 'auto', '--iface', v.netIface, '--secret-hex', v.secret, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(out.prefix, v.subnet);
    assert.equal(out.subnetId, String(v.subnetId));
  }
  const fixed = await cli(['gen', '--prefix', '2001:db8:2700::/48', '--subnet', '4660', '--iface', 'eth0', '--secret-hex', SECRET]);
  assert.equal(fixed.status, 0);
  assert.match(fixed.stdout, /^2001:db8:2700:1234:[0-9a-f:]+\n$/);
  assert.match(fixed.stderr, /routes 2001:db8:2700:1234::\/64 to this link/);
});

test('gen refuses bad input with one line naming the problem, exit 2, and no output', async (t) => {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 's6t-gen-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const unsafe = path.join(dir, 'unsafe');
  await fs.writeFile(unsafe, SECRET, { mode: 0o644 });
  await fs.chmod(unsafe, 0o644);
  const base = ['--iface', 'eth0', '--secret-hex', SECRET];
  const cases: [string[], string, RegExp][] = [
    [['gen', '--prefix', '2001:db8:1:2::1/64', ...base], 'ERR_PREFIX_HOST_BITS', /host bits/],
    [['gen', '--prefix', '2001:db8:1:2::/80', ...base], 'ERR_PREFIX_LENGTH', /longer than \/64/],
    [['gen', '--prefix', '2001:db8::/48', ...base], 'ERR_SUBNET_REQUIRED', /subnet/],
    [['gen', '--prefix', 'nonsense', ...base], 'ERR_PREFIX_INVALID', /nonsense/],
    [['gen', '--prefix', '2001:db8::/64', '--iface', '', '--secret-hex', SECRET], 'ERR_GEN_INPUT', /netIface/],
    [['gen', '--prefix', '2001:db8::/64', '--iface', 'x'.repeat(256), '--secret-hex', SECRET], 'ERR_GEN_INPUT', /netIface is 256 bytes/],
    [['gen', '--prefix', '2001:db8::/64', ...base, '--label', 'l'.repeat(256)], 'ERR_GEN_INPUT', /label is 256 bytes/],
    [['gen', '--prefix', '2001:db8::/64', ...base, '--dad-counter', '256'], 'ERR_CLI_USAGE', /--dad-counter/],
    [['gen', '--prefix', '2001:db8::/64', ...base, '--dad-counter', '-1'], 'ERR_CLI_USAGE', /dad-counter/],
    [['gen', '--prefix', '2001:db8::/64', ...base, '--subnet', 'x'], 'ERR_CLI_USAGE', /--subnet/],
    [['gen', '--prefix', '2001:db8::/64', '--iface', 'eth0', '--secret-hex', 'abcd'], 'ERR_SECRET_MALFORMED', /--secret-hex/],
    [['gen', '--prefix', '2001:db8::/64', '--iface', 'eth0', '--secret-file', path.join(dir, 'none')], 'ERR_SECRET_MISSING', /none/],
    [['gen', '--prefix', '2001:db8::/64', '--iface', 'eth0', '--secret-file', unsafe], 'ERR_SECRET_UNSAFE', /unsafe/],
    [['gen', '--iface', 'eth0', '--secret-hex', SECRET], 'ERR_CLI_USAGE', /--prefix is required/],
    [['gen', '--prefix', '2001:db8::/64', ...base, '--bogus'], 'ERR_CLI_USAGE', /bogus/],
    [['gen', '--prefix', '2001:db8::/64', ...base, '--secret-file', unsafe], 'ERR_CLI_USAGE', /not both/],
  ];
  for (const [argv, code, pattern] of cases) {
    const r = await cli(argv);
    assert.equal(r.status, 2, argv.join(' '));
    assert.equal(r.stdout, '', argv.join(' '));
    assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(`stable6: ${code}: `), `${argv.join(' ')} -> ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.ok(!r.stderr.includes(SECRET));
  }
});

test('the installed binary: exit statuses and streams', async () => {
  const ok = await execFileAsync(process.execPath, [BIN, 'gen', '--prefix', '2001:db8:1:2::/64', '--iface', 'eth0', '--secret-hex', SECRET]);
  assert.equal(ok.stdout, '2001:db8:1:2:f8e6:ddc5:cfb3:52e0\n');
  await assert.rejects(execFileAsync(process.execPath, [BIN, 'gen', '--prefix', '2001:db8::1/64', '--iface', 'eth0', '--secret-hex', SECRET]), (e: { code: number; stdout: string; stderr: string }) => {
    return e.code === 2 && e.stdout === '' && /^stable6: ERR_PREFIX_HOST_BITS: .*\n$/.test(e.stderr);
  });
  const help = await execFileAsync(process.execPath, [BIN, '--help']);
  assert.match(help.stdout, /gen +compute the stable6-v1 address/);
  await assert.rejects(execFileAsync(process.execPath, [BIN, 'frobnicate']), (e: { code: number; stderr: string }) => e.code === 2 && /ERR_CLI_USAGE/.test(e.stderr));
});
