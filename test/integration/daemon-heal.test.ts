// Issue 4, point 4: self-healing against the real kernel. An owned address deleted by hand, or
// flushed by link down/up, comes back without waiting for the next RA (radvd here advertises
// only every 200-300 s, after its start-up burst). Addresses the daemon does not own are never
// touched. Times are printed as diagnostics, not asserted (bench/daemon-repair.ts measures them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { requirePrivileged } from '../helpers/netns.js';
import { Lab, expectedAddress, globalAddresses, pio, waitFor } from './daemon-harness.js';

const PREFIX = '2001:db8:e::/64';
const FOREIGN = '2001:db8:e::f0';
/** Slow RAs: a repair can only be the daemon's own doing, not a fresh PIO. */
const SLOW = { min: 200, max: 300 };

async function present(lab: Lab, address: string): Promise<boolean> {
  return (await globalAddresses(lab.host)).some((a) => a.local === address && !a.tentative);
}

test('daemon: an address deleted by hand is back at once; a foreign address is left alone', async (t) => {
  if (!requirePrivileged(t, ['radvd'])) return;
  const lab = await Lab.create();
  try {
    const want = expectedAddress(lab.secret, PREFIX);
    const daemon = await lab.startDaemon();
    await lab.radvd(pio(PREFIX, 1800, 900), SLOW);
    await waitFor(`${want}`, async () => (await present(lab, want)) || undefined, 30_000);
    // Not ours: added by the administrator, with finite lifetimes like ours.
    await lab.host.ip('-6', 'addr', 'add', `${FOREIGN}/64`, 'dev', 'host0', 'valid_lft', '1000', 'preferred_lft', '500');

    for (let round = 1; round <= 3; round++) {
      const start = performance.now();
      await lab.host.ip('-6', 'addr', 'del', `${want}/64`, 'dev', 'host0');
      const back = await waitFor(`${want} back (round ${round})`, async () => (await globalAddresses(lab.host)).find((a) => a.local === want), 10_000);
      t.diagnostic(`round ${round}: back after ≤ ${(performance.now() - start).toFixed(0)} ms (ip + polling included)`);
      // Back with the prefix's remaining lifetimes, not forever.
      assert.ok(back.valid_life_time <= 1800 && back.valid_life_time > 1700, `valid ${back.valid_life_time}`);
      await waitFor(`${want} out of DAD`, async () => (await present(lab, want)) || undefined, 10_000);
    }
    // The daemon hears the kernel's "DAD passed" by netlink: its status follows within moments.
    await waitFor('the status to show it preferred', async () => (await lab.status()).interfaces[0]!.addresses.find((a) => a.address === want && a.state === 'preferred'), 5_000);
    assert.match(daemon.stderr, /removed from the OS, to be put back/);

    // The foreign address: untouched while ours was repaired, and not put back when deleted.
    assert.ok((await globalAddresses(lab.host)).some((a) => a.local === FOREIGN));
    await lab.host.ip('-6', 'addr', 'del', `${FOREIGN}/64`, 'dev', 'host0');
    await lab.host.ip('-6', 'addr', 'del', `${want}/64`, 'dev', 'host0');
    await waitFor(`${want} back`, async () => (await present(lab, want)) || undefined, 10_000);
    assert.ok(!(await globalAddresses(lab.host)).some((a) => a.local === FOREIGN), 'stable6 never re-adds what it does not own');
  } finally {
    await lab.destroy();
  }
});

test('daemon: link down/up flushes the address; it is back once the link is up', async (t) => {
  if (!requirePrivileged(t, ['radvd'])) return;
  const lab = await Lab.create();
  try {
    const want = expectedAddress(lab.secret, PREFIX);
    await lab.startDaemon();
    await lab.radvd(pio(PREFIX, 1800, 900), SLOW);
    await waitFor(`${want}`, async () => (await present(lab, want)) || undefined, 30_000);

    for (let round = 1; round <= 2; round++) {
      await lab.host.ip('link', 'set', 'host0', 'down');
      await waitFor('the kernel flushed it', async () => ((await globalAddresses(lab.host)).length === 0 ? true : undefined), 10_000);
      const start = performance.now();
      await lab.host.ip('link', 'set', 'host0', 'up');
      await waitFor(`${want} back (round ${round})`, async () => (await present(lab, want)) || undefined, 15_000);
      t.diagnostic(`round ${round}: usable again ≤ ${(performance.now() - start).toFixed(0)} ms after link up (DAD included)`);
    }
    assert.deepEqual((await globalAddresses(lab.host)).map((a) => a.local), [want]);
    await waitFor('the status to show it preferred', async () => (await lab.status()).interfaces[0]!.addresses.find((a) => a.address === want && a.state === 'preferred'), 5_000);
  } finally {
    await lab.destroy();
  }
});
