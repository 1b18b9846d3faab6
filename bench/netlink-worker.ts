/**
 * Runs inside the benchmark's namespace (started by netlink-bench.ts with `ip netns exec`).
 *   node dist/bench/netlink-worker.js add-ours|add-ours-subscribed|add-ip <count> <ifname>
 *   node dist/bench/netlink-worker.js dump <runs>
 * Prints one JSON line of figures.
 *
 * The event-loop probe: monitorEventLoopDelay (1 ms resolution) plus a 1 ms interval that, at
 * every tick, reads the main thread's /proc/thread-self/schedstat (time on a CPU, time runnable
 * but waiting for one). The worst gap between ticks is then split into what the thread did
 * (running: JS, GC, syscalls), what the machine did to it (waiting for a CPU), and the rest
 * (asleep: blocked in the kernel or a lock, or a late timer). `add-ip` runs the same probe in
 * this otherwise idle process while `ip -batch` does the same kernel work: the stall that the
 * machine and the kernel alone cause, measured at the same time as ours.
 */
import { execFile, spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync, openSync, readSync, closeSync, readFileSync } from 'node:fs';
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

interface Gap {
  ms: number;
  runMs: number;
  waitMs: number;
}

/** The probe described above; `stop()` returns its figures. */
function startProbe(): () => Record<string, number> {
  const fd = openSync('/proc/thread-self/schedstat', 'r');
  const buffer = Buffer.alloc(128);
  const sched = (): [number, number] => {
    const text = buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, 0));
    const [run = '0', wait = '0'] = text.split(' ');
    return [Number(run) / 1e6, Number(wait) / 1e6];
  };
  const switches = (): number => Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync('/proc/thread-self/status', 'utf8'))?.[1] ?? 0);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let worst: Gap = { ms: 0, runMs: 0, waitMs: 0 };
  let last = performance.now();
  let [lastRun, lastWait] = sched();
  const [run0, wait0] = [lastRun, lastWait];
  const sleeps0 = switches();
  const cpu0 = process.cpuUsage();
  const timer = setInterval(() => {
    const now = performance.now();
    const [run, wait] = sched();
    if (now - last > worst.ms) worst = { ms: now - last, runMs: run - lastRun, waitMs: wait - lastWait };
    [last, lastRun, lastWait] = [now, run, wait];
  }, 1);
  delay.enable();
  return () => {
    delay.disable();
    clearInterval(timer);
    const [run, wait] = sched();
    const cpu = process.cpuUsage(cpu0);
    const figures = {
      maxDelayMs: delay.max / 1e6,
      worstGapMs: worst.ms,
      worstGapRunMs: worst.runMs,
      worstGapWaitMs: worst.waitMs,
      mainRunMs: run - run0,
      mainWaitMs: wait - wait0,
      mainSleeps: switches() - sleeps0,
      processCpuMs: (cpu.user + cpu.system) / 1000,
    };
    closeSync(fd);
    return figures;
  };
}

async function addOurs(count: number, ifname: string, subscribed: boolean): Promise<Record<string, number>> {
  const platform = createLinuxPlatform();
  const ifindex = (await platform.listInterfaces()).find((l) => l.name === ifname)?.index;
  if (ifindex === undefined) throw new Error(`no ${ifname}`);
  let events = 0;
  if (subscribed) {
    // As the daemon runs: subscribed, so every add also comes back as an RTM_NEWADDR notification.
    platform.subscribe((e) => {
      if (e.type === 'address-changed') events++;
    });
    await new Promise((resolve) => setTimeout(resolve, 200)); // the first listing
  }
  const requests: AddAddressRequest[] = [];
  for (let i = 0; i < count; i++) {
    requests.push({ ifindex, address: Ipv6Address.parse(benchAddress(i)), prefixLength: 64, validLifetimeSec: 3600, preferredLifetimeSec: 1800, noDad: true, noPrefixRoute: true });
  }
  const stop = startProbe();
  const start = performance.now();
  const results = await platform.addAddresses(requests);
  const ms = performance.now() - start;
  if (subscribed) {
    // Until the notifications are in (bounded: a lost one would be an overrun and a resync).
    for (let waited = 0; events < count && waited < 10000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const figures = stop();
  const failed = results.filter((r) => r !== undefined).length;
  await platform.close();
  if (failed > 0) throw new Error(`${failed} adds failed: ${String(results.find((r) => r))}`);
  return { ms, ...figures, ...(subscribed ? { events } : {}) };
}

async function addIp(count: number, ifname: string): Promise<Record<string, number>> {
  const dir = mkdtempSync(path.join(tmpdir(), 's6b-'));
  try {
    const file = path.join(dir, 'batch');
    const lines: string[] = [];
    for (let i = 0; i < count; i++) lines.push(`addr add ${benchAddress(i)}/64 dev ${ifname} nodad noprefixroute valid_lft 3600 preferred_lft 1800`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const start = performance.now();
    let stop: (() => Record<string, number>) | undefined;
    await new Promise<void>((resolve, reject) => {
      const child = spawn('ip', ['-batch', file], { stdio: 'ignore' });
      // The probe starts once ip runs: spawning is this process's own work, not the kernel's.
      child.on('spawn', () => (stop = startProbe()));
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ip -batch exited ${code}`))));
    });
    const ms = performance.now() - start;
    if (!stop) throw new Error('ip -batch never started');
    return { ms, ...stop() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** `ip`'s own CPU time (user + system, from bash's `times`), for the CPU-time comparison. */
async function ipCpuMs(): Promise<number> {
  const { stdout } = await execFileAsync('bash', ['-c', 'ip -j -6 addr show > /dev/null; times'], { maxBuffer: 1 << 20 });
  // `times` prints the shell's own line, then its children's: "0m0.012s 0m0.034s".
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return [...line.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + (Number(m[1]) * 60 + Number(m[2])) * 1000, 0);
}

async function dump(runs: number): Promise<Record<string, number[]>> {
  const platform = createLinuxPlatform();
  const ours: number[] = [];
  const oursCpu: number[] = [];
  const ip: number[] = [];
  const ipCpu: number[] = [];
  let count = 0;
  for (let r = 0; r < runs; r++) {
    // Alternate who goes first, as the adds do.
    for (const who of r % 2 === 0 ? ['ours', 'ip'] : ['ip', 'ours']) {
      if (who === 'ours') {
        const [start, cpu] = [performance.now(), cpuMs()];
        const list = await platform.listAddresses();
        ours.push(performance.now() - start);
        oursCpu.push(cpuMs() - cpu);
        count = list.length;
      } else {
        const [start, cpu] = [performance.now(), cpuMs()];
        const { stdout } = await execFileAsync('ip', ['-j', '-6', 'addr', 'show'], { maxBuffer: 1 << 30 });
        const parsed = JSON.parse(stdout) as { addr_info: unknown[] }[];
        ip.push(performance.now() - start);
        const nodeSide = cpuMs() - cpu; // reading ip's output and JSON.parse, in this process
        ipCpu.push(nodeSide + (await ipCpuMs()));
        if (parsed.reduce((n, l) => n + l.addr_info.length, 0) !== count && count !== 0) throw new Error('ip and stable6 list different counts');
      }
    }
  }
  await platform.close();
  return { ours, oursCpu, ip, ipCpu, count: [count] };
}

// netlink-bench.ts --isolated: this session's scheduling group (autogroup) at a higher priority.
if (process.env.S6BENCH_AUTOGROUP_NICE) writeFileSync('/proc/self/autogroup', process.env.S6BENCH_AUTOGROUP_NICE);

const [task, arg, ifname = 'bench0'] = process.argv.slice(2);
const n = Number(arg);
const work =
  task === 'add-ours'
    ? addOurs(n, ifname, false)
    : task === 'add-ours-subscribed'
      ? addOurs(n, ifname, true)
      : task === 'add-ip'
        ? addIp(n, ifname)
        : task === 'dump'
          ? dump(n)
          : Promise.reject(new Error(`no task ${task}`));
work.then(
  (figures) => process.stdout.write(`${JSON.stringify(figures)}\n`),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  },
);
