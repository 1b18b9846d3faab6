/**
 * The engine driven through the fake platform on a fake clock: the "runner loop" of the tests.
 * `advance(ms)` moves the clock timer by timer and lets the driver settle after each, so the
 * engine's wake-ups, the fake's DAD and lifetimes, and the commands interleave as in real life.
 */
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import { EngineDriver, advanceSettled } from '../../src/engine/driver.js';
import type { PersistedState } from '../../src/engine/persisted-state.js';
import type { EngineCommand, EngineConfig, EngineLogger, EngineReport, EngineState } from '../../src/engine/types.js';
import { FakeClock } from '../../src/platform/fake/fake-clock.js';
import { FakePlatform } from '../../src/platform/fake/fake-platform.js';
import { Ipv6Address } from '../../src/core/address.js';
import type { PrefixReport } from '../../src/platform/platform.js';

export const SECRET = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');

export interface HarnessOptions {
  config?: EngineConfig;
  fake?: FakePlatform;
  persisted?: PersistedState;
  random?: () => number;
  engineOptions?: Partial<EngineOptions>;
  /** Use this engine instead of a new one (e.g. one that records every step). */
  engine?: Engine;
  /** Do not add eth0. */
  noInterface?: boolean;
  dadDurationMs?: number;
}

export class Harness {
  readonly clock: FakeClock;
  readonly fake: FakePlatform;
  readonly engine: Engine;
  readonly driver: EngineDriver;
  readonly commands: EngineCommand[] = [];
  readonly reports: EngineReport[] = [];
  readonly logs: string[] = [];
  readonly persisted: PersistedState[] = [];
  ifindex = 0;

  constructor(options: HarnessOptions = {}) {
    this.fake = options.fake ?? new FakePlatform({ dadDurationMs: options.dadDurationMs ?? 100 });
    this.clock = this.fake.clock;
    if (!options.noInterface && !options.fake) {
      this.ifindex = this.fake.addInterface({ name: 'eth0', hwAddress: Uint8Array.of(2, 0, 0, 0, 0, 1) }).index;
    }
    const logger: EngineLogger = { log: (level, message) => this.logs.push(`${level} ${message}`) };
    this.engine = options.engine ?? new Engine({ secret: SECRET, logger, ...options.engineOptions });
    this.driver = new EngineDriver({
      engine: this.engine,
      platform: this.fake,
      clock: this.clock,
      random: options.random ?? (() => 0.5),
      initialState: this.engine.initialState(options.persisted),
      persist: (state) => {
        this.persisted.push(state);
      },
      onReport: (report) => this.reports.push(report),
      onCommand: (command) => this.commands.push(command),
      logger,
    });
  }

  get state(): EngineState {
    return this.driver.state;
  }

  async start(config: EngineConfig = { interfaces: [{ name: 'eth0' }], idgenDelayMs: 1000 }): Promise<void> {
    await this.driver.start(config);
    await this.driver.idle();
  }

  async advance(ms: number): Promise<void> {
    await advanceSettled(this.clock, this.driver, ms);
  }

  async ra(prefix: string, validLifetimeSec: number, preferredLifetimeSec: number, extra: Partial<PrefixReport> = {}): Promise<void> {
    const [address, length] = prefix.split('/');
    this.fake.injectPrefix({
      ifindex: this.ifindex,
      prefix: Ipv6Address.parse(address!),
      prefixLength: Number(length ?? 64),
      onLink: true,
      autonomous: true,
      validLifetimeSec,
      preferredLifetimeSec,
      ...extra,
    });
    await this.driver.idle();
  }

  async addresses(owned = true) {
    return (await this.fake.listAddresses(this.ifindex)).filter((a) => a.owned === owned);
  }

  async ownedTexts(): Promise<string[]> {
    return (await this.addresses()).map((a) => a.address.toString()).sort();
  }

  /** Log lines at level error (the driver logs an engine exception there). */
  errors(): string[] {
    return this.logs.filter((l) => l.startsWith('error '));
  }

  status() {
    return this.engine.status(this.state, this.clock.now());
  }

  /** Commands issued from now on. */
  mark(): () => EngineCommand[] {
    const from = this.commands.length;
    return () => this.commands.slice(from);
  }
}

export function onlyInPrefix(texts: string[], prefix: string): string[] {
  const head = prefix.split('::')[0]!;
  return texts.filter((t) => t.startsWith(head));
}
