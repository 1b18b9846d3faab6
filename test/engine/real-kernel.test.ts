/**
 * The engine and driver against the real Linux kernel, in namespaces made here: the facts the
 * fake platform imitates (DAD deletes a duplicate with dadfailed, link down flushes, events
 * arrive in order) are checked against the real thing, with a real radvd router.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { Ipv6Prefix } from '../../src/core/prefix.js';
import { generateStable6V1 } from '../../src/core/stable6-v1.js';
import { Netns, linkVeth, requirePrivileged, waitFor } from '../helpers/netns.js';
import { SECRET } from './harness.js';

const PREFIX = '2001:db8:51:1::/64';
const RUNNER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'real-runner.js');

function stable(dadCounter: number): string {
  return generateStable6V1({ secret: SECRET, prefix: Ipv6Prefix.parse(PREFIX), netIface: 'h0', dadCounter }).address.toString();
}

interface Runner {
  child: ChildProcess;
  lines: Record<string, unknown>[];
}

function startRunner(ns: Netns, stateFile: string): Runner {
  const child = ns.spawn(process.execPath, [RUNNER, 'h0', stateFile]);
  const lines: Record<string, unknown>[] = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let at = buffer.indexOf('\n'); at >= 0; at = buffer.indexOf('\n')) {
      lines.push(JSON.parse(buffer.slice(0, at)) as Record<string, unknown>);
      buffer = buffer.slice(at + 1);
    }
  });
  if (process.env.S6_ENGINE_DEBUG) child.stderr!.pipe(process.stderr);
  else child.stderr!.resume();
  return { child, lines };
}

async function globalAddresses(ns: Netns): Promise<string[]> {
  const links = await ns.ipJson<{ addr_info?: { local: string; scope: string }[] }[]>('-6', 'addr', 'show', 'dev', 'h0');
  return links.flatMap((l) => l.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => a.local).sort();
}

test('real kernel: DAD conflict with a neighbour, repair after ip addr del and link down/up, crash and adopt', async (t) => {
  if (!requirePrivileged(t, ['radvd'])) return;
  const router = await Netns.create('s6eng');
  const host = await Netns.create('s6eng');
  const dir = mkdtempSync(path.join(tmpdir(), 's6-engine-'));
  const stateFile = path.join(dir, 'state.json');
  const runners: Runner[] = [];
  try {
    await linkVeth(host, 'h0', router, 'r0');
    // The neighbour holds the host's counter-0 address: the host's DAD for it fails.
    await router.ip('addr', 'add', `${stable(0)}/64`, 'dev', 'r0', 'nodad');
    await router.startRadvd(`interface r0 {
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 4;
  prefix ${PREFIX} { AdvOnLink on; AdvAutonomous on; AdvValidLifetime 3600; AdvPreferredLifetime 1800; };
};
`);
    const first = startRunner(host, stateFile);
    runners.push(first);
    await waitFor('the counter-1 address', async () => ((await globalAddresses(host)).includes(stable(1)) ? true : undefined), 20_000);
    assert.ok(!(await globalAddresses(host)).includes(stable(0)), 'never the duplicate');
    const settings = await host.exec('sysctl', '-n', 'net.ipv6.conf.h0.autoconf');
    assert.equal(settings.trim(), '0', 'the kernel\'s own SLAAC is off');
    const persisted = JSON.parse(readFileSync(stateFile, 'utf8')) as { counters: { dadCounter: number }[] };
    assert.equal(persisted.counters[0]!.dadCounter, 1);

    // Deleted by hand: back.
    await host.ip('addr', 'del', `${stable(1)}/64`, 'dev', 'h0');
    await waitFor('repair after ip addr del', async () => ((await globalAddresses(host)).includes(stable(1)) ? true : undefined), 10_000);

    // Link down flushes; up brings it back without waiting for an RA.
    await host.ip('link', 'set', 'h0', 'down');
    await waitFor('flushed', async () => ((await globalAddresses(host)).length === 0 ? true : undefined), 10_000);
    await host.ip('link', 'set', 'h0', 'up');
    await waitFor('repair after link up', async () => ((await globalAddresses(host)).includes(stable(1)) ? true : undefined), 10_000);

    // kill -9, then a new engine adopts: no delete, and the address never leaves.
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    const second = startRunner(host, stateFile);
    runners.push(second);
    await waitFor('the second engine started', async () => (second.lines.some((l) => l.type === 'started') ? true : undefined), 10_000);
    for (let i = 0; i < 10; i++) {
      assert.ok((await globalAddresses(host)).includes(stable(1)), 'the address stays through the restart');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(second.lines.filter((l) => l.type === 'delete-address'), []);
    const firstAdd = second.lines.find((l) => l.type === 'add-address');
    if (firstAdd) assert.equal(firstAdd.address, stable(1), 'only lifetime refreshes of the adopted address');
  } finally {
    for (const r of runners) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await host.destroy();
    await router.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
