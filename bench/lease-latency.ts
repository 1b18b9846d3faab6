/**
 * Issue 5 benchmark: lease request → bindable address, against the real daemon in namespaces.
 *
 * Reproduce (as root, on Linux with iproute2, radvd and setpriv):
 *
 *   cd /work/main && npx tsc -p . && node dist/bench/lease-latency.js [SAMPLES_PER_RUN] [RUNS]
 *
 * Two labs side by side (test/integration/lease-harness.ts): one with the namespace's short
 * DAD (retrans_time_ms=100, one probe, no solicitation delay), one with optimistic DAD
 * (`optimistic_dad=1` on host0 and `optimistic = true` in the daemon's configuration). In each,
 * a client running inside the host namespace times, per sample: POST /v1/leases with a new label
 * (so a new address and a new DAD), then bind() on the answered address; the clock stops when
 * bind() succeeds. An answer given before the address could be bound would show up as "early"
 * (bind retried). The lease is released before the next sample. Runs alternate between the two
 * labs so that machine noise hits both alike; figures are medians of the runs' medians and the
 * p99 over all samples.
 */
import { release } from 'node:os';
import { median, percentile } from './stats.js';
import { IFACE, LeaseLab, type TestUser } from '../test/integration/lease-harness.js';

const ROOT: TestUser = { name: 'root', uid: 0, gid: 0 };
const samples = Number(process.argv[2] ?? 60);
const runs = Number(process.argv[3] ?? 5);

interface RunResult {
  times: number[];
  early: number;
}

function clientBody(run: number, n: number): string {
  return `
    const times = [];
    let early = 0;
    const bind = (address) => new Promise((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen({ host: address, port: 0, ipv6Only: true }, () => s.close(() => resolve()));
    });
    for (let i = 0; i < ${n}; i++) {
      const t0 = performance.now();
      const h = await client.lease({ label: 'lat-${run}-' + i, interface: ${JSON.stringify(IFACE)}, socketPath });
      for (;;) {
        try { await bind(h.addresses[0]); break; }
        catch (e) { if (e.code !== 'EADDRNOTAVAIL') throw e; early++; await new Promise((r) => setTimeout(r, 1)); }
      }
      times.push(performance.now() - t0);
      await h.release();
    }
    print({ times, early });`;
}

async function run(lab: LeaseLab, index: number): Promise<RunResult> {
  const child = lab.runAs(ROOT, clientBody(index, samples));
  child.closeStdin();
  const result = await child.json<RunResult>(0, 600_000);
  await child.exited;
  return result;
}

const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark makes network namespaces');
  const labs: { name: string; lab: LeaseLab; results: RunResult[] }[] = [];
  try {
    const short = await LeaseLab.create({ logLevel: 'warn' });
    labs.push({ name: 'short DAD (retrans 100 ms)', lab: short, results: [] });
    const optimistic = await LeaseLab.create({ logLevel: 'warn', optimistic: true });
    labs.push({ name: 'optimistic DAD', lab: optimistic, results: [] });
    for (const l of labs) await l.lab.startDaemon();
    // One warm-up run each (JIT, first connections), not counted.
    for (const l of labs) await run(l.lab, -1);
    for (let r = 0; r < runs; r++) {
      const order = r % 2 ? [...labs].reverse() : labs;
      for (const l of order) l.results.push(await run(l.lab, r));
    }
    console.log(`lease request -> bindable address, ${runs} runs x ${samples} samples per mode (Linux ${release()}, Node ${process.version})`);
    const summary: Record<string, number> = {};
    for (const l of labs) {
      const all = l.results.flatMap((x) => x.times);
      const med = median(l.results.map((x) => median(x.times)));
      const p99 = percentile(all, 99);
      const early = l.results.reduce((n, x) => n + x.early, 0);
      summary[l.name] = med;
      console.log(
        `  ${l.name.padEnd(28)} median ${fmt(med).padStart(9)}  p99 ${fmt(p99).padStart(9)}  ` +
          `(run medians ${l.results.map((x) => median(x.times).toFixed(1)).join(', ')}; answered before bindable: ${early})`,
      );
    }
    const [a, b] = labs.map((l) => summary[l.name]!);
    console.log(`  optimistic / short DAD median: ${(b! / a!).toFixed(3)}x`);
  } finally {
    for (const l of labs) await l.lab.destroy();
  }
}

await main();
