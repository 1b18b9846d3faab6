/**
 * Network namespaces for privileged tests.
 *
 * Every namespace is made by the test that uses it, with a name unique to this run
 * (`s6t-<pid>-<n>`), and removed in every outcome: by `destroy()` in the test's
 * `after`, and by an exit hook if the process ends first. Nothing here touches the
 * machine's own interfaces or sends traffic outside the namespaces it made.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';

const execFileAsync = promisify(execFile);
const live = new Set<string>();
let counter = 0;

process.on('exit', () => {
  for (const name of live) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
});

function which(binary: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * True when namespace tests can run here. Outside CI a missing prerequisite skips the
 * test with the reason; under CI=true it fails the test (never a silent skip).
 */
export function requirePrivileged(t: TestContext, binaries: string[] = []): boolean {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  for (const binary of ['ip', ...binaries]) if (!which(binary)) missing.push(binary);
  if (missing.length === 0) return true;
  const reason = `needs ${missing.join(', ')}`;
  if (process.env.CI === 'true') throw new Error(`privileged test cannot run under CI=true: ${reason}`);
  t.skip(reason);
  return false;
}

export class Netns {
  readonly name: string;
  #children: ChildProcess[] = [];
  #tempDirs: string[] = [];

  private constructor(name: string) {
    this.name = name;
  }

  static async create(): Promise<Netns> {
    const name = `s6t-${process.pid}-${++counter}`;
    await execFileAsync('ip', ['netns', 'add', name]);
    live.add(name);
    const ns = new Netns(name);
    await ns.ip('link', 'set', 'lo', 'up');
    return ns;
  }

  /** Runs a command inside the namespace; resolves with stdout, rejects with stderr in the message. */
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

  /** `ip -j ...` parsed. */
  async ipJson<T = unknown>(...args: string[]): Promise<T> {
    const out = await this.exec('ip', '-j', ...args);
    return JSON.parse(out.trim() === '' ? '[]' : out) as T;
  }

  sysctl(key: string, value: string | number): Promise<string> {
    return this.exec('sysctl', '-qw', `${key}=${value}`);
  }

  /** Short DAD and no solicitation delay on an interface, so tests run in ~100 ms per address. */
  async fastDad(ifname: string): Promise<void> {
    await this.sysctl(`net.ipv6.neigh.${ifname}.retrans_time_ms`, 100);
    await this.sysctl(`net.ipv6.conf.${ifname}.router_solicitation_delay`, 0);
  }

  /** A long-running process inside the namespace, killed by destroy(). */
  spawn(command: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.push(child);
    return child;
  }

  /** Starts radvd with the given configuration text; forwarding is turned on as radvd requires. */
  async startRadvd(config: string): Promise<ChildProcess> {
    await this.sysctl('net.ipv6.conf.all.forwarding', 1);
    const dir = mkdtempSync(path.join(tmpdir(), 's6t-radvd-'));
    this.#tempDirs.push(dir);
    const file = path.join(dir, 'radvd.conf');
    writeFileSync(file, config);
    return this.spawn('radvd', ['--nodaemon', '-C', file, '-p', path.join(dir, 'radvd.pid'), '-m', 'stderr', '-u', 'root']);
  }

  async destroy(): Promise<void> {
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => {
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            resolve(undefined);
          }, 2000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve(undefined);
          });
        });
      }
    }
    for (const dir of this.#tempDirs) rmSync(dir, { recursive: true, force: true });
    try {
      await execFileAsync('ip', ['netns', 'del', this.name]);
    } finally {
      live.delete(this.name);
    }
  }
}

/** Links two namespaces with a veth pair: `a` gets `ifA`, `b` gets `ifB`, both up. */
export async function linkVeth(a: Netns, ifA: string, b: Netns, ifB: string): Promise<void> {
  const temp = `s6v${process.pid % 100000}${++counter}`;
  await execFileAsync('ip', ['link', 'add', temp, 'netns', a.name, 'type', 'veth', 'peer', 'name', `${temp}p`, 'netns', b.name]);
  await a.ip('link', 'set', temp, 'name', ifA);
  await b.ip('link', 'set', `${temp}p`, 'name', ifB);
  await a.fastDad(ifA);
  await b.fastDad(ifB);
  await a.ip('link', 'set', ifA, 'up');
  await b.ip('link', 'set', ifB, 'up');
}

/** Waits until `check` returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
