/**
 * The lab for the daemon's integration tests (test/integration/daemon-*.test.ts) and
 * benchmarks (bench/daemon-*.ts): a router namespace with a bridge `br0` (radvd advertises
 * there), host namespaces hanging off it by veth (`host0` in each), and the real daemon run
 * as a child process inside a host namespace, as an administrator would run it:
 *
 *   ip netns exec NS node dist/src/cli/main.js daemon --interface host0 --secret-file F ...
 *
 * Everything is checked against what the kernel really did (`ip -j`, sysctls). Every
 * namespace, child process and temporary folder is removed by `destroy()` in every outcome.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ipv6Prefix } from '../../src/core/prefix.js';
import { generateStable6V1, resolveSubnet64 } from '../../src/core/stable6-v1.js';
import { parseSecretHex } from '../../src/daemon/secret-file.js';
import type { StatusReport } from '../../src/api/protocol.js';
import { Netns, linkVeth, waitFor } from '../helpers/netns.js';

const execFileAsync = promisify(execFile);

/** dist/src/cli/main.js, next to this compiled file's tree. */
export const MAIN_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface KernelAddress {
  family: string;
  local: string;
  prefixlen: number;
  scope: string;
  valid_life_time: number;
  preferred_life_time: number;
  tentative?: boolean;
  deprecated?: boolean;
  dadfailed?: boolean;
  noprefixroute?: boolean;
  dynamic?: boolean;
  mngtmpaddr?: boolean;
  protocol?: string | number;
}

/** The IPv6 addresses the kernel has on `dev` in `ns`, as `ip -j -6 addr` prints them. */
export async function kernelAddresses(ns: Netns, dev = 'host0'): Promise<KernelAddress[]> {
  const links = await ns.ipJson<{ addr_info?: KernelAddress[] }[]>('-6', 'addr', 'show', 'dev', dev);
  return links.flatMap((l) => l.addr_info ?? []);
}

/** The global (non link-local) addresses only. */
export async function globalAddresses(ns: Netns, dev = 'host0'): Promise<KernelAddress[]> {
  return (await kernelAddresses(ns, dev)).filter((a) => a.scope === 'global');
}

const LINUX_PLATFORM_JS = path.resolve(path.dirname(MAIN_JS), '../platform/linux/index.js');

/**
 * The addresses as the Linux platform reads them, with `IFA_PROTO` (iproute2 6.1 does not
 * print it): one short-lived process inside the namespace.
 */
export async function platformAddresses(ns: Netns): Promise<{ address: string; protocol?: number; owned: boolean; ifindex: number }[]> {
  const script = `
    const { createLinuxPlatform } = await import(${JSON.stringify(LINUX_PLATFORM_JS)});
    const p = createLinuxPlatform();
    const list = await p.listAddresses();
    process.stdout.write(JSON.stringify(list.map((a) => ({ address: a.address.toString(), protocol: a.protocol, owned: a.owned, ifindex: a.ifindex }))));
    await p.close();
    process.exit(0);`;
  const out = await ns.exec(process.execPath, '--input-type=module', '-e', script);
  return JSON.parse(out) as { address: string; protocol?: number; owned: boolean; ifindex: number }[];
}

export async function sysctlValue(ns: Netns, key: string): Promise<string> {
  return (await ns.exec('sysctl', '-n', key)).trim();
}

/** What an error must not change: the host's addresses (without lifetimes, which tick) and SLAAC settings. */
export async function hostFingerprint(ns: Netns, dev = 'host0'): Promise<string> {
  // Link-local addresses left out: stable6 never touches them, and a new lab's may still be in
  // DAD when the first fingerprint is taken (tentative then, not a moment later).
  const addrs = (await kernelAddresses(ns, dev))
    .filter((a) => !a.local.toLowerCase().startsWith('fe80:'))
    .map((a) => `${a.local}/${a.prefixlen}${a.tentative ? ' tentative' : ''}`)
    .sort();
  const settings = [];
  for (const key of ['autoconf', 'accept_ra', 'addr_gen_mode']) settings.push(`${key}=${await sysctlValue(ns, `net.ipv6.conf.${dev}.${key}`)}`);
  return JSON.stringify({ addrs, settings });
}

/** The stable6-v1 address the daemon must make: the secret, the /64, the interface name, the counter. */
export function expectedAddress(secret: Uint8Array, prefix: string, counter = 0, netIface = 'host0', label = ''): string {
  return generateStable6V1({ secret, prefix: Ipv6Prefix.parse(prefix), netIface, label, dadCounter: counter }).address.toString();
}

/** The /64 the spec's "auto" subnet picks inside a routed prefix. */
export function autoSubnet(secret: Uint8Array, routed: string, netIface = 'host0'): string {
  return resolveSubnet64(secret, Ipv6Prefix.parse(routed), netIface, { kind: 'auto' }).prefix.toString();
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The daemon as a child process inside a namespace. `ip netns exec` execs node: the pid is node's. */
export class DaemonProcess {
  readonly child: ChildProcess;
  stderr = '';
  stdout = '';
  readonly exited: Promise<ExitStatus>;

  constructor(ns: Netns, args: string[], env: Record<string, string> = {}) {
    this.child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, MAIN_JS, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits for a log line matching `pattern`; fails early with the log if the daemon exits. */
  async waitLog(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    return waitFor(
      `daemon log ${pattern}`,
      async () => {
        const line = this.stderr.split('\n').find((l) => pattern.test(l));
        if (line !== undefined) return line;
        if (!this.running) throw new Error(`the daemon exited (${this.child.exitCode ?? this.child.signalCode}): ${this.stderr}`);
        return undefined;
      },
      timeoutMs,
    );
  }

  /** SIGTERM, then SIGKILL if it has not ended after `graceMs`. */
  async stop(graceMs = 8000): Promise<ExitStatus> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      const status = await this.exited;
      clearTimeout(timer);
      return status;
    }
    return this.exited;
  }

  async kill9(): Promise<ExitStatus> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
  }
}

export interface LabOptions {
  /** Host namespaces to attach (each gets `host0`); default 1. */
  hosts?: number;
  /** Also a neighbour namespace (`nb0`) on the same link, for DAD conflicts. */
  neighbour?: boolean;
}

/**
 * rtr (br0 with ports p0, p1, ...) ── veth ── host0 in each host namespace, and optionally
 * nb0 in a neighbour namespace. The hosts' kernel defaults are left as they are (autoconf=1,
 * accept_ra=1) so that the tests see the daemon turn SLAAC off and back on.
 */
export class Lab {
  readonly rtr: Netns;
  readonly hosts: Netns[];
  readonly neighbour: Netns | undefined;
  readonly dir: string;
  readonly secretFile: string;
  readonly secret: Uint8Array;
  readonly #daemons: DaemonProcess[] = [];
  readonly #children: ChildProcess[] = [];
  #radvd: ChildProcess | undefined;
  #radvdRound = 0;

  private constructor(rtr: Netns, hosts: Netns[], neighbour: Netns | undefined, dir: string, secret: Uint8Array) {
    this.rtr = rtr;
    this.hosts = hosts;
    this.neighbour = neighbour;
    this.dir = dir;
    this.secretFile = path.join(dir, 'secret');
    this.secret = secret;
  }

  get host(): Netns {
    return this.hosts[0]!;
  }

  static async create(options: LabOptions = {}): Promise<Lab> {
    const made: Netns[] = [];
    const dir = mkdtempSync(path.join(tmpdir(), 's6d-'));
    try {
      const rtr = await Netns.create();
      made.push(rtr);
      await rtr.ip('link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0', 'mcast_snooping', '0');
      await rtr.fastDad('br0');
      const hosts: Netns[] = [];
      const count = options.hosts ?? 1;
      let port = 0;
      const attach = async (ns: Netns, ifname: string): Promise<void> => {
        const p = `p${port++}`;
        await linkVeth(ns, ifname, rtr, p);
        await rtr.ip('link', 'set', p, 'master', 'br0');
      };
      for (let i = 0; i < count; i++) {
        const host = await Netns.create();
        made.push(host);
        hosts.push(host);
        await attach(host, 'host0');
      }
      let neighbour: Netns | undefined;
      if (options.neighbour) {
        neighbour = await Netns.create();
        made.push(neighbour);
        await neighbour.sysctl('net.ipv6.conf.default.autoconf', 0);
        await neighbour.sysctl('net.ipv6.conf.default.accept_ra', 0);
        await attach(neighbour, 'nb0');
      }
      await rtr.ip('link', 'set', 'br0', 'up');
      await execFileAsync(process.execPath, [MAIN_JS, 'secret', 'init', '--secret-file', path.join(dir, 'secret')]);
      const secret = parseSecretHex(readFileSync(path.join(dir, 'secret'), 'utf8'), 'secret');
      return new Lab(rtr, hosts, neighbour, dir, secret);
    } catch (error) {
      for (const ns of made) await ns.destroy().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** A file in the lab's temporary folder. */
  file(name: string, text?: string, mode?: number): string {
    const file = path.join(this.dir, name);
    if (text !== undefined) writeFileSync(file, text);
    if (mode !== undefined) chmodSync(file, mode);
    return file;
  }

  /** The usual flags: host0, the lab's secret, a state dir and socket of this name. */
  daemonArgs(name = 'd', extra: string[] = []): string[] {
    return ['daemon', '--interface', 'host0', '--secret-file', this.secretFile, '--state-dir', path.join(this.dir, `${name}-state`), '--socket', this.socket(name), ...extra];
  }

  socket(name = 'd'): string {
    return path.join(this.dir, `${name}.sock`);
  }

  stateDir(name = 'd'): string {
    return path.join(this.dir, `${name}-state`);
  }

  /** Starts a daemon and waits until it says it runs. */
  async startDaemon(args: string[] = this.daemonArgs(), ns: Netns = this.host, env: Record<string, string> = {}): Promise<DaemonProcess> {
    const d = this.spawnDaemon(args, ns, env);
    await d.waitLog(/stable6 daemon running/, 30_000);
    return d;
  }

  /** Starts a daemon without waiting (for the ones that must refuse to start). */
  spawnDaemon(args: string[], ns: Netns = this.host, env: Record<string, string> = {}): DaemonProcess {
    const d = new DaemonProcess(ns, args, env);
    this.#daemons.push(d);
    return d;
  }

  /** Runs the CLI inside `ns`; never rejects: the exit code comes back. */
  async cli(args: string[], ns: Netns = this.host): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await execFileAsync('ip', ['netns', 'exec', ns.name, process.execPath, MAIN_JS, ...args]);
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  /** `stable6 status --json` over the daemon's socket, run inside the namespace. */
  async status(name = 'd', ns: Netns = this.host): Promise<StatusReport> {
    const r = await this.cli(['status', '--json', '--socket', this.socket(name)], ns);
    if (r.code !== 0) throw new Error(`stable6 status exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as StatusReport;
  }

  /** Waits until the daemon has seen `prefix` advertised again after now (the next RA). */
  async nextRa(prefix: string, name = 'd', ns: Netns = this.host, timeoutMs = 20_000): Promise<void> {
    const seen = async (): Promise<number | undefined> => {
      const report = await this.status(name, ns);
      const p = report.interfaces.flatMap((i) => i.prefixes).find((x) => x.prefix === prefix);
      return p?.lastSeen ? Date.parse(p.lastSeen) : undefined;
    };
    const first = await waitFor(`${prefix} advertised`, seen, timeoutMs);
    // lastSeen has one-second granularity; RAs come every 3-4 s in these tests.
    await waitFor(`${prefix} advertised again`, async () => ((await seen()) ?? 0) - first > 1500 || undefined, timeoutMs);
  }

  /**
   * (Re)starts radvd on br0 with these prefixes (radvd syntax for each `prefix ... { ... };`)
   * and extra interface `options` (e.g. `UnicastOnly on;`).
   */
  async radvd(body: string, interval: { min: number; max: number } = { min: 3, max: 4 }, options = ''): Promise<ChildProcess> {
    await this.stopRadvd();
    const config = `interface br0 {\n AdvSendAdvert on;\n MinRtrAdvInterval ${interval.min};\n MaxRtrAdvInterval ${interval.max};\n AdvDefaultLifetime 1800;\n${options}\n${body}\n};\n`;
    const round = ++this.#radvdRound;
    const file = this.file(`radvd-${round}.conf`, config);
    await this.rtr.sysctl('net.ipv6.conf.all.forwarding', 1);
    const child = spawn('ip', ['netns', 'exec', this.rtr.name, 'radvd', '--nodaemon', '-C', file, '-p', path.join(this.dir, `radvd-${round}.pid`), '-m', 'stderr', '-u', 'root'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => {
      if ((code !== 0 && code !== null) || process.env.S6_DEBUG) process.stderr.write(`radvd exited ${code}: ${err}\n`);
    });
    this.#radvd = child;
    return child;
  }

  /** Stops radvd (SIGTERM: radvd sends a final RA with router lifetime 0, prefixes untouched). */
  async stopRadvd(): Promise<void> {
    const child = this.#radvd;
    this.#radvd = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** A long-running helper process inside a namespace, ended by destroy(). */
  spawn(ns: Netns, command: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns.name, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#children.push(child);
    return child;
  }

  async destroy(): Promise<void> {
    for (const d of this.#daemons) await d.stop(3000).catch(() => undefined);
    if (process.env.S6_DEBUG) for (const d of this.#daemons) process.stderr.write(`--- daemon ${d.pid} ---\n${d.stderr}\n`);
    await this.stopRadvd().catch(() => undefined);
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    }
    for (const ns of [...this.hosts, ...(this.neighbour ? [this.neighbour] : []), this.rtr]) await ns.destroy().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A radvd prefix block. */
export function pio(prefix: string, valid: number | 'infinity', preferred: number | 'infinity', extra = ''): string {
  return ` prefix ${prefix} { AdvOnLink on; AdvAutonomous on; AdvValidLifetime ${valid}; AdvPreferredLifetime ${preferred}; ${extra} };`;
}

export { waitFor };
