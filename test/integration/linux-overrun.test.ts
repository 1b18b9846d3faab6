// A forced receive-buffer overrun (ENOBUFS) on the event socket: the platform re-lists and
// reports the differences, so a consumer that only follows events ends with exactly what
// `ip -j` shows: nothing lost, nothing invented.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Netns, requirePrivileged, waitFor } from '../helpers/netns.js';
import { Agent, type AgentEvent } from '../platform/linux/agent-client.js';

interface Addr {
  ifindex: number;
  address: string;
  prefixLength: number;
}

const key = (a: Addr) => `${a.ifindex}|${a.address}/${a.prefixLength}`;

function follow(initial: Addr[], events: AgentEvent[]): Set<string> {
  const view = new Set(initial.map(key));
  for (const e of events) {
    if (e.type === 'address-changed') view.add(key(e.address));
    else if (e.type === 'address-removed') view.delete(key(e.address));
  }
  return view;
}

test('linux platform: an event-socket overrun is recovered with nothing lost or invented', async (t) => {
  if (!requirePrivileged(t)) return;
  const ns = await Netns.create();
  const dir = mkdtempSync(path.join(tmpdir(), 's6t-overrun-'));
  let agent: Agent | undefined;
  try {
    await ns.ip('link', 'add', 'host0', 'type', 'veth', 'peer', 'name', 'host1');
    await ns.ip('link', 'set', 'host0', 'up');
    await ns.ip('link', 'set', 'host1', 'up');
    // SO_RCVBUF 1: the kernel rounds up to its minimum, a few notifications' worth.
    agent = await Agent.start(ns, { S6_EVENT_RCVBUF: '1' });
    await agent.call('subscribe');
    const mark = agent.events.length;
    const initial = await agent.call<Addr[]>('listAddresses');

    // A burst from another process, faster than the agent reads: adds, then deletes of half.
    const lines: string[] = [];
    for (let i = 1; i <= 400; i++) lines.push(`addr add 2001:db8:7::${i.toString(16)}/64 dev host0 nodad valid_lft 3000 preferred_lft 2000`);
    for (let i = 1; i <= 400; i += 2) lines.push(`addr del 2001:db8:7::${i.toString(16)}/64 dev host0`);
    for (let i = 1; i <= 100; i++) lines.push(`addr add 2001:db8:8::${i.toString(16)}/64 dev host1 nodad`);
    const file = path.join(dir, 'burst');
    writeFileSync(file, `${lines.join('\n')}\n`);
    await ns.ip('-batch', file);

    const truth = async (): Promise<Set<string>> => {
      const links = await ns.ipJson<{ ifindex: number; addr_info: { local: string; prefixlen: number }[] }[]>('-6', 'addr', 'show');
      return new Set(links.flatMap((l) => l.addr_info.map((a) => key({ ifindex: l.ifindex, address: a.local, prefixLength: a.prefixlen }))));
    };
    const expected = await truth();
    assert.equal([...expected].filter((k) => k.includes('2001:db8:7::')).length, 200);

    await agent.waitEvent('resynced after the overrun', (e) => e.type === 'resynced', 30000, mark);
    // Converges: the events, followed from the initial list, give exactly the kernel's table.
    const view = await waitFor(
      'the followed view to match ip -j',
      async () => {
        const v = follow(initial, agent!.events.slice(mark));
        return v.size === expected.size && [...v].every((k) => expected.has(k)) ? v : undefined;
      },
      30000,
    ).catch(() => follow(initial, agent!.events.slice(mark)));
    const lost = [...expected].filter((k) => !view.has(k));
    const invented = [...view].filter((k) => !expected.has(k));
    assert.deepEqual({ lost, invented }, { lost: [], invented: [] });
    assert.deepEqual(await truth(), expected, 'the table did not move meanwhile');

    // And the stream still works after recovery.
    const after = agent.events.length;
    await ns.ip('addr', 'add', '2001:db8:9::1/64', 'dev', 'host0', 'nodad');
    await agent.waitEvent('a new address after recovery', (e) => e.type === 'address-changed' && e.address.address === '2001:db8:9::1', 10000, after);
  } finally {
    await agent?.stop();
    await ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
