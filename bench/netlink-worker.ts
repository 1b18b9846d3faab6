/**
 * Runs inside the benchmark's namespace (started by netlink-bench.ts with `ip netns exec`).
 *   node dist/bench/netlink-worker.js add-ours|add-ip <count> <ifname>
 *   node dist/bench/netlink-worker.js dump <runs>
 * Prints one JSON line of figures.
 */
import { execFile, spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Ipv6Address } from '../src/core/address.js';
import { createLinuxPlatform } from '../src/platform/linux/index.js';
import type { AddAddressRequest } from '../src/platform/platform.js';

const execFileAsync = promisify(execFile);

/**
 * Distinct /64s, the same interface identifier: every address shares its low 24 bits, so the
 * kernel joins one solicited-node group instead of N (whose cost grows about with N², notes).
 */
export function benchAddress(i: number): string {
  return `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`;
}

async function addOurs(count: number, ifname: string): Promise<Record<string, number>> {
  const platform = createLinuxPlatform();
  const ifindex = (await platform.listInterfaces()).find((l) => l.name === ifname)?.index;
  if (ifindex === undefined) throw new Error(`no ${ifname}`);
  const requests: AddAddressRequest[] = [];
  for (let i = 0; i < count; i++) {
    requests.push({ ifindex, address: Ipv6Address.parse(benchAddress(i)), prefixLength: 64, validLifetimeSec: 3600, preferredLifetimeSec: 1800, noDad: true, noPrefixRoute: true });
  }
  const delay = monitorEventLoopDelay({ resolution: 1 });
  // A second probe: the longest gap between 1 ms interval ticks.
  let last = performance.now();
  let worstGap = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    worstGap = Math.max(worstGap, now - last);
    last = now;
  }, 1);
  delay.enable();
  const start = performance.now();
  const results = await platform.addAddresses(requests);
  const ms = performance.now() - start;
  delay.disable();
  clearInterval(probe);
  const failed = results.filter((r) => r !== undefined).length;
  await platform.close();
  if (failed > 0) throw new Error(`${failed} adds failed: ${String(results.find((r) => r))}`);
  // The same probe with nothing to do, for as long: what the machine alone does to the loop.
  const idle = monitorEventLoopDelay({ resolution: 1 });
  idle.enable();
  await new Promise((resolve) => setTimeout(resolve, Math.min(ms, 3000)));
  idle.disable();
  return { ms, maxDelayMs: delay.max / 1e6, worstGapMs: worstGap, idleMaxDelayMs: idle.max / 1e6 };
}

async function addIp(count: number, ifname: string): Promise<Record<string, number>> {
  const dir = mkdtempSync(path.join(tmpdir(), 's6b-'));
  try {
    const file = path.join(dir, 'batch');
    const lines: string[] = [];
    for (let i = 0; i < count; i++) lines.push(`addr add ${benchAddress(i)}/64 dev ${ifname} nodad noprefixroute valid_lft 3600 preferred_lft 1800`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const start = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn('ip', ['-batch', file], { stdio: 'ignore' });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ip -batch exited ${code}`))));
    });
    return { ms: performance.now() - start };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function dump(runs: number): Promise<Record<string, number[]>> {
  const platform = createLinuxPlatform();
  const ours: number[] = [];
  const ip: number[] = [];
  let count = 0;
  for (let r = 0; r < runs; r++) {
    let start = performance.now();
    const list = await platform.listAddresses();
    ours.push(performance.now() - start);
    count = list.length;
    start = performance.now();
    const { stdout } = await execFileAsync('ip', ['-j', '-6', 'addr', 'show'], { maxBuffer: 1 << 30 });
    const parsed = JSON.parse(stdout) as { addr_info: unknown[] }[];
    ip.push(performance.now() - start);
    if (parsed.reduce((n, l) => n + l.addr_info.length, 0) !== count) throw new Error('ip and stable6 list different counts');
  }
  await platform.close();
  return { ours, ip, count: [count] };
}

const [task, arg, ifname = 'bench0'] = process.argv.slice(2);
const n = Number(arg);
const work = task === 'add-ours' ? addOurs(n, ifname) : task === 'add-ip' ? addIp(n, ifname) : task === 'dump' ? dump(n) : Promise.reject(new Error(`no task ${task}`));
work.then(
  (figures) => process.stdout.write(`${JSON.stringify(figures)}\n`),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  },
);
