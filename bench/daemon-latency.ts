#!/usr/bin/env node
/**
 * Benchmark (a) of issue 4: RA-to-address latency of the stable6 daemon against the kernel's
 * own stable-privacy SLAAC (RFC 7217 in the kernel: addr_gen_mode=2, stable_secret, autoconf=1),
 * both fed by the same Router Advertisement.
 *
 *   router ns: br0 ── p0 ── host0 (ns A: the stable6 daemon, kernel SLAAC off)
 *                 └─ p1 ── host0 (ns B: the kernel's SLAAC)
 *
 * Each round the router sends ONE RA carrying a new /64 (daemon-ra-worker.ts, send time taken
 * just before sendto); `ip -ts monitor address` in each host namespace timestamps the address
 * as the kernel reports it usable. Two phases: DAD off (accept_dad=0 on both: pure processing,
 * the address is usable when it appears) and DAD on (retrans_time 100 ms on both).
 * Printed: medians of the per-round latencies and of the per-round difference daemon − kernel
 * (goal: within 5 ms), and the ratio. Run as root, npm-free:
 *
 *   npx tsc -p . && node dist/bench/daemon-latency.js [rounds=15]
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { AddressMonitor, Lab, RaWorker, fmt, median } from './daemon-lab.js';
import { expectedAddress } from '../test/integration/daemon-harness.js';

const rounds = Number(process.argv[2] ?? 15);

function stableSecretText(): string {
  const b = randomBytes(16).toString('hex');
  return b.match(/.{4}/g)!.join(':');
}

async function main(): Promise<void> {
  const lab = await Lab.create({ hosts: 2 });
  try {
    const [daemonHost, kernelHost] = lab.hosts as [typeof lab.host, typeof lab.host];
    // The kernel's RFC 7217 SLAAC on B; no cap on the number of autoconf addresses.
    await kernelHost.sysctl('net.ipv6.conf.host0.stable_secret', stableSecretText());
    await kernelHost.sysctl('net.ipv6.conf.host0.addr_gen_mode', 2);
    await kernelHost.sysctl('net.ipv6.conf.host0.max_addresses', 0);
    await kernelHost.sysctl('net.ipv6.conf.host0.autoconf', 1);
    await kernelHost.sysctl('net.ipv6.conf.host0.use_tempaddr', 0);

    const config = lab.file('stable6.toml', 'max_prefixes_per_interface = 1024\n\n[[interface]]\nname = "host0"\n');
    const daemon = await lab.startDaemon(['daemon', '--config', config, '--secret-file', lab.secretFile, '--state-dir', lab.stateDir(), '--socket', lab.socket()], daemonHost);
    const monA = await AddressMonitor.start(lab, daemonHost);
    const monB = await AddressMonitor.start(lab, kernelHost);
    const ra = RaWorker.start(lab);

    let subnet = 0x100;
    const results: string[] = [];
    for (const dad of [false, true]) {
      for (const ns of [daemonHost, kernelHost]) await ns.sysctl('net.ipv6.conf.host0.accept_dad', dad ? 1 : 0);
      const lat = { daemon: [] as number[], kernel: [] as number[], diff: [] as number[] };
      for (let round = -2; round < rounds; round++) {
        const prefix = `2001:db8:${(subnet++).toString(16)}::/64`;
        const want = expectedAddress(lab.secret, prefix);
        const base = prefix.replace('::/64', ':');
        const fromA = monA.events.length;
        const fromB = monB.events.length;
        const sent = await ra.send([{ prefix, valid: 3600, preferred: 1800 }]);
        const [a, b] = await Promise.all([
          monA.wait(`${want} usable`, (e) => !e.deleted && !e.tentative && e.address === want, fromA),
          monB.wait(`kernel address in ${prefix}`, (e) => !e.deleted && !e.tentative && e.dev === 'host0' && e.address.startsWith(base), fromB),
        ]);
        if (round < 0) continue; // warm-up rounds (JIT, first sends)
        lat.daemon.push(a.tMs - sent);
        lat.kernel.push(b.tMs - sent);
        lat.diff.push(a.tMs - b.tMs);
      }
      const md = median(lat.daemon);
      const mk = median(lat.kernel);
      const mdiff = median(lat.diff);
      results.push(
        `DAD ${dad ? 'on (100 ms) ' : 'off        '}  daemon ${fmt(md).padStart(10)}  kernel ${fmt(mk).padStart(10)}  ` +
          `median(daemon − kernel) ${fmt(mdiff).padStart(9)}  ratio ${(md / mk).toFixed(2)}×  ` +
          `[goal ≤ 5 ms: ${mdiff <= 5 ? 'met' : 'NOT met'}]  (daemon min/max ${fmt(Math.min(...lat.daemon))}/${fmt(Math.max(...lat.daemon))})`,
      );
    }
    console.log(`RA-to-address latency, ${rounds} rounds per phase (medians), load average ${loadavg()[0]!.toFixed(2)}:`);
    for (const line of results) console.log(`  ${line}`);
    if (!daemon.running) throw new Error(`the daemon died: ${daemon.stderr}`);
  } finally {
    await lab.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
