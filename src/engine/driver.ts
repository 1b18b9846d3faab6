/**
 * Connects an `Engine` to any `Platform`: the only place where the engine's decisions meet
 * effects. The daemon uses it with the Linux platform and real timers; tests use it with the
 * fake platform and a `FakeClock`.
 *
 * - One queue: platform events, requests from the daemon, timer wake-ups and command failures
 *   are stepped through the engine one at a time, and each step's commands are applied in
 *   order before the next step (consecutive address adds go as one batch).
 * - A command that fails becomes a `command-failed` event for the engine; nothing is retried
 *   here (the engine decides).
 * - `resynced` (lost notifications) is answered by listing everything again and stepping a
 *   `snapshot`, as is the start.
 * - One timer, re-armed after every step for `wakeAt`, never longer than 2^31-1 ms (Node's
 *   timers fire at once past that).
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Ipv6Address } from '../core/address.js';
import type { AddAddressRequest, Platform } from '../platform/platform.js';
import type { Engine } from './engine.js';
import type { PersistedState } from './persisted-state.js';
import {
  MAX_TIMER_MS,
  silentLogger,
  type EngineCommand,
  type EngineConfig,
  type EngineEvent,
  type EngineLogger,
  type EngineReport,
  type EngineState,
} from './types.js';

/** The clock and timers a driver needs. `FakeClock` implements it; `systemClock` is Node's own. */
export interface DriverClock {
  /** Monotonic milliseconds. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: never): void;
}

export const systemClock: DriverClock = {
  now: () => performance.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle: never) => clearTimeout(handle as unknown as NodeJS.Timeout),
};

/** A uniform fraction in [0, 1) from the CSPRNG (only used for the RFC 7217 §6 retry delay). */
export function cryptoRandom(): number {
  return randomInt(0, 2 ** 48 - 1) / 2 ** 48;
}

export interface EngineDriverOptions {
  engine: Engine;
  platform: Platform;
  clock?: DriverClock;
  random?: () => number;
  /** The engine's state to start from (`engine.initialState(persisted)`). */
  initialState?: EngineState;
  /** Called with each new persisted state; the daemon writes it atomically. Awaited. */
  persist?: (state: PersistedState) => void | Promise<void>;
  /** Lease answers, address failures and address changes. */
  onReport?: (report: EngineReport) => void;
  /** Every command, before it is applied (tests, metrics, debugging). */
  onCommand?: (command: EngineCommand) => void;
  logger?: EngineLogger;
}

type Item = { event: EngineEvent | { type: 'relist' }; resolve: () => void; reject: (error: unknown) => void };

/** At most this many queued events are stepped before their commands are applied. */
const MAX_RUN = 256;

/** Start and `resynced` list the OS before the engine steps them. */
const needsListing = (event: Item['event']): boolean => event.type === 'relist' || event.type === 'resynced';

export class EngineDriver {
  readonly #engine: Engine;
  readonly #platform: Platform;
  readonly #clock: DriverClock;
  readonly #random: () => number;
  readonly #options: EngineDriverOptions;
  readonly #log: EngineLogger;
  #state: EngineState;
  #queue: Item[] = [];
  #running = false;
  #idleWaiters: (() => void)[] = [];
  #timer: unknown;
  #unsubscribe: (() => void) | undefined;
  #stopped = false;

  constructor(options: EngineDriverOptions) {
    this.#options = options;
    this.#engine = options.engine;
    this.#platform = options.platform;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? cryptoRandom;
    this.#log = options.logger ?? silentLogger;
    this.#state = options.initialState ?? options.engine.initialState();
  }

  get state(): EngineState {
    return this.#state;
  }

  /** Subscribes to the platform, applies `config`, then lists the OS and adopts what is there. */
  async start(config: EngineConfig): Promise<void> {
    this.#unsubscribe = this.#platform.subscribe((event) => {
      void this.#enqueue(event).catch(() => undefined);
    });
    await this.#enqueue({ type: 'config', config });
    await this.#enqueue({ type: 'relist' });
  }

  /** Steps one event (a new config, a lease request or release, a closed connection). */
  dispatch(event: EngineEvent): Promise<void> {
    return this.#enqueue(event);
  }

  /** Resolves when the queue is empty and nothing is being applied. */
  idle(): Promise<void> {
    if (!this.#running && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Restores interface settings (and with `flush` deletes what stable6 owns), then stops. */
  async stop(flush = false): Promise<void> {
    if (this.#stopped) return;
    await this.#enqueue({ type: 'shutdown', flush });
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#clearTimer();
  }

  /**
   * Stops listening and clears the timer without a shutdown step: the OS keeps everything as
   * it is, as if the process had died (tests of crash recovery; a hand-over to a new process).
   */
  detach(): void {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#clearTimer();
  }

  #enqueue(event: Item['event']): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#queue.push({ event, resolve, reject });
      if (!this.#running) void this.#run();
    });
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      for (let item = this.#queue.shift(); item; item = this.#queue.shift()) {
        if (!needsListing(item.event) && this.#queue.length > 0 && !needsListing(this.#queue[0]!.event)) {
          await this.#processRun(item);
          continue;
        }
        try {
          await this.#process(item.event);
          item.resolve();
        } catch (error) {
          this.#log.log('error', `engine driver: ${item.event.type}: ${error instanceof Error ? error.message : String(error)}`);
          item.reject(error);
        }
      }
    } finally {
      this.#running = false;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * Several events waiting in the queue (a burst of lease requests, the kernel's DAD reports for
   * them): each is stepped in turn, then their commands are applied together, so that their
   * address adds go as one netlink batch and their state as one file write instead of one
   * fsync per event (1,000 leases: bench/lease-scale.ts). The commands keep their order; as
   * every step's state is newer than the last, only the newest state is written, where the
   * first write would have been, so no report that followed a write moves ahead of it. Events
   * that need a listing of the OS (start, resync) are not run together: they read the platform.
   */
  async #processRun(first: Item): Promise<void> {
    const items: Item[] = [first];
    while (items.length < MAX_RUN && this.#queue.length > 0 && !needsListing(this.#queue[0]!.event)) items.push(this.#queue.shift()!);
    const commands: EngineCommand[] = [];
    const done: Item[] = [];
    let wakeAt: number | undefined;
    let stepped = false;
    for (const item of items) {
      if (this.#stopped) {
        item.resolve();
        continue;
      }
      try {
        const event = item.event as EngineEvent;
        const result = this.#engine.step(this.#state, event, this.#clock.now(), this.#random(), { reuseState: event.type !== 'config' });
        this.#state = result.state;
        commands.push(...result.commands);
        wakeAt = result.wakeAt;
        stepped = true;
        done.push(item);
      } catch (error) {
        this.#log.log('error', `engine driver: ${item.event.type}: ${error instanceof Error ? error.message : String(error)}`);
        item.reject(error);
      }
    }
    if (!stepped) return;
    let newest: EngineCommand | undefined;
    for (const c of commands) if (c.type === 'persist-state') newest = c;
    let written = false;
    const merged = commands.filter((c) => {
      if (c.type !== 'persist-state') return true;
      if (written) return false;
      written = true;
      return true;
    });
    if (newest) merged[merged.findIndex((c) => c.type === 'persist-state')] = newest;
    try {
      await this.#applyAll(merged);
      this.#arm(wakeAt);
      for (const item of done) item.resolve();
    } catch (error) {
      for (const item of done) item.reject(error);
    }
  }

  async #process(event: Item['event']): Promise<void> {
    if (this.#stopped) return;
    let engineEvent: EngineEvent;
    if (event.type === 'relist' || event.type === 'resynced') {
      // Never conclude "gone" from a partial view: list everything, then reconcile with it.
      const [links, addresses, routes] = await Promise.all([
        this.#platform.listInterfaces(),
        this.#platform.listAddresses(),
        this.#platform.listDefaultRoutes(),
      ]);
      engineEvent = { type: 'snapshot', links, addresses, routes };
    } else {
      engineEvent = event;
    }
    // The driver owns its state and never looks at an old one: the engine may update it in place.
    // A config is stepped on a copy, so a refused one leaves everything as it was.
    const reuseState = engineEvent.type !== 'config';
    const result = this.#engine.step(this.#state, engineEvent, this.#clock.now(), this.#random(), { reuseState });
    this.#state = result.state;
    await this.#applyAll(result.commands);
    this.#arm(result.wakeAt);
  }

  async #applyAll(commands: EngineCommand[]): Promise<void> {
    for (let i = 0; i < commands.length; ) {
      const command = commands[i]!;
      if (command.type === 'add-address') {
        // A run of adds goes as one batch, each with its own outcome.
        const batch: Extract<EngineCommand, { type: 'add-address' }>[] = [];
        while (i < commands.length && commands[i]!.type === 'add-address') batch.push(commands[i++] as (typeof batch)[number]);
        for (const c of batch) this.#options.onCommand?.(c);
        const requests = batch.map(
          (c): AddAddressRequest => ({
            ifindex: c.ifindex,
            address: Ipv6Address.parse(c.address),
            prefixLength: c.prefixLength,
            validLifetimeSec: c.validLifetimeSec,
            preferredLifetimeSec: c.preferredLifetimeSec,
            optimistic: c.optimistic,
            noPrefixRoute: c.noPrefixRoute,
          }),
        );
        let outcomes: (Error | undefined)[];
        try {
          outcomes = await this.#platform.addAddresses(requests);
        } catch (error) {
          outcomes = requests.map(() => (error instanceof Error ? error : new Error(String(error))));
        }
        batch.forEach((c, n) => {
          const error = outcomes[n];
          if (error) this.#failed(c, error);
        });
        continue;
      }
      i++;
      this.#options.onCommand?.(command);
      try {
        await this.#applyOne(command);
      } catch (error) {
        this.#failed(command, error);
      }
    }
  }

  async #applyOne(command: EngineCommand): Promise<void> {
    switch (command.type) {
      case 'add-address':
        await this.#platform.addAddress({
          ifindex: command.ifindex,
          address: Ipv6Address.parse(command.address),
          prefixLength: command.prefixLength,
          validLifetimeSec: command.validLifetimeSec,
          preferredLifetimeSec: command.preferredLifetimeSec,
          optimistic: command.optimistic,
          noPrefixRoute: command.noPrefixRoute,
        });
        return;
      case 'delete-address':
        await this.#platform.deleteAddress({ ifindex: command.ifindex, address: Ipv6Address.parse(command.address), prefixLength: command.prefixLength });
        return;
      case 'add-default-route':
      case 'delete-default-route': {
        const request = { ifindex: command.ifindex, gateway: Ipv6Address.parse(command.gateway), ...(command.metric === undefined ? {} : { metric: command.metric }) };
        if (command.type === 'add-default-route') await this.#platform.addDefaultRoute(request);
        else await this.#platform.deleteDefaultRoute(request);
        return;
      }
      case 'send-router-solicitation':
        await this.#platform.sendRouterSolicitation(command.ifindex);
        return;
      case 'set-interface-settings': {
        const previous = await this.#platform.getInterfaceSettings(command.ifindex);
        await this.#platform.setInterfaceSettings(command.ifindex, command.settings);
        void this.#enqueue({ type: 'interface-settings-saved', ifname: command.ifname, ifindex: command.ifindex, previous }).catch(() => undefined);
        return;
      }
      case 'restore-interface-settings':
        await this.#platform.setInterfaceSettings(command.ifindex, command.settings);
        return;
      case 'persist-state':
        await this.#options.persist?.(command.state);
        return;
      case 'report':
        this.#options.onReport?.(command.report);
        return;
      default: {
        const never: never = command;
        throw new Error(`unknown engine command ${JSON.stringify(never)}`);
      }
    }
  }

  #failed(command: EngineCommand, error: unknown): void {
    const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined;
    const message = error instanceof Error ? error.message : String(error);
    const event: EngineEvent = code === undefined ? { type: 'command-failed', command, message } : { type: 'command-failed', command, code, message };
    void this.#enqueue(event).catch(() => undefined);
  }

  #arm(wakeAt: number | undefined): void {
    this.#clearTimer();
    if (wakeAt === undefined || this.#stopped) return;
    const delay = Math.min(Math.max(0, Math.ceil(wakeAt - this.#clock.now())), MAX_TIMER_MS);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#enqueue({ type: 'timer' }).catch(() => undefined);
    }, delay);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer as never);
    this.#timer = undefined;
  }
}

/** The part of `FakeClock` that `advanceSettled` needs. */
export interface SteppableClock {
  now(): number;
  nextTimerAt(): number | undefined;
  advanceTo(at: number): void;
}

/**
 * For tests on a virtual clock (`FakeClock`): moves the time forward by `ms`, timer by timer,
 * and lets the driver apply everything each timer caused before the next one runs, so engine
 * wake-ups, DAD outcomes and lifetimes interleave as they would in real time.
 */
export async function advanceSettled(clock: SteppableClock, driver: EngineDriver, ms: number): Promise<void> {
  const target = clock.now() + ms;
  await driver.idle();
  for (let next = clock.nextTimerAt(); next !== undefined && next <= target; next = clock.nextTimerAt()) {
    clock.advanceTo(next);
    await driver.idle();
  }
  clock.advanceTo(target);
  await driver.idle();
}
