/**
 * `stable6 migrate --from linux`, the built CLI run inside a namespace whose kernel made
 * stable-privacy addresses (link-local, two radvd prefixes, one after a DAD retry): every
 * one must be matched, through the real Linux platform (rtnetlink) and the real sysctl files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ipv6Address } from '../../src/core/address.js';
import { Ipv6Prefix } from '../../src/core/prefix.js';
import { generateLinux } from '../../src/core/compat/linux.js';
import { Netns, linkVeth, requirePrivileged, waitFor } from '../helpers/netns.js';

const BIN = path.resolve('dist/src/cli/main.js');
const SECRET_TEXT = '2001:db8:1:2:3:4:5:6';
const SECRET = Ipv6Address.parse(SECRET_TEXT).toBytes();
const PREFIXES = ['2001:db8:1:1::/64', 'fd00:1234:5678:9abc::/64'];

interface Report {
  allMatched: boolean;
  interfaces: { name: string; secretFile: string; rows: { prefix: string; theirs?: string; ours: string; dadCounter: number; match: boolean }[] }[];
}

test('stable6 migrate --from linux in a namespace: every kernel stable-privacy address matched (one at counter 1)', async (t) => {
  if (!requirePrivileged(t, ['radvd', 'sysctl', 'node'])) return;
  const host = await Netns.create();
  const rtr = await Netns.create();
  const dir = mkdtempSync(path.join(tmpdir(), 's6t-migrate-'));
  try {
    await linkVeth(host, 'host0', rtr, 'rtr0');
    // A neighbour holds the kernel's first choice in the ULA prefix: that one is made at dad_count 1.
    const ula = Ipv6Prefix.parse(PREFIXES[1] ?? '');
    const taken = generateLinux({ secret: SECRET, prefix: ula, dadCounter: 0 }).address.toString();
    await rtr.ip('addr', 'add', `${taken}/64`, 'dev', 'rtr0', 'nodad');
    await host.sysctl('net.ipv6.conf.host0.stable_secret', SECRET_TEXT);
    await host.sysctl('net.ipv6.conf.host0.addr_gen_mode', 2);
    await host.ip('link', 'set', 'host0', 'down');
    await host.ip('link', 'set', 'host0', 'up');
    await rtr.startRadvd(
      `interface rtr0 {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 4;\n${PREFIXES.map((p) => `  prefix ${p} { AdvOnLink on; AdvAutonomous on; };`).join('\n')}\n};\n`,
    );
    await waitFor(
      'the kernel to finish its addresses in fe80::/64 and both prefixes',
      async () => {
        const links = await host.ipJson<{ addr_info: { local: string; tentative?: boolean; dadfailed?: boolean }[] }[]>('-6', 'addr', 'show', 'dev', 'host0');
        const usable = (links[0]?.addr_info ?? []).filter((a) => !a.tentative && !a.dadfailed).map((a) => Ipv6Address.parse(a.local));
        const covered = ['fe80::/64', ...PREFIXES].every((p) => usable.some((a) => Ipv6Prefix.parse(p).contains(a)));
        return covered && usable.length === 3 ? true : undefined;
      },
      30_000,
    );
    const configFile = path.join(dir, 'keep.toml');
    const out = await host.exec('node', BIN, 'migrate', '--from', 'linux', '--json', '--write-config', configFile);
    const report = JSON.parse(out) as Report;
    assert.equal(report.allMatched, true, out);
    const entry = report.interfaces.find((i) => i.name === 'host0');
    assert.ok(entry, out);
    assert.equal(entry.secretFile, '/proc/sys/net/ipv6/conf/host0/stable_secret');
    assert.deepEqual(entry.rows.map((r) => r.prefix).sort(), ['2001:db8:1:1::/64', 'fd00:1234:5678:9abc::/64', 'fe80::/64']);
    for (const row of entry.rows) assert.ok(row.match && row.theirs === row.ours, JSON.stringify(row));
    assert.equal(entry.rows.find((r) => r.prefix === ula.toString())?.dadCounter, 1);
    const config = readFileSync(configFile, 'utf8');
    assert.match(config, /algorithm = "linux"/);
    assert.ok(!config.includes('2001:0db8:0001:0002'), 'the secret is referenced by path only');
    // The human form says ok for each.
    const text = await host.exec('node', BIN, 'migrate', '--from', 'linux', '--iface', 'host0');
    assert.equal(text.match(/ ok$/gm)?.length, 3, text);
  } finally {
    await host.destroy();
    await rtr.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
