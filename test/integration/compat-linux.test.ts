/**
 * The Linux kernel as the oracle for the `linux` mode: addr_gen_mode=2 with a stable_secret,
 * link-local and radvd prefixes, and a DAD-forced retry (a neighbour already holds the
 * kernel's dad_count=0 addresses, so the kernel moves to dad_count 1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipv6Address } from '../../src/core/address.js';
import { Ipv6Prefix } from '../../src/core/prefix.js';
import { generateLinux } from '../../src/core/compat/linux.js';
import { Netns, linkVeth, requirePrivileged, waitFor } from '../helpers/netns.js';

const SECRET_TEXT = '2001:db8:1:2:3:4:5:6';
const SECRET = Ipv6Address.parse(SECRET_TEXT).toBytes();
const PREFIXES = ['2001:db8:1:1::/64', 'fd00:1234:5678:9abc::/64'];

interface IpAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  scope: string;
  tentative?: boolean;
  dadfailed?: boolean;
}

function radvdConfig(ifname: string, prefixes: string[]): string {
  const blocks = prefixes.map((p) => `  prefix ${p} { AdvOnLink on; AdvAutonomous on; };`).join('\n');
  return `interface ${ifname} {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 4;\n${blocks}\n};\n`;
}

async function addresses(ns: Netns, ifname: string): Promise<IpAddrInfo[]> {
  const links = await ns.ipJson<{ addr_info: IpAddrInfo[] }[]>('-6', 'addr', 'show', 'dev', ifname);
  return links[0]?.addr_info ?? [];
}

/** The address whose /64 is `prefix`, out of DAD, or undefined. */
function usableIn(list: IpAddrInfo[], prefix: Ipv6Prefix): Ipv6Address | undefined {
  const hit = list.find((a) => a.family === 'inet6' && !a.tentative && !a.dadfailed && prefix.contains(Ipv6Address.parse(a.local)));
  return hit ? Ipv6Address.parse(hit.local) : undefined;
}

async function permAddress(ns: Netns, ifname: string): Promise<Uint8Array> {
  const out = await ns.exec('ethtool', '-P', ifname);
  // ethtool prints "not set" for an all-zero perm_addr (veth): nothing of it enters the kernel's hash.
  if (/Permanent address:\s*not set/i.test(out)) return new Uint8Array(6);
  const match = /Permanent address:\s*([0-9a-f:]+)/i.exec(out);
  assert.ok(match?.[1], `ethtool -P ${ifname}: ${out}`);
  return Uint8Array.from(Buffer.from(match[1].replace(/:/g, ''), 'hex'));
}

/** Turns on stable privacy with our secret on `ifname` and restarts the link so the kernel makes its addresses anew. */
async function stablePrivacy(ns: Netns, ifname: string): Promise<void> {
  await ns.sysctl(`net.ipv6.conf.${ifname}.stable_secret`, SECRET_TEXT);
  await ns.sysctl(`net.ipv6.conf.${ifname}.addr_gen_mode`, 2);
  await ns.ip('link', 'set', ifname, 'down');
  await ns.ip('link', 'set', ifname, 'up');
}

test('linux mode = the kernel: link-local and two radvd prefixes (addr_gen_mode=2, stable_secret)', async (t) => {
  if (!requirePrivileged(t, ['radvd', 'ethtool', 'sysctl'])) return;
  const host = await Netns.create();
  const rtr = await Netns.create();
  try {
    await linkVeth(host, 'host0', rtr, 'rtr0');
    await stablePrivacy(host, 'host0');
    await rtr.startRadvd(radvdConfig('rtr0', PREFIXES));
    const perm = await permAddress(host, 'host0');
    assert.ok(perm.every((b) => b === 0), 'veth has an all-zero perm_addr');
    for (const text of ['fe80::/64', ...PREFIXES]) {
      const prefix = Ipv6Prefix.parse(text);
      const kernel = await waitFor(`the kernel's address in ${text}`, async () => usableIn(await addresses(host, 'host0'), prefix), 20_000);
      const ours = generateLinux({ secret: SECRET, prefix, permHwAddress: perm, dadCounter: 0 });
      assert.equal(ours.address.toString(), kernel.toString(), `prefix ${text}`);
    }
    // The notes' vector is this kernel's output for the ULA prefix.
    const ula = usableIn(await addresses(host, 'host0'), Ipv6Prefix.parse('fd00:1234:5678:9abc::/64'));
    assert.equal(ula?.toString(), 'fd00:1234:5678:9abc:58fa:2725:8c2:19ff');
  } finally {
    await host.destroy();
    await rtr.destroy();
  }
});

async function retryAddress(ns: Netns, prefix: Ipv6Prefix): Promise<string[]> {
  return waitFor(
    `the kernel's retry address in ${prefix.toString()}`,
    async () => {
      const usable = (await addresses(ns, 'host0')).filter((a) => !a.tentative && !a.dadfailed && prefix.contains(Ipv6Address.parse(a.local)));
      return usable.length > 0 ? usable.map((a) => Ipv6Address.parse(a.local).toString()) : undefined;
    },
    30_000,
  );
}

test('linux mode = the kernel after a DAD failure: dad_count 1 for link-local and a radvd prefix', async (t) => {
  if (!requirePrivileged(t, ['radvd', 'ethtool', 'sysctl'])) return;
  const host = await Netns.create();
  const rtr = await Netns.create();
  try {
    await linkVeth(host, 'host0', rtr, 'rtr0');
    const perm = await permAddress(host, 'host0');
    const linkLocal = Ipv6Prefix.parse('fe80::/64');
    const global = Ipv6Prefix.parse(PREFIXES[0] ?? '');
    const firstOf = (prefix: Ipv6Prefix) => generateLinux({ secret: SECRET, prefix, permHwAddress: perm, dadCounter: 0 });
    const retryOf = (prefix: Ipv6Prefix) => generateLinux({ secret: SECRET, prefix, permHwAddress: perm, dadCounter: firstOf(prefix).nextDadCounter ?? -1 });
    // The neighbour already holds what the kernel tries first (dad_count 0), without DAD of its own.
    for (const prefix of [linkLocal, global]) {
      await rtr.ip('addr', 'add', `${firstOf(prefix).address.toString()}/64`, 'dev', 'rtr0', 'nodad');
    }
    await stablePrivacy(host, 'host0');
    assert.deepEqual(await retryAddress(host, linkLocal), [retryOf(linkLocal).address.toString()]);
    // The host keeps its failed link-local (dadfailed) and ignores RAs sent from it: give radvd
    // only the neighbour's own link-local as a source.
    await rtr.ip('addr', 'del', `${firstOf(linkLocal).address.toString()}/64`, 'dev', 'rtr0');
    await rtr.startRadvd(radvdConfig('rtr0', [global.toString()]));
    assert.deepEqual(await retryAddress(host, global), [retryOf(global).address.toString()]);
    assert.notEqual(retryOf(global).address.toString(), firstOf(global).address.toString());
    assert.equal(retryOf(global).dadCounter, 1);
  } finally {
    await host.destroy();
    await rtr.destroy();
  }
});
