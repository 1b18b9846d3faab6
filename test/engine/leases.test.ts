import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipv6Address } from '../../src/core/address.js';
import { Ipv6Prefix } from '../../src/core/prefix.js';
import { generateStable6V1 } from '../../src/core/stable6-v1.js';
import { perCounterGenerator } from '../../src/engine/generators.js';
import { Harness, SECRET } from './harness.js';

const P1 = '2001:db8:1:2::/64';
const P2 = '2001:db8:9:9::/64';

function stable(prefix: string, label = '', dadCounter = 0): string {
  return generateStable6V1({ secret: SECRET, prefix: Ipv6Prefix.parse(prefix), netIface: 'eth0', label, dadCounter }).address.toString();
}

async function withPrefix(): Promise<Harness> {
  const h = new Harness();
  await h.start();
  await h.ra(P1, 3600, 1800);
  await h.advance(200);
  return h;
}

test('a lease gets its label\'s address in every current prefix, answered when DAD is done', async () => {
  const h = await withPrefix();
  await h.ra(P2, 3600, 1800);
  await h.advance(200);
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'web', uid: 1000, binding: 'persistent' });
  assert.equal(h.reports.filter((r) => r.kind === 'lease-ready').length, 0, 'not before DAD');
  await h.advance(100);
  const ready = h.reports.filter((r) => r.kind === 'lease-ready');
  assert.deepEqual(ready, [{ kind: 'lease-ready', ifname: 'eth0', label: 'web', uid: 1000, addresses: [stable(P1, 'web'), stable(P2, 'web')].sort() }]);
  // Not the host's default source: installed deprecated (RFC 6724 rule 3), bindable all the same.
  const leased = (await h.addresses()).filter((a) => ready[0]!.kind === 'lease-ready' && a.address.toString() === stable(P1, 'web'));
  assert.equal(leased[0]!.preferredLifetimeSec, 0);
  assert.ok(leased[0]!.validLifetimeSec >= 3599);
  // A new prefix later gives the lease an address there too.
  await h.ra('2001:db8:7::/64', 3600, 1800);
  assert.ok((await h.ownedTexts()).includes(stable('2001:db8:7::/64', 'web')));
});

test('two labels, release deletes only the released one, another uid can neither take nor release it', async () => {
  const h = await withPrefix();
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'a', uid: 1000, binding: 'persistent' });
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'b', uid: 1001, binding: 'persistent' });
  await h.advance(100);
  assert.deepEqual(await h.ownedTexts(), [stable(P1), stable(P1, 'a'), stable(P1, 'b')].sort());
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'a', uid: 1001, binding: 'persistent' });
  assert.equal(h.reports.at(-1)!.kind, 'lease-failed');
  assert.equal((h.reports.at(-1) as { code: string }).code, 'ERR_API_LABEL_TAKEN');
  await h.driver.dispatch({ type: 'lease-release', ifname: 'eth0', label: 'a', uid: 1001 });
  assert.equal((h.reports.at(-1) as { code: string }).code, 'ERR_API_NOT_FOUND');
  await h.driver.dispatch({ type: 'lease-release', ifname: 'eth0', label: 'a', uid: 1000 });
  assert.deepEqual(await h.ownedTexts(), [stable(P1), stable(P1, 'b')].sort());
  assert.deepEqual(h.persisted.at(-1)!.leases, [{ ifname: 'eth0', label: 'b', uid: 1001, binding: 'persistent' }]);
  // root may release anyone's lease.
  await h.driver.dispatch({ type: 'lease-release', ifname: 'eth0', label: 'b', uid: 0 });
  assert.deepEqual(await h.ownedTexts(), [stable(P1)]);
});

test('a connection-bound lease goes when its connection closes; a persistent one stays', async () => {
  const h = await withPrefix();
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'tmp', uid: 1000, binding: 'connection', connectionId: 'c7' });
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'keep', uid: 1000, binding: 'persistent' });
  await h.advance(100);
  await h.driver.dispatch({ type: 'connection-closed', connectionId: 'c7' });
  assert.deepEqual(await h.ownedTexts(), [stable(P1), stable(P1, 'keep')].sort());
  assert.ok(h.reports.some((r) => r.kind === 'lease-released' && r.label === 'tmp'));
});

test('bad lease requests are refused with a stable code', async () => {
  const h = await withPrefix();
  const cases: [Parameters<typeof h.driver.dispatch>[0], string][] = [
    [{ type: 'lease-request', ifname: 'eth0', label: '', uid: 1, binding: 'persistent' }, 'ERR_API_BAD_REQUEST'],
    [{ type: 'lease-request', ifname: 'eth0', label: 'x'.repeat(256), uid: 1, binding: 'persistent' }, 'ERR_API_BAD_REQUEST'],
    [{ type: 'lease-request', ifname: 'wlan9', label: 'a', uid: 1, binding: 'persistent' }, 'ERR_API_UNKNOWN_INTERFACE'],
    [{ type: 'lease-request', ifname: 'eth0', label: 'a', uid: 1, binding: 'connection' }, 'ERR_API_BAD_REQUEST'],
  ];
  for (const [event, code] of cases) {
    await h.driver.dispatch(event);
    const last = h.reports.at(-1)!;
    assert.equal(last.kind, 'lease-failed');
    assert.equal((last as { code: string }).code, code);
  }
});

test('the lease limit holds', async () => {
  const h = new Harness();
  await h.start({ interfaces: [{ name: 'eth0' }], maxLeases: 2 });
  for (const label of ['a', 'b', 'c']) await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label, uid: 5, binding: 'persistent' });
  assert.equal((h.reports.at(-1) as { code: string }).code, 'ERR_API_LIMIT');
  assert.equal(h.status().leases.length, 2);
});

test('a lease whose every address fails DAD is answered with ERR_API_LEASE_FAILED', async () => {
  const h = new Harness();
  await h.start({ interfaces: [{ name: 'eth0' }], idgenRetries: 1, idgenDelayMs: 0 });
  await h.ra(P1, 3600, 1800);
  await h.advance(200);
  for (const c of [0, 1]) h.fake.holdAddress(h.ifindex, stable(P1, 'web', c));
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'web', uid: 7, binding: 'persistent' });
  await h.advance(1000);
  const failed = h.reports.filter((r) => r.kind === 'lease-failed');
  assert.equal(failed.length, 1);
  assert.equal((failed[0] as { code: string }).code, 'ERR_API_LEASE_FAILED');
});

test('two labels never share an address: a taken IID moves to the next counter', async () => {
  // A (deliberately bad) algorithm that ignores the label: counter n gives IID n + 1.
  const labelBlind = perCounterGenerator((ctx) => Ipv6Address.fromHalves(ctx.prefix.high64, BigInt(ctx.dadCounter + 1)));
  const h = new Harness({ engineOptions: { algorithms: { blind: labelBlind } } });
  await h.start({ interfaces: [{ name: 'eth0', algorithm: 'blind' }] });
  await h.ra(P1, 3600, 1800);
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'a', uid: 1, binding: 'persistent' });
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'b', uid: 1, binding: 'persistent' });
  await h.advance(200);
  assert.deepEqual(await h.ownedTexts(), ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2::3']);
  const counters = h.status().interfaces[0]!.addresses.map((a) => [a.label, a.dadCounter]);
  assert.deepEqual(counters, [['', 0], ['a', 1], ['b', 2]]);
});

test('with optimistic DAD a lease is answered as soon as the address is added (RFC 4429)', async () => {
  const h = new Harness({ dadDurationMs: 1000 });
  await h.start({ interfaces: [{ name: 'eth0', optimistic: true }] });
  await h.ra(P1, 3600, 1800);
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'fast', uid: 1, binding: 'persistent' });
  // The answer comes from the OS's report of the optimistic address, an event of its own: no time passes.
  await h.driver.idle();
  const ready = h.reports.find((r) => r.kind === 'lease-ready');
  assert.ok(ready && ready.kind === 'lease-ready' && ready.addresses[0] === stable(P1, 'fast'));
  assert.ok((await h.addresses()).every((a) => a.flags.optimistic));
  // The event stream saw the address go tentative, then (after DAD) deprecated as a lease address.
  await h.advance(1000);
  const states = h.reports.filter((r) => r.kind === 'address-state' && r.label === 'fast').map((r) => (r as { state: string }).state);
  assert.deepEqual(states, ['tentative', 'deprecated']);
});

test('releasing a lease reports each of its addresses removed, with the owner it had (the API filters events by owner)', async () => {
  const h = new Harness();
  await h.start();
  await h.ra(P1, 3600, 1800);
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'gone', uid: 1234, binding: 'persistent' });
  await h.advance(200);
  await h.driver.dispatch({ type: 'lease-release', ifname: 'eth0', label: 'gone', uid: 1234 });
  await h.driver.idle();
  const removed = h.reports.filter((r) => r.kind === 'address-removed');
  assert.deepEqual(removed, [
    { kind: 'address-removed', ifname: 'eth0', label: 'gone', prefix: P1, address: stable(P1, 'gone'), algorithm: 'stable6-v1', dadCounter: 0, state: 'deprecated', owner: 1234 },
  ]);
  // The interface's own address is not touched by a lease's release.
  assert.ok(!removed.some((r) => r.kind === 'address-removed' && r.label === ''));
});
