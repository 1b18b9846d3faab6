import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineStatus, leaseView, type EngineStatus } from '../../src/engine/status.js';
import type { EngineState } from '../../src/engine/types.js';
import { Harness } from './harness.js';

const P1 = '2001:db8:1:2::/64';
const P2 = '2001:db8:9:9::/64';

/** What leaseView stands for: the lease and its label's addresses, read from a whole status. */
function fromStatus(status: EngineStatus, ifname: string, label: string) {
  const lease = status.leases.find((l) => l.ifname === ifname && l.label === label);
  if (!lease) return undefined;
  const iface = status.interfaces.find((i) => i.name === ifname);
  return { lease, addresses: (iface?.addresses ?? []).filter((a) => a.label === label) };
}

function assertSameViews(state: EngineState, now: number, keys: [string, string][]): void {
  const status = engineStatus(state, now);
  for (const [ifname, label] of keys) {
    assert.deepEqual(leaseView(state, ifname, label, now), fromStatus(status, ifname, label), `${ifname} ${label}`);
  }
}

/** The persisted leases are the leases, in their order (one record per lease). */
function assertPersistedMirrors(h: Harness): void {
  const expected = Object.values(h.state.leases).map((l) => ({ ifname: l.ifname, label: l.label, uid: l.uid, binding: l.binding }));
  assert.deepEqual(h.state.persisted.leases, expected);
  assert.deepEqual(h.persisted.at(-1)!.leases, expected);
  assertCounts(h);
}

function assertCounts(h: Harness): void {
  const leases = Object.values(h.state.leases);
  for (const uid of [0, 1000, 1001, 1002]) {
    assert.deepEqual(h.engine.leaseCounts(h.state, uid), { owned: leases.filter((l) => l.uid === uid).length, total: leases.length });
  }
}

test('one lease\'s view is the whole status\'s view of it, in every phase of the lease', async () => {
  const h = new Harness();
  await h.start();
  const keys: [string, string][] = [['eth0', 'a'], ['eth0', 'b'], ['eth0', 'c'], ['eth0', ''], ['eth0', 'none'], ['eth1', 'a']];
  // No prefix yet: pending leases without addresses.
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'a', uid: 1000, binding: 'persistent' });
  assertSameViews(h.state, h.clock.now(), keys);
  await h.ra(P1, 3600, 1800);
  await h.ra(P2, 600, 0);
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'b', uid: 1001, binding: 'connection', connectionId: 'c1' });
  // DAD running: tentative addresses.
  assertSameViews(h.state, h.clock.now(), keys);
  await h.advance(200);
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'c', uid: 1000, binding: 'persistent' });
  assertSameViews(h.state, h.clock.now(), keys);
  await h.advance(200);
  assertSameViews(h.state, h.clock.now(), keys);
  const a = leaseView(h.state, 'eth0', 'a', h.clock.now())!;
  assert.equal(a.lease.state, 'ready');
  assert.equal(a.lease.addresses.length, 2);
  assert.deepEqual(a.addresses.map((x) => x.prefix), [P1, P2]);
  // Lifetimes count down; a prefix expires.
  await h.advance(700_000);
  assertSameViews(h.state, h.clock.now(), keys);
  await h.driver.dispatch({ type: 'connection-closed', connectionId: 'c1' });
  assertSameViews(h.state, h.clock.now(), keys);
  assert.equal(leaseView(h.state, 'eth0', 'b', h.clock.now()), undefined);
});

test('the persisted leases follow every request, re-request and release in the leases\' order', async () => {
  const h = new Harness();
  await h.start();
  await h.ra(P1, 3600, 1800);
  for (let i = 0; i < 20; i++) {
    await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: `l${i}`, uid: 1000 + (i % 3), binding: i % 2 ? 'connection' : 'persistent', ...(i % 2 ? { connectionId: `c${i}` } : {}) });
  }
  assertPersistedMirrors(h);
  // Asking again persistently makes a connection-bound lease persistent: its record changes in place.
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'l3', uid: 1000 + (3 % 3), binding: 'persistent' });
  assert.equal(h.state.persisted.leases.find((l) => l.label === 'l3')!.binding, 'persistent');
  assertPersistedMirrors(h);
  await h.driver.dispatch({ type: 'lease-release', ifname: 'eth0', label: 'l4', uid: 0 });
  await h.driver.dispatch({ type: 'connection-closed', connectionId: 'c5' });
  assertPersistedMirrors(h);
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'l4', uid: 1000, binding: 'persistent' });
  assertPersistedMirrors(h);
  assert.equal(h.state.persisted.leases.at(-1)!.label, 'l4');
  // An earlier persist-state keeps what it said: records are replaced, not changed.
  const before = h.persisted.map((p) => structuredClone(p));
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'l7', uid: 1001, binding: 'persistent' });
  assert.deepEqual(h.persisted.slice(0, before.length), before);
  await h.advance(200);
  assertPersistedMirrors(h);
});

test('the lease limit counts leases added, released and restored after a restart', async () => {
  const config = { interfaces: [{ name: 'eth0' }], maxLeases: 3 };
  const h = new Harness();
  await h.start(config);
  for (const label of ['a', 'b', 'c', 'd']) await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label, uid: 1000, binding: 'persistent' });
  assert.equal((h.reports.at(-1) as { code?: string }).code, 'ERR_API_LIMIT');
  await h.driver.dispatch({ type: 'lease-release', ifname: 'eth0', label: 'b', uid: 1000 });
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'd', uid: 1000, binding: 'persistent' });
  assert.deepEqual(Object.values(h.state.leases).map((l) => l.label), ['a', 'c', 'd']);
  const again = new Harness({ persisted: h.persisted.at(-1)! });
  await again.start(config);
  assertCounts(again);
  await again.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'e', uid: 1000, binding: 'persistent' });
  assert.equal((again.reports.at(-1) as { code?: string }).code, 'ERR_API_LIMIT');
  await again.driver.dispatch({ type: 'lease-release', ifname: 'eth0', label: 'a', uid: 1000 });
  await again.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'e', uid: 1000, binding: 'persistent' });
  assert.deepEqual(again.state.persisted.leases.map((l) => l.label), ['c', 'd', 'e']);
  assertCounts(again);
});
