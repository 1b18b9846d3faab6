import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipv6Prefix } from '../../src/core/prefix.js';
import { generateStable6V1, stable6V1Iid } from '../../src/core/stable6-v1.js';
import { Ipv6Address } from '../../src/core/address.js';
import { isStable6Error } from '../../src/errors.js';
import { INFINITE_LIFETIME, STABLE6_PROTOCOL } from '../../src/platform/platform.js';
import { Engine } from '../../src/engine/engine.js';
import { MAX_TIMER_MS } from '../../src/engine/types.js';
import { Harness, SECRET } from './harness.js';

const P1 = '2001:db8:1:2::/64';
const P2 = '2001:db8:9:9::/64';

function stable(prefix: string, label = '', dadCounter = 0, netIface = 'eth0'): string {
  return generateStable6V1({ secret: SECRET, prefix: Ipv6Prefix.parse(prefix), netIface, label, dadCounter }).address.toString();
}

function exact(prefix: string, label: string, dadCounter: number, netIface = 'eth0'): string {
  const iid = stable6V1Iid({ secret: SECRET, prefix: Ipv6Prefix.parse(prefix), netIface, label, dadCounter });
  const p = Ipv6Prefix.parse(prefix);
  return Ipv6Address.fromHalves(p.high64, Buffer.from(iid).readBigUInt64BE(0)).toString();
}

test('start: SLAAC off, a Router Solicitation, then an RA gives the stable6-v1 address with the PIO lifetimes', async () => {
  const h = new Harness();
  await h.start();
  assert.equal(h.fake.settingsOf(h.ifindex).autoconf, false);
  assert.equal(h.fake.settingsOf(h.ifindex).acceptRa, 1, 'accept_ra stays on for default routes');
  assert.equal(h.fake.routerSolicitations(h.ifindex), 1);
  await h.ra(P1, 86400, 14400);
  const [address] = await h.addresses();
  assert.ok(address);
  assert.equal(address.address.toString(), stable(P1));
  assert.equal(address.validLifetimeSec, 86400);
  assert.equal(address.preferredLifetimeSec, 14400);
  assert.equal(address.flags.tentative, true);
  assert.equal(h.status().interfaces[0]!.addresses[0]!.state, 'tentative');
  await h.advance(200);
  const status = h.status().interfaces[0]!;
  assert.equal(status.addresses[0]!.state, 'preferred');
  assert.equal(status.addresses[0]!.dadCounter, 0);
  assert.equal(status.addresses[0]!.algorithm, 'stable6-v1');
  assert.equal(status.prefixes[0]!.source, 'ra');
  // The kernel's own SLAAC was off: no foreign EUI-64 address appeared.
  assert.deepEqual((await h.addresses(false)).filter((a) => !a.address.isLinkLocal()), []);
  // The persisted state and the status never carry the secret.
  const secretHex = SECRET.toString('hex');
  assert.ok(!JSON.stringify(h.status()).includes(secretHex));
  assert.ok(!JSON.stringify(h.state).includes(secretHex));
  assert.ok(!h.logs.join('\n').includes(secretHex));
});

test('an RA router answers the start-up Router Solicitation at once', async () => {
  const h = new Harness();
  h.fake.setRouter(h.ifindex, [
    { prefix: Ipv6Address.parse('2001:db8:1:2::'), prefixLength: 64, onLink: true, autonomous: true, validLifetimeSec: 3600, preferredLifetimeSec: 1800 },
  ]);
  await h.start();
  await h.advance(0);
  assert.deepEqual(await h.ownedTexts(), [stable(P1)]);
});

test('PIOs that RFC 4862 §5.5.3 ignores make no address', async () => {
  const h = new Harness();
  await h.start();
  await h.ra('2001:db8:5::/48', 3600, 1800);
  await h.ra('2001:db8:6::/80', 3600, 1800);
  await h.ra('fe80::/64', 3600, 1800);
  await h.ra('2001:db8:7::/64', 3600, 7200); // preferred > valid
  await h.ra('2001:db8:8::/64', 3600, 1800, { autonomous: false });
  await h.ra('2001:db8:a::/64', 0, 0); // valid 0 for an unknown prefix
  assert.deepEqual(await h.ownedTexts(), []);
  assert.equal(h.status().stats.prefixesRejected, 6);
  // An unmasked prefix is masked (RFC 4861 §4.6.2: the bits are ignored), not refused.
  await h.ra('2001:db8:1:2::1234/64', 3600, 1800);
  assert.deepEqual(await h.ownedTexts(), [stable(P1)]);
});

test('the cap on prefixes per interface holds', async () => {
  const h = new Harness();
  await h.start({ interfaces: [{ name: 'eth0', maxPrefixes: 2 }] });
  for (const n of [1, 2, 3, 4]) await h.ra(`2001:db8:${n}::/64`, 3600, 1800);
  assert.equal((await h.ownedTexts()).length, 2);
  assert.equal(h.status().interfaces[0]!.prefixes.length, 2);
});

test('DAD conflict: the address is removed and the counter-1 address comes after the random delay', async () => {
  const h = new Harness({ random: () => 0.25 });
  await h.start({ interfaces: [{ name: 'eth0' }], idgenDelayMs: 1000 });
  h.fake.holdAddress(h.ifindex, stable(P1, '', 0));
  await h.ra(P1, 3600, 1800);
  await h.advance(100); // DAD fails, the kernel removes it
  assert.deepEqual(await h.ownedTexts(), []);
  assert.equal(h.status().interfaces[0]!.addresses[0]!.state, 'tentative');
  await h.advance(249);
  assert.deepEqual(await h.ownedTexts(), [], 'not before the random delay (0.25 × IDGEN_DELAY)');
  await h.advance(1);
  assert.deepEqual(await h.ownedTexts(), [stable(P1, '', 1)]);
  await h.advance(100);
  const a = h.status().interfaces[0]!.addresses[0]!;
  assert.equal(a.state, 'preferred');
  assert.equal(a.dadCounter, 1);
  assert.equal(h.status().stats.dadConflicts, 1);
  // The counter in use is persisted.
  assert.deepEqual(h.persisted.at(-1)!.counters.map((c) => [c.prefix, c.label, c.dadCounter]), [[P1, '', 1]]);
});

test('DAD retries exhausted: failed and reported, never a fallback', async () => {
  const h = new Harness();
  await h.start({ interfaces: [{ name: 'eth0' }], idgenRetries: 2, idgenDelayMs: 0 });
  for (const c of [0, 1, 2, 3, 4]) h.fake.holdAddress(h.ifindex, exact(P1, '', c));
  await h.ra(P1, 3600, 1800);
  await h.advance(2000);
  assert.deepEqual(await h.ownedTexts(), []);
  const adds = h.commands.filter((c) => c.type === 'add-address').map((c) => (c as { address: string }).address);
  assert.deepEqual(adds, [exact(P1, '', 0), exact(P1, '', 1), exact(P1, '', 2)], 'counters 0, 1, 2 (two retries) and nothing else');
  const a = h.status().interfaces[0]!.addresses[0]!;
  assert.equal(a.state, 'failed');
  const failed = h.reports.find((r) => r.kind === 'address-failed');
  assert.ok(failed && failed.kind === 'address-failed' && failed.code === 'ERR_DAD_EXHAUSTED');
  await h.advance(60_000);
  assert.equal(h.commands.filter((c) => c.type === 'add-address').length, 3, 'no more attempts later');
});

test('a permanent (static) duplicate stays as dadfailed in Linux: the engine deletes it and moves on', async () => {
  const h = new Harness();
  await h.start({ interfaces: [{ name: 'eth0', staticPrefixes: [{ prefix: P1 }] }], idgenDelayMs: 0 });
  h.fake.holdAddress(h.ifindex, stable(P1));
  // Added at start with infinite lifetimes; DAD fails.
  await h.advance(100);
  const deletes = h.commands.filter((c) => c.type === 'delete-address');
  assert.deepEqual(deletes.map((c) => (c as { address: string }).address), [stable(P1)]);
  await h.advance(100);
  const owned = await h.addresses();
  assert.deepEqual(owned.map((a) => a.address.toString()), [stable(P1, '', 1)]);
  assert.equal(owned[0]!.validLifetimeSec, INFINITE_LIFETIME);
});

test('an address deleted by hand is back at once with the remaining lifetime', async () => {
  const h = new Harness();
  await h.start();
  await h.ra(P1, 3600, 1800);
  await h.advance(10_000);
  h.fake.deleteAddressByHand(h.ifindex, stable(P1));
  await h.driver.idle();
  const [a] = await h.addresses();
  assert.ok(a, 'healed without waiting for an RA or a timer');
  assert.equal(a.address.toString(), stable(P1));
  assert.equal(a.validLifetimeSec, 3590);
  assert.equal(a.preferredLifetimeSec, 1790);
  assert.equal(h.status().stats.repairs, 1);
});

test('link down flushes the address; link up puts it back and solicits', async () => {
  const h = new Harness();
  await h.start();
  await h.ra(P1, 3600, 1800);
  await h.advance(200);
  h.fake.setLink(h.ifindex, { up: false });
  await h.driver.idle();
  assert.deepEqual(await h.ownedTexts(), []);
  await h.advance(5000);
  assert.deepEqual(await h.ownedTexts(), [], 'nothing is added to a down link');
  h.fake.setLink(h.ifindex, { up: true });
  await h.driver.idle();
  assert.deepEqual(await h.ownedTexts(), [stable(P1)]);
  assert.equal(h.fake.routerSolicitations(h.ifindex), 2);
  await h.advance(200);
  assert.equal(h.status().interfaces[0]!.addresses[0]!.state, 'preferred');
});

test('a stack reset with lost notifications is healed from the resync', async () => {
  const h = new Harness();
  await h.start({ interfaces: [{ name: 'eth0', defaultGateway: 'fe80::1' }] });
  await h.ra(P1, 3600, 1800);
  await h.advance(200);
  assert.equal((await h.fake.listDefaultRoutes(h.ifindex)).length, 1);
  h.fake.stackReset({ lossy: true });
  await h.driver.idle();
  assert.deepEqual(await h.ownedTexts(), [stable(P1)]);
  assert.equal((await h.fake.listDefaultRoutes(h.ifindex)).filter((r) => r.owned).length, 1);
});

test('renumbering: a new prefix gets its address at once; the old one runs out and is gone', async () => {
  const h = new Harness();
  await h.start();
  await h.ra(P1, 600, 300);
  await h.advance(200);
  await h.ra(P2, 3600, 1800);
  assert.deepEqual(await h.ownedTexts(), [stable(P1), stable(P2)].sort());
  await h.advance(300_000);
  const old = h.status().interfaces[0]!.addresses.find((a) => a.prefix === P1)!;
  assert.equal(old.state, 'deprecated');
  assert.equal((await h.addresses()).find((a) => a.address.toString() === stable(P1))!.flags.deprecated, true);
  await h.advance(300_000);
  assert.deepEqual(await h.ownedTexts(), [stable(P2)]);
  assert.deepEqual(h.status().interfaces[0]!.prefixes.map((p) => p.prefix), [P2]);
  assert.equal(h.commands.filter((c) => c.type === 'delete-address').length, 0, 'the kernel expires it; no delete');
  assert.equal(h.commands.filter((c) => c.type === 'add-address' && c.address === stable(P1)).length, 1, 'never re-added');
});

test('two-hour rule: a PIO cannot cut a long valid lifetime below two hours; lifetime 0 deprecates', async () => {
  const h = new Harness();
  await h.start();
  await h.ra(P1, 86400, 14400);
  await h.advance(200);
  await h.ra(P1, 60, 30);
  let a = (await h.addresses())[0]!;
  assert.equal(a.validLifetimeSec, 7200, 'reset to 2 hours (RFC 4862 §5.5.3 e) 3.)');
  assert.equal(a.preferredLifetimeSec, 30, 'the preferred lifetime is taken as advertised');
  await h.ra(P1, 0, 0);
  a = (await h.addresses())[0]!;
  assert.equal(a.validLifetimeSec, 7200, 'remaining ≤ 2 hours: the valid lifetime is ignored (e) 2.)');
  assert.equal(a.preferredLifetimeSec, 0);
  assert.equal(a.flags.deprecated, true);
  assert.equal(h.status().interfaces[0]!.addresses[0]!.state, 'deprecated');
  // A longer lifetime is always taken (e) 1.).
  await h.ra(P1, 9000, 4000);
  a = (await h.addresses())[0]!;
  assert.equal(a.validLifetimeSec, 9000);
  assert.equal(h.status().interfaces[0]!.addresses[0]!.state, 'preferred');
});

test('restart: the new engine adopts the addresses there, with no delete and no re-add', async () => {
  const first = new Harness();
  await first.start();
  await first.ra(P1, 3600, 1800);
  await first.advance(200);
  await first.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'web', uid: 1000, binding: 'persistent' });
  await first.advance(200);
  await first.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'tmp', uid: 1000, binding: 'connection', connectionId: 'c1' });
  await first.advance(200);
  const before = await first.ownedTexts();
  assert.equal(before.length, 3);
  // The daemon dies (kill -9): no shutdown. A new one starts on the same host with the state file.
  first.driver.detach();
  const persisted = first.persisted.at(-1)!;
  const second = new Harness({ fake: first.fake, persisted: JSON.parse(JSON.stringify(persisted)) });
  second.ifindex = first.ifindex;
  await second.start();
  const cmds = second.commands.filter((c) => c.type === 'add-address' || c.type === 'delete-address');
  assert.deepEqual(
    cmds.map((c) => `${c.type} ${(c as { address: string }).address}`),
    [`delete-address ${stable(P1, 'tmp')}`],
    'only the connection-bound lease whose connection died goes',
  );
  assert.deepEqual(await second.ownedTexts(), [stable(P1), stable(P1, 'web')].sort());
  const status = second.status().interfaces[0]!;
  assert.deepEqual(status.addresses.map((a) => [a.label, a.state]), [['', 'preferred'], ['web', 'deprecated']]);
  assert.equal(second.status().leases[0]!.state, 'ready');
  assert.ok(Math.abs(status.prefixes[0]!.validLifetimeSec - 3599) <= 1, 'lifetimes adopted from the OS');
  // The next RA refreshes lifetimes in place (an update, not a re-add: no DAD, no tentative).
  await second.ra(P1, 3600, 1800);
  assert.ok((await second.addresses()).every((a) => !a.flags.tentative));
});

test('restart after a DAD conflict reuses the persisted counter', async () => {
  const first = new Harness();
  await first.start({ interfaces: [{ name: 'eth0' }], idgenDelayMs: 0 });
  first.fake.holdAddress(first.ifindex, stable(P1));
  await first.ra(P1, 3600, 1800);
  await first.advance(300);
  assert.deepEqual(await first.ownedTexts(), [stable(P1, '', 1)]);
  const persisted = first.persisted.at(-1)!;
  // A new host stack (reboot): nothing there; the RA comes again.
  const second = new Harness({ persisted });
  await second.start({ interfaces: [{ name: 'eth0' }], idgenDelayMs: 0 });
  await second.ra(P1, 3600, 1800);
  assert.deepEqual(await second.ownedTexts(), [stable(P1, '', 1)]);
});

test('lifetimes: wakeAt is never more than 2^31-1 ms ahead, even for 30-day and infinite lifetimes', () => {
  const engine = new Engine({ secret: SECRET });
  let state = engine.initialState();
  const now = 5_000_000;
  let r = engine.step(state, { type: 'config', config: { interfaces: [{ name: 'eth0' }] } }, now);
  state = r.state;
  r = engine.step(state, { type: 'snapshot', links: [{ index: 2, name: 'eth0', up: true, running: true }], addresses: [], routes: [] }, now);
  state = r.state;
  const thirtyDays = 30 * 86400;
  r = engine.step(
    state,
    { type: 'prefix-received', prefix: { ifindex: 2, prefix: Ipv6Address.parse('2001:db8::'), prefixLength: 64, onLink: true, autonomous: true, validLifetimeSec: thirtyDays, preferredLifetimeSec: thirtyDays } },
    now,
  );
  assert.equal(r.wakeAt, now + MAX_TIMER_MS);
  const add = r.commands.find((c) => c.type === 'add-address');
  assert.ok(add && add.type === 'add-address' && add.validLifetimeSec === thirtyDays);
  // At the clamped wake-up nothing is due: the engine just looks again.
  const again = engine.step(r.state, { type: 'timer' }, now + MAX_TIMER_MS);
  assert.equal(again.commands.filter((c) => c.type !== 'report').length, 0);
  assert.equal(again.wakeAt, now + thirtyDays * 1000);
});

test('the input state is never modified (a pure step)', () => {
  const engine = new Engine({ secret: SECRET });
  const state = engine.initialState();
  const copy = JSON.stringify(state);
  engine.step(state, { type: 'config', config: { interfaces: [{ name: 'eth0' }] } }, 1);
  assert.equal(JSON.stringify(state), copy);
});

test('nothing not owned is touched: foreign addresses and RA routes stay, an identical foreign address is skipped', async () => {
  const h = new Harness();
  h.fake.addForeignAddress(h.ifindex, stable(P1)); // an administrator holds our counter-0 address
  h.fake.addForeignAddress(h.ifindex, '2001:db8:1:2::1');
  h.fake.addRaDefaultRoute(h.ifindex, 'fe80::99');
  await h.start({ interfaces: [{ name: 'eth0', defaultGateway: 'fe80::1' }] });
  await h.ra(P1, 3600, 1800);
  await h.advance(200);
  await h.driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'a', uid: 1, binding: 'persistent' });
  await h.advance(200);
  await h.driver.dispatch({ type: 'lease-release', ifname: 'eth0', label: 'a', uid: 1 });
  await h.driver.stop(true);
  assert.deepEqual(h.fake.foreignTouches, []);
  const foreign = (await h.addresses(false)).map((a) => a.address.toString());
  assert.ok(foreign.includes(stable(P1)) && foreign.includes('2001:db8:1:2::1'));
  assert.equal((await h.fake.listDefaultRoutes(h.ifindex)).filter((r) => !r.owned).length, 1);
  assert.deepEqual(await h.ownedTexts(), [], 'flush-on-exit removed what was ours');
  assert.equal(h.fake.settingsOf(h.ifindex).autoconf, true, 'settings restored on exit');
});

test('the default gateway is kept in place', async () => {
  const h = new Harness();
  await h.start({ interfaces: [{ name: 'eth0', defaultGateway: 'fe80::1' }] });
  const routes = async () => (await h.fake.listDefaultRoutes(h.ifindex)).filter((r) => r.owned).map((r) => r.gateway!.toString());
  assert.deepEqual(await routes(), ['fe80::1']);
  h.fake.deleteRouteByHand(h.ifindex, 'fe80::1');
  await h.driver.idle();
  assert.deepEqual(await routes(), ['fe80::1']);
  h.fake.setLink(h.ifindex, { up: false });
  await h.driver.idle();
  assert.deepEqual(await routes(), []);
  h.fake.setLink(h.ifindex, { up: true });
  await h.driver.idle();
  assert.deepEqual(await routes(), ['fe80::1']);
});

test('a failed add is retried with back-off', async () => {
  const h = new Harness();
  await h.start();
  h.fake.failNext('addAddress');
  await h.ra(P1, 3600, 1800);
  assert.deepEqual(await h.ownedTexts(), []);
  await h.advance(1000);
  assert.deepEqual(await h.ownedTexts(), [stable(P1)]);
});

test('static routed prefix shorter than /64 with subnet auto, and a fixed subnet', async () => {
  const h = new Harness();
  await h.start({
    interfaces: [
      {
        name: 'eth0',
        staticPrefixes: [
          { prefix: '2001:db8:100::/48', subnet: 'auto', validLifetimeSec: 7200, preferredLifetimeSec: 3600 },
          { prefix: '2001:db8:200::/56', subnet: 5 },
        ],
      },
    ],
  });
  const status = h.status().interfaces[0]!;
  const routed = status.prefixes.find((p) => p.routedPrefix === '2001:db8:100::/48')!;
  assert.ok(routed);
  assert.notEqual(routed.subnetId, '0');
  assert.equal(status.prefixes.find((p) => p.routedPrefix === '2001:db8:200::/56')!.prefix, '2001:db8:200:5::/64');
  const owned = await h.addresses();
  assert.equal(owned.length, 2);
  const fixed = owned.find((a) => a.address.toString() === stable('2001:db8:200:5::/64'))!;
  assert.equal(fixed.validLifetimeSec, INFINITE_LIFETIME);
  const auto = owned.find((a) => a.address.toString() === stable(routed.prefix))!;
  assert.equal(auto.validLifetimeSec, 7200);
  // Finite static lifetimes are renewed at half of the valid lifetime: the address never lapses.
  await h.advance(3 * 3600 * 1000);
  const renewed = (await h.addresses()).find((a) => a.address.toString() === stable(routed.prefix))!;
  assert.ok(renewed.validLifetimeSec > 3600);
});

test('bad config is refused with ERR_ENGINE_CONFIG and changes nothing', () => {
  const engine = new Engine({ secret: SECRET });
  const state = engine.initialState();
  for (const config of [
    { interfaces: [{ name: 'eth0', algorithm: 'nope' }] },
    { interfaces: [{ name: 'eth0' }, { name: 'eth0' }] },
    { interfaces: [{ name: 'eth0', staticPrefixes: [{ prefix: '2001:db8::/48' }] }] },
    { interfaces: [{ name: 'eth0', defaultGateway: 'ff02::1' }] },
    { interfaces: [], idgenRetries: 300 },
  ]) {
    assert.throws(() => engine.step(state, { type: 'config', config }, 1), (e) => isStable6Error(e, 'ERR_ENGINE_CONFIG'));
  }
});

test('a custom generator is used, and its reserved or foreign output is never installed', async () => {
  const reservedThenGood = (ctx: { prefix: Ipv6Prefix; dadCounter: number }) => ({
    // Counter 0 gives a reserved IID (all zero): a buggy algorithm. The engine refuses it.
    address: Ipv6Address.fromHalves(ctx.prefix.high64, ctx.dadCounter === 0 ? 0n : 0x1234n),
    dadCounter: ctx.dadCounter,
  });
  const h = new Harness({ engineOptions: { algorithms: { test: reservedThenGood } } });
  await h.start({ interfaces: [{ name: 'eth0', algorithm: 'test' }] });
  await h.ra(P1, 3600, 1800);
  assert.deepEqual(await h.ownedTexts(), []);
  assert.equal(h.status().interfaces[0]!.addresses[0]!.state, 'failed');
  assert.equal(h.status().interfaces[0]!.addresses[0]!.algorithm, 'test');
});

test('owned addresses carry the stable6 tag', async () => {
  const h = new Harness();
  await h.start();
  await h.ra(P1, 3600, 1800);
  assert.equal((await h.addresses())[0]!.protocol, STABLE6_PROTOCOL);
});

test('transitions log old -> new and refuse impossible moves', async () => {
  const { addressTransition, prefixTransition, leaseTransition } = await import('../../src/engine/transitions.js');
  const lines: string[] = [];
  const log = { log: (_level: string, message: string) => lines.push(message) };
  const a = { ifname: 'eth0', prefix: P1, label: '', algorithm: 'stable6-v1', dadCounter: 0, firstCounter: 0, address: '2001:db8:1:2::5', phase: 'tentative' as const, present: true, usable: false, retryAtMs: null, commandFailures: 0 };
  const address = { ...a } as Parameters<typeof addressTransition>[1];
  addressTransition(log, address, 'preferred', 'DAD passed');
  assert.match(lines[0]!, /tentative -> preferred: DAD passed/);
  address.phase = 'failed';
  assert.throws(() => addressTransition(log, address, 'preferred', 'x'), (e) => isStable6Error(e, 'ERR_ENGINE_TRANSITION'));
  assert.throws(() => addressTransition(log, { ...a, phase: 'pending' }, 'delayed', 'no time'), (e) => isStable6Error(e, 'ERR_ENGINE_TRANSITION'));
  const prefix = { ifname: 'eth0', prefix: P1, source: 'ra' as const, phase: 'preferred' as const, validUntilMs: null, preferredUntilMs: null, lastSeenMs: 0, refreshAtMs: null };
  prefixTransition(log, prefix, 'deprecated', 'preferred lifetime ended');
  assert.match(lines.at(-1)!, /preferred -> deprecated/);
  const lease = { ifname: 'eth0', label: 'web', uid: 1, binding: 'persistent' as const, phase: 'ready' as const };
  assert.throws(() => leaseTransition(log, lease, 'pending', 'x'), (e) => isStable6Error(e, 'ERR_ENGINE_TRANSITION'));
});

test('a Router Solicitation that cannot be sent yet is tried again, at most three times', async () => {
  const h = new Harness();
  h.fake.failNext('sendRouterSolicitation');
  h.fake.failNext('sendRouterSolicitation');
  h.fake.failNext('sendRouterSolicitation');
  h.fake.failNext('sendRouterSolicitation');
  await h.start();
  await h.advance(10_000);
  assert.equal(h.fake.operations.filter((o) => o.op === 'sendRouterSolicitation').length, 3);
});

test('a default route tagged as ours that the configuration no longer has is removed at start; RA routes stay', async () => {
  const first = new Harness();
  first.fake.addRaDefaultRoute(first.ifindex, 'fe80::99');
  await first.start({ interfaces: [{ name: 'eth0', defaultGateway: 'fe80::1' }] });
  first.driver.detach();
  const second = new Harness({ fake: first.fake });
  second.ifindex = first.ifindex;
  await second.start({ interfaces: [{ name: 'eth0' }] });
  const routes = await second.fake.listDefaultRoutes(second.ifindex);
  assert.deepEqual(routes.map((r) => [r.gateway!.toString(), r.owned]), [['fe80::99', false]]);
  assert.deepEqual(second.fake.foreignTouches, []);
});

test('regression: our address taken over by someone else with no counters left fails cleanly', async () => {
  const h = new Harness();
  await h.start({ interfaces: [{ name: 'eth0' }], idgenRetries: 0 });
  await h.ra(P1, 3600, 1800);
  await h.advance(200);
  h.fake.addForeignAddress(h.ifindex, stable(P1)); // `ip addr replace` by an administrator: no longer tagged as ours
  await h.driver.idle();
  assert.deepEqual(h.errors(), []);
  assert.equal(h.status().interfaces[0]!.addresses[0]!.state, 'failed');
  assert.deepEqual(h.fake.foreignTouches, []);
});

test('a static prefix with preferred lifetime 0: its address is deprecated from the start and after every renewal', async () => {
  const h = new Harness();
  await h.start({ interfaces: [{ name: 'eth0', staticPrefixes: [{ prefix: P1, validLifetimeSec: 600, preferredLifetimeSec: 0 }] }], idgenDelayMs: 0 });
  await h.advance(200);
  const adds = () => h.commands.flatMap((c) => (c.type === 'add-address' && c.address === stable(P1) ? [c] : []));
  assert.ok(adds().length >= 1);
  assert.ok(adds().every((c) => c.preferredLifetimeSec === 0), 'never preferred, not even for a second');
  assert.equal(h.engine.status(h.state, h.clock.now()).interfaces[0]?.addresses[0]?.state, 'deprecated');
  // Renewed at half the valid lifetime: still 0.
  await h.advance(301_000);
  assert.ok(adds().length >= 2, 'renewed');
  assert.ok(adds().every((c) => c.preferredLifetimeSec === 0));
  const [owned] = await h.addresses();
  assert.equal(owned?.preferredLifetimeSec, 0);
  assert.ok(owned?.flags.deprecated);
});
