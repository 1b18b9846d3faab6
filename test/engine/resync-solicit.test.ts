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

test('RFC 4861 §6.3.7: with no answer, a solicitation is sent again every 4 s, three in all', async () => {
  const h = new Harness();
  await h.start();
  assert.equal(h.fake.routerSolicitations(h.ifindex), 1, 'one at start');
  await h.advance(3_999);
  assert.equal(h.fake.routerSolicitations(h.ifindex), 1, 'not before RTR_SOLICITATION_INTERVAL');
  await h.advance(1);
  assert.equal(h.fake.routerSolicitations(h.ifindex), 2);
  await h.advance(4_000);
  assert.equal(h.fake.routerSolicitations(h.ifindex), 3);
  await h.advance(60_000);
  assert.equal(h.fake.routerSolicitations(h.ifindex), 3, 'MAX_RTR_SOLICITATIONS');
});

test('a Router Advertisement stops the solicitations', async () => {
  const h = new Harness();
  await h.start();
  await h.ra('2001:db8:1:2::/64', 3600, 1800);
  await h.advance(60_000);
  assert.equal(h.fake.routerSolicitations(h.ifindex), 1);
});
