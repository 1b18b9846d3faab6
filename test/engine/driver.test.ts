import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine/engine.js';
import { EngineDriver, advanceSettled, cryptoRandom, type DriverClock } from '../../src/engine/driver.js';
import { MAX_TIMER_MS } from '../../src/engine/types.js';
import { FakePlatform } from '../../src/platform/fake/fake-platform.js';
import { Ipv6Address } from '../../src/core/address.js';
import { Harness, SECRET } from './harness.js';

test('the driver never arms a timer longer than 2^31-1 ms, even for a 49-day lifetime', async () => {
  const fake = new FakePlatform({ dadDurationMs: 0 });
  const ifindex = fake.addInterface({ name: 'eth0' }).index;
  const delays: number[] = [];
  const armed = new Set<unknown>();
  const clock: DriverClock = {
    now: () => fake.clock.now(),
    setTimeout: (callback, delayMs) => {
      delays.push(delayMs);
      const handle = fake.clock.setTimeout(callback, delayMs);
      armed.add(handle);
      return handle;
    },
    clearTimeout: (handle: never) => {
      armed.delete(handle);
      fake.clock.clearTimeout(handle);
    },
  };
  const driver = new EngineDriver({ engine: new Engine({ secret: SECRET }), platform: fake, clock, random: () => 0 });
  await driver.start({ interfaces: [{ name: 'eth0' }] });
  fake.injectPrefix({
    ifindex,
    prefix: Ipv6Address.parse('2001:db8::'),
    prefixLength: 64,
    onLink: true,
    autonomous: true,
    validLifetimeSec: 49 * 86400,
    preferredLifetimeSec: 40 * 86400,
  });
  await driver.idle();
  assert.ok(delays.length > 0);
  assert.ok(delays.every((d) => d >= 0 && d <= MAX_TIMER_MS), String(delays));
  assert.equal(Math.max(...delays), MAX_TIMER_MS);
  await driver.stop();
  assert.equal(armed.size, 0, 'stop clears the timer');
});

test('a failing command becomes an event for the engine, and a refused config is an error that changes nothing', async () => {
  const fake = new FakePlatform({ dadDurationMs: 0 });
  fake.addInterface({ name: 'eth0' });
  fake.failNext('setInterfaceSettings');
  const logs: string[] = [];
  const logger = { log: (level: string, message: string) => logs.push(`${level} ${message}`) };
  const driver = new EngineDriver({ engine: new Engine({ secret: SECRET, logger }), platform: fake, clock: fake.clock });
  await driver.start({ interfaces: [{ name: 'eth0' }] });
  await driver.idle();
  // The engine was told (and does not loop retrying a setting that cannot be written).
  assert.ok(logs.some((l) => l.startsWith('error ') && l.includes("could not turn the kernel's SLAAC off")));
  assert.equal(fake.operations.filter((o) => o.op === 'setInterfaceSettings').length, 1);
  const before = JSON.stringify(driver.state);
  await assert.rejects(driver.dispatch({ type: 'config', config: { interfaces: [{ name: 'eth0', algorithm: 'nope' }] } }), /unknown algorithm/);
  assert.equal(JSON.stringify(driver.state), before);
});

test('cryptoRandom gives fractions in [0, 1)', () => {
  for (let i = 0; i < 1000; i++) {
    const x = cryptoRandom();
    assert.ok(x >= 0 && x < 1);
  }
});

const within = <T>(p: Promise<T>, ms = 500): Promise<T | 'hung'> => Promise.race([p, new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms))]);

test('regression: a dispatch made some microtasks after another settles is stepped (and idle() waits for it)', async () => {
  for (const event of [{ type: 'timer' as const }, { type: 'lease-request' as const, ifname: 'eth0', label: 'a', uid: 1000, binding: 'persistent' as const }]) {
    for (let depth = 0; depth < 6; depth++) {
      const h = new Harness();
      await h.start();
      await h.ra('2001:db8:1::/64', 3600, 1800);
      await h.advance(1000);
      const nest = async (d: number): Promise<void> => {
        if (d === 0) await h.driver.dispatch(event);
        else await nest(d - 1);
      };
      await nest(depth);
      const second = h.driver.dispatch({ type: 'timer' });
      assert.equal(await within(second.then(() => 'ok')), 'ok', `${event.type} at depth ${depth}`);
      assert.equal(await within(h.driver.idle().then(() => 'idle')), 'idle');
    }
  }
});

test('regression: a report listener that throws inside a batch of adds fails that report only; the rest of the group is applied', async () => {
  const fake = new FakePlatform({ dadDurationMs: 100 });
  const ifindex = fake.addInterface({ name: 'eth0', hwAddress: Uint8Array.of(2, 0, 0, 0, 0, 1) }).index;
  let armed = false;
  const driver = new EngineDriver({
    engine: new Engine({ secret: SECRET }),
    platform: fake,
    clock: fake.clock,
    random: () => 0.5,
    onReport: (r) => {
      if (armed && r.kind === 'address-state' && r.label === 'new' && r.state === 'tentative') {
        armed = false;
        throw new Error('listener bug');
      }
    },
  });
  await driver.start({ interfaces: [{ name: 'eth0' }] });
  fake.injectPrefix({ ifindex, prefix: Ipv6Address.parse('2001:db8::'), prefixLength: 64, onLink: true, autonomous: true, validLifetimeSec: 3600, preferredLifetimeSec: 1800 });
  await driver.idle();
  await driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'old', uid: 1000, binding: 'persistent' });
  await advanceSettled(fake.clock, driver, 1000);
  const oldAddress = Object.values(driver.state.addresses).find((a) => a.label === 'old')!.address!;
  armed = true;
  // One tick, one group: [state, add new, report tentative(new), delete old, ...].
  const outcomes = await Promise.allSettled([
    driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: 'new', uid: 1000, binding: 'persistent' }),
    driver.dispatch({ type: 'lease-release', ifname: 'eth0', label: 'old', uid: 1000 }),
  ]);
  await advanceSettled(fake.clock, driver, 5000);
  assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled']);
  assert.ok(!armed, 'the listener did throw');
  assert.ok(!(await fake.listAddresses(ifindex)).some((a) => a.address.toString() === oldAddress), 'the released lease\'s address is gone');
  await driver.stop();
});

test('detach(): what was stepped but not yet applied is not applied (as if the process had died)', async () => {
  const fake = new FakePlatform({ dadDurationMs: 100 });
  const ifindex = fake.addInterface({ name: 'eth0', hwAddress: Uint8Array.of(2, 0, 0, 0, 0, 1) }).index;
  const driver = new EngineDriver({ engine: new Engine({ secret: SECRET }), platform: fake, clock: fake.clock, random: () => 0.5 });
  await driver.start({ interfaces: [{ name: 'eth0' }] });
  fake.injectPrefix({ ifindex, prefix: Ipv6Address.parse('2001:db8::'), prefixLength: 64, onLink: true, autonomous: true, validLifetimeSec: 3600, preferredLifetimeSec: 1800 });
  await advanceSettled(fake.clock, driver, 1000);
  const before = (await fake.listAddresses(ifindex)).length;
  // The first group's adds wait at a gate while the other requests are stepped.
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const addAddresses = fake.addAddresses.bind(fake);
  let batches = 0;
  fake.addAddresses = async (requests) => {
    if (batches++ === 0) await gate;
    return addAddresses(requests);
  };
  const dispatched = Array.from({ length: 40 }, (_, i) => driver.dispatch({ type: 'lease-request', ifname: 'eth0', label: `l${i}`, uid: 1, binding: 'persistent' }));
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  assert.ok(Object.keys(driver.state.leases).length === 40, 'all 40 stepped');
  driver.detach();
  open();
  await Promise.all(dispatched);
  const after = (await fake.listAddresses(ifindex)).length;
  assert.equal(batches, 1, 'no group after the first was applied');
  assert.equal(after - before, 16, 'only the first group (16 requests) reached the OS');
});
