// Default routes and RA-learned prefixes on the Windows platform.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipv6Address } from '../../../src/core/address.js';
import { isStable6Error } from '../../../src/errors.js';
import { RouteProtocol } from '../../../src/codec/win32/constants.js';
import type { PlatformEvent, PrefixReport } from '../../../src/platform/platform.js';
import { IFINDEX, rig } from './helpers.js';

const GW1 = Ipv6Address.parse('fe80::1');
const GW2 = Ipv6Address.parse('fe80::2');
const OTHER = Ipv6Address.parse('fe80::99');

function writes(calls: { fn: string; status?: number }[]): string[] {
  return calls.filter((c) => /^(Create|Delete)IpForwardEntry2$/.test(c.fn)).map((c) => c.fn);
}

test('addDefaultRoute: a NETMGMT route with our metric, owned, reported', async () => {
  const { ip, platform, events, luid, settle } = rig();
  await platform.addDefaultRoute({ ifindex: IFINDEX, gateway: GW1 });
  const [row] = ip.routeRows();
  assert.ok(row);
  assert.equal(row.interfaceLuid, luid);
  assert.equal(row.protocol, RouteProtocol.NetMgmt);
  assert.equal(row.metric, 256);
  assert.equal(row.publish, false);
  const [listed] = await platform.listDefaultRoutes(IFINDEX);
  assert.equal(listed?.owned, true);
  assert.equal(listed?.destination.toString(), '::/0');
  assert.equal(listed?.gateway?.toString(), 'fe80::1');
  await settle();
  const changed = events.find((e) => e.type === 'route-changed');
  assert.ok(changed && changed.type === 'route-changed' && changed.route.owned);
  await platform.close();
});

test('gateway replacement: our stale route is deleted before the new one is added; others are left alone', async () => {
  const { ip, platform, events, settle } = rig();
  ip.addForeignDefaultRoute(IFINDEX, OTHER);
  await platform.addDefaultRoute({ ifindex: IFINDEX, gateway: GW1 });
  await settle();
  const mark = ip.calls.length;
  await platform.addDefaultRoute({ ifindex: IFINDEX, gateway: GW2 });
  assert.deepEqual(writes(ip.calls.slice(mark)), ['DeleteIpForwardEntry2', 'CreateIpForwardEntry2']);
  const routes = await platform.listDefaultRoutes(IFINDEX);
  assert.deepEqual(
    routes.map((r) => [r.gateway?.toString(), r.owned]).sort(),
    [
      ['fe80::2', true],
      ['fe80::99', false],
    ],
  );
  await settle();
  const removed = events.find((e) => e.type === 'route-removed');
  assert.ok(removed && removed.type === 'route-removed' && removed.route.gateway?.equals(GW1));
  await platform.close();
});

test('the same gateway again: nothing written; another metric: replaced', async () => {
  const { ip, platform } = rig();
  await platform.addDefaultRoute({ ifindex: IFINDEX, gateway: GW1 });
  const mark = ip.calls.length;
  await platform.addDefaultRoute({ ifindex: IFINDEX, gateway: GW1 });
  assert.deepEqual(writes(ip.calls.slice(mark)), []);
  await platform.addDefaultRoute({ ifindex: IFINDEX, gateway: GW1, metric: 10 });
  assert.deepEqual(writes(ip.calls.slice(mark)), ['DeleteIpForwardEntry2', 'CreateIpForwardEntry2']);
  assert.deepEqual((await platform.listDefaultRoutes(IFINDEX)).map((r) => r.metric), [10]);
  await platform.close();
});

test('adding over a foreign route via the same gateway takes it over (Windows keys routes by gateway)', async () => {
  const { ip, platform } = rig();
  ip.addForeignDefaultRoute(IFINDEX, GW1);
  await platform.addDefaultRoute({ ifindex: IFINDEX, gateway: GW1, metric: 256 });
  const [route] = await platform.listDefaultRoutes(IFINDEX);
  assert.equal(route?.owned, true);
  await platform.close();
});

test('deleteDefaultRoute: gone and no longer owned; a missing one is ERR_WIN32_NOT_FOUND', async () => {
  const { platform } = rig();
  await platform.addDefaultRoute({ ifindex: IFINDEX, gateway: GW1 });
  await platform.deleteDefaultRoute({ ifindex: IFINDEX, gateway: GW1 });
  assert.deepEqual(await platform.listDefaultRoutes(IFINDEX), []);
  assert.deepEqual(platform.ownedState().routes, []);
  await assert.rejects(platform.deleteDefaultRoute({ ifindex: IFINDEX, gateway: GW1 }), (error) => {
    assert.ok(isStable6Error(error, 'ERR_WIN32_NOT_FOUND'));
    assert.equal(error.details.function, 'DeleteIpForwardEntry2');
    assert.equal(error.details.status, 'ERROR_NOT_FOUND');
    return true;
  });
  await platform.close();
});

test('a failing stale delete stops the replacement with the Win32 name', async () => {
  const { ip, platform } = rig();
  await platform.addDefaultRoute({ ifindex: IFINDEX, gateway: GW1 });
  ip.failNext('DeleteIpForwardEntry2', 5);
  await assert.rejects(platform.addDefaultRoute({ ifindex: IFINDEX, gateway: GW2 }), (error) => isStable6Error(error, 'ERR_WIN32_ACCESS_DENIED'));
  await platform.close();
});

function prefixes(events: PlatformEvent[]): PrefixReport[] {
  return events.flatMap((e) => (e.type === 'prefix-received' ? [e.prefix] : []));
}

const RA = {
  index: IFINDEX,
  router: GW1,
  prefix: Ipv6Address.parse('2001:db8:5::'),
  prefixLength: 64,
  validLifetimeSec: 2592000,
  preferredLifetimeSec: 604800,
};

test('RA-learned prefix: from the on-link route and the RA-origin address, with lifetimes', async () => {
  const { ip, platform, events, settle } = rig();
  ip.receiveRouterAdvertisement(RA);
  await settle();
  const reports = prefixes(events);
  assert.equal(reports.length, 1, 'one report for one prefix, however many rows showed it');
  const [report] = reports;
  assert.equal(report?.ifindex, IFINDEX);
  assert.equal(report?.prefix.toString(), '2001:db8:5::');
  assert.equal(report?.prefixLength, 64);
  assert.equal(report?.onLink, true);
  assert.equal(report?.autonomous, true);
  assert.equal(report?.validLifetimeSec, 2592000);
  assert.equal(report?.preferredLifetimeSec, 604800);
  // The stack's default route from the RA is reported as a route, not owned.
  const route = (await platform.listDefaultRoutes(IFINDEX))[0];
  assert.equal(route?.owned, false);
  await platform.close();
});

test('RA prefixes: a repeat within the expected countdown is not reported again; a refresh is', async () => {
  const { ip, platform, events, clock, settle } = rig();
  ip.receiveRouterAdvertisement(RA);
  await settle();
  // The same values arrive again at once: nothing new.
  ip.receiveRouterAdvertisement(RA);
  await settle();
  assert.equal(prefixes(events).length, 1);
  // Ten minutes later the router advertises the full lifetimes again: that is a refresh.
  clock.ms += 600_000;
  ip.receiveRouterAdvertisement(RA);
  await settle();
  assert.equal(prefixes(events).length, 2);
  // Flags changing is news too.
  ip.receiveRouterAdvertisement({ ...RA, prefix: Ipv6Address.parse('2001:db8:6::'), autonomous: false });
  await settle();
  const last = prefixes(events).at(-1);
  assert.equal(last?.prefix.toString(), '2001:db8:6::');
  assert.equal(last?.autonomous, false);
  assert.equal(last?.onLink, true);
  await platform.close();
});

test('sendRouterSolicitation re-reports what the stack learned (Windows has no RS API)', async () => {
  const { ip, platform, events, settle } = rig();
  ip.receiveRouterAdvertisement(RA);
  await settle();
  const before = prefixes(events).length;
  await platform.sendRouterSolicitation(IFINDEX);
  assert.equal(prefixes(events).length, before + 1);
  await assert.rejects(platform.sendRouterSolicitation(99), (error) => isStable6Error(error, 'ERR_PLATFORM_INTERFACE'));
  await platform.close();
});

test('addresses we added (PrefixOrigin manual) are never reported as RA prefixes', async () => {
  const { platform, events, settle } = rig();
  await platform.addAddress({ ifindex: IFINDEX, address: Ipv6Address.parse('2001:db8:7::1'), prefixLength: 64, validLifetimeSec: 600, preferredLifetimeSec: 300 });
  await settle();
  assert.deepEqual(prefixes(events), []);
  await platform.close();
});
