import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine/engine.js';
import { EngineDriver, cryptoRandom, type DriverClock } from '../../src/engine/driver.js';
import { MAX_TIMER_MS } from '../../src/engine/types.js';
import { FakePlatform } from '../../src/platform/fake/fake-platform.js';
import { Ipv6Address } from '../../src/core/address.js';
import { SECRET } from './harness.js';

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
