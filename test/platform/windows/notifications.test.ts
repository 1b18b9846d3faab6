// Notifications turned into PlatformEvents, stack resets, cancel on close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipv6Address } from '../../../src/core/address.js';
import { isStable6Error } from '../../../src/errors.js';
import { RouterDiscovery, WIN32_STATUS } from '../../../src/codec/win32/constants.js';
import { WindowsPlatform } from '../../../src/platform/windows/windows-platform.js';
import { FakeIpHelper } from '../../../src/platform/windows/fake-ip-helper.js';
import { IFINDEX, rig } from './helpers.js';

const A = Ipv6Address.parse('2001:db8:1::1234');
const B = Ipv6Address.parse('2001:db8:1::5678');
const GW = Ipv6Address.parse('fe80::1');
const add = { ifindex: IFINDEX, address: A, prefixLength: 64, validLifetimeSec: 86400, preferredLifetimeSec: 14400 };

test('interface notifications: media changes are link-changed, a removed adapter is link-removed', async () => {
  const { ip, platform, events, settle } = rig();
  ip.setConnected(IFINDEX, false);
  await settle();
  const changed = events.find((e) => e.type === 'link-changed');
  assert.ok(changed && changed.type === 'link-changed');
  assert.deepEqual(changed.link, { index: IFINDEX, name: 'Ethernet', up: true, running: false, mtu: 1500 });

  ip.removeInterface(IFINDEX);
  await settle();
  assert.deepEqual(events.at(-1), { type: 'link-removed', ifindex: IFINDEX, name: 'Ethernet' });
  await platform.close();
});

test('listInterfaces reads the IPv6 interface table and the friendly names', async () => {
  const { ip, platform } = rig();
  ip.addInterface({ index: 20, alias: 'Wi-Fi', connected: false, mtu: 1480 });
  const links = await platform.listInterfaces();
  assert.deepEqual(
    links.map((l) => [l.index, l.name, l.running, l.mtu]),
    [
      [IFINDEX, 'Ethernet', true, 1500],
      [20, 'Wi-Fi', false, 1480],
    ],
  );
  await platform.close();
});

test('stack reset that removes everything: every owned address and gateway is applied again', async () => {
  const { ip, platform, events, errors, clock, settle } = rig();
  await platform.addAddress(add);
  await platform.addAddress({ ...add, address: B, validLifetimeSec: 600, preferredLifetimeSec: 300 });
  await platform.addDefaultRoute({ ifindex: IFINDEX, gateway: GW });
  await settle();
  events.length = 0;

  clock.ms += 100_000; // 100 s later
  ip.resetInterface(IFINDEX);
  await settle();

  assert.deepEqual(errors, []);
  const rows = ip.addressRows().filter((r) => r.address.kind === 'inet6' && !r.address.address.isLinkLocal());
  const byAddress = new Map(rows.map((r) => [r.address.kind === 'inet6' ? r.address.address.toString() : '', r]));
  assert.equal(byAddress.get(A.toString())?.validLifetimeSec, 86400 - 100, 'back, with the lifetime it had left');
  assert.equal(byAddress.get(A.toString())?.preferredLifetimeSec, 14400 - 100);
  assert.equal(byAddress.get(B.toString())?.validLifetimeSec, 500);
  assert.equal(byAddress.get(A.toString())?.onLinkPrefixLength, 64);
  const routes = (await platform.listDefaultRoutes(IFINDEX)).filter((r) => r.owned);
  assert.deepEqual(routes.map((r) => r.gateway?.toString()), ['fe80::1']);

  const types = events.map((e) => e.type);
  assert.ok(types.includes('link-removed'));
  assert.ok(types.includes('address-removed'));
  assert.ok(types.includes('route-removed'));
  assert.ok(types.indexOf('resynced') > types.indexOf('link-removed'));
  const readded = events.filter((e) => e.type === 'address-changed' && e.address.address.equals(A));
  assert.ok(readded.length > 0 && readded.every((e) => e.type === 'address-changed' && e.address.owned));
  await platform.close();
});

test('stack reset with a new interface index: owned state follows the LUID', async () => {
  const { ip, platform, errors, settle } = rig();
  await platform.addAddress(add);
  await platform.addDefaultRoute({ ifindex: IFINDEX, gateway: GW });
  await settle();
  ip.resetInterface(IFINDEX, { newIndex: 31 });
  await settle();
  assert.deepEqual(errors, []);
  const mine = (await platform.listAddresses(31)).filter((a) => a.owned);
  assert.deepEqual(mine.map((a) => a.address.toString()), [A.toString()]);
  assert.deepEqual((await platform.listDefaultRoutes(31)).map((r) => [r.gateway?.toString(), r.owned]), [['fe80::1', true]]);
  await platform.close();
});

test('stack reset: an owned address whose valid lifetime ended is not brought back', async () => {
  const { ip, platform, clock, settle } = rig();
  await platform.addAddress({ ...add, validLifetimeSec: 60, preferredLifetimeSec: 30 });
  await settle();
  clock.ms += 61_000;
  ip.resetInterface(IFINDEX);
  await settle();
  assert.equal(await platform.getAddress(IFINDEX, A), undefined);
  assert.equal(platform.ownedState().addresses.length, 0);
  await platform.close();
});

test('stack reset: what still exists is left alone, no delete-and-add churn', async () => {
  const { ip, platform, settle } = rig();
  await platform.addAddress(add);
  await settle();
  await platform.addDefaultRoute({ ifindex: IFINDEX, gateway: GW });
  const before = ip.calls.length;
  ip.announceInterface(IFINDEX);
  await settle();
  assert.ok(ip.calls.slice(before).some((c) => c.fn === 'GetUnicastIpAddressEntry'), 'it did look');
  const writes = ip.calls.slice(before).filter((c) => /^(Create|Delete|Set)/.test(c.fn));
  assert.deepEqual(writes, []);
  await platform.close();
});

test('a failure while re-applying goes to onError, named', async () => {
  const { ip, platform, errors, settle } = rig();
  await platform.addAddress(add);
  await settle();
  ip.failNext('CreateUnicastIpAddressEntry', WIN32_STATUS.ERROR_ACCESS_DENIED);
  ip.resetInterface(IFINDEX);
  await settle();
  assert.equal(errors.length, 1);
  assert.ok(isStable6Error(errors[0], 'ERR_WIN32_ACCESS_DENIED'));
  await platform.close();
});

test('close cancels the three registrations; no event afterwards; calls fail with ERR_WIN32_CLOSED', async () => {
  const { ip, platform, events, settle } = rig();
  assert.equal(ip.activeRegistrations, 3);
  await platform.addAddress(add);
  // A notification is queued (DAD completion) when we close.
  await platform.close();
  assert.equal(ip.activeRegistrations, 0);
  assert.equal(ip.calls.filter((c) => c.fn === 'CancelMibChangeNotify2' && c.status === WIN32_STATUS.NO_ERROR).length, 3);
  const count = events.length;
  ip.deleteAddressBehindBack(IFINDEX, A);
  await settle();
  assert.equal(events.length, count);
  await assert.rejects(platform.listAddresses(), (error) => isStable6Error(error, 'ERR_WIN32_CLOSED'));
  await platform.close(); // twice is fine
});

test('a failed registration cancels the ones made before it and names the function', async () => {
  const ip = new FakeIpHelper();
  ip.addInterface({ index: IFINDEX, alias: 'Ethernet' });
  ip.failNext('NotifyRouteChange2', WIN32_STATUS.ERROR_NOT_ENOUGH_MEMORY);
  assert.throws(
    () => new WindowsPlatform({ ipHelper: ip }),
    (error) => isStable6Error(error, 'ERR_WIN32_CALL') && error.details.function === 'NotifyRouteChange2' && error.details.status === 'ERROR_NOT_ENOUGH_MEMORY',
  );
  await ip.flush();
  assert.equal(ip.activeRegistrations, 0);
});

test('a listener that throws does not stop the others', async () => {
  const { ip, platform, errors, settle } = rig();
  const seen: string[] = [];
  platform.subscribe(() => {
    throw new Error('listener bug');
  });
  const stop = platform.subscribe((e) => seen.push(e.type));
  ip.setConnected(IFINDEX, false);
  await settle();
  assert.deepEqual(seen, ['link-changed']);
  assert.equal((errors[0] as Error).message, 'listener bug');
  stop();
  ip.setConnected(IFINDEX, true);
  await settle();
  assert.deepEqual(seen, ['link-changed']);
  await platform.close();
});

test('interface settings: RA processing and SLAAC are one switch on Windows', async () => {
  const { ip, platform } = rig();
  assert.deepEqual(await platform.getInterfaceSettings(IFINDEX), { autoconf: true, acceptRa: 1 });
  await assert.rejects(platform.setInterfaceSettings(IFINDEX, { autoconf: false }), (error) => isStable6Error(error, 'ERR_WIN32_UNSUPPORTED'));
  assert.equal(ip.interfaceRow(IFINDEX)?.routerDiscoveryBehavior, RouterDiscovery.Enabled, 'nothing changed');
  await platform.setInterfaceSettings(IFINDEX, { autoconf: false, acceptRa: 0 });
  assert.equal(ip.interfaceRow(IFINDEX)?.routerDiscoveryBehavior, RouterDiscovery.Disabled);
  assert.deepEqual(await platform.getInterfaceSettings(IFINDEX), { autoconf: false, acceptRa: 0 });
  await platform.setInterfaceSettings(IFINDEX, { acceptRa: 1 });
  assert.deepEqual(await platform.getInterfaceSettings(IFINDEX), { autoconf: true, acceptRa: 1 });
  await assert.rejects(platform.getInterfaceSettings(99), (error) => isStable6Error(error, 'ERR_PLATFORM_INTERFACE'));
  await platform.close();
});
