/**
 * The lab for issue 5's end-to-end tests (test/integration/lease-*.test.ts) and benchmarks
 * (bench/lease-*.ts): the REAL daemon, run as an administrator runs it,
 *
 *   ip netns exec HOST node dist/src/cli/main.js daemon --config FILE
 *
 * in a host namespace whose `host0` is linked by veth to a router namespace (`r0`) where
 * radvd advertises PREFIX. Users are made by the test (`useradd --system`) and run clients
 * inside the host namespace through setpriv, so the daemon sees them by SO_PEERCRED exactly
 * as it would see a real program. Outcomes are read from the kernel (`ip -j`), not from the
 * daemon's own account.
 *
 * Everything the lab makes (namespaces, processes, users, the temporary folder) is removed by
 * `destroy()`, and by an exit hook if the test process ends first.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { status } from '../../src/api/client.js';
import { Ipv6Prefix } from '../../src/core/prefix.js';
import { generateStable6V1 } from '../../src/core/stable6-v1.js';
import { parseSecretHex } from '../../src/daemon/secret-file.js';
import { Netns, linkVeth, waitFor } from '../helpers/netns.js';
import { after, before } from 'node:test';

const execFileAsync = promisify(execFile);

/** dist/src/cli/main.js and dist/src/api/client.js, next to this compiled file's tree. */
export const MAIN_JS = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
export const CLIENT_JS = fileURLToPath(new URL('../../src/api/client.js', import.meta.url));

export const PREFIX = '2001:db8:5e::/64';
export const ROUTER_ADDRESS = '2001:db8:5e::1';
export const IFACE = 'host0';

/** One address as `ip -j addr` prints it. */
export interface KernelAddress {
  family: string;
  local: string;
  prefixlen: number;
  scope: string;
  valid_life_time: number;
  preferred_life_time: number;
  tentative?: boolean;
  optimistic?: boolean;
  deprecated?: boolean;
  dadfailed?: boolean;
}

// ---------------------------------------------------------------------------------- users

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
}

const liveUsers = new Set<string>();
let userCounter = 0;

process.on('exit', () => {
  for (const name of liveUsers) {
    try {
      execFileSync('userdel', [name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
});

/** useradd/userdel take a lock on /etc/passwd: another test running at the same time may hold it. */
async function withPasswdLock(command: string, args: string[]): Promise<void> {
  let last: unknown;
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      await execFileAsync(command, args);
      return;
    } catch (error) {
      last = error;
      const stderr = String((error as { stderr?: string }).stderr ?? '');
      if (!/lock|try again/i.test(stderr)) break;
      await new Promise((resolve) => setTimeout(resolve, 100 + 50 * (attempt % 4)));
    }
  }
  throw new Error(`${command} ${args.join(' ')}: ${String((last as { stderr?: string }).stderr ?? last)}`);
}

/** A system user with its own group, no home: `s6t<pid><n>`. Remove it with `removeUser`. */
export async function createUser(): Promise<TestUser> {
  const name = `s6t${process.pid}${String.fromCharCode(97 + (userCounter++ % 26))}`;
  await withPasswdLock('useradd', ['--system', '--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', name]);
  liveUsers.add(name);
  const uid = Number((await execFileAsync('id', ['-u', name])).stdout.trim());
  const gid = Number((await execFileAsync('id', ['-g', name])).stdout.trim());
  return { name, uid, gid };
}

export async function removeUser(user: TestUser | undefined): Promise<void> {
  if (!user || !liveUsers.has(user.name)) return;
  try {
    await withPasswdLock('userdel', [user.name]);
  } finally {
    liveUsers.delete(user.name);
  }
}

export const NOBODY: TestUser = { name: 'nobody', uid: 65534, gid: 65534 };

// ---------------------------------------------------------------------------------- child processes

/** A process whose stdout is read as lines; stdin stays open until `closeStdin()` (the child may wait on it). */
export class Child {
  readonly process: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #partial = '';

  constructor(command: string, args: string[]) {
    this.process = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.process.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (this.#partial + chunk).split('\n');
      this.#partial = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    this.process.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      // Bounded: a chatty child must not grow the test's memory without end.
      this.stderr = (this.stderr + chunk).slice(-64 * 1024);
    });
    this.process.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) => this.process.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** The n-th stdout line parsed as JSON, once it is there. */
  async json<T>(n = 0, timeoutMs = 30_000): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    // Not waitFor: a child that exited will not print any more, so fail at once with its stderr.
    while (this.lines.length <= n) {
      if (!this.running) throw new Error(`the child exited ${this.process.exitCode ?? this.process.signalCode} before line ${n}: ${this.stderr}`);
      if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for line ${n}: ${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return JSON.parse(this.lines[n]!) as T;
  }

  closeStdin(): void {
    this.process.stdin?.end();
  }

  /** Kills it (SIGKILL after `graceMs`) and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) {
      this.process.kill(signal);
      const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
      const result = await this.exited;
      clearTimeout(timer);
      return result;
    }
    return this.exited;
  }
}

// ---------------------------------------------------------------------------------- the lab

export interface LeaseLabOptions {
  /** `optimistic = true` for host0 in the daemon's configuration (and optimistic_dad=1 on it). */
  optimistic?: boolean;
  /** The `[api]` policy keys, as TOML values. */
  allowedUsers?: string[];
  allowedGroups?: string[];
  labelPattern?: string;
  maxLeasesPerUser?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

const toml = (value: string | string[] | number): string =>
  Array.isArray(value) ? `[${value.map((v) => JSON.stringify(v)).join(', ')}]` : JSON.stringify(value);

export class LeaseLab {
  readonly host: Netns;
  readonly router: Netns;
  readonly dir: string;
  readonly socketPath: string;
  readonly configFile: string;
  readonly secret: Uint8Array;
  daemon: Child | undefined;
  readonly #children = new Set<Child>();

  private constructor(host: Netns, router: Netns, dir: string, secret: Uint8Array) {
    this.host = host;
    this.router = router;
    this.dir = dir;
    this.secret = secret;
    this.socketPath = path.join(dir, 'api.sock');
    this.configFile = path.join(dir, 'stable6.toml');
  }

  /**
   * Namespaces linked and up (short DAD: retrans_time_ms=100), radvd advertising PREFIX from
   * the router, which also holds ROUTER_ADDRESS; a fresh secret; the configuration written. The
   * daemon is not started: `startDaemon()`.
   */
  static async create(options: LeaseLabOptions = {}): Promise<LeaseLab> {
    const dir = mkdtempSync(path.join(tmpdir(), 's6t-lease-'));
    // Users run clients that must reach the socket inside.
    chmodSync(dir, 0o755);
    let host: Netns | undefined;
    let router: Netns | undefined;
    try {
      host = await Netns.create();
      router = await Netns.create();
      await linkVeth(host, IFACE, router, 'r0');
      // Before radvd speaks: otherwise the kernel's own SLAAC adds an EUI-64 address in the
      // moment before the daemon turns it off (and again whenever the daemon is stopped, as it
      // restores the setting it found).
      await host.sysctl(`net.ipv6.conf.${IFACE}.autoconf`, 0);
      if (options.optimistic) await host.sysctl(`net.ipv6.conf.${IFACE}.optimistic_dad`, 1);
      await router.ip('addr', 'add', `${ROUTER_ADDRESS}/64`, 'dev', 'r0', 'nodad');
      await router.startRadvd(
        `interface r0 {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 4;\n` +
          `  prefix ${PREFIX} { AdvOnLink on; AdvAutonomous on; };\n};\n`,
      );
      const secretFile = path.join(dir, 'secret');
      await execFileAsync(process.execPath, [MAIN_JS, 'secret', 'init', '--secret-file', secretFile]);
      const secret = parseSecretHex(readFileSync(secretFile, 'utf8'), secretFile);
      const lab = new LeaseLab(host, router, dir, secret);
      lab.writeConfig(options);
      return lab;
    } catch (error) {
      await host?.destroy().catch(() => undefined);
      await router?.destroy().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  writeConfig(options: LeaseLabOptions): void {
    const api = [
      `socket = ${toml(this.socketPath)}`,
      // The directory is 0755 and the policy is the gate under test: anyone may open the socket.
      'socket_mode = "0666"',
      ...(options.allowedUsers ? [`allowed_users = ${toml(options.allowedUsers)}`] : []),
      ...(options.allowedGroups ? [`allowed_groups = ${toml(options.allowedGroups)}`] : []),
      ...(options.labelPattern !== undefined ? [`label_pattern = ${toml(options.labelPattern)}`] : []),
      ...(options.maxLeasesPerUser !== undefined ? [`max_leases_per_user = ${options.maxLeasesPerUser}`] : []),
    ];
    writeFileSync(
      this.configFile,
      [
        `secret_file = ${toml(path.join(this.dir, 'secret'))}`,
        `state_dir = ${toml(path.join(this.dir, 'state'))}`,
        `log_level = ${toml(options.logLevel ?? 'info')}`,
        '',
        '[api]',
        ...api,
        '',
        '[[interface]]',
        `name = ${toml(IFACE)}`,
        `optimistic = ${options.optimistic ? 'true' : 'false'}`,
        '',
      ].join('\n'),
    );
  }

  /**
   * Starts the daemon in the host namespace and waits until it answers on its socket and the
   * interface's own address for PREFIX is in the kernel (the RA arrived): leases get addresses
   * at once from then on.
   */
  async startDaemon(timeoutMs = 60_000): Promise<Child> {
    if (this.daemon?.running) throw new Error('the daemon is running already');
    // S6_DAEMON_NODE_ARGS: extra Node flags for the daemon, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile a benchmark.
    const nodeArgs = (process.env.S6_DAEMON_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    const daemon = this.#track(new Child('ip', ['netns', 'exec', this.host.name, process.execPath, ...nodeArgs, MAIN_JS, 'daemon', '--config', this.configFile]));
    this.daemon = daemon;
    await waitFor('the daemon to answer on its socket', async () => {
      if (!daemon.running) throw new Error(`the daemon exited ${daemon.process.exitCode ?? daemon.process.signalCode}: ${daemon.stderr}`);
      const iface = (await status({ socketPath: this.socketPath, timeoutMs: 5000 })).interfaces[0];
      return iface?.prefixes.some((p) => p.prefix === PREFIX) && iface.addresses.some((a) => a.label === '') ? true : undefined;
    }, timeoutMs);
    return daemon;
  }

  /** SIGTERM, as systemd stops it; resolves with its exit. */
  async stopDaemon(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const daemon = this.daemon;
    if (!daemon) throw new Error('no daemon');
    return daemon.stop('SIGTERM', 15_000);
  }

  /** The daemon's log so far (for failure messages). */
  get daemonLog(): string {
    return this.daemon?.stderr ?? '';
  }

  /** What the kernel holds on host0, global scope. */
  async kernelAddresses(): Promise<KernelAddress[]> {
    const links = await this.host.ipJson<{ addr_info?: KernelAddress[] }[]>('-6', 'addr', 'show', 'dev', IFACE, 'scope', 'global');
    // iproute2 leaves an empty object where it filtered an address out (here the link-local one).
    return links.flatMap((l) => l.addr_info ?? []).filter((a) => typeof a.local === 'string');
  }

  async kernelAddress(address: string): Promise<KernelAddress | undefined> {
    return (await this.kernelAddresses()).find((a) => a.local === address);
  }

  /** The stable6-v1 address of `label` on host0 for PREFIX at counter 0 (the spec's F, computed here independently of the daemon). */
  expectedAddress(label: string): string {
    return generateStable6V1({ secret: this.secret, prefix: Ipv6Prefix.parse(PREFIX), netIface: IFACE, label, dadCounter: 0 }).address.toString();
  }

  /**
   * Runs a Node ES module body as `user` inside the host namespace (setpriv drops to the
   * user's uid, gid and no supplementary groups). In the body: `client` (the API client),
   * `socketPath`, `print(value)` (one JSON line on stdout) and `stdinClosed` (a promise).
   */
  runAs(user: TestUser, body: string): Child {
    const script = `
      const client = await import(${JSON.stringify(CLIENT_JS)});
      const net = await import('node:net');
      const socketPath = ${JSON.stringify(this.socketPath)};
      const print = (value) => process.stdout.write(JSON.stringify(value) + '\\n');
      const attempt = async (fn) => { try { return { ok: await fn() }; } catch (e) { return { code: e.code, message: e.message }; } };
      const stdinClosed = new Promise((resolve) => { process.stdin.on('end', resolve); process.stdin.on('close', resolve); process.stdin.resume(); });
      ${body}
    `;
    return this.#track(
      new Child('ip', [
        'netns', 'exec', this.host.name,
        'setpriv', '--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups',
        process.execPath, '--input-type=module', '-e', script,
      ]),
    );
  }

  /** `stable6 ARGS --socket S` as `user` (in the host namespace); resolves with its exit code and output. */
  async cliAs(user: TestUser, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = this.#track(
      new Child('ip', [
        'netns', 'exec', this.host.name,
        'setpriv', '--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups',
        process.execPath, MAIN_JS, ...args, '--socket', this.socketPath,
      ]),
    );
    child.closeStdin();
    const timer = setTimeout(() => child.process.kill('SIGKILL'), 60_000);
    const { code } = await child.exited;
    clearTimeout(timer);
    this.#children.delete(child);
    return { code, stdout: child.lines.join('\n'), stderr: child.stderr };
  }

  #track(child: Child): Child {
    this.#children.add(child);
    return child;
  }

  /** Every child (clients, the daemon), then the namespaces and the folder. */
  async destroy(): Promise<void> {
    const clients = [...this.#children].filter((c) => c !== this.daemon);
    await Promise.all(clients.map((c) => c.stop('SIGKILL')));
    if (this.daemon) await this.daemon.stop('SIGTERM', 10_000);
    await this.host.destroy().catch(() => undefined);
    await this.router.destroy().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `ip -6 monitor address` in a namespace, recording every line until stopped. */
export function monitorAddresses(ns: Netns): Child {
  return new Child('ip', ['-n', ns.name, '-6', 'monitor', 'address']);
}

/**
 * The fixture most lease tests share: one user made for the file, allowed to lease, and a
 * running daemon; both removed after the file's tests. Read `lab` and `user` inside tests.
 */
export function leaseLabWithUser(): { readonly lab: LeaseLab; readonly user: TestUser } {
  let lab: LeaseLab | undefined;
  let user: TestUser | undefined;
  before(async () => {
    if (process.getuid?.() !== 0) return;
    user = await createUser();
    lab = await LeaseLab.create({ allowedUsers: [user.name] });
    await lab.startDaemon();
  });
  after(async () => {
    await lab?.destroy();
    await removeUser(user);
  });
  return {
    get lab() {
      if (!lab) throw new Error('the lease lab was not set up (needs root)');
      return lab;
    },
    get user() {
      if (!user) throw new Error('the lease lab user was not set up (needs root)');
      return user;
    },
  };
}
