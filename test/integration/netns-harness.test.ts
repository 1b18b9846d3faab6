import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Netns, linkVeth, requirePrivileged, waitFor } from '../helpers/netns.js';

interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; scope: string; tentative?: boolean }[];
}

test('the namespace harness links two namespaces and cleans up after itself', async (t) => {
  if (!requirePrivileged(t)) return;
  const a = await Netns.create();
  const b = await Netns.create();
  try {
    await linkVeth(a, 'host0', b, 'rtr0');
    const link = await waitFor('a link-local address out of DAD', async () => {
      const addrs = await a.ipJson<IpAddr[]>('addr', 'show', 'dev', 'host0');
      return addrs[0]?.addr_info.find((x) => x.scope === 'link' && !x.tentative);
    });
    assert.match(link.local, /^fe80:/);
  } finally {
    await a.destroy();
    await b.destroy();
  }
  const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(!names.includes(a.name) && !names.includes(b.name), 'namespaces removed');
});
