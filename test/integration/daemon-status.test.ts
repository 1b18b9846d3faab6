// Issue 4, point 7: observability of a real daemon. `stable6 status --json` over its socket shows
// the prefixes (source, lifetimes, last seen) and addresses (address, prefix, label, algorithm,
// DAD counter, state, lifetimes) and the secret's fingerprint, never the secret; the Prometheus
// endpoint (inside the namespace's own loopback) counts addresses by state, DAD conflicts, repairs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { INFINITE_LIFETIME } from '../../src/platform/platform.js';
import { requirePrivileged } from '../helpers/netns.js';
import { Lab, expectedAddress, globalAddresses, pio, waitFor } from './daemon-harness.js';

const RA_PREFIX = '2001:db8:70::/64';
const STATIC_PREFIX = '2001:db8:71::/64';
const PORT = 9716;

/** One sample of the Prometheus text format, e.g. `stable6_addresses{state="preferred"}`. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

test('daemon: status --json and the metrics endpoint describe what the kernel has', async (t) => {
  if (!requirePrivileged(t, ['radvd', 'curl'])) return;
  const lab = await Lab.create({ neighbour: true });
  try {
    const config = lab.file(
      'stable6.toml',
      `idgen_delay_ms = 100\n\n[metrics]\nlisten = "127.0.0.1:${PORT}"\n\n[[interface]]\nname = "host0"\n\n  [[interface.static_prefix]]\n  prefix = "${STATIC_PREFIX}"\n`,
    );
    // A DAD conflict on the RA prefix, for the counters.
    const ra0 = expectedAddress(lab.secret, RA_PREFIX, 0);
    const ra1 = expectedAddress(lab.secret, RA_PREFIX, 1);
    const st0 = expectedAddress(lab.secret, STATIC_PREFIX, 0);
    await lab.neighbour!.ip('-6', 'addr', 'add', `${ra0}/64`, 'dev', 'nb0', 'nodad');
    const daemon = await lab.startDaemon(['daemon', '--config', config, '--secret-file', lab.secretFile, '--state-dir', lab.stateDir(), '--socket', lab.socket()]);
    await lab.radvd(pio(RA_PREFIX, 600, 300));
    await waitFor('both addresses out of DAD', async () => {
      const list = await globalAddresses(lab.host);
      return [ra1, st0].every((x) => list.some((a) => a.local === x && !a.tentative)) || undefined;
    }, 30_000);

    // The daemon hears the kernel's "DAD passed" by netlink, a moment after `ip` shows it.
    const json = await waitFor('the status to show both preferred', async () => {
      const run = await lab.cli(['status', '--json', '--socket', lab.socket()]);
      if (run.code !== 0) return undefined;
      const addresses = (JSON.parse(run.stdout) as import('../../src/api/protocol.js').StatusReport).interfaces[0]?.addresses ?? [];
      return [ra1, st0].every((x) => addresses.some((a) => a.address === x && a.state === 'preferred')) ? run : undefined;
    }, 10_000);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as import('../../src/api/protocol.js').StatusReport;
    assert.match(report.secretFingerprint, /^s6fp-[0-9a-f]{16}$/);
    assert.equal(report.interfaces.length, 1);
    const iface = report.interfaces[0]!;
    assert.equal(iface.name, 'host0');

    const ra = iface.prefixes.find((p) => p.prefix === RA_PREFIX)!;
    assert.equal(ra.source, 'ra');
    assert.ok(ra.validLifetimeSec <= 600 && ra.validLifetimeSec > 580, `valid ${ra.validLifetimeSec}`);
    assert.ok(ra.preferredLifetimeSec <= 300 && ra.preferredLifetimeSec > 280);
    assert.ok(ra.lastSeen !== null && Math.abs(Date.parse(ra.lastSeen) - Date.now()) < 60_000, `lastSeen ${ra.lastSeen}`);
    const st = iface.prefixes.find((p) => p.prefix === STATIC_PREFIX)!;
    assert.deepEqual(st, { prefix: STATIC_PREFIX, source: 'static', validLifetimeSec: INFINITE_LIFETIME, preferredLifetimeSec: INFINITE_LIFETIME, lastSeen: null });

    const a = iface.addresses.find((x) => x.prefix === RA_PREFIX)!;
    assert.deepEqual(
      { ...a, validLifetimeSec: 0, preferredLifetimeSec: 0 },
      { address: ra1, prefix: RA_PREFIX, label: '', algorithm: 'stable6-v1', dadCounter: 1, state: 'preferred', validLifetimeSec: 0, preferredLifetimeSec: 0 },
    );
    assert.ok(a.validLifetimeSec <= 600 && a.validLifetimeSec > 580);
    assert.ok(a.preferredLifetimeSec <= 300 && a.preferredLifetimeSec > 280);
    const s = iface.addresses.find((x) => x.prefix === STATIC_PREFIX)!;
    assert.equal(s.address, st0);
    assert.equal(s.validLifetimeSec, INFINITE_LIFETIME);

    const human = await lab.cli(['status', '--socket', lab.socket()]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, new RegExp(`secret fingerprint: ${report.secretFingerprint}`));
    assert.match(human.stdout, new RegExp(ra1));

    // A repair, for the counters.
    await lab.host.ip('-6', 'addr', 'del', `${st0}/64`, 'dev', 'host0');
    await waitFor(`${st0} back`, async () => ((await globalAddresses(lab.host)).some((x) => x.local === st0 && !x.tentative) ? true : undefined), 10_000);

    const metrics = await waitFor('metrics after the repair', async () => {
      const text = await lab.host.exec('curl', '-sf', `http://127.0.0.1:${PORT}/metrics`);
      return (sample(text, 'stable6_repairs_total') ?? 0) >= 1 && sample(text, 'stable6_addresses{state="preferred"}') === 2 ? text : undefined;
    }, 10_000);
    assert.equal(sample(metrics, 'stable6_dad_conflicts_total'), 1);
    assert.equal(sample(metrics, 'stable6_addresses{state="failed"}'), 0);
    assert.equal(sample(metrics, 'stable6_addresses{state="tentative"}'), 0);
    assert.equal(sample(metrics, 'stable6_prefixes'), 2);
    assert.ok((sample(metrics, 'stable6_prefix_reports_total') ?? 0) >= 1);

    // The secret appears nowhere: not in the status, the metrics or the log.
    const secretHex = readFileSync(lab.secretFile, 'utf8').trim();
    for (const text of [json.stdout, human.stdout, metrics, daemon.stderr]) assert.ok(!text.includes(secretHex));
  } finally {
    await lab.destroy();
  }
});
