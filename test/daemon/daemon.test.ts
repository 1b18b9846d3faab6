import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { events, lease, releaseLease, status as apiStatus } from '../../src/api/client.js';
import type { ApiEvent } from '../../src/api/protocol.js';
import { Ipv6Address } from '../../src/core/address.js';
import { Ipv6Prefix } from '../../src/core/prefix.js';
import { generateStable6V1 } from '../../src/core/stable6-v1.js';
import { parseConfigText } from '../../src/daemon/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { silentLogger } from '../../src/daemon/logger.js';
import { writeSecretFile } from '../../src/daemon/secret-file.js';
import { isStable6Error } from '../../src/errors.js';
import { FakePlatform } from '../../src/platform/fake/fake-platform.js';

const SECRET = Uint8Array.from(Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex'));

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 's6t-daemon-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  await writeSecretFile(path.join(dir, 'secret'), SECRET, false);
  const config = (extra = '') =>
    parseConfigText(`secret_file = "${dir}/secret"\nstate_dir = "${dir}/state"\n[api]\nsocket = "${dir}/api.sock"\n[[interface]]\nname = "eth0"\n${extra}`, 'test.toml');
  return { dir, config };
}

/** An RA with 2001:db8:1:2::/64 (1 day valid, 4 h preferred), and DAD run on the fake clock. */
async function advertise(platform: FakePlatform, ifindex: number, daemon: Daemon): Promise<void> {
  platform.injectPrefix({
    ifindex,
    prefix: Ipv6Address.parse('2001:db8:1:2::'),
    prefixLength: 64,
    onLink: true,
    autonomous: true,
    validLifetimeSec: 86400,
    preferredLifetimeSec: 14400,
  });
  await daemon.idle();
  platform.clock.advance(200);
  await daemon.idle();
}

function expected(prefix: string, label = ''): string {
  return generateStable6V1({ secret: SECRET, prefix: Ipv6Prefix.parse(prefix), netIface: 'eth0', label, dadCounter: 0 }).address.toString();
}

test('daemon on the fake platform: RA prefix -> stable6-v1 address, status over the socket, a lease, restart adopts', async (t) => {
  const { dir, config } = await setup(t);
  const platform = new FakePlatform({ dadDurationMs: 100 });
  const eth0 = platform.addInterface({ name: 'eth0' });
  const daemon = await Daemon.start(config(), { platform, clock: platform.clock, logger: silentLogger });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await daemon.stop();
  });
  await advertise(platform, eth0.index, daemon);
  const want = expected('2001:db8:1:2::/64');
  const onHost = (await platform.listAddresses(eth0.index)).find((a) => a.address.toString() === want);
  assert.ok(onHost, `the fake host has ${want}`);
  assert.ok(onHost.owned);
  assert.equal(onHost.validLifetimeSec, 86400);
  assert.equal(onHost.flags.tentative, false);
  assert.equal(platform.settingsOf(eth0.index).autoconf, false, "the kernel's own SLAAC is off");

  const report = await apiStatus({ socketPath: `${dir}/api.sock` });
  assert.match(report.secretFingerprint, /^s6fp-/);
  const address = report.interfaces[0]?.addresses.find((a) => a.label === '');
  assert.equal(address?.address, want);
  assert.equal(address?.state, 'preferred');
  assert.equal(address?.algorithm, 'stable6-v1');
  assert.equal(report.interfaces[0]?.prefixes[0]?.source, 'ra');
  assert.ok(!JSON.stringify(report).includes(Buffer.from(SECRET).toString('hex')), 'the secret is never in the status');

  // A persistent lease: the answer comes once DAD has run on the fake clock.
  const pending = lease({ label: 'web', interface: 'eth0', persistent: true, socketPath: `${dir}/api.sock` });
  for (let i = 0; i < 50 && (await platform.listAddresses(eth0.index)).every((a) => a.address.toString() !== expected('2001:db8:1:2::/64', 'web')); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  platform.clock.advance(200);
  await daemon.idle();
  const handle = await pending;
  assert.deepEqual([...handle.addresses], [expected('2001:db8:1:2::/64', 'web')]);
  handle.close();

  await daemon.stop();
  stopped = true;
  assert.equal(platform.settingsOf(eth0.index).autoconf, true, 'settings restored on exit');
  const kept = (await platform.listAddresses(eth0.index)).map((a) => a.address.toString());
  assert.ok(kept.includes(want), 'addresses stay with their lifetimes on a clean stop');
  const state = JSON.parse(await fs.readFile(`${dir}/state/state.json`, 'utf8')) as { leases: { label: string }[] };
  assert.deepEqual(state.leases.map((l) => l.label), ['web']);
  assert.ok(!(await fs.readFile(`${dir}/state/state.json`, 'utf8')).includes(Buffer.from(SECRET).toString('hex')));

  // Restart: what is there is adopted; nothing is deleted or added again.
  const before = platform.operations.length;
  const again = await Daemon.start(config(), { platform, clock: platform.clock, logger: silentLogger });
  await again.idle();
  const ops = platform.operations.slice(before).map((o) => o.op);
  assert.ok(!ops.includes('deleteAddress'), `no delete on restart: ${ops.join(',')}`);
  assert.ok(!ops.includes('addAddress'), `no re-add on restart: ${ops.join(',')}`);
  await again.stop();
});

test('daemon: bad input is refused before anything on the host changes', async (t) => {
  const { dir, config } = await setup(t);
  const platform = new FakePlatform();
  platform.addInterface({ name: 'eth1' });
  const cases: [() => ReturnType<typeof config>, string][] = [
    [() => config(), 'ERR_DAEMON_INTERFACE'],
    [() => ({ ...config(), secretFile: `${dir}/missing` }), 'ERR_SECRET_MISSING'],
    [() => ({ ...config(), stateDir: `${dir}/secret/sub` }), 'ERR_DAEMON_STATE_DIR'],
  ];
  for (const [make, code] of cases) {
    await assert.rejects(Daemon.start(make(), { platform, clock: platform.clock, logger: silentLogger }), (e) => isStable6Error(e) && e.code === code, code);
  }
  assert.ok(platform.operations.every((o) => o.op.startsWith('list')), `only reads: ${platform.operations.map((o) => o.op).join(',')}`);
  await fs.mkdir(`${dir}/state2`);
  await fs.writeFile(`${dir}/state2/state.json`, '{broken');
  await assert.rejects(Daemon.start({ ...config(), stateDir: `${dir}/state2` }, { platform, logger: silentLogger }), (e) => isStable6Error(e, 'ERR_DAEMON_STATE'));
});

test('daemon: an interface in the linux compatibility mode gets the address the kernel would make', async (t) => {
  const { dir } = await setup(t);
  // The vector the notes checked on kernel 6.18: stable_secret 2001:db8:1:2:3:4:5:6, all-zero perm_addr.
  await fs.writeFile(`${dir}/stable_secret`, '2001:db8:1:2:3:4:5:6\n');
  const config = parseConfigText(
    `secret_file = "${dir}/secret"\nstate_dir = "${dir}/state"\n[api]\nsocket = "${dir}/api.sock"\n` +
      `[[interface]]\nname = "eth0"\nalgorithm = "linux"\nalgorithm_inputs = { secret_file = "${dir}/stable_secret", perm_hwaddr = "00:00:00:00:00:00" }\n`,
    'test.toml',
  );
  const platform = new FakePlatform({ dadDurationMs: 100 });
  const eth0 = platform.addInterface({ name: 'eth0' });
  const daemon = await Daemon.start(config, { platform, clock: platform.clock, logger: silentLogger });
  t.after(() => daemon.stop());
  platform.injectPrefix({ ifindex: eth0.index, prefix: Ipv6Address.parse('fd00:1234:5678:9abc::'), prefixLength: 64, onLink: true, autonomous: true, validLifetimeSec: 3600, preferredLifetimeSec: 1800 });
  await daemon.idle();
  platform.clock.advance(200);
  await daemon.idle();
  const addresses = (await platform.listAddresses(eth0.index)).map((a) => a.address.toString());
  assert.ok(addresses.includes('fd00:1234:5678:9abc:58fa:2725:8c2:19ff'), addresses.join(' '));
  const status = daemon.status();
  assert.equal(status.interfaces[0]?.addresses[0]?.algorithm, 'linux');
});

test('daemon: a compatibility mode with an unreadable secret refuses to start, naming the file', async (t) => {
  const { dir } = await setup(t);
  const config = parseConfigText(
    `secret_file = "${dir}/secret"\nstate_dir = "${dir}/state"\n[[interface]]\nname = "eth0"\nalgorithm = "dhcpcd"\nalgorithm_inputs = { secret_file = "${dir}/nope" }\n`,
    'test.toml',
  );
  const platform = new FakePlatform();
  platform.addInterface({ name: 'eth0' });
  await assert.rejects(Daemon.start(config, { platform, logger: silentLogger }), (e) => isStable6Error(e) && e.message.includes(`${dir}/nope`));
  assert.deepEqual(platform.operations, []);
});

test('daemon events: a lease address is followed tentative -> deprecated with its owner, then removed on release', async (t) => {
  const { dir, config } = await setup(t);
  const platform = new FakePlatform({ dadDurationMs: 100 });
  const eth0 = platform.addInterface({ name: 'eth0' });
  const daemon = await Daemon.start(config(), { platform, clock: platform.clock, logger: silentLogger });
  t.after(() => daemon.stop());
  await advertise(platform, eth0.index, daemon);
  const socketPath = `${dir}/api.sock`;
  const stream = await events({ socketPath });
  const seen: ApiEvent[] = [];
  const reading = (async () => {
    for await (const event of stream) seen.push(event);
  })();
  const web = expected('2001:db8:1:2::/64', 'web');
  const pending = lease({ label: 'web', interface: 'eth0', persistent: true, socketPath });
  for (let i = 0; i < 100 && !seen.some((e) => e.type === 'address-changed' && e.address.address === web); i++) await new Promise((r) => setTimeout(r, 10));
  platform.clock.advance(200);
  await daemon.idle();
  await pending;
  await releaseLease({ label: 'web', interface: 'eth0', socketPath });
  for (let i = 0; i < 100 && !seen.some((e) => e.type === 'lease-released'); i++) await new Promise((r) => setTimeout(r, 10));
  stream.close();
  await reading;
  const mine = seen.flatMap((e) => (e.type === 'address-changed' || e.type === 'address-removed') && e.address.address === web ? [e] : []);
  assert.deepEqual(
    mine.map((e) => [e.type, e.address.state, e.address.label, e.address.owner, e.address.algorithm, e.address.prefix]),
    [
      ['address-changed', 'tentative', 'web', process.getuid?.() ?? 0, 'stable6-v1', '2001:db8:1:2::/64'],
      ['address-changed', 'deprecated', 'web', process.getuid?.() ?? 0, 'stable6-v1', '2001:db8:1:2::/64'],
      ['address-removed', 'deprecated', 'web', process.getuid?.() ?? 0, 'stable6-v1', '2001:db8:1:2::/64'],
    ],
  );
  const changed = mine[1]!;
  assert.equal(changed.address.validLifetimeSec > 86000, true, 'the lifetimes of the entry, not zeros');
  assert.equal(changed.address.preferredLifetimeSec, 0, 'a lease address is deprecated');
  assert.ok(seen.some((e) => e.type === 'lease-changed' && e.lease.label === 'web' && e.lease.addresses[0]?.address === web));
});
