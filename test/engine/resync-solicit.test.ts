import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness } from './harness.js';

test('after lost notifications (resynced) the engine asks the routers again with a Router Solicitation', async () => {
  const h = new Harness();
  await h.start();
  assert.equal(h.fake.routerSolicitations(h.ifindex), 1, 'one at start');
  await h.advance(1000);
  assert.equal(h.fake.routerSolicitations(h.ifindex), 1, 'none while nothing was lost');
  h.fake.beginEventLoss();
  h.fake.endEventLoss(); // reports the differences, then `resynced`: the driver lists everything again
  await h.driver.idle();
  await h.advance(10);
  assert.equal(h.fake.routerSolicitations(h.ifindex), 2, 'prefix reports lost with the notifications cannot be listed again');
});
