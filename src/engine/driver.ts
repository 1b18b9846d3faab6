/**
 * Connects an `Engine` to any `Platform`: the only place where the engine's decisions meet
 * effects. The daemon uses it with the Linux platform and real timers; tests use it with the
 * fake platform and a `FakeClock`.
 *
 * - One queue: platform events, requests from the daemon, timer wake-ups and command failures
 *   are stepped through the engine in order (bursts of lease requests and address reports
 *   together), and the commands are applied in order by one applier, a group at a time, while
 *   later events are stepped (see #run).
 * - A command that fails becomes a `command-failed` event for the engine; nothing is retried
 *   here (the engine decides).
 * - `resynced` (lost notifications) is answered by listing everything again and stepping a
 *   `snapshot`, as is the start.
 * - One timer, re-armed for the newest step's `wakeAt` whenever commands have been applied,
 *   never longer than 2^31-1 ms (Node's timers fire at once past that).
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Ipv6Address } from '../core/address.js';
import type { AddAddressRequest, Platform } from '../platform/platform.js';
import { canStepTogether, type Engine } from './engine.js';
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
/** Events stepped together and the commands their steps gave, in order. */
type Stepped = { commands: EngineCommand[]; items: Item[] };

/** Events are stepped this many at a time; the applier takes what was stepped meanwhile. */
const CHUNK = 16;

/**
 * The commands of several steps as one sequence with one state write: the newest state, at the
 * place of the first write, moved ahead of the address adds and reports just before it. Every
 * state written is newer than the last; reports stay behind the write that came before them;
 * and a state that records an address is on disk before the address is added (a crash in
 * between leaves a lease to put back, never an address nobody knows). Writing first also lets a
 * step's adds go in one batch with the next steps' instead of split around the write.
 */
function mergeWrites(commands: EngineCommand[]): EngineCommand[] {
  let newest: EngineCommand | undefined;
  let first = -1;
  commands.forEach((c, i) => {
    if (c.type !== 'persist-state') return;
    newest = c;
    if (first < 0) first = i;
  });
  if (newest === undefined) return commands;
  let at = first;
  while (at > 0 && (commands[at - 1]!.type === 'add-address' || commands[at - 1]!.type === 'report')) at--;
  const rest: EngineCommand[] = commands.filter((c) => c.type !== 'persist-state');
  rest.splice(at, 0, newest);
  return rest;
}

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
  /** A run is due in a microtask: dispatches made in one go (a batch of leases) join one run. */
  #scheduled = false;
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
    if (!this.#running && !this.#scheduled && this.#queue.length === 0) return Promise.resolve();
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
      if (this.#running) {
        this.#wakeStepper?.();
        return;
      }
      if (this.#scheduled) return;
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        if (!this.#running) void this.#run();
      });
    });
  }

  /** The stepper waits here for a new event (or the applier) while the queue is empty. */
  #wakeStepper: (() => void) | undefined;
  /** Stepped, waiting to be applied, in order. */
  #stepped: Stepped[] = [];
  #applying = false;
  #applied: Promise<void> = Promise.resolve();
  /** The engine's wake-up time as of the newest step. */
  #wakeAt: number | undefined;

  /**
   * The queue's consumer, running while there are events. Events are stepped CHUNK at a time as
   * they come; one applier applies, in order, everything stepped so far as one group, so that
   * a burst of lease requests' address adds go as one netlink batch and their states as one file
   * write instead of one fsync per event. Stepping goes on while the kernel works on the last
   * group (netlink sends and fsync run off the main thread): the kernel's DAD reports for the
   * first addresses of a burst are taken in while the last are still being added, and each
   * group grows to what was stepped meanwhile (1,000 leases: bench/lease-scale.ts). An event's
   * dispatch() settles when its group has been applied.
   *
   * In a group only the newest state is written, where its first write would have been, so no
   * report that followed a write moves ahead of it, and adds stay behind the write that records
   * them. Events that need a listing of the OS (start, resync) wait until everything stepped
   * before them is applied, and are listed, stepped and applied alone.
   */
  async #run(): Promise<void> {
    this.#running = true;
    try {
      for (let chunks = 0; ; chunks++) {
        const next = this.#queue[0];
        if (next === undefined) {
          if (!this.#applying) break;
          const woken = new Promise<void>((resolve) => (this.#wakeStepper = resolve));
          await Promise.race([this.#applied, woken]);
          this.#wakeStepper = undefined;
          continue;
        }
        if (needsListing(next.event)) {
          await this.#drain();
          this.#queue.shift();
          try {
            await this.#process(next.event);
            next.resolve();
          } catch (error) {
            this.#log.log('error', `engine driver: ${next.event.type}: ${error instanceof Error ? error.message : String(error)}`);
            next.reject(error);
          }
          continue;
        }
        // Let the applier's and the kernel's answers in between chunks.
        if (chunks > 0 && this.#applying) await new Promise<void>((resolve) => setImmediate(resolve));
        this.#stepChunk();
      }
      // No await between the last look at the queue and the end of the run: a dispatch() made
      // meanwhile would see a run going on, and stay in the queue with nothing to step it.
    } finally {
      this.#running = false;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * Steps up to CHUNK queued events that need no listing and hands their commands to the
   * applier. Consecutive lease requests and address reports go to the engine as one step
   * (`stepMany`): one reconcile for them all.
   */
  #stepChunk(): void {
    const chunk: Stepped = { commands: [], items: [] };
    const taken: Item[] = [];
    while (taken.length < CHUNK && this.#queue.length > 0 && !needsListing(this.#queue[0]!.event)) taken.push(this.#queue.shift()!);
    for (let i = 0; i < taken.length; ) {
      let end = i + 1;
      if (canStepTogether(taken[i]!.event)) while (end < taken.length && canStepTogether(taken[end]!.event)) end++;
      const together = taken.slice(i, end);
      i = end;
      if (this.#stopped) {
        for (const item of together) item.resolve();
        continue;
      }
      try {
        const events = together.map((item) => item.event as EngineEvent);
        // The driver owns its state and never looks at an old one: the engine may update it in
        // place. A config is stepped on a copy, so a refused one leaves everything as it was.
        const reuseState = events[0]!.type !== 'config';
        const result = this.#engine.stepMany(this.#state, events, this.#clock.now(), this.#random, { reuseState });
        this.#state = result.state;
        chunk.commands.push(...result.commands);
        this.#wakeAt = result.wakeAt;
        chunk.items.push(...together);
      } catch (error) {
        const types = [...new Set(together.map((item) => item.event.type))].join(', ');
        this.#log.log('error', `engine driver: ${types}: ${error instanceof Error ? error.message : String(error)}`);
        for (const item of together) item.reject(error);
      }
    }
    if (chunk.items.length === 0) return;
    this.#stepped.push(chunk);
    this.#kickApplier();
  }

  #kickApplier(): void {
    if (this.#applying) return;
    this.#applying = true;
    this.#applied = (async () => {
      try {
        while (this.#stepped.length > 0) {
          const group = this.#stepped.splice(0);
          const done = group.flatMap((g) => g.items);
          if (this.#stopped) {
            // detach(): as if the process had died, what was stepped is not applied. (stop() sets
            // #stopped once its shutdown step is applied, and the engine steps nothing after it.)
            for (const item of done) item.resolve();
            continue;
          }
          try {
            await this.#applyAll(mergeWrites(group.flatMap((g) => g.commands)));
            this.#arm(this.#wakeAt);
            for (const item of done) item.resolve();
          } catch (error) {
            for (const item of done) item.reject(error);
          }
        }
      } finally {
        this.#applying = false;
      }
    })();
  }

  /** Resolves when everything stepped has been applied. */
  async #drain(): Promise<void> {
    while (this.#applying) await this.#applied;
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
    this.#wakeAt = result.wakeAt;
    await this.#applyAll(result.commands);
    this.#arm(result.wakeAt);
  }

  async #applyAll(commands: EngineCommand[]): Promise<void> {
    for (let i = 0; i < commands.length; ) {
      const command = commands[i]!;
      if (command.type === 'add-address') {
        // A run of adds goes as one batch, each with its own outcome. Reports between them (each
        // lease request's "tentative") wait until after the batch: a report may come later than
        // the effect it tells of, never earlier, and nothing but reports is passed over.
        const batch: Extract<EngineCommand, { type: 'add-address' }>[] = [];
        const reports: Extract<EngineCommand, { type: 'report' }>[] = [];
        for (; i < commands.length; i++) {
          const next = commands[i]!;
          if (next.type === 'add-address') batch.push(next);
          else if (next.type === 'report') reports.push(next);
          else break;
        }
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
        for (const r of reports) {
          this.#options.onCommand?.(r);
          try {
            await this.#applyOne(r);
          } catch (error) {
            this.#failed(r, error);
          }
        }
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
