// The Linux platform, run inside a namespace (agent.ts), checked against what `ip -j` shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Netns, linkVeth, requirePrivileged, waitFor } from '../helpers/netns.js';
import { Agent, AgentCallError } from '../platform/linux/agent-client.js';

interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  address?: string;
}
interface IpAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  scope: string;
  valid_life_time: number;
  preferred_life_time: number;
  nodad?: boolean;
  noprefixroute?: boolean;
  tentative?: boolean;
  optimistic?: boolean;
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
  protocol: string;
  metric: number;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function ipAddrs(ns: Netns, dev: string): Promise<IpAddrInfo[]> {
  const [link] = await ns.ipJson<{ addr_info: IpAddrInfo[] }[]>('-6', 'addr', 'show', 'dev', dev);
  return link?.addr_info ?? [];
}

test('linux platform: links, addresses, routes, settings and events agree with ip -j', async (t) => {
  if (!requirePrivileged(t)) return;
  const host = await Netns.create();
  const peer = await Netns.create();
  let agent: Agent | undefined;
  try {
    await linkVeth(host, 'host0', peer, 'peer0');
    agent = await Agent.start(host);
    await agent.call('subscribe');

    // -- interfaces
    const links = await agent.call<Json[]>('listInterfaces');
    const ipLinks = await host.ipJson<IpLink[]>('link', 'show');
    assert.deepEqual(
      links.map((l) => [l.index, l.name, l.up, l.mtu, l.hwAddress]).sort(),
      ipLinks.map((l) => [l.ifindex, l.ifname, l.flags.includes('UP'), l.mtu, l.address === undefined ? undefined : l.address.replaceAll(':', '')]).sort(),
    );
    const host0 = links.find((l) => l.name === 'host0');
    assert.ok(host0);
    const ifindex = host0.index as number;

    // -- add with lifetimes and flags, each request with its own outcome
    const outcomes = await agent.call<(null | { code: string; message: string })[]>('addAddresses', [
      { ifindex, address: '2001:db8:1::10', prefixLength: 64, validLifetimeSec: 3600, preferredLifetimeSec: 1800, noDad: true, noPrefixRoute: true },
      { ifindex: 999999, address: '2001:db8:1::11', prefixLength: 64, validLifetimeSec: 3600, preferredLifetimeSec: 1800 },
      { ifindex, address: '2001:db8:1::12', prefixLength: 64, validLifetimeSec: 0xffffffff, preferredLifetimeSec: 0xffffffff },
    ]);
    assert.equal(outcomes[0], null);
    assert.equal(outcomes[1]?.code, 'ERR_NETLINK_REQUEST');
    assert.match(outcomes[1]?.message ?? '', /add address 2001:db8:1::11\/64 on ifindex 999999 failed: ENODEV/);
    assert.equal(outcomes[2], null);

    let ip = await ipAddrs(host, 'host0');
    const a10 = ip.find((a) => a.local === '2001:db8:1::10');
    assert.ok(a10, 'ip shows the address');
    assert.equal(a10.prefixlen, 64);
    assert.ok(a10.valid_life_time <= 3600 && a10.valid_life_time > 3500);
    assert.ok(a10.preferred_life_time <= 1800 && a10.preferred_life_time > 1700);
    assert.equal(a10.nodad, true);
    assert.equal(a10.noprefixroute, true);
    assert.equal(ip.find((a) => a.local === '2001:db8:1::12')?.valid_life_time, 4294967295);

    // -- list agrees with ip, our addresses are tagged
    const mine = await waitFor('2001:db8:1::12 out of DAD', async () => {
      const list = await agent!.call<Json[]>('listAddresses', ifindex);
      return list.find((a) => a.address === '2001:db8:1::12' && !a.flags.tentative) ? list : undefined;
    });
    ip = await ipAddrs(host, 'host0');
    assert.deepEqual(mine.map((a) => `${a.address}/${a.prefixLength}`).sort(), ip.map((a) => `${a.local}/${a.prefixlen}`).sort());
    for (const a of mine) {
      const i = ip.find((x) => x.local === a.address);
      assert.ok(i);
      assert.equal(a.flags.noDad, i.nodad === true, a.address);
      assert.equal(a.flags.noPrefixRoute, i.noprefixroute === true, a.address);
      assert.equal(a.flags.tentative, i.tentative === true, a.address);
      assert.ok(Math.abs(a.validLifetimeSec - i.valid_life_time) <= 2, a.address);
      assert.equal(a.owned, a.address.startsWith('2001:db8:1::'), a.address); // the link-local is the kernel's
    }
    const owned10 = mine.find((a) => a.address === '2001:db8:1::10');
    assert.equal(owned10.protocol, 115);
    assert.equal(owned10.flags.permanent, false);
    assert.equal(mine.find((a) => a.address === '2001:db8:1::12').flags.permanent, true);

    // -- replace: new lifetimes on the same address, no delete
    const eventsBefore = agent.events.length;
    await agent.call('addAddress', { ifindex, address: '2001:db8:1::10', prefixLength: 64, validLifetimeSec: 600, preferredLifetimeSec: 300, noDad: true, noPrefixRoute: true });
    const replaced = (await ipAddrs(host, 'host0')).find((a) => a.local === '2001:db8:1::10');
    assert.ok(replaced && replaced.valid_life_time <= 600 && replaced.preferred_life_time <= 300);
    await agent.waitEvent('address-changed for the replacement', (e) => e.type === 'address-changed' && e.address.address === '2001:db8:1::10' && e.address.validLifetimeSec <= 600, 10000, eventsBefore);
    assert.ok(!agent.events.slice(eventsBefore).some((e) => e.type === 'address-removed'), 'replace never removes');

    // -- delete, and the error of deleting what is not there
    await agent.call('deleteAddress', { ifindex, address: '2001:db8:1::10', prefixLength: 64 });
    assert.ok(!(await ipAddrs(host, 'host0')).some((a) => a.local === '2001:db8:1::10'));
    await agent.waitEvent('address-removed', (e) => e.type === 'address-removed' && e.address.address === '2001:db8:1::10');
    const missing = await agent.call('deleteAddress', { ifindex, address: '2001:db8:1::10', prefixLength: 64 }).catch((e: unknown) => e);
    assert.ok(missing instanceof AgentCallError);
    assert.equal(missing.error.code, 'ERR_NETLINK_REQUEST');
    assert.equal(missing.error.details?.errno, 'EADDRNOTAVAIL');
    assert.equal(missing.error.details?.extAck, 'ipv6: address not found');
    assert.match(missing.error.message, /^delete address 2001:db8:1::10\/64 on ifindex \d+ failed: EADDRNOTAVAIL: ipv6: address not found$/);

    // -- default routes tagged 115; a foreign route with the same next hop is not ours to touch
    await agent.call('addDefaultRoute', { ifindex, gateway: 'fe80::1' });
    await agent.call('addDefaultRoute', { ifindex, gateway: 'fe80::1' }); // again: already ours, fine
    await agent.call('addDefaultRoute', { ifindex, gateway: 'fe80::2', metric: 2048 });
    let routes = await host.ipJson<IpRoute[]>('-6', 'route', 'show', 'default');
    assert.deepEqual(
      routes.map((r) => [r.gateway, r.dev, r.protocol, r.metric]).sort(),
      [
        ['fe80::1', 'host0', '115', 1024],
        ['fe80::2', 'host0', '115', 2048],
      ],
    );
    const listed = await agent.call<Json[]>('listDefaultRoutes');
    assert.deepEqual(
      listed.map((r) => [r.gateway, r.ifindex, r.protocol, r.metric, r.owned, r.expiresSec, r.destination]).sort(),
      [
        ['fe80::1', ifindex, 115, 1024, true, 0xffffffff, '::/0'],
        ['fe80::2', ifindex, 115, 2048, true, 0xffffffff, '::/0'],
      ],
    );
    await agent.waitEvent('route-changed', (e) => e.type === 'route-changed' && e.route.gateway === 'fe80::2');
    await host.ip('-6', 'route', 'add', 'default', 'via', 'fe80::3', 'dev', 'host0', 'metric', '4096', 'proto', 'static');
    const foreign = await agent.call('deleteDefaultRoute', { ifindex, gateway: 'fe80::3', metric: 4096 }).catch((e: unknown) => e);
    assert.ok(foreign instanceof AgentCallError && foreign.error.code === 'ERR_NETLINK_REQUEST', 'the kernel matches the protocol: not ours, not deleted');
    await agent.call('deleteDefaultRoute', { ifindex, gateway: 'fe80::1' });
    routes = await host.ipJson<IpRoute[]>('-6', 'route', 'show', 'default');
    assert.deepEqual(routes.map((r) => r.gateway).sort(), ['fe80::2', 'fe80::3']);
    await agent.waitEvent('route-removed', (e) => e.type === 'route-removed' && e.route.gateway === 'fe80::1');

    // -- settings: read, change, restore; checked with sysctl
    const sysctl = async (key: string) => Number((await host.exec('sysctl', '-n', `net.ipv6.conf.host0.${key}`)).trim());
    const original = await agent.call<{ autoconf: boolean; acceptRa: number }>('getInterfaceSettings', ifindex);
    assert.deepEqual(original, { autoconf: (await sysctl('autoconf')) === 1, acceptRa: await sysctl('accept_ra') });
    await agent.call('setInterfaceSettings', ifindex, { autoconf: false, acceptRa: 2 });
    assert.equal(await sysctl('autoconf'), 0);
    assert.equal(await sysctl('accept_ra'), 2);
    await agent.call('setInterfaceSettings', ifindex, original);
    assert.deepEqual(await agent.call('getInterfaceSettings', ifindex), original);
    const noIf = await agent.call('getInterfaceSettings', 999999).catch((e: unknown) => e);
    assert.ok(noIf instanceof AgentCallError && noIf.error.code === 'ERR_PLATFORM_INTERFACE');

    // -- link events: down, then the kernel flushes the global address with it
    const mark = agent.events.length;
    await host.ip('link', 'set', 'host0', 'down');
    await agent.waitEvent('link-changed down', (e) => e.type === 'link-changed' && e.link.name === 'host0' && !e.link.up, 10000, mark);
    await agent.waitEvent('address-removed on link down', (e) => e.type === 'address-removed' && e.address.address === '2001:db8:1::12', 10000, mark);
    await host.ip('link', 'add', 'extra0', 'type', 'veth', 'peer', 'name', 'extra1');
    await agent.waitEvent('link-changed for a new link', (e) => e.type === 'link-changed' && e.link.name === 'extra0', 10000, mark);
    await host.ip('link', 'del', 'extra0');
    await agent.waitEvent('link-removed', (e) => e.type === 'link-removed' && e.name === 'extra0', 10000, mark);
  } finally {
    await agent?.stop();
    await host.destroy();
    await peer.destroy();
  }
});
