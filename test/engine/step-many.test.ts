/**
 * Engine.stepMany: a burst of lease requests and address reports stepped together ends where
 * stepping them one by one ends, with the same addresses added, and one state to write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ipv6Address } from '../../src/core/address.js';
import { Engine, canStepTogether } from '../../src/engine/engine.js';
import type { EngineCommand, EngineEvent, EngineState } from '../../src/engine/types.js';
import type { AddressInfo } from '../../src/platform/platform.js';
import { Harness, SECRET } from './harness.js';

const NOW = 1_000_000;
const FLAGS = { tentative: false, dadFailed: false, deprecated: false, optimistic: false, permanent: false, noDad: false, noPrefixRoute: true };

/** eth0 (ifindex 2) up, with two prefixes: the state a burst meets. */
function ready(engine: Engine): EngineState {
  let r = engine.step(engine.initialState(), { type: 'config', config: { interfaces: [{ name: 'eth0' }] } }, NOW);
  r = engine.step(r.state, { type: 'snapshot', links: [{ index: 2, name: 'eth0', up: true, running: true }], addresses: [], routes: [] }, NOW);
  for (const prefix of ['2001:db8:1::', 'fd00:7::']) {
    const pio = { ifindex: 2, prefix: Ipv6Address.parse(prefix), prefixLength: 64, onLink: true, autonomous: true, validLifetimeSec: 86400, preferredLifetimeSec: 14400 };
    r = engine.step(r.state, { type: 'prefix-received', prefix: pio }, NOW);
  }
  return r.state;
}

/** What a burst leaves behind that matters: leases, each address entry, and what was added. */
function outcome(state: EngineState, commands: EngineCommand[]): unknown {
  return {
    leases: Object.fromEntries(Object.entries(state.leases).map(([k, l]) => [k, { uid: l.uid, binding: l.binding, phase: l.phase }])),
    addresses: Object.fromEntries(Object.entries(state.addresses).map(([k, a]) => [k, { address: a.address, phase: a.phase, counter: a.dadCounter, usable: a.usable }])),
    persistedLeases: state.persisted.leases.map((l) => `${l.ifname}|${l.label}|${l.uid}|${l.binding}`).sort(),
    added: commands.flatMap((c) => (c.type === 'add-address' ? [c.address] : [])).sort(),
    deleted: commands.flatMap((c) => (c.type === 'delete-address' ? [c.address] : [])).sort(),
    ready: commands.flatMap((c) => (c.type === 'report' && c.report.kind === 'lease-ready' ? [`${c.report.label}`] : [])).sort(),
    failed: commands.flatMap((c) => (c.type === 'report' && c.report.kind === 'lease-failed' ? [`${c.report.label}:${c.report.code}`] : [])).sort(),
  };
}

const request = fc.record({
  label: fc.constantFrom('a', 'b', 'c', 'web', 'db', 'x.y', '-bad'),
  uid: fc.constantFrom(0, 1000, 1001),
  persistent: fc.boolean(),
});

test('property: lease requests stepped together end where stepping them one by one ends', () => {
  fc.assert(
    fc.property(fc.array(request, { minLength: 1, maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 12 }), (requests, cuts) => {
      const events: EngineEvent[] = requests.map((r) => ({
        type: 'lease-request',
        ifname: 'eth0',
        label: r.label,
        uid: r.uid,
        binding: r.persistent ? 'persistent' : 'connection',
        ...(r.persistent ? {} : { connectionId: 'c1' }),
      }));
      const one = new Engine({ secret: SECRET });
      let a = ready(one);
      const oneCommands: EngineCommand[] = [];
      for (const e of events) {
        const r = one.step(a, e, NOW);
        a = r.state;
        oneCommands.push(...r.commands);
      }
      const many = new Engine({ secret: SECRET });
      let b = ready(many);
      const manyCommands: EngineCommand[] = [];
      for (let i = 0, c = 0; i < events.length; c++) {
        const size = cuts[c % cuts.length]!;
        const r = many.stepMany(b, events.slice(i, i + size), NOW);
        b = r.state;
        manyCommands.push(...r.commands);
        // One state write per step at most.
        assert.ok(r.commands.filter((x) => x.type === 'persist-state').length <= 1);
        i += size;
      }
      assert.deepEqual(outcome(b, manyCommands), outcome(a, oneCommands));
    }),
    { numRuns: 150 },
  );
});

test('address reports stepped together: the same end, each lease answered once', () => {
  const engine = new Engine({ secret: SECRET });
  let state = ready(engine);
  const labels = ['a', 'b', 'c', 'd'];
  let r = engine.stepMany(
    state,
    labels.map((label) => ({ type: 'lease-request', ifname: 'eth0', label, uid: 1000, binding: 'persistent' })),
    NOW,
  );
  state = r.state;
  const adds = r.commands.flatMap((c) => (c.type === 'add-address' ? [c] : []));
  assert.equal(adds.length, labels.length * 2, 'one address per lease and prefix, all in one step');
  assert.equal(r.commands.filter((c) => c.type === 'persist-state').length, 1);
  const report = (address: string, tentative: boolean): EngineEvent => {
    const info: AddressInfo = { ifindex: 2, address: Ipv6Address.parse(address), prefixLength: 64, validLifetimeSec: 86400, preferredLifetimeSec: 0, flags: { ...FLAGS, tentative }, owned: true };
    return { type: 'address-changed', address: info };
  };
  // The kernel's "added, tentative" and "DAD passed" for every address, in one burst.
  r = engine.stepMany(state, [...adds.map((c) => report(c.address, true)), ...adds.map((c) => report(c.address, false))], NOW + 100);
  const ready_ = r.commands.flatMap((c) => (c.type === 'report' && c.report.kind === 'lease-ready' ? [c.report.label] : []));
  assert.deepEqual(ready_.sort(), labels);
  assert.ok(Object.values(r.state.leases).every((l) => l.phase === 'ready'));
});

test('only lease requests and address reports may be stepped together', () => {
  assert.ok(canStepTogether({ type: 'lease-request' }));
  assert.ok(canStepTogether({ type: 'address-changed' }));
  for (const type of ['config', 'snapshot', 'timer', 'lease-release', 'connection-closed', 'command-failed', 'shutdown', 'prefix-received']) {
    assert.ok(!canStepTogether({ type }), type);
  }
  const engine = new Engine({ secret: SECRET });
  const state = ready(engine);
  assert.throws(() => engine.stepMany(state, [{ type: 'timer' }, { type: 'timer' }], NOW), RangeError);
  assert.throws(() => engine.stepMany(state, [], NOW), RangeError);
});

test('driver: a burst of lease requests goes to the OS as one batch of adds and one state write', async () => {
  const h = new Harness();
  await h.start();
  await h.ra('2001:db8:1:2::/64', 3600, 1800);
  await h.advance(200);
  const batches: number[] = [];
  const addAddresses = h.fake.addAddresses.bind(h.fake);
  h.fake.addAddresses = (requests) => {
    batches.push(requests.length);
    return addAddresses(requests);
  };
  const writes = h.persisted.length;
  const dispatched = Array.from({ length: 40 }, (_, i) => h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: `app-${i}`, uid: 1000, binding: 'persistent' }));
  await Promise.all(dispatched);
  await h.driver.idle();
  assert.equal(batches.reduce((a, b) => a + b, 0), 40);
  assert.ok(batches.length <= 3, `a few batches at most, not 40: ${batches.join(', ')}`);
  assert.ok(h.persisted.length - writes <= 3, 'a few state writes at most, not 40');
  await h.advance(200);
  assert.equal(h.reports.filter((r) => r.kind === 'lease-ready').length, 40);
  assert.equal((await h.addresses()).length, 41);
});
