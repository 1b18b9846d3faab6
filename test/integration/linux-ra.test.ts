// Prefix and ND user-option events from a real radvd, and a Router Solicitation answered at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Netns, linkVeth, requirePrivileged, waitFor } from '../helpers/netns.js';
import { Agent } from '../platform/linux/agent-client.js';

// UnicastOnly: radvd sends no unsolicited RAs at all (no start-up burst, none on a timer),
// only unicast answers to Router Solicitations. With the host's own solicitations off
// (router_solicitations=0), an RA can only be the answer to ours.
const RADVD = `
interface rtr0 {
  AdvSendAdvert on;
  UnicastOnly on;
  MinRtrAdvInterval 200;
  MaxRtrAdvInterval 300;
  AdvDefaultLifetime 900;
  prefix 2001:db8:a::/64 { AdvOnLink on; AdvAutonomous on; AdvValidLifetime 7200; AdvPreferredLifetime 3600; };
  prefix 2001:db8:b::/64 { AdvOnLink off; AdvAutonomous on; AdvValidLifetime 900; AdvPreferredLifetime 600; };
  RDNSS 2001:db8:a::53 { AdvRDNSSLifetime 600; };
};
`;

test('linux platform: a Router Solicitation brings prefix, ND option and route events from radvd', async (t) => {
  if (!requirePrivileged(t, ['radvd', 'ss'])) return;
  const host = await Netns.create();
  const rtr = await Netns.create();
  let agent: Agent | undefined;
  try {
    // New interfaces in `host` inherit these: no kernel RS of its own, no kernel SLAAC.
    await host.sysctl('net.ipv6.conf.default.router_solicitations', 0);
    await host.sysctl('net.ipv6.conf.default.autoconf', 0);
    await host.sysctl('net.ipv6.conf.default.accept_ra', 1);
    await linkVeth(host, 'host0', rtr, 'rtr0');
    agent = await Agent.start(host);
    await agent.call('subscribe');
    const [link] = await host.ipJson<{ ifindex: number }[]>('link', 'show', 'host0');
    const ifindex = link?.ifindex ?? 0;
    await waitFor('host0 link-local out of DAD', async () => {
      const addrs = await agent!.call<{ address: string; flags: { tentative: boolean } }[]>('listAddresses', ifindex);
      return addrs.find((a) => a.address.startsWith('fe80:') && !a.flags.tentative);
    });
    const rtrLinkLocal = await waitFor('rtr0 link-local out of DAD', async () => {
      const [l] = await rtr.ipJson<{ addr_info: { local: string; scope: string; tentative?: boolean }[] }[]>('-6', 'addr', 'show', 'rtr0');
      return l?.addr_info.find((a) => a.scope === 'link' && !a.tentative);
    });
    const routerAddress = rtrLinkLocal.local.toLowerCase();

    await rtr.startRadvd(RADVD);
    await waitFor('radvd to open its ICMPv6 socket', async () => ((await rtr.exec('ss', '-A', 'raw', '-a', '-n', '-p')).includes('radvd') ? true : undefined), 15000);
    await sleep(3000); // a quiet window: radvd is running, and nothing unsolicited arrives
    assert.ok(!agent.events.some((e) => e.type === 'prefix-received'), 'no RA before our solicitation');

    const mark = agent.events.length;
    await agent.call('sendRouterSolicitation', ifindex);
    const a = await agent.waitEvent('prefix 2001:db8:a::/64', (e) => e.type === 'prefix-received' && e.prefix.prefix === '2001:db8:a::', 20000, mark);
    assert.deepEqual(a.prefix, {
      ifindex,
      prefix: '2001:db8:a::',
      prefixLength: 64,
      onLink: true,
      autonomous: true,
      validLifetimeSec: 7200,
      preferredLifetimeSec: 3600,
    });
    const b = await agent.waitEvent('prefix 2001:db8:b::/64', (e) => e.type === 'prefix-received' && e.prefix.prefix === '2001:db8:b::', 10000, mark);
    assert.equal(b.prefix.onLink, false);
    assert.equal(b.prefix.autonomous, true);
    assert.equal(b.prefix.validLifetimeSec, 900);
    assert.equal(b.prefix.preferredLifetimeSec, 600);

    const rdnss = await agent.waitEvent('RDNSS user option', (e) => e.type === 'nd-user-option' && e.report.options.some((o: { type: number }) => o.type === 25), 10000, mark);
    assert.equal(rdnss.report.ifindex, ifindex);
    assert.equal(rdnss.report.icmpType, 134);
    assert.equal(rdnss.report.router, routerAddress);
    const option = rdnss.report.options.find((o: { type: number }) => o.type === 25) as { bytes: string };
    // RFC 8106 §5.1: type 25, length 3, reserved, lifetime 600, 2001:db8:a::53
    assert.equal(option.bytes, '1903000000000258' + '20010db8000a00000000000000000053');

    const route = await agent.waitEvent('the RA default route', (e) => e.type === 'route-changed' && e.route.protocol === 9, 10000, mark);
    assert.equal(route.route.gateway, routerAddress);
    assert.equal(route.route.owned, false);
    assert.ok(route.route.expiresSec > 0 && route.route.expiresSec <= 900, `expires ${route.route.expiresSec}`);
    const listed = await agent.call<{ protocol: number; gateway: string }[]>('listDefaultRoutes', ifindex);
    assert.ok(listed.some((r) => r.protocol === 9 && r.gateway === routerAddress));

    // The kernel made no address of its own (autoconf=0): the prefixes are ours to act on.
    const addrs = await agent.call<{ address: string }[]>('listAddresses', ifindex);
    assert.ok(!addrs.some((x) => x.address.startsWith('2001:db8:')));
  } finally {
    await agent?.stop();
    await host.destroy();
    await rtr.destroy();
  }
});
