/**
 * Shared parts of the daemon benchmarks (bench/daemon-*.ts): the namespace lab of the
 * integration tests, `ip -ts monitor address` as an independent clock of what the kernel did,
 * and the single-RA sender (daemon-ra-worker.ts).
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Netns } from '../src/lab/netns.js';
import { Lab, waitFor } from '../test/integration/daemon-harness.js';

export { Lab, waitFor };

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'daemon-ra-worker.js');

export interface AddressEvent {
  /** Wall-clock ms (µs precision) as `ip -ts` printed it. */
  tMs: number;
  deleted: boolean;
  address: string;
  tentative: boolean;
  dev: string;
}

/** `[2026-11-26T06:31:45.817793] ...` (local time) to wall-clock ms. */
function stamp(text: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})$/.exec(text);
  if (!m) throw new Error(`unexpected ip -ts time ${text}`);
  return Date.parse(m[1]!) + Number(m[2]) / 1000;
}

/** Every IPv6 address change in a namespace, timestamped by the kernel-facing `ip` process. */
export class AddressMonitor {
  readonly events: AddressEvent[] = [];

  private constructor(child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^\[([^\]]+)\] (Deleted )?\d+: (\S+)\s+inet6 ([0-9a-f:]+)\/\d+ (.*)$/.exec(line);
      if (!m) return;
      this.events.push({ tMs: stamp(m[1]!), deleted: m[2] !== undefined, dev: m[3]!, address: m[4]!, tentative: /\btentative\b/.test(m[5]!) });
    });
  }

  /** Starts the monitor and waits until it demonstrably listens: it reports a throw-away address on lo. */
  static async start(lab: Lab, ns: Netns): Promise<AddressMonitor> {
    const monitor = new AddressMonitor(lab.spawn(ns, 'ip', ['-ts', '-6', 'monitor', 'address']));
    for (let i = 1; i <= 100; i++) {
      const probe = `2001:db8:ffff::${i.toString(16)}`;
      await ns.ip('-6', 'addr', 'add', `${probe}/128`, 'dev', 'lo', 'nodad');
      const seen = await waitFor('ip monitor listening', async () => monitor.events.some((e) => e.address === probe) || undefined, 200).catch(() => false);
      await ns.ip('-6', 'addr', 'del', `${probe}/128`, 'dev', 'lo');
      if (seen) return monitor;
    }
    throw new Error('ip monitor reports nothing');
  }

  /** The first event from index `from` on that matches. */
  wait(what: string, match: (e: AddressEvent) => boolean, from = 0, timeoutMs = 15_000): Promise<AddressEvent> {
    return waitFor(what, async () => this.events.slice(from).find(match), timeoutMs);
  }
}

/** The single-RA sender, running in the router's namespace. */
export class RaWorker {
  readonly #child: ChildProcess;
  readonly #replies: { sentMs?: number; error?: string }[] = [];

  private constructor(child: ChildProcess) {
    this.#child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => this.#replies.push(JSON.parse(line) as { sentMs?: number; error?: string }));
  }

  static start(lab: Lab, ifname = 'br0'): RaWorker {
    return new RaWorker(lab.spawn(lab.rtr, process.execPath, [WORKER, ifname]));
  }

  /** Sends one RA with these prefixes; resolves with its send time (wall-clock ms). */
  async send(prefixes: { prefix: string; valid: number; preferred: number }[]): Promise<number> {
    // EADDRNOTAVAIL: br0's link-local source is still tentative just after the lab is made.
    for (let attempt = 0; ; attempt++) {
      const at = this.#replies.length;
      this.#child.stdin!.write(`${JSON.stringify(prefixes)}\n`);
      const reply = await waitFor('the RA sent', async () => this.#replies[at], 10_000);
      if (reply.sentMs !== undefined) return reply.sentMs;
      if (!reply.error?.includes('EADDRNOTAVAIL') || attempt > 100) throw new Error(`RA not sent: ${reply.error}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const fmt = (ms: number): string => `${ms.toFixed(2)} ms`;
