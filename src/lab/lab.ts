/**
 * `stable6 lab`: the whole job in a throw-away network, step by step as it happens.
 *
 * Two network namespaces linked by a veth pair: a router (radvd when installed, otherwise
 * the small built-in RA sender) and a host running the stable6 daemon. The lab shows the
 * stable address appearing and passing DAD, an unprivileged program leasing its own address
 * and serving on it, a connection from the router side, a deletion by hand healed, and the
 * router renumbered with the old prefix retired. Everything is removed on exit, on Ctrl-C and
 * on error. Documentation prefixes only (2001:db8::/32); no traffic leaves the namespaces.
 */
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { events as apiEvents, status as apiStatus } from '../api/client.js';
import type { ApiEvent } from '../api/protocol.js';
import { Stable6Error } from '../errors.js';
import { Netns, linkVeth, stopChild, waitFor } from './netns.js';
import type { AdvertisedPrefix } from './ra-sender.js';

const execFileAsync = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, '..', 'cli', 'main.js');
const RA_SENDER = path.join(here, 'ra-sender-main.js');
const LAB_APP = path.join(here, 'lab-app.js');

export const LAB_PREFIX_1 = '2001:db8:1:2::/64';
export const LAB_PREFIX_2 = '2001:db8:1:3::/64';
const LABEL = 'lab-web';
const PORT = 8080;
/** Short lifetimes for the first prefix, so that its retirement is seen within seconds. */
const FIRST_VALID_SEC = 16;
const FIRST_PREFERRED_SEC = 12;

export type RouterKind = 'auto' | 'radvd' | 'builtin';

export interface LabStep {
  step: string;
  text: string;
  [detail: string]: unknown;
}

export interface LabOptions {
  router: RouterKind;
  /** Called for every step as it happens. */
  report: (step: LabStep) => void;
}

function which(binary: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** CAP_SYS_ADMIN (namespaces) and CAP_NET_ADMIN (links, addresses) in the effective set. */
function hasCapabilities(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    const line = readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*([0-9a-f]+)$/m)?.[1];
    if (!line) return false;
    const caps = BigInt(`0x${line}`);
    return (caps & (1n << 12n)) !== 0n && (caps & (1n << 21n)) !== 0n;
  } catch {
    return false;
  }
}

/** What the lab needs that this machine lacks, or an empty list. */
export function labPrerequisites(router: RouterKind): string[] {
  const missing: string[] = [];
  if (process.platform !== 'linux') missing.push('Linux (network namespaces)');
  if (!hasCapabilities()) missing.push('root, or CAP_SYS_ADMIN and CAP_NET_ADMIN');
  if (!which('ip')) missing.push('the ip command (Debian: apt-get install iproute2)');
  if (router === 'radvd' && !which('radvd')) missing.push('radvd (Debian: apt-get install radvd), or --router builtin');
  return missing;
}

/** The router's own address in a lab prefix: ::1. */
function routerAddress(prefix: string): string {
  return prefix.replace('::/64', '::1/64');
}

function radvdConfig(prefixes: readonly AdvertisedPrefix[]): string {
  const blocks = prefixes
    .map((p) => `  prefix ${p.prefix} {\n    AdvOnLink on;\n    AdvAutonomous on;\n    AdvValidLifetime ${p.valid};\n    AdvPreferredLifetime ${p.preferred};\n  };`)
    .join('\n');
  return `interface rtr0 {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 4;\n  AdvDefaultLifetime 1800;\n${blocks}\n};\n`;
}

interface Router {
  kind: 'radvd' | 'builtin';
  advertise(prefixes: readonly AdvertisedPrefix[]): Promise<void>;
}

interface IpAddr {
  addr_info: { family: string; local: string; prefixlen: number; scope: string; tentative?: boolean; deprecated?: boolean; preferred_life_time?: number }[];
}

class Lab {
  readonly #options: LabOptions;
  #dir = '';
  #router?: Netns;
  #host?: Netns;
  #daemon?: ChildProcess;
  #app?: ChildProcess;
  #events?: { close(): void };
  #log: string[] = [];
  /** The step under way, for error messages. */
  #current = 'prerequisites';

  get current(): string {
    return this.#current;
  }

  constructor(options: LabOptions) {
    this.#options = options;
  }

  #step(step: string, text: string, details: Record<string, unknown> = {}): void {
    this.#options.report({ step, text, ...details });
  }

  async #hostAddresses(): Promise<IpAddr['addr_info']> {
    const out = await this.#host!.ipJson<IpAddr[]>('-6', 'addr', 'show', 'dev', 'host0', 'scope', 'global');
    return out[0]?.addr_info ?? [];
  }

  async #ownAddress(prefix: string): Promise<string | undefined> {
    const report = await apiStatus({ socketPath: this.#socket });
    return report.interfaces[0]?.addresses.find((a) => a.label === '' && a.prefix === prefix)?.address;
  }

  get #socket(): string {
    return path.join(this.#dir, 'run', 'api.sock');
  }

  async run(): Promise<void> {
    const missing = labPrerequisites(this.#options.router);
    if (missing.length > 0) {
      throw new Stable6Error(
        'ERR_LAB_PREREQUISITE',
        `the lab builds network namespaces and needs: ${missing.join('; ')}. Run it as root: sudo npm start (or sudo node ${CLI} lab)`,
      );
    }
    const routerKind: 'radvd' | 'builtin' = this.#options.router === 'auto' ? (which('radvd') ? 'radvd' : 'builtin') : this.#options.router;

    // 1. The network.
    this.#current = 'network';
    this.#dir = await fs.mkdtemp(path.join(tmpdir(), 'stable6-lab-'));
    await fs.chmod(this.#dir, 0o755);
    await fs.mkdir(path.join(this.#dir, 'run'), { mode: 0o755 });
    this.#router = await Netns.create('s6lab-router');
    this.#host = await Netns.create('s6lab-host');
    await linkVeth(this.#router, 'rtr0', this.#host, 'host0');
    await this.#router.sysctl('net.ipv6.conf.all.forwarding', 1);
    this.#step('network', `namespaces ${this.#router.name} (router) and ${this.#host.name} (host), linked rtr0 <-> host0`, {
      router: this.#router.name,
      host: this.#host.name,
      dir: this.#dir,
    });

    // 2. The router.
    this.#current = 'router';
    const router = await this.#startRouter(routerKind);
    // A router has an address in the prefixes it advertises (and so a route to them).
    await this.#router.ip('addr', 'add', routerAddress(LAB_PREFIX_1), 'dev', 'rtr0', 'nodad');
    await router.advertise([{ prefix: LAB_PREFIX_1, valid: FIRST_VALID_SEC, preferred: FIRST_PREFERRED_SEC }]);
    this.#step('router', `${router.kind === 'radvd' ? 'radvd' : 'built-in RA sender'} advertises ${LAB_PREFIX_1}`, { router: router.kind, prefix: LAB_PREFIX_1 });

    // 3. The daemon, with a fresh secret.
    this.#current = 'daemon';
    const secretFile = path.join(this.#dir, 'secret');
    await execFileAsync(process.execPath, [CLI, 'secret', 'init', '--secret-file', secretFile]);
    const configFile = path.join(this.#dir, 'stable6.toml');
    await fs.writeFile(
      configFile,
      `secret_file = "${secretFile}"\nstate_dir = "${path.join(this.#dir, 'state')}"\nidgen_delay_ms = 200\n\n[api]\nsocket = "${this.#socket}"\nsocket_mode = "0666"\n\n[[interface]]\nname = "host0"\n`,
    );
    this.#daemon = this.#host.spawn(process.execPath, [CLI, 'daemon', '--config', configFile]);
    this.#daemon.stderr?.on('data', (chunk: Buffer) => this.#log.push(...chunk.toString().trimEnd().split('\n')));
    await waitFor('the daemon to answer on its socket', async () => (await apiStatus({ socketPath: this.#socket }).catch(() => undefined)) && true, 15_000);
    this.#step('daemon', `stable6 daemon runs on host0 (pid ${this.#daemon.pid}), API at ${this.#socket}`, { pid: this.#daemon.pid });

    // 4. The address appears and passes DAD.
    this.#current = 'address';
    const seen: ApiEvent[] = [];
    const stream = await apiEvents({ socketPath: this.#socket });
    this.#events = stream;
    void (async () => {
      for await (const event of stream) seen.push(event);
    })().catch(() => undefined);
    const started = performance.now();
    const first = await waitFor(`the stable6 address in ${LAB_PREFIX_1}`, () => this.#ownAddress(LAB_PREFIX_1), 20_000);
    await waitFor(`${first} to pass DAD`, async () => ((await this.#hostAddresses()).some((a) => a.local === first && !a.tentative) ? true : undefined), 20_000);
    const dadMs = Math.round(performance.now() - started);
    this.#step('address', `${first} appeared on host0 and passed DAD (${dadMs} ms after the daemon was ready)`, {
      address: first,
      prefix: LAB_PREFIX_1,
      ms: dadMs,
      sawTentative: seen.some((e) => e.type === 'address-changed' && e.address.address === first && e.address.state === 'tentative'),
    });

    // 5. An unprivileged program leases its own address and serves on it.
    this.#current = 'lease';
    const asNobody = which('setpriv');
    const appArgs = [LAB_APP, this.#socket, 'host0', LABEL, String(PORT)];
    this.#app = asNobody
      ? this.#host.spawn('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, ...appArgs])
      : this.#host.spawn(process.execPath, appArgs);
    const appErrors: string[] = [];
    this.#app.stderr?.on('data', (chunk: Buffer) => appErrors.push(chunk.toString()));
    const listening = await new Promise<{ address: string; port: number; uid: number }>((resolve, reject) => {
      let buffer = '';
      this.#app!.stdout?.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const line = buffer.split('\n')[0];
        if (buffer.includes('\n') && line) resolve(JSON.parse(line) as { address: string; port: number; uid: number });
      });
      this.#app!.once('exit', (code) => reject(new Error(`the lab application exited (${code}): ${appErrors.join('').trim()}`)));
    });
    this.#step('lease', `an application (uid ${listening.uid}${asNobody ? ', nobody' : ''}) leased "${LABEL}" and serves HTTP on [${listening.address}]:${PORT}`, {
      label: LABEL,
      address: listening.address,
      uid: listening.uid,
    });

    // 6. A connection from the router's side.
    this.#current = 'connect';
    const reply = await this.#router.exec(
      process.execPath,
      '--input-type=module',
      '-e',
      `const r = await fetch(${JSON.stringify(`http://[${listening.address}]:${PORT}/`)}); process.stdout.write(await r.text());`,
    );
    this.#step('connect', `the router connected to [${listening.address}]:${PORT} and got: ${reply.trim()}`, { reply: reply.trim() });

    // 7. Deleted by hand, healed.
    this.#current = 'heal';
    await this.#host.ip('addr', 'del', `${first}/64`, 'dev', 'host0');
    const deletedAt = performance.now();
    await waitFor(`${first} to come back`, async () => ((await this.#hostAddresses()).some((a) => a.local === first) ? true : undefined), 10_000, 2);
    const healMs = Math.round(performance.now() - deletedAt);
    this.#step('heal', `${first} was deleted by hand (ip addr del) and was back ${healMs} ms later`, { address: first, ms: healMs });

    // 8. Renumbered: a new prefix at once, the old one deprecated and then gone.
    this.#current = 'renumber';
    await this.#router.ip('addr', 'add', routerAddress(LAB_PREFIX_2), 'dev', 'rtr0', 'nodad');
    await router.advertise([
      { prefix: LAB_PREFIX_1, valid: 0, preferred: 0 },
      { prefix: LAB_PREFIX_2, valid: 600, preferred: 300 },
    ]);
    const second = await waitFor(`the stable6 address in ${LAB_PREFIX_2}`, () => this.#ownAddress(LAB_PREFIX_2), 20_000);
    await waitFor(`${second} to pass DAD`, async () => ((await this.#hostAddresses()).some((a) => a.local === second && !a.tentative) ? true : undefined), 20_000);
    await waitFor(`${first} to be deprecated`, async () => ((await this.#hostAddresses()).some((a) => a.local === first && a.deprecated) ? true : undefined), 20_000);
    this.#step('renumber', `the router renumbered to ${LAB_PREFIX_2}: ${second} is preferred, ${first} is deprecated`, { address: second, prefix: LAB_PREFIX_2, old: first });
    await waitFor(`${first} to expire`, async () => ((await this.#hostAddresses()).some((a) => a.local === first) ? undefined : true), (FIRST_VALID_SEC + 10) * 1000, 100);
    this.#step('retired', `${LAB_PREFIX_1} ran out its valid lifetime (RFC 4862 §5.5.3 e: at most ${FIRST_VALID_SEC} s) and ${first} is gone`, { address: first });
  }

  async #startRouter(kind: 'radvd' | 'builtin'): Promise<Router> {
    const ns = this.#router!;
    if (kind === 'radvd') {
      const file = path.join(this.#dir, 'radvd.conf');
      let child: ChildProcess | undefined;
      return {
        kind,
        advertise: async (prefixes) => {
          await fs.writeFile(file, radvdConfig(prefixes));
          if (child) {
            child.kill('SIGHUP'); // radvd reloads its configuration and advertises at once
            return;
          }
          child = ns.spawn('radvd', ['--nodaemon', '-C', file, '-p', path.join(this.#dir, 'radvd.pid'), '-m', 'stderr', '-u', 'root']);
        },
      };
    }
    const child = ns.spawn(process.execPath, [RA_SENDER, 'rtr0', '3000'], { stdio: ['pipe', 'pipe', 'pipe'] });
    return {
      kind,
      advertise: async (prefixes) => {
        child.stdin?.write(`${JSON.stringify(prefixes)}\n`);
      },
    };
  }

  /** Removes everything the lab made; safe to call more than once, and after any failure. */
  async cleanup(): Promise<void> {
    this.#events?.close();
    if (this.#app) await stopChild(this.#app);
    if (this.#daemon) await stopChild(this.#daemon, 5000);
    await this.#host?.destroy().catch(() => undefined);
    await this.#router?.destroy().catch(() => undefined);
    if (this.#dir) await fs.rm(this.#dir, { recursive: true, force: true });
  }

  get daemonLog(): string[] {
    return this.#log;
  }
}

/** Runs the lab; cleans up in every outcome, including SIGINT and SIGTERM. */
export async function runLab(options: LabOptions): Promise<void> {
  const lab = new Lab(options);
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = signal;
    void lab.cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await lab.run();
  } catch (error) {
    if (lab.daemonLog.length > 0) options.report({ step: 'daemon-log', text: lab.daemonLog.slice(-20).join('\n') });
    if (error instanceof Stable6Error) throw error;
    throw new Stable6Error('ERR_LAB_STEP', `lab step "${lab.current}" failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    if (!interrupted) {
      await lab.cleanup();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  options.report({ step: 'cleanup', text: 'removed both namespaces, their processes and the lab folder' });
}
