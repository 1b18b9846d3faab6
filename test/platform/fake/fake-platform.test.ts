import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipv6Address } from '../../../src/core/address.js';
import { isStable6Error } from '../../../src/errors.js';
import { FakeClock } from '../../../src/platform/fake/fake-clock.js';
import { FakePlatform } from '../../../src/platform/fake/fake-platform.js';
import { INFINITE_LIFETIME, STABLE6_PROTOCOL, type PlatformEvent } from '../../../src/platform/platform.js';

function setup(dadDurationMs = 1000) {
  const fake = new FakePlatform({ dadDurationMs });
  const events: PlatformEvent[] = [];
  fake.subscribe((e) => events.push(e));
  const eth0 = fake.addInterface({ name: 'eth0', hwAddress: Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56) });
  events.length = 0;
  return { fake, events, ifindex: eth0.index, clock: fake.clock };
}

const A = Ipv6Address.parse('2001:db8::1');

test('the clock runs timers in order, each at its own time', () => {
  const clock = new FakeClock(0);
  const seen: string[] = [];
  clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
  clock.setTimeout(() => seen.push(`a@${clock.now()}`), 10);
  const c = clock.setTimeout(() => seen.push('c'), 15);
  clock.clearTimeout(c);
  clock.advance(5);
  assert.deepEqual(seen, []);
  clock.advance(100);
  assert.deepEqual(seen, ['a@10', 'b@20']);
  assert.equal(clock.now(), 105);
  assert.throws(() => clock.advance(-1), RangeError);
});

test('an interface has a link-local address stable6 does not own; a re-created one gets a new index', async () => {
  const { fake, ifindex } = setup();
  const [ll] = await fake.listAddresses(ifindex);
  assert.equal(ll!.address.toString(), 'fe80::5054:ff:fe12:3456');
  assert.equal(ll!.owned, false);
  fake.removeInterface(ifindex);
  const again = fake.addInterface({ name: 'eth0' });
  assert.notEqual(again.index, ifindex);
});

test('an added address is tentative, passes DAD, deprecates, and expires with events', async () => {
  const { fake, events, ifindex, clock } = setup();
  await fake.addAddress({ ifindex, address: A, prefixLength: 64, validLifetimeSec: 10, preferredLifetimeSec: 5 });
  let [a] = (await fake.listAddresses(ifindex)).filter((x) => x.owned);
  assert.equal(a!.flags.tentative, true);
  assert.equal(a!.protocol, STABLE6_PROTOCOL);
  clock.advance(1000);
  [a] = (await fake.listAddresses(ifindex)).filter((x) => x.owned);
  assert.equal(a!.flags.tentative, false);
  assert.equal(a!.validLifetimeSec, 9);
  clock.advance(4000);
  [a] = (await fake.listAddresses(ifindex)).filter((x) => x.owned);
  assert.equal(a!.flags.deprecated, true);
  assert.equal(a!.preferredLifetimeSec, 0);
  clock.advance(5000);
  assert.deepEqual((await fake.listAddresses(ifindex)).filter((x) => x.owned), []);
  assert.deepEqual(
    events.map((e) => `${e.type} ${'address' in e ? `${e.address.flags.tentative ? 't' : ''}${e.address.flags.deprecated ? 'd' : ''}` : ''}`),
    ['address-changed t', 'address-changed ', 'address-changed d', 'address-removed d'],
  );
});

test('a duplicate with finite lifetimes is removed with dadFailed; a permanent one stays dadfailed', async () => {
  const { fake, events, ifindex, clock } = setup();
  fake.holdAddress(ifindex, A);
  await fake.addAddress({ ifindex, address: A, prefixLength: 64, validLifetimeSec: 100, preferredLifetimeSec: 100 });
  clock.advance(1000);
  const removed = events.find((e) => e.type === 'address-removed');
  assert.ok(removed && removed.type === 'address-removed' && removed.address.flags.dadFailed);
  const B = Ipv6Address.parse('2001:db8::2');
  fake.scriptDad(B, 'duplicate', 10);
  await fake.addAddress({ ifindex, address: B, prefixLength: 64, validLifetimeSec: INFINITE_LIFETIME, preferredLifetimeSec: INFINITE_LIFETIME });
  clock.advance(10);
  const [b] = (await fake.listAddresses(ifindex)).filter((x) => x.owned);
  assert.equal(b!.flags.dadFailed, true);
  assert.equal(b!.flags.tentative, true);
  assert.equal(b!.flags.permanent, true);
  // A scripted outcome is used once; the next DAD passes.
  await fake.deleteAddress({ ifindex, address: B, prefixLength: 64 });
  await fake.addAddress({ ifindex, address: B, prefixLength: 64, validLifetimeSec: 100, preferredLifetimeSec: 100, optimistic: true });
  const [o] = (await fake.listAddresses(ifindex)).filter((x) => x.owned);
  assert.equal(o!.flags.optimistic, true);
  clock.advance(1000);
  const [done] = (await fake.listAddresses(ifindex)).filter((x) => x.owned);
  assert.deepEqual([done!.flags.tentative, done!.flags.optimistic, done!.flags.dadFailed], [false, false, false]);
});

test('link down sends the link event, then flushes global addresses and routes; carrier loss keeps them', async () => {
  const { fake, events, ifindex } = setup(0);
  await fake.addAddress({ ifindex, address: A, prefixLength: 64, validLifetimeSec: 100, preferredLifetimeSec: 100 });
  await fake.addDefaultRoute({ ifindex, gateway: Ipv6Address.parse('fe80::1') });
  events.length = 0;
  fake.setLink(ifindex, { running: false });
  assert.equal((await fake.listAddresses(ifindex)).length, 2);
  fake.setLink(ifindex, { up: false });
  assert.deepEqual(events.map((e) => e.type), ['link-changed', 'link-changed', 'address-removed', 'route-removed']);
  assert.deepEqual((await fake.listAddresses(ifindex)).map((a) => a.address.isLinkLocal()), [true]);
});

test('the stack\'s own SLAAC makes an address when autoconf is on, and not when stable6 turned it off', async () => {
  const { fake, ifindex } = setup();
  const pio = { ifindex, prefix: Ipv6Address.parse('2001:db8:1::'), prefixLength: 64, onLink: true, autonomous: true, validLifetimeSec: 600, preferredLifetimeSec: 300 };
  fake.injectPrefix(pio);
  const kernel = (await fake.listAddresses(ifindex)).filter((a) => !a.address.isLinkLocal());
  assert.deepEqual(kernel.map((a) => [a.address.toString(), a.owned]), [['2001:db8:1:0:5054:ff:fe12:3456', false]]);
  await fake.setInterfaceSettings(ifindex, { autoconf: false });
  fake.injectPrefix({ ...pio, prefix: Ipv6Address.parse('2001:db8:2::') });
  assert.equal((await fake.listAddresses(ifindex)).length, 2);
  assert.deepEqual(await fake.getInterfaceSettings(ifindex), { autoconf: false, acceptRa: 1 });
});

test('Router Solicitations are counted and a scripted router answers them', async () => {
  const { fake, events, ifindex, clock } = setup();
  fake.setRouter(ifindex, [{ prefix: Ipv6Address.parse('2001:db8:1::'), prefixLength: 64, onLink: true, autonomous: true, validLifetimeSec: 600, preferredLifetimeSec: 300 }]);
  await fake.setInterfaceSettings(ifindex, { autoconf: false });
  await fake.sendRouterSolicitation(ifindex);
  assert.equal(fake.routerSolicitations(ifindex), 1);
  clock.advance(0);
  assert.deepEqual(events.map((e) => e.type), ['prefix-received']);
});

test('lost notifications end in a resync that reports exactly the differences', async () => {
  const { fake, events, ifindex } = setup(0);
  await fake.addAddress({ ifindex, address: A, prefixLength: 64, validLifetimeSec: 100, preferredLifetimeSec: 100 });
  events.length = 0;
  fake.beginEventLoss();
  fake.deleteAddressByHand(ifindex, A);
  fake.addForeignAddress(ifindex, '2001:db8::99');
  assert.equal(events.length, 0);
  fake.endEventLoss();
  assert.deepEqual(
    events.map((e) => `${e.type}${'address' in e ? ` ${e.address.address.toString()} ${e.address.owned}` : ''}`),
    ['address-removed 2001:db8::1 true', 'address-changed 2001:db8::99 false', 'resynced'],
  );
});

test('a lossy stack reset removes everything silently, then resyncs', async () => {
  const { fake, events, ifindex } = setup(0);
  await fake.addAddress({ ifindex, address: A, prefixLength: 64, validLifetimeSec: 100, preferredLifetimeSec: 100 });
  events.length = 0;
  fake.stackReset({ lossy: true });
  assert.deepEqual(await fake.listAddresses(ifindex), []);
  assert.equal(events.at(-1)!.type, 'resynced');
});

test('operations on what is not there fail with stable codes; scripted failures happen once', async () => {
  const { fake, ifindex } = setup();
  await assert.rejects(fake.deleteAddress({ ifindex, address: A, prefixLength: 64 }), (e) => isStable6Error(e, 'ERR_FAKE_NOT_FOUND'));
  await assert.rejects(fake.addAddress({ ifindex: 99, address: A, prefixLength: 64, validLifetimeSec: 1, preferredLifetimeSec: 1 }), (e) => isStable6Error(e, 'ERR_PLATFORM_INTERFACE'));
  fake.failNext('addAddress');
  const results = await fake.addAddresses([
    { ifindex, address: A, prefixLength: 64, validLifetimeSec: 100, preferredLifetimeSec: 100 },
    { ifindex, address: A, prefixLength: 64, validLifetimeSec: 100, preferredLifetimeSec: 100 },
  ]);
  assert.ok(isStable6Error(results[0], 'ERR_FAKE_INJECTED'));
  assert.equal(results[1], undefined);
  await fake.close();
  await assert.rejects(fake.listInterfaces(), (e) => isStable6Error(e, 'ERR_FAKE_CLOSED'));
});

test('touching an address stable6 does not own is recorded', async () => {
  const { fake, ifindex } = setup();
  fake.addForeignAddress(ifindex, A);
  await fake.deleteAddress({ ifindex, address: A, prefixLength: 64 });
  assert.deepEqual(fake.foreignTouches, [{ op: 'deleteAddress', ifindex, address: '2001:db8::1' }]);
});

test('new lifetimes during DAD leave DAD running with its scripted outcome', async () => {
  const { fake, ifindex, clock } = setup(1000);
  fake.scriptDad(A, 'duplicate', 500);
  const request = { ifindex, address: A, prefixLength: 64, validLifetimeSec: 100, preferredLifetimeSec: 100 };
  await fake.addAddress(request);
  clock.advance(300);
  await fake.addAddress({ ...request, validLifetimeSec: 200 });
  clock.advance(200);
  assert.deepEqual((await fake.listAddresses(ifindex)).filter((a) => a.owned), [], 'the duplicate was found at 500 ms, as scripted');
});
