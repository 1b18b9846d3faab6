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
import { Engine } from '../../src/engine/engine.js';
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

  override step(state: EngineState, event: EngineEvent, now: number, random = 0): StepResult {
    const result = super.step(state, event, now, random);
    if (result.wakeAt !== undefined && (result.wakeAt - now > MAX_TIMER_MS || result.wakeAt <= now)) {
      this.problems.push(`wakeAt ${result.wakeAt - now} ms from now after ${event.type}`);
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
