/**
 * The stable6 daemon: wires the sources, the engine, the platform, the state file, the local
 * API and the metrics together. Everything that can refuse to start (secret, state directory,
 * lock, state file, configuration, unknown interfaces, compatibility secrets) is checked
 * before anything on the host is changed.
 */
import type http from 'node:http';
import { ApiServer } from '../api/server.js';
import { resolveGroup } from '../api/id-database.js';
import { policyFromSettings } from '../api/policy.js';
import { EngineDriver, systemClock, type DriverClock } from '../engine/driver.js';
import { Engine } from '../engine/engine.js';
import type { AddressGenerator } from '../engine/generators.js';
import type { EngineConfig, EngineLogger } from '../engine/types.js';
import { Stable6Error } from '../errors.js';
import { INFINITE_LIFETIME, type Platform } from '../platform/platform.js';
import { hostPlatformKind, openApiTransport, openPlatform } from '../platform/select-platform.js';
import type { PipeServerApi } from '../platform/windows/pipe-server-api.js';
import { compatGenerator } from './compat-generators.js';
import type { DaemonConfig } from './config.js';
import { EngineLeaseService } from './engine-lease-service.js';
import { acquireDaemonLock, type DaemonLock } from './lock.js';
import { createLogger, type Logger } from './logger.js';
import { DaemonMetrics } from './metrics.js';
import { loadSecretFile, secretFingerprint } from './secret-file.js';
import { loadState, prepareStateDir, StateWriter } from './state-store.js';
import { loadWindowsOwned, WindowsOwnedSaver, type WindowsOwnedState } from './windows-owned.js';
import path from 'node:path';

export interface DaemonDependencies {
  /** The OS backend; default: openPlatform(). Tests pass the fake. */
  platform?: Platform;
  logger?: Logger;
  /** Monotonic clock and timers; default Node's. Tests pass the fake platform's clock. */
  clock?: DriverClock;
  /**
   * Windows: the kernel32 named-pipe calls the API is served through; default the koffi
   * binding. Tests pass FakePipeKernel (with a WindowsPlatform over FakeIpHelper as `platform`).
   */
  pipeApi?: PipeServerApi;
}

/** The daemon's configuration in the engine's terms (plain data; the secret stays out). */
export function engineConfigOf(config: DaemonConfig, algorithmNames: ReadonlyMap<string, string>): EngineConfig {
  return {
    idgenRetries: config.idgenRetries,
    idgenDelayMs: config.idgenDelayMs,
    interfaces: config.interfaces.map((i) => ({
      name: i.name,
      netIface: i.netIface,
      networkId: Buffer.from(i.networkId, 'utf8').toString('hex'),
      algorithm: algorithmNames.get(i.name) ?? i.algorithm,
      acceptRa: i.ra,
      optimistic: i.optimistic,
      maxPrefixes: config.maxPrefixesPerInterface,
      ...(i.gateway ? { defaultGateway: i.gateway.toString() } : {}),
      staticPrefixes: i.staticPrefixes.map((p) => ({
        prefix: p.prefix.toString(),
        ...(p.subnet ? { subnet: p.subnet.kind === 'auto' ? 'auto' : p.subnet.id.toString() } : {}),
        ...(p.validLifetimeSec === INFINITE_LIFETIME ? {} : { validLifetimeSec: p.validLifetimeSec }),
        ...(p.preferredLifetimeSec === INFINITE_LIFETIME ? {} : { preferredLifetimeSec: p.preferredLifetimeSec }),
      })),
    })),
  };
}

function engineLogger(logger: Logger): EngineLogger {
  return { log: (level, message, fields) => logger[level](message, fields) };
}

/** The Windows platform's ownedState(), the only platform with one (others tag what they own). */
function ownedStateOf(platform: Platform): (() => WindowsOwnedState) | undefined {
  if (platform.kind !== 'windows') return undefined;
  const withOwned = platform as Platform & { ownedState?: () => WindowsOwnedState };
  return typeof withOwned.ownedState === 'function' ? () => withOwned.ownedState!() : undefined;
}

export class Daemon {
  readonly #config: DaemonConfig;
  readonly #logger: Logger;
  readonly #platform: Platform;
  readonly #driver: EngineDriver;
  readonly #engine: Engine;
  readonly #service: EngineLeaseService;
  readonly #writer: StateWriter;
  readonly #lock: DaemonLock;
  readonly #clock: DriverClock;
  /** The daemon closes the platform it opened, not one it was given. */
  #ownsPlatform = false;
  #api: ApiServer | undefined;
  #metricsServer: http.Server | undefined;
  #stopping: Promise<void> | undefined;
  /** Windows: keeps windows-owned.json up to date (the platform has no owner tag to find its addresses by). */
  #ownedSaver: WindowsOwnedSaver | undefined;
  #unsubscribeOwned: (() => void) | undefined;

  private constructor(parts: {
    config: DaemonConfig;
    logger: Logger;
    platform: Platform;
    engine: Engine;
    driver: EngineDriver;
    service: EngineLeaseService;
    writer: StateWriter;
    lock: DaemonLock;
    clock: DriverClock;
  }) {
    this.#clock = parts.clock;
    this.#config = parts.config;
    this.#logger = parts.logger;
    this.#platform = parts.platform;
    this.#engine = parts.engine;
    this.#driver = parts.driver;
    this.#service = parts.service;
    this.#writer = parts.writer;
    this.#lock = parts.lock;
  }

  /** Checks everything, then starts. Rejects with a Stable6Error before any change on the host. */
  static async start(config: DaemonConfig, deps: DaemonDependencies = {}): Promise<Daemon> {
    const logger = deps.logger ?? createLogger(config.logLevel);
    const clock = deps.clock ?? systemClock;
    const secret = await loadSecretFile(config.secretFile);
    const fingerprint = secretFingerprint(secret);

    const generators: Record<string, AddressGenerator> = {};
    const algorithmNames = new Map<string, string>();
    for (const iface of config.interfaces) {
      const compat = await compatGenerator(iface);
      if (compat) {
        generators[compat.name] = compat.generator;
        algorithmNames.set(iface.name, compat.name);
      }
    }

    await prepareStateDir(config.stateDir);
    const lock = acquireDaemonLock(path.join(config.stateDir, 'lock'));
    let platform: Platform | undefined;
    try {
      const persisted = await loadState(config.stateDir);
      // The Unix socket (names from /etc/passwd) or, on Windows, the named pipe (SIDs): chosen by select-platform.
      const kind = deps.platform?.kind ?? hostPlatformKind();
      // What the previous run added and which SIDs it gave uids: Windows cannot tell us (no owner tag).
      const windowsOwned = kind === 'windows' ? await loadWindowsOwned(config.stateDir, clock.now()) : undefined;
      const saveOwned: { request?: () => void } = {};
      const transport = await openApiTransport(kind, {
        socket: config.api.socket,
        allowedUsers: config.api.allowedUsers,
        allowedGroups: config.api.allowedGroups,
        ...(deps.pipeApi ? { pipeApi: deps.pipeApi } : {}),
        log: (line) => logger.info(line),
        ...(windowsOwned ? { knownSids: windowsOwned.sids ?? [], onNewSid: () => saveOwned.request?.() } : {}),
      });
      const ids = transport.ids;
      const policy = policyFromSettings(config.api, ids);
      const socketGid =
        config.api.socketGroup === undefined || transport.kind !== 'unix-socket' ? undefined : resolveGroup(config.api.socketGroup, ids);
      if (config.api.socketGroup !== undefined && transport.kind === 'named-pipe') {
        logger.warn('api.socket_group has no meaning for a named pipe (its security descriptor decides who may open it); ignored');
      }

      platform =
        deps.platform ??
        (kind === 'windows'
          ? await openPlatform({
              windows: {
                owned: windowsOwned ?? { addresses: [], routes: [] },
                now: () => clock.now(),
                onError: (error) => logger.warn('windows platform: background work failed', { error }),
              },
            })
          : await openPlatform());
      const links = await platform.listInterfaces();
      for (const iface of config.interfaces) {
        if (!links.some((l) => l.name === iface.name)) {
          throw new Stable6Error('ERR_DAEMON_INTERFACE', `interface ${iface.name} does not exist (known: ${links.map((l) => l.name).join(', ')})`, {
            details: { interface: iface.name },
          });
        }
      }
      if (config.interfaces.length === 0) {
        throw new Stable6Error('ERR_CONFIG_INVALID', 'no interface to manage: add an [[interface]] table or --interface NAME');
      }

      const engine = new Engine({ secret, algorithms: generators, logger: engineLogger(logger) });
      const writer = new StateWriter(config.stateDir, (error) => logger.error('state file not written', { file: path.join(config.stateDir, 'state.json'), error }));
      // The service answers the driver's reports, and needs the driver: one late binding.
      const reports: { to?: EngineLeaseService } = {};
      const driver = new EngineDriver({
        engine,
        platform,
        clock,
        initialState: engine.initialState(persisted),
        persist: (state) => writer.save(state),
        onReport: (report) => reports.to?.onReport(report),
        logger: engineLogger(logger),
      });
      const service = (reports.to = new EngineLeaseService({ engine, driver, now: () => clock.now(), secretFingerprint: fingerprint }));
      const daemon = new Daemon({ config, logger, platform, engine, driver, service, writer, lock, clock });
      daemon.#ownsPlatform = deps.platform === undefined;
      const owned = ownedStateOf(platform);
      if (owned) {
        const saver = new WindowsOwnedSaver({
          stateDir: config.stateDir,
          ownedState: () => ({ ...owned(), ...(transport.kind === 'named-pipe' ? { sids: transport.knownSids() } : {}) }),
          now: () => clock.now(),
          onError: (error) => logger.error('owned-state file not written', { file: path.join(config.stateDir, 'windows-owned.json'), error }),
        });
        daemon.#ownedSaver = saver;
        saveOwned.request = () => saver.request();
        // Every platform event may follow a change of what we own (an add, a delete, a stack reset re-applying).
        daemon.#unsubscribeOwned = platform.subscribe(() => saver.request());
      }

      logger.info('stable6 daemon starting', { interfaces: config.interfaces.map((i) => i.name).join(','), secret: fingerprint, stateDir: config.stateDir });
      await driver.start(engineConfigOf(config, algorithmNames));
      daemon.#api =
        transport.kind === 'named-pipe'
          ? await ApiServer.serve({ source: transport.source, service, policy, log: (line) => logger.info(line) })
          : await ApiServer.listen({
              socketPath: config.api.socket,
              service,
              policy,
              socketMode: config.api.socketMode,
              ...(socketGid === undefined ? {} : { socketGid }),
              log: (line) => logger.info(line),
            });
      if (config.metricsListen) {
        daemon.#metricsServer = await new DaemonMetrics({ snapshot: () => daemon.#metricsSnapshot() }).listen(config.metricsListen);
      }
      logger.info('stable6 daemon running', { socket: daemon.#api.socketPath, metrics: config.metricsListen });
      return daemon;
    } catch (error) {
      if (deps.platform === undefined) await platform?.close().catch(() => undefined);
      lock.release();
      throw error;
    }
  }

  status() {
    return this.#service.status();
  }

  #metricsSnapshot() {
    const status = this.#engine.status(this.#driver.state, this.#clock.now());
    const addressesByState: Record<string, number> = {};
    let prefixes = 0;
    for (const iface of status.interfaces) {
      prefixes += iface.prefixes.length;
      for (const a of iface.addresses) addressesByState[a.state] = (addressesByState[a.state] ?? 0) + 1;
    }
    return {
      addressesByState,
      prefixes,
      leases: status.leases.length,
      dadConflicts: status.stats.dadConflicts,
      repairs: status.stats.repairs,
      prefixReports: status.stats.prefixesReceived,
    };
  }

  /** Resolves when every pending engine step has been applied (tests). */
  idle(): Promise<void> {
    return this.#driver.idle();
  }

  /**
   * Stops: the API closes (connection-bound leases end with their connections), interface
   * settings are restored, addresses stay with their kernel lifetimes unless flush_on_exit,
   * the state is written, the lock released.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#logger.info('stable6 daemon stopping', { flush: this.#config.flushOnExit });
      await this.#api?.close().catch((error: unknown) => this.#logger.warn('closing the API failed', { error }));
      await new Promise<void>((resolve) => (this.#metricsServer ? this.#metricsServer.close(() => resolve()) : resolve()));
      await this.#driver.stop(this.#config.flushOnExit);
      await this.#writer.flush();
      this.#unsubscribeOwned?.();
      await this.#ownedSaver?.flush();
      if (this.#ownsPlatform) await this.#platform.close().catch(() => undefined);
      this.#lock.release();
      this.#logger.info('stable6 daemon stopped');
    })();
    return this.#stopping;
  }
}
