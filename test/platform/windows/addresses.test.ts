// Addresses on the Windows platform, driven through the fake IP Helper on any OS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipv6Address } from '../../../src/core/address.js';
import { isStable6Error } from '../../../src/errors.js';
import { AF_INET6, DadState, PrefixOrigin, SuffixOrigin, WIN32_STATUS } from '../../../src/codec/win32/constants.js';
import { decodeUnicastIpAddressRow, encodeUnicastIpAddressRow, inet6 } from '../../../src/codec/win32/rows.js';
import { MIB_UNICASTIPADDRESS_ROW } from '../../../src/codec/win32/structs.js';
import { WindowsPlatform } from '../../../src/platform/windows/windows-platform.js';
import { loadIpHelper } from '../../../src/platform/windows/iphlpapi.js';
import { IFINDEX, rig } from './helpers.js';

const A = Ipv6Address.parse('2001:db8:1::1234');
const add = { ifindex: IFINDEX, address: A, prefixLength: 64, validLifetimeSec: 86400, preferredLifetimeSec: 14400 };

test('add: the row Windows receives has the LUID, manual origins and the lifetimes; DAD ends in Preferred', async () => {
  const { ip, platform, luid, events, settle } = rig();
  await platform.addAddress(add);
  const created = ip.createdAddressRows.at(-1);
  assert.ok(created);
  assert.equal(created.interfaceLuid, luid, 'InterfaceLuid is always set');
  assert.equal(created.interfaceIndex, IFINDEX);
  assert.equal(created.prefixOrigin, PrefixOrigin.Manual);
  assert.equal(created.suffixOrigin, SuffixOrigin.Manual);
  assert.equal(created.validLifetimeSec, 86400);
  assert.equal(created.preferredLifetimeSec, 14400);
  assert.equal(created.onLinkPrefixLength, 64);
  assert.equal(created.skipAsSource, false);

  const [listed] = (await platform.listAddresses(IFINDEX)).filter((a) => a.address.equals(A));
  assert.ok(listed);
  assert.equal(listed.owned, true);
  assert.equal(listed.flags.tentative, true);

  await settle();
  const changes = events.filter((e) => e.type === 'address-changed' && e.address.address.equals(A));
  assert.deepEqual(
    changes.map((e) => (e.type === 'address-changed' ? e.address.flags.tentative : undefined)),
    [true, false],
    'one event while tentative, one when DAD is done',
  );
  const after = await platform.getAddress(IFINDEX, A);
  assert.equal(after?.flags.tentative, false);
  assert.equal(after?.flags.deprecated, false);
  await platform.close();
});

test('add with skipAsSource (a leased per-application address)', async () => {
  const { ip, platform } = rig();
  await platform.addAddress({ ...add, skipAsSource: true });
  assert.equal(ip.createdAddressRows.at(-1)?.skipAsSource, true);
  await platform.close();
});

test('lookup sends the LUID: the same lookup without it is the ERROR_NOT_FOUND / INVALID_PARAMETER trap', async () => {
  const { ip, platform, luid } = rig();
  ip.addInterface({ index: 13, alias: 'Ethernet 2' });
  await platform.addAddress(add);

  const found = await platform.getAddress(IFINDEX, A);
  assert.ok(found);
  assert.equal(found.prefixLength, 64);
  const lookups = ip.calls.filter((c) => c.fn === 'GetUnicastIpAddressEntry');
  assert.ok(lookups.length > 0 && lookups.every((c) => c.status === WIN32_STATUS.NO_ERROR));

  // The same row without any interface: Windows refuses it.
  const bare = new Uint8Array(MIB_UNICASTIPADDRESS_ROW.size);
  ip.InitializeUnicastIpAddressEntry(bare);
  const keyless = encodeUnicastIpAddressRow({ ...decodeUnicastIpAddressRow(bare), address: inet6(A) });
  assert.equal(ip.GetUnicastIpAddressEntry(keyless), WIN32_STATUS.ERROR_INVALID_PARAMETER);
  // With the wrong interface: ERROR_NOT_FOUND, the classic trap.
  const wrong = encodeUnicastIpAddressRow({ ...decodeUnicastIpAddressRow(bare), address: inet6(A), interfaceIndex: 13 });
  assert.equal(ip.GetUnicastIpAddressEntry(wrong), WIN32_STATUS.ERROR_NOT_FOUND);
  // With the LUID: found, and filled in.
  const right = encodeUnicastIpAddressRow({ ...decodeUnicastIpAddressRow(bare), address: inet6(A), interfaceLuid: luid });
  assert.equal(ip.GetUnicastIpAddressEntry(right), WIN32_STATUS.NO_ERROR);
  assert.equal(decodeUnicastIpAddressRow(right).validLifetimeSec, 86400);

  assert.equal(await platform.getAddress(13, A), undefined, 'absent on the other interface');
  await platform.close();
});

test('delete: gone from the table, reported, and no longer owned; deleting again is ERR_WIN32_NOT_FOUND', async () => {
  const { ip, platform, events, settle } = rig();
  await platform.addAddress(add);
  await settle();
  await platform.deleteAddress({ ifindex: IFINDEX, address: A, prefixLength: 64 });
  assert.equal(await platform.getAddress(IFINDEX, A), undefined);
  await settle();
  const removed = events.find((e) => e.type === 'address-removed' && e.address.address.equals(A));
  assert.ok(removed && removed.type === 'address-removed');
  assert.equal(removed.address.flags.dadFailed, false);
  assert.equal(platform.ownedState().addresses.length, 0);

  await assert.rejects(platform.deleteAddress({ ifindex: IFINDEX, address: A, prefixLength: 64 }), (error) => {
    assert.ok(isStable6Error(error, 'ERR_WIN32_NOT_FOUND'));
    assert.equal(error.details.status, 'ERROR_NOT_FOUND');
    assert.equal(error.details.win32Status, 1168);
    assert.equal(error.details.function, 'DeleteUnicastIpAddressEntry');
    assert.match(error.message, /DeleteUnicastIpAddressEntry failed with ERROR_NOT_FOUND \(1168\)/);
    return true;
  });
  assert.equal(ip.calls.at(-1)?.status, WIN32_STATUS.ERROR_NOT_FOUND);
  await platform.close();
});

test('duplicate: Windows answers ERROR_OBJECT_ALREADY_EXISTS and the platform updates the lifetimes instead', async () => {
  const { ip, platform, settle } = rig();
  await platform.addAddress(add);
  await settle();
  await platform.addAddress({ ...add, validLifetimeSec: 7200, preferredLifetimeSec: 3600 });
  const writes = ip.calls.filter((c) => c.fn === 'CreateUnicastIpAddressEntry' || c.fn === 'SetUnicastIpAddressEntry');
  assert.deepEqual(writes, [
    { fn: 'CreateUnicastIpAddressEntry', status: WIN32_STATUS.NO_ERROR },
    { fn: 'CreateUnicastIpAddressEntry', status: WIN32_STATUS.ERROR_OBJECT_ALREADY_EXISTS },
    { fn: 'SetUnicastIpAddressEntry', status: WIN32_STATUS.NO_ERROR },
  ]);
  const now = await platform.getAddress(IFINDEX, A);
  assert.equal(now?.validLifetimeSec, 7200);
  assert.equal(now?.preferredLifetimeSec, 3600);
  await platform.close();
});

test('duplicate with another prefix length: the stale row is deleted and the address added again', async () => {
  const { ip, platform, settle } = rig();
  await platform.addAddress(add);
  await settle();
  await platform.addAddress({ ...add, prefixLength: 48 });
  assert.deepEqual(
    ip.calls.filter((c) => /^(Create|Delete|Set)UnicastIpAddressEntry$/.test(c.fn)).map((c) => c.fn).slice(-3),
    ['CreateUnicastIpAddressEntry', 'DeleteUnicastIpAddressEntry', 'CreateUnicastIpAddressEntry'],
  );
  assert.equal((await platform.getAddress(IFINDEX, A))?.prefixLength, 48);
  await platform.close();
});

test('invalid lifetimes (preferred > valid): ERR_WIN32_INVALID_PARAMETER with the status name', async () => {
  const { platform } = rig();
  await assert.rejects(platform.addAddress({ ...add, validLifetimeSec: 100, preferredLifetimeSec: 200 }), (error) => {
    assert.ok(isStable6Error(error, 'ERR_WIN32_INVALID_PARAMETER'));
    assert.equal(error.details.status, 'ERROR_INVALID_PARAMETER');
    assert.equal(error.details.function, 'CreateUnicastIpAddressEntry');
    return true;
  });
  assert.equal(platform.ownedState().addresses.length, 0, 'a refused address is not owned');
  await platform.close();
});

test('access denied (no administrator rights): add, delete and the routes fail with ERR_WIN32_ACCESS_DENIED', async () => {
  const { ip, platform, settle } = rig();
  await platform.addAddress(add);
  await settle();
  ip.denyWrites();
  const denied = (fn: string) => (error: unknown) => {
    assert.ok(isStable6Error(error, 'ERR_WIN32_ACCESS_DENIED'));
    assert.equal(error.details.status, 'ERROR_ACCESS_DENIED');
    assert.equal(error.details.function, fn);
    return true;
  };
  await assert.rejects(platform.addAddress({ ...add, address: Ipv6Address.parse('2001:db8:1::99') }), denied('CreateUnicastIpAddressEntry'));
  await assert.rejects(platform.deleteAddress({ ifindex: IFINDEX, address: A, prefixLength: 64 }), denied('DeleteUnicastIpAddressEntry'));
  await assert.rejects(platform.addDefaultRoute({ ifindex: IFINDEX, gateway: Ipv6Address.parse('fe80::1') }), denied('CreateIpForwardEntry2'));
  await assert.rejects(platform.setInterfaceSettings(IFINDEX, { acceptRa: 0, autoconf: false }), denied('SetIpInterfaceEntry'));
  // Reading needs no rights.
  assert.ok((await platform.listAddresses()).length > 0);
  await platform.close();
});

test('an unknown interface index: ERR_PLATFORM_INTERFACE naming the Win32 function and status', async () => {
  const { platform } = rig();
  await assert.rejects(platform.addAddress({ ...add, ifindex: 99 }), (error) => {
    assert.ok(isStable6Error(error, 'ERR_PLATFORM_INTERFACE'));
    assert.equal(error.details.function, 'ConvertInterfaceIndexToLuid');
    assert.equal(error.details.status, 'ERROR_FILE_NOT_FOUND');
    return true;
  });
  await platform.close();
});

test('other Win32 failures keep their name, or a numbered one', async () => {
  const { ip, platform } = rig();
  ip.failNext('CreateUnicastIpAddressEntry', WIN32_STATUS.ERROR_NOT_ENOUGH_MEMORY);
  await assert.rejects(platform.addAddress(add), (error) => isStable6Error(error, 'ERR_WIN32_CALL') && error.details.status === 'ERROR_NOT_ENOUGH_MEMORY');
  ip.failNext('GetUnicastIpAddressTable', 4242);
  await assert.rejects(platform.listAddresses(), (error) => isStable6Error(error, 'ERR_WIN32_CALL') && error.details.status === 'WIN32_STATUS_4242');
  await platform.close();
});

test('DAD failure: DadState Duplicate is reported as dadFailed', async () => {
  const { ip, platform, events, settle } = rig();
  ip.conflictOn(A);
  await platform.addAddress(add);
  await settle();
  const last = events.filter((e) => e.type === 'address-changed' && e.address.address.equals(A)).at(-1);
  assert.ok(last && last.type === 'address-changed');
  assert.equal(last.address.flags.dadFailed, true);
  assert.equal(last.address.flags.tentative, false);
  const row = ip.addressRows().find((r) => r.address.kind === 'inet6' && r.address.address.equals(A));
  assert.equal(row?.dadState, DadState.Duplicate);
  await platform.close();
});

test('DAD in steps (manual fake DAD): tentative until the stack decides; a zero preferred lifetime is deprecated', async () => {
  const { ip, platform, settle } = rig({ fake: { dad: 'manual' } });
  await platform.addAddress({ ...add, preferredLifetimeSec: 0 });
  await settle();
  assert.equal((await platform.getAddress(IFINDEX, A))?.flags.tentative, true);
  ip.completeDad(IFINDEX, A, 'preferred');
  await settle();
  const info = await platform.getAddress(IFINDEX, A);
  assert.equal(info?.flags.tentative, false);
  assert.equal(info?.flags.deprecated, true);
  await platform.close();
});

test('addAddresses reports each outcome in order', async () => {
  const { platform } = rig();
  const results = await platform.addAddresses([add, { ...add, address: Ipv6Address.parse('2001:db8:1::2'), preferredLifetimeSec: 999999 }]);
  assert.equal(results[0], undefined);
  assert.ok(isStable6Error(results[1], 'ERR_WIN32_INVALID_PARAMETER'));
  await platform.close();
});

test('an address deleted behind our back is reported as removed and still owned', async () => {
  const { ip, platform, events, settle } = rig();
  await platform.addAddress(add);
  await settle();
  ip.deleteAddressBehindBack(IFINDEX, A);
  await settle();
  const removed = events.find((e) => e.type === 'address-removed' && e.address.address.equals(A));
  assert.ok(removed && removed.type === 'address-removed');
  assert.equal(removed.address.owned, true);
  assert.equal(platform.ownedState().addresses.length, 1, 'still wanted: a stack reset would bring it back');
  await platform.close();
});

test('ownership survives a restart through ownedState() and the owned option', async () => {
  const first = rig();
  await first.platform.addAddress(add);
  const state = first.platform.ownedState();
  await first.platform.close();
  const second = new WindowsPlatform({ ipHelper: first.ip, owned: state });
  const [mine] = (await second.listAddresses(IFINDEX)).filter((a) => a.address.equals(A));
  assert.equal(mine?.owned, true);
  const linkLocal = (await second.listAddresses(IFINDEX)).find((a) => a.address.isLinkLocal());
  assert.equal(linkLocal?.owned, false, 'what Windows made itself is not ours');
  await second.close();
});

test('the fake answers like Windows for other families and unknown interfaces', () => {
  const { ip } = rig();
  assert.equal(ip.GetUnicastIpAddressTable(2).status, WIN32_STATUS.ERROR_NOT_SUPPORTED);
  assert.equal(ip.GetUnicastIpAddressTable(AF_INET6).status, WIN32_STATUS.NO_ERROR);
  assert.equal(ip.ConvertInterfaceIndexToLuid(77).status, WIN32_STATUS.ERROR_FILE_NOT_FOUND);
});

test('the real bindings load nothing on import, and refuse to load off Windows', { skip: process.platform === 'win32' }, () => {
  assert.throws(() => loadIpHelper(), (error) => isStable6Error(error, 'ERR_WIN32_UNAVAILABLE'));
  assert.throws(() => new WindowsPlatform(), (error) => isStable6Error(error, 'ERR_WIN32_UNAVAILABLE'));
});
