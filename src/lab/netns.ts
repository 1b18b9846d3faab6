/**
 * Network namespaces for the lab (and for tests): made with `ip netns add` under names
 * unique to this process, linked by veth pairs, and removed in every outcome — by
 * `destroy()`, and by an exit hook if the process ends first. Nothing here touches the
 * host's own interfaces.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const live = new Set<string>();
let counter = 0;
let hooked = false;

function deleteLiveNamespaces(): void {
  for (const name of live) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  live.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', deleteLiveNamespaces);
}

export class Netns {
  readonly name: string;
  readonly #children = new Set<ChildProcess>();
  readonly #tempDirs: string[] = [];

  private constructor(name: string) {
    this.name = name;
  }

  /** A new namespace named `<tag>-<pid>-<n>` with loopback up. */
  static async create(tag = 's6t'): Promise<Netns> {
    hookExit();
    const name = `${tag}-${process.pid}-${++counter}`;
    await execFileAsync('ip', ['netns', 'add', name]);
    live.add(name);
    const ns = new Netns(name);
    await ns.ip('link', 'set', 'lo', 'up');
    return ns;
  }

  /** Runs a command inside the namespace; rejects with its stderr. */
  async exec(command: string, ...args: string[]): Promise<string> {
    try {
      const { stdout } = await execFileAsync('ip', ['netns', 'exec', this.name, command, ...args], { maxBuffer: 256 << 20 });
      return stdout;
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`[${this.name}] ${command} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
    }
  }

  ip(...args: string[]): Promise<string> {
    return this.exec('ip', ...args);
  }

  async ipJson<T = unknown>(...args: string[]): Promise<T> {
    const out = await this.exec('ip', '-j', ...args);
    return JSON.parse(out.trim() === '' ? '[]' : out) as T;
  }

  sysctl(key: string, value: string | number): Promise<string> {
    return this.exec('sysctl', '-qw', `${key}=${value}`);
  }

  /** Short DAD (one 100 ms probe) and no solicitation delay on an interface. */
  async fastDad(ifname: string): Promise<void> {
    await this.sysctl(`net.ipv6.neigh.${ifname}.retrans_time_ms`, 100);
    await this.sysctl(`net.ipv6.conf.${ifname}.router_solicitation_delay`, 0);
  }

  /** A long-running process inside the namespace, ended by destroy(). */
  spawn(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** Starts radvd with this configuration text; forwarding is turned on, as radvd requires. */
  async startRadvd(config: string): Promise<ChildProcess> {
    await this.sysctl('net.ipv6.conf.all.forwarding', 1);
    const dir = mkdtempSync(path.join(tmpdir(), 's6-radvd-'));
    this.#tempDirs.push(dir);
    const file = path.join(dir, 'radvd.conf');
    writeFileSync(file, config);
    return this.spawn('radvd', ['--nodaemon', '-C', file, '-p', path.join(dir, 'radvd.pid'), '-m', 'stderr', '-u', 'root']);
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.#children].map((child) => stopChild(child)));
    for (const dir of this.#tempDirs) rmSync(dir, { recursive: true, force: true });
    try {
      await execFileAsync('ip', ['netns', 'del', this.name]);
    } finally {
      live.delete(this.name);
    }
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Links two namespaces with a veth pair, both ends up with short DAD. */
export async function linkVeth(a: Netns, ifA: string, b: Netns, ifB: string): Promise<void> {
  const temp = `s6v${process.pid % 100000}x${++counter}`;
  await execFileAsync('ip', ['link', 'add', temp, 'netns', a.name, 'type', 'veth', 'peer', 'name', `${temp}p`, 'netns', b.name]);
  await a.ip('link', 'set', temp, 'name', ifA);
  await b.ip('link', 'set', `${temp}p`, 'name', ifB);
  await a.fastDad(ifA);
  await b.fastDad(ifB);
  await a.ip('link', 'set', ifA, 'up');
  await b.ip('link', 'set', ifB, 'up');
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
