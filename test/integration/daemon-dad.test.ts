// Issue 4, point 3: Duplicate Address Detection by the real kernel (RFC 7217 §6). A neighbour on
// the link already holds our address: the daemon moves to the next counter; with every counter
// up to IDGEN_RETRIES taken the address is reported failed (never another algorithm); the
// counter in use is persisted and reused after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { requirePrivileged } from '../helpers/netns.js';
import { Lab, expectedAddress, globalAddresses, pio, waitFor } from './daemon-harness.js';

const PREFIX = '2001:db8:d::/64';

/** idgen_delay_ms small: the RFC 7217 §6 random delay stays, but short. */
function config(lab: Lab, retries = 3): string {
  return lab.file('stable6.toml', `idgen_retries = ${retries}\nidgen_delay_ms = 200\nlog_level = "info"\n\n[[interface]]\nname = "host0"\n`);
}

function args(lab: Lab, extra: string[] = []): string[] {
  return ['daemon', '--config', config(lab), '--secret-file', lab.secretFile, '--state-dir', lab.stateDir(), '--socket', lab.socket(), ...extra];
}

/** The neighbour takes an address first (nodad: it is simply there, and answers DAD probes). */
async function neighbourHolds(lab: Lab, address: string): Promise<void> {
  await lab.neighbour!.ip('-6', 'addr', 'add', `${address}/64`, 'dev', 'nb0', 'nodad');
}

test('daemon: a neighbour holding our counter-0 address -> the daemon ends on the counter-1 address, persisted', async (t) => {
  if (!requirePrivileged(t, ['radvd'])) return;
  const lab = await Lab.create({ neighbour: true });
  try {
    const a0 = expectedAddress(lab.secret, PREFIX, 0);
    const a1 = expectedAddress(lab.secret, PREFIX, 1);
    await neighbourHolds(lab, a0);
    const daemon = await lab.startDaemon(args(lab));
    await lab.radvd(pio(PREFIX, 600, 300));

    const ours = await waitFor(`${a1} out of DAD`, async () => (await globalAddresses(lab.host)).find((a) => a.local === a1 && !a.tentative), 30_000);
    assert.ok(!ours.dadfailed);
    // The duplicate is gone from the host (the kernel deleted it), and nothing else is there.
    assert.deepEqual((await globalAddresses(lab.host)).map((a) => a.local), [a1]);
    assert.match(daemon.stderr, /DAD found a duplicate; counter 1/);

    // The daemon hears the kernel's "DAD passed" by netlink: its status follows within moments.
    const status = await waitFor('the status to show it preferred', async () => {
      const s = await lab.status();
      return s.interfaces[0]!.addresses.find((a) => a.prefix === PREFIX)?.state === 'preferred' ? s : undefined;
    }, 5_000);
    const entry = status.interfaces[0]!.addresses.find((a) => a.prefix === PREFIX);
    assert.equal(entry?.address, a1);
    assert.equal(entry?.dadCounter, 1);
    assert.equal(entry?.state, 'preferred');
    assert.ok(status.interfaces.length === 1);

    const state = JSON.parse(readFileSync(path.join(lab.stateDir(), 'state.json'), 'utf8')) as { counters: { prefix: string; label: string; dadCounter: number }[] };
    assert.deepEqual(
      state.counters.map((c) => [c.prefix, c.label, c.dadCounter]),
      [[PREFIX, '', 1]],
    );
  } finally {
    await lab.destroy();
  }
});

test('daemon: the persisted counter is reused after a restart, even once counter 0 is free again', async (t) => {
  if (!requirePrivileged(t, ['radvd'])) return;
  const lab = await Lab.create({ neighbour: true });
  try {
    const a0 = expectedAddress(lab.secret, PREFIX, 0);
    const a1 = expectedAddress(lab.secret, PREFIX, 1);
    await neighbourHolds(lab, a0);
    // The first daemon puts back on exit the setting it found: found off, the kernel's own SLAAC
    // stays off between the two daemons (an RA then would add a kernel address of its own).
    await lab.host.sysctl('net.ipv6.conf.host0.autoconf', 0);
    const first = await lab.startDaemon(args(lab, ['--flush-on-exit']));
    await lab.radvd(pio(PREFIX, 600, 300));
    await waitFor(`${a1} out of DAD`, async () => (await globalAddresses(lab.host)).find((a) => a.local === a1 && !a.tentative), 30_000);
    assert.deepEqual(await first.stop(), { code: 0, signal: null });
    // --flush-on-exit took it away: the next daemon cannot merely adopt it.
    await waitFor('no global address', async () => ((await globalAddresses(lab.host)).length === 0 ? true : undefined));

    // The neighbour lets counter 0 go: a new computation would pick it, the persisted counter must win.
    await lab.neighbour!.ip('-6', 'addr', 'del', `${a0}/64`, 'dev', 'nb0');
    const second = await lab.startDaemon(args(lab));
    await waitFor(`${a1} again`, async () => (await globalAddresses(lab.host)).find((a) => a.local === a1 && !a.tentative), 30_000);
    assert.deepEqual((await globalAddresses(lab.host)).map((a) => a.local), [a1]);
    assert.doesNotMatch(second.stderr, /duplicate/);
    const entry = (await lab.status()).interfaces[0]!.addresses.find((a) => a.prefix === PREFIX);
    assert.equal(entry?.dadCounter, 1);
  } finally {
    await lab.destroy();
  }
});

test('daemon: every counter up to IDGEN_RETRIES taken -> the address is reported failed, no other algorithm, nothing installed', async (t) => {
  if (!requirePrivileged(t, ['radvd'])) return;
  const lab = await Lab.create({ neighbour: true });
  try {
    const taken = [0, 1, 2, 3].map((n) => expectedAddress(lab.secret, PREFIX, n));
    for (const address of taken) await neighbourHolds(lab, address);
    const daemon = await lab.startDaemon(args(lab, []));
    await lab.radvd(pio(PREFIX, 600, 300));

    const failed = await waitFor(
      'the address reported failed',
      async () => (await lab.status()).interfaces[0]?.addresses.find((a) => a.prefix === PREFIX && a.state === 'failed'),
      40_000,
    );
    assert.equal(failed.dadCounter, 3);
    assert.equal(failed.algorithm, 'stable6-v1');
    assert.match(daemon.stderr, /no DAD retries left \(IDGEN_RETRIES 3\)/);
    // Each counter was tried once (four duplicates), and nothing of ours or the kernel's stays.
    assert.equal(daemon.stderr.match(/DAD found a duplicate/g)?.length, 4);
    assert.deepEqual(await globalAddresses(lab.host), []);
    // Another RA does not start it over (the failure stands until the prefix changes or a restart).
    await lab.nextRa(PREFIX);
    assert.deepEqual(await globalAddresses(lab.host), []);
    assert.equal(daemon.stderr.match(/DAD found a duplicate/g)?.length, 4);
  } finally {
    await lab.destroy();
  }
});
