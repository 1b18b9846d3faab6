#!/usr/bin/env node
/**
 * Benchmark (c) of issue 4: the daemon's resident memory (VmRSS from /proc/PID/status), idle
 * with one advertised prefix (one address), and managing 1,000 addresses (1,000 static /64
 * prefixes in the configuration, all installed and out of DAD), against the floor of an idle
 * `node` process in the same run. Medians of several samples once settled; each case runs
 * `runs` times with a fresh daemon. Run as root, npm-free:
 *
 *   npx tsc -p . && node dist/bench/daemon-rss.js [runs=3]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { Lab, RaWorker, median, waitFor } from './daemon-lab.js';

const runs = Number(process.argv[2] ?? 3);
const COUNT = 1000;

function rssKiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/** Several samples a few hundred ms apart, once the numbers are settled. */
async function settledRss(pid: number): Promise<{ rss: number; hwm: number }> {
  await sleep(2000);
  const samples = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssKiB(pid));
    await sleep(300);
  }
  return { rss: median(samples.map((s) => s.rss)), hwm: Math.max(...samples.map((s) => s.hwm)) };
}

async function nodeFloor(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' });
  try {
    return (await settledRss(child.pid!)).rss;
  } finally {
    child.kill('SIGKILL');
  }
}

function manyPrefixes(count: number): string {
  let text = `max_prefixes_per_interface = 16\n\n[[interface]]\nname = "host0"\nra = false\n`;
  for (let i = 0; i < count; i++) text += `\n  [[interface.static_prefix]]\n  prefix = "fd00:5:${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}::/64"\n`;
  return text;
}

async function idleCase(): Promise<{ rss: number; hwm: number }> {
  const lab = await Lab.create();
  try {
    const daemon = await lab.startDaemon();
    const ra = RaWorker.start(lab);
    await ra.send([{ prefix: '2001:db8:77::/64', valid: 3600, preferred: 1800 }]);
    await waitFor('one preferred address', async () => (await lab.status()).interfaces[0]?.addresses.find((a) => a.state === 'preferred'), 20_000);
    return await settledRss(daemon.pid);
  } finally {
    await lab.destroy();
  }
}

async function manyCase(): Promise<{ rss: number; hwm: number; readyMs: number }> {
  const lab = await Lab.create();
  try {
    const config = lab.file('stable6.toml', manyPrefixes(COUNT));
    const start = performance.now();
    const daemon = await lab.startDaemon(['daemon', '--config', config, '--secret-file', lab.secretFile, '--state-dir', lab.stateDir(), '--socket', lab.socket()]);
    await waitFor(
      `${COUNT} preferred addresses`,
      async () => {
        const n = (await lab.status()).interfaces[0]?.addresses.filter((a) => a.state === 'preferred').length ?? 0;
        return n === COUNT ? true : undefined;
      },
      120_000,
    );
    const readyMs = performance.now() - start;
    const kernel = (await lab.host.ipJson<{ addr_info: { scope: string }[] }[]>('-6', 'addr', 'show', 'dev', 'host0'))[0]!.addr_info.filter((a) => a.scope === 'global').length;
    if (kernel !== COUNT) throw new Error(`the kernel has ${kernel} global addresses, not ${COUNT}`);
    return { ...(await settledRss(daemon.pid)), readyMs };
  } finally {
    await lab.destroy();
  }
}

async function main(): Promise<void> {
  const floor: number[] = [];
  const idle: number[] = [];
  const many: number[] = [];
  const hwm: number[] = [];
  const ready: number[] = [];
  for (let i = 0; i < runs; i++) {
    floor.push(await nodeFloor());
    idle.push((await idleCase()).rss);
    const m = await manyCase();
    many.push(m.rss);
    hwm.push(m.hwm);
    ready.push(m.readyMs);
  }
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  const f = median(floor);
  const a = median(idle);
  const b = median(many);
  console.log(`Daemon RSS, ${runs} runs (medians), load average ${loadavg()[0]!.toFixed(2)}:`);
  console.log(`  idle node process (floor)        ${mib(f)}`);
  console.log(`  daemon idle, 1 address           ${mib(a)}  (${(a / f).toFixed(2)}× the node floor)`);
  console.log(`  daemon, ${COUNT} addresses          ${mib(b)}  (${(b / a).toFixed(2)}× idle, ${((b - a) / COUNT).toFixed(1)} KiB per address; peak ${mib(median(hwm))})`);
  console.log(`  ${COUNT} static addresses installed and out of DAD ${(median(ready) / 1000).toFixed(1)} s after the daemon was spawned`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
