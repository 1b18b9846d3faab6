/**
 * Property tests: random sequences of what a network and its administrators do, run through
 * the real driver loop on the fake platform. Whatever happens, the engine never touches an
 * address it does not own, never installs a reserved IID, never asks for a wake-up more than
 * 2^31-1 ms away, and never throws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ipv6Address } from '../../src/core/address.js';
import { isReservedIid } from '../../src/core/reserved-iid.js';
import { Engine, type StepOptions } from '../../src/engine/engine.js';
import type { AddressGenerator } from '../../src/engine/generators.js';
import { MAX_TIMER_MS, type EngineConfig, type EngineEvent, type EngineState, type StepResult } from '../../src/engine/types.js';
import { INFINITE_LIFETIME } from '../../src/platform/platform.js';
import { Harness } from './harness.js';

const PREFIXES = ['2001:db8:1::', '2001:db8:2::', 'fd00:1::'];
/** IIDs a sloppy algorithm might give: three reserved ones among them. */
const IIDS = [1n, 0n, 2n, 0x02005efffe000001n, 0x1234n, 0xfdffffffffffff80n];
const sloppy: AddressGenerator = (ctx) => ({
  address: Ipv6Address.fromHalves(ctx.prefix.high64, IIDS[(ctx.dadCounter + ctx.label.length) % IIDS.length]!),
  dadCounter: ctx.dadCounter,
});

class RecordingEngine extends Engine {
  readonly problems: string[] = [];
  steps = 0;

  // The driver steps through stepMany (step() is one event of it): every step is seen here.
  override stepMany(state: EngineState, events: readonly EngineEvent[], now: number, random: number | (() => number) = 0, options: StepOptions = {}): StepResult {
    const result = super.stepMany(state, events, now, random, options);
    this.steps++;
    if (result.wakeAt !== undefined && (result.wakeAt - now > MAX_TIMER_MS || result.wakeAt <= now)) {
      this.problems.push(`wakeAt ${result.wakeAt - now} ms from now after ${events.map((e) => e.type).join(', ')}`);
    }
    for (const c of result.commands) {
      if (c.type === 'add-address' && isReservedIid(Ipv6Address.parse(c.address).toBytes(), 8)) this.problems.push(`reserved IID ${c.address}`);
    }
    return result;
  }
}

const lifetime = fc.constantFrom(0, 30, 600, 3600, 7200 * 3, 40 * 86400, INFINITE_LIFETIME);
const op = fc.oneof(
  fc.record({ kind: fc.constant('ra' as const), prefix: fc.nat(PREFIXES.length - 1), valid: lifetime, preferred: lifetime, length: fc.constantFrom(64, 64, 64, 48) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(0, 50, 100, 1000, 60_000, 3_600_000, 10 * 86_400_000) }),
  fc.record({ kind: fc.constant('delete-owned' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('link' as const), up: fc.boolean() }),
  fc.record({ kind: fc.constant('foreign' as const), prefix: fc.nat(PREFIXES.length - 1), iid: fc.constantFrom(0, 0, 0, 1, 2, 3, 4, 5), stealOwned: fc.boolean(), pick: fc.nat() }),
  fc.record({ kind: fc.constant('delete-foreign' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('hold' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('lease' as const), label: fc.constantFrom('a', 'bb', 'ccc'), uid: fc.constantFrom(0, 1, 2), persistent: fc.boolean() }),
  fc.record({ kind: fc.constant('release' as const), label: fc.constantFrom('a', 'bb', 'ccc'), uid: fc.constantFrom(0, 1, 2) }),
  fc.record({ kind: fc.constant('close' as const) }),
  fc.record({ kind: fc.constant('reset' as const), lossy: fc.boolean() }),
  fc.record({ kind: fc.constant('loss' as const) }),
  fc.record({ kind: fc.constant('route-delete' as const) }),
  fc.record({ kind: fc.constant('recreate' as const) }),
  fc.record({ kind: fc.constant('gateway' as const), gateway: fc.constantFrom('fe80::1', 'fe80::2') }),
  fc.record({ kind: fc.constant('fail-next' as const), op: fc.constantFrom('addAddress' as const, 'deleteAddress' as const, 'addDefaultRoute' as const) }),
);

async function run(algorithm: 'stable6-v1' | 'sloppy', ops: unknown[]): Promise<void> {
  const engine = new RecordingEngine({ secret: Buffer.alloc(32, 7), algorithms: { sloppy } });
  const harness = new Harness({ engine, random: () => 0.3 });
  const h = harness;
  const driver = harness.driver;
  const config: EngineConfig = {
    interfaces: [{ name: 'eth0', algorithm, defaultGateway: 'fe80::1', maxPrefixes: 2, staticPrefixes: [{ prefix: 'fd00:9::/48', subnet: 'auto', validLifetimeSec: 3600 }] }],
    idgenRetries: 2,
    idgenDelayMs: 500,
  };
  await harness.start(config);
  let losing = false;
  let connection = 0;
  for (const o of ops as { kind: string; [k: string]: unknown }[]) {
    const owned = await h.fake.listAddresses(h.ifindex);
    const ours = owned.filter((a) => a.owned);
    const theirs = owned.filter((a) => !a.owned && !a.address.isLinkLocal());
    switch (o.kind) {
      case 'ra':
        h.fake.injectPrefix({
          ifindex: h.ifindex,
          prefix: Ipv6Address.parse(PREFIXES[o.prefix as number]!),
          prefixLength: o.length as number,
          onLink: true,
          autonomous: true,
          validLifetimeSec: o.valid as number,
          preferredLifetimeSec: Math.min(o.preferred as number, o.valid as number),
        });
        break;
      case 'advance':
        await harness.advance(o.ms as number);
        break;
      case 'delete-owned': {
        const target = ours[(o.pick as number) % Math.max(1, ours.length)];
        if (target) h.fake.deleteAddressByHand(h.ifindex, target.address);
        break;
      }
      case 'link':
        h.fake.setLink(h.ifindex, { up: o.up as boolean });
        break;
      case 'foreign': {
        // The engine cannot know of an address added while notifications are lost.
        if (losing) break;
        const stolen = o.stealOwned ? ours[(o.pick as number) % Math.max(1, ours.length)] : undefined;
        const address = stolen?.address ?? Ipv6Address.fromHalves(Ipv6Address.parse(PREFIXES[o.prefix as number]!).high64, IIDS[o.iid as number]!);
        h.fake.addForeignAddress(h.ifindex, address);
        break;
      }
      case 'delete-foreign': {
        const target = theirs[(o.pick as number) % Math.max(1, theirs.length)];
        if (target) h.fake.deleteAddressByHand(h.ifindex, target.address);
        break;
      }
      case 'hold': {
        const target = ours[(o.pick as number) % Math.max(1, ours.length)];
        if (target) h.fake.holdAddress(h.ifindex, target.address);
        break;
      }
      case 'lease': {
        connection++;
        await driver.dispatch(
          o.persistent
            ? { type: 'lease-request', ifname: 'eth0', label: o.label as string, uid: o.uid as number, binding: 'persistent' }
            : { type: 'lease-request', ifname: 'eth0', label: o.label as string, uid: o.uid as number, binding: 'connection', connectionId: `c${connection % 3}` },
        );
        break;
      }
      case 'release':
        await driver.dispatch({ type: 'lease-release', ifname: 'eth0', label: o.label as string, uid: o.uid as number });
        break;
      case 'close':
        await driver.dispatch({ type: 'connection-closed', connectionId: `c${connection % 3}` });
        break;
      case 'reset':
        if (!losing) h.fake.stackReset({ lossy: o.lossy as boolean });
        break;
      case 'loss':
        if (losing) h.fake.endEventLoss();
        else h.fake.beginEventLoss();
        losing = !losing;
        break;
      case 'route-delete':
        try {
          h.fake.deleteRouteByHand(h.ifindex, config.interfaces[0]!.defaultGateway!);
        } catch {
          // not there
        }
        break;
      case 'recreate':
        // The interface goes and comes back with a new index (a USB NIC re-plugged).
        if (losing) break;
        h.fake.removeInterface(h.ifindex);
        h.ifindex = h.fake.addInterface({ name: 'eth0' }).index;
        break;
      case 'gateway':
        config.interfaces[0]!.defaultGateway = o.gateway as string;
        await driver.dispatch({ type: 'config', config: structuredClone(config) });
        break;
      case 'fail-next':
        h.fake.failNext(o.op as 'addAddress');
        break;
    }
    await driver.idle();
    // Two labels never share an address.
    const texts = Object.values(driver.state.addresses).flatMap((a) => (a.address === null ? [] : [`${a.ifname} ${a.address}`]));
    assert.equal(new Set(texts).size, texts.length, `shared address in ${texts.join(', ')}`);
  }
  if (losing) h.fake.endEventLoss();
  await harness.advance(5000);
  await driver.stop(true);
  assert.ok(engine.steps > 0, 'the recording engine saw the steps');
  assert.deepEqual(engine.problems, []);
  assert.deepEqual(harness.errors(), [], 'the engine threw');
  assert.deepEqual(h.fake.foreignTouches, [], 'an address or route stable6 did not own was touched');
  // Every status is well formed and never shows a reserved IID.
  const status = engine.status(driver.state, h.clock.now());
  for (const a of status.interfaces.flatMap((i) => i.addresses)) {
    if (a.address !== null) assert.ok(!isReservedIid(Ipv6Address.parse(a.address).toBytes(), 8), a.address);
  }
}

for (const algorithm of ['stable6-v1', 'sloppy'] as const) {
  test(`random network histories (${algorithm}): nothing foreign touched, no reserved IID, wake-ups ≤ 2^31-1 ms`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40, size: 'large' }), async (ops) => {
        await run(algorithm, ops);
      }),
      { numRuns: 100 },
    );
  });
}

test('the pure engine on arbitrary (even odd) event streams: never throws, never touches a foreign address, wake-ups bounded', () => {
  const ifindexes = [2, 3, 7];
  const names = ['eth0', 'eth1', 'wlan0'];
  const address = fc.constantFrom('2001:db8:1::1', '2001:db8:1::2', '2001:db8:2::5', 'fe80::1', '2001:db8:1:0:1234:5678:9abc:def0');
  const flags = fc.record({ tentative: fc.boolean(), dadFailed: fc.boolean(), deprecated: fc.boolean(), optimistic: fc.boolean(), permanent: fc.boolean(), noDad: fc.boolean(), noPrefixRoute: fc.boolean() });
  const addressInfo = fc.record({
    ifindex: fc.constantFrom(...ifindexes),
    address: address.map((t) => Ipv6Address.parse(t)),
    prefixLength: fc.constantFrom(64, 128),
    validLifetimeSec: lifetime,
    preferredLifetimeSec: lifetime,
    flags,
    owned: fc.boolean(),
  });
  const event = fc.oneof(
    fc.record({ type: fc.constant('link-changed' as const), link: fc.record({ index: fc.constantFrom(...ifindexes), name: fc.constantFrom(...names), up: fc.boolean(), running: fc.boolean() }) }),
    fc.record({ type: fc.constant('link-removed' as const), ifindex: fc.constantFrom(...ifindexes), name: fc.constantFrom(...names) }),
    fc.record({ type: fc.constant('address-changed' as const), address: addressInfo }),
    fc.record({ type: fc.constant('address-removed' as const), address: addressInfo }),
    fc.record({
      type: fc.constant('prefix-received' as const),
      prefix: fc.record({
        ifindex: fc.constantFrom(...ifindexes),
        prefix: fc.constantFrom('2001:db8:1::', '2001:db8:2::', 'fe80::', '::', 'ff02::', '2001:db8:1::1').map((t) => Ipv6Address.parse(t)),
        prefixLength: fc.constantFrom(0, 48, 64, 64, 64, 80, 128, 255),
        onLink: fc.boolean(),
        autonomous: fc.boolean(),
        validLifetimeSec: lifetime,
        preferredLifetimeSec: lifetime,
      }),
    }),
    fc.constant({ type: 'timer' as const }),
    fc.constant({ type: 'resynced' as const }),
    fc.record({ type: fc.constant('lease-request' as const), ifname: fc.constantFrom(...names), label: fc.constantFrom('a', '', 'b'), uid: fc.nat(3), binding: fc.constant('persistent' as const) }),
    fc.record({ type: fc.constant('lease-release' as const), ifname: fc.constantFrom(...names), label: fc.constantFrom('a', 'b'), uid: fc.nat(3) }),
  );
  const steps = fc.array(fc.tuple(event, fc.integer({ min: 0, max: 40 * 86_400_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })), { maxLength: 60 });
  fc.assert(
    fc.property(steps, fc.boolean(), (list, snapshotFirst) => {
      const engine = new Engine({ secret: Buffer.alloc(32, 1), algorithms: { sloppy } });
      let state = engine.initialState();
      let now = 1000;
      const foreign = new Set<string>();
      const run = (e: EngineEvent): void => {
        const result = engine.step(state, e, now, 0.5);
        state = result.state;
        if (result.wakeAt !== undefined) assert.ok(result.wakeAt > now && result.wakeAt - now <= MAX_TIMER_MS, `wakeAt ${result.wakeAt - now}`);
        for (const c of result.commands) {
          if (c.type === 'add-address' || c.type === 'delete-address') assert.ok(!foreign.has(`${c.ifindex} ${c.address}`), `${c.type} of foreign ${c.address}`);
          if (c.type === 'add-address') assert.ok(!isReservedIid(Ipv6Address.parse(c.address).toBytes(), 8));
        }
      };
      run({ type: 'config', config: { interfaces: [{ name: 'eth0' }, { name: 'eth1', algorithm: 'sloppy', staticPrefixes: [{ prefix: '2001:db8:1::/64' }] }] } });
      if (snapshotFirst) run({ type: 'snapshot', links: [{ index: 2, name: 'eth0', up: true, running: true }, { index: 3, name: 'eth1', up: true, running: true }], addresses: [], routes: [] });
      // The model: which links exist, and the addresses others hold on them (an address on a link
      // not announced yet cannot be known to anyone).
      const links = new Map<number, string>(snapshotFirst ? [[2, 'eth0'], [3, 'eth1']] : []);
      for (const [e, dt] of list) {
        now += dt;
        if (e.type === 'link-changed') {
          for (const [index, name] of links) if (name === e.link.name && index !== e.link.index) {
            links.delete(index);
            for (const k of [...foreign]) if (k.startsWith(`${index} `)) foreign.delete(k);
          }
          links.set(e.link.index, e.link.name);
        }
        if (e.type === 'link-removed') links.delete(e.ifindex);
        if ((e.type === 'address-changed' || e.type === 'address-removed') && links.has(e.address.ifindex)) {
          const key = `${e.address.ifindex} ${e.address.address.toString()}`;
          if (e.type === 'address-changed' && !e.address.owned) foreign.add(key);
          else foreign.delete(key);
        }
        if (e.type === 'link-removed') for (const k of [...foreign]) if (k.startsWith(`${e.ifindex} `)) foreign.delete(k);
        run(e as EngineEvent);
      }
    }),
    { numRuns: 300 },
  );
});
