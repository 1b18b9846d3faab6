/**
 * The stable6 engine: a pure state machine, as OpenBSD slaacd's engine process is.
 *
 *   step(state, event, now, random) -> { state, commands, wakeAt }
 *
 * It holds no sockets, files, timers or clocks: the time (`now`, monotonic ms) and the one
 * random fraction a step may need (the RFC 7217 §6 retry delay) come in as arguments, and
 * everything it wants done goes out as commands. The input state is never modified. The
 * secret lives in the generators given to the constructor, never in the state, a log line or
 * the status.
 *
 * Each step first applies the event's facts to the state, then reconciles: lifetimes that ran
 * out, retries that are due, addresses that should exist and do not (self-healing), default
 * gateways, lease answers. Reconciling from facts (not from the event alone) keeps the engine
 * correct when the OS drops, reorders or repeats notifications.
 */
import type { KeyObject } from 'node:crypto';
import { Ipv6Address } from '../core/address.js';
import { Ipv6Prefix } from '../core/prefix.js';
import { checkPio, nextPreferredLifetime, nextValidLifetime } from '../core/prefix-policy.js';
import { isReservedIid } from '../core/reserved-iid.js';
import { STABLE6_V1, MAX_DAD_COUNTER, resolveSubnet64, type SubnetChoice } from '../core/stable6-v1.js';
import { isStable6Error, Stable6Error } from '../errors.js';
import { INFINITE_LIFETIME, type AddressInfo, type InterfaceInfo, type RouteInfo } from '../platform/platform.js';
import { stable6V1Generator, type AddressGenerator } from './generators.js';
import { emptyPersistedState, validatePersistedState, type PersistedState } from './persisted-state.js';
import { engineStatus, statusOfPhase, type EngineStatus } from './status.js';
import { addressTransition, describeAddress, leaseTransition, prefixTransition } from './transitions.js';
import {
  DEFAULT_IDGEN_DELAY_MS,
  DEFAULT_IDGEN_RETRIES,
  DEFAULT_MAX_LEASES,
  DEFAULT_MAX_PREFIXES,
  MAX_TIMER_MS,
  silentLogger,
  type AddressPhase,
  type AddressState,
  type AddressStatusState,
  type EngineCommand,
  type EngineConfig,
  type EngineEvent,
  type EngineLogger,
  type EngineState,
  type InterfaceConfig,
  type LeaseBinding,
  type LeaseState,
  type LinkState,
  type PrefixState,
  type StepResult,
} from './types.js';

/** An owned address removed this close to its prefix's end expired: it is not healed. */
const EXPIRY_SLACK_MS = 3000;
/** Not worth installing an address for less than this. */
const MIN_INSTALL_MS = 3000;
const BACKOFF_FIRST_MS = 1000;
/** After a Router Solicitation could not be sent (no usable source address yet). */
const RS_RETRY_MS = 1000;
/** RFC 4861 §10 host constants: solicitations sent until a Router Advertisement comes, and their spacing. */
const MAX_RTR_SOLICITATIONS = 3;
const RTR_SOLICITATION_INTERVAL_MS = 4000;
const BACKOFF_MAX_MS = 60_000;

export interface EngineOptions {
  /** The stable6-v1 secret (RFC 7217 secret_key). Kept here, never in the state. */
  secret: Uint8Array | KeyObject;
  /** More generators by name (compatibility algorithms); "stable6-v1" is built in. */
  algorithms?: Record<string, AddressGenerator>;
  logger?: EngineLogger;
}

export interface StepOptions {
  /**
   * Let the step change `state` in place instead of copying it first: for a caller that owns
   * the state and never looks at the old one again (the driver). The result is the same.
   */
  reuseState?: boolean;
}

interface Ctx {
  s: EngineState;
  now: number;
  random: number;
  commands: EngineCommand[];
  /** The events may have added prefixes or leases: make their address entries (all, or these leases'). */
  ensure: boolean | { ifname: string; label: string }[];
  /** Leases whose addresses were made this step. */
  newLeaseLabels: Set<string>;
}

/** Events that `stepMany` may take together: reconcile does nothing between them that the next needs. */
const STEP_TOGETHER: ReadonlySet<EngineEvent['type']> = new Set(['lease-request', 'address-changed']);

export function canStepTogether(event: EngineEvent | { type: string }): boolean {
  return STEP_TOGETHER.has(event.type as EngineEvent['type']);
}

const addressKey = (ifname: string, prefix: string, label: string): string => `${ifname}|${prefix}|${label}`;
const prefixKey = (ifname: string, prefix: string): string => `${ifname}|${prefix}`;
const leaseKey = (ifname: string, label: string): string => `${ifname}|${label}`;

function remainingSec(untilMs: number | null, now: number): number {
  if (untilMs === null) return INFINITE_LIFETIME;
  return Math.max(0, Math.floor((untilMs - now) / 1000));
}

function untilMs(now: number, sec: number): number | null {
  return sec === INFINITE_LIFETIME ? null : now + sec * 1000;
}

/** A copy for the persist-state command (flat records: cheaper than structuredClone). */
function copyPersisted(p: PersistedState): PersistedState {
  return {
    version: p.version,
    counters: p.counters.map((c) => ({ ...c })),
    // Lease records are never changed in place (#persistLeases replaces them): sharing them is a copy.
    leases: p.leases.slice(),
    savedSettings: p.savedSettings.map((x) => ({ ...x })),
  };
}

function hex(bytes: Uint8Array | undefined): string | undefined {
  return bytes ? Buffer.from(bytes).toString('hex') : undefined;
}

function labelProblem(label: unknown): string | undefined {
  if (typeof label !== 'string') return 'the label must be a string';
  const bytes = Buffer.byteLength(label, 'utf8');
  if (bytes === 0) return 'the label must not be empty (the empty label is the interface\'s own address)';
  if (bytes > 255) return `the label is ${bytes} bytes of UTF-8; at most 255`;
  return undefined;
}

function parseSubnet(value: number | string | undefined, where: string): SubnetChoice | undefined {
  if (value === undefined) return undefined;
  if (value === 'auto') return { kind: 'auto' };
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return { kind: 'fixed', id: BigInt(value) };
  if (typeof value === 'string' && /^(?:0x[0-9a-fA-F]+|[0-9]+)$/.test(value)) return { kind: 'fixed', id: BigInt(value) };
  throw new Stable6Error('ERR_ENGINE_CONFIG', `${where}: subnet must be a non-negative integer or "auto"`);
}

/** A static prefix's lifetime: valid from 1 s, preferred from 0 (deprecated from the start). */
function checkLifetime(value: number | undefined, where: string, min = 1): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > INFINITE_LIFETIME) {
    throw new Stable6Error('ERR_ENGINE_CONFIG', `${where} must be an integer from ${min} to ${INFINITE_LIFETIME} (infinite)`);
  }
}

export class Engine {
  readonly #secret: Uint8Array | KeyObject;
  readonly #algorithms: Map<string, AddressGenerator>;
  readonly #log: EngineLogger;

  constructor(options: EngineOptions) {
    this.#secret = options.secret;
    this.#algorithms = new Map(Object.entries(options.algorithms ?? {}));
    this.#algorithms.set(STABLE6_V1, stable6V1Generator(options.secret));
    this.#log = options.logger ?? silentLogger;
  }

  /** A fresh state, from the persisted state of an earlier run if there is one (it is validated). */
  initialState(persisted?: unknown): EngineState {
    const p: PersistedState = persisted === undefined ? emptyPersistedState() : validatePersistedState(persisted);
    const state: EngineState = {
      config: null,
      links: {},
      prefixes: {},
      addresses: {},
      addressIndex: {},
      waiting: {},
      leases: {},
      gateways: {},
      foreign: {},
      staleLabels: {},
      persisted: structuredClone(p),
      synced: false,
      stopped: false,
      stats: { prefixesReceived: 0, prefixesRejected: 0, dadConflicts: 0, repairs: 0, addressesFailed: 0 },
    };
    // Connection-bound leases did not survive the restart (their connections are gone): their
    // addresses are recognised and deleted at the first snapshot. Persistent ones live on.
    const kept = [];
    for (const lease of p.leases) {
      if (lease.binding === 'persistent') {
        kept.push(lease);
        state.leases[leaseKey(lease.ifname, lease.label)] = { ...lease, phase: 'pending' };
      } else {
        (state.staleLabels[lease.ifname] ??= []).push(lease.label);
      }
    }
    state.persisted.leases = kept.map((l) => ({ ...l }));
    return state;
  }

  /**
   * How many leases `state` holds, and how many of them belong to `uid` (the API's limits ask
   * on every lease request): a pass over the persisted list while it mirrors the leases, as
   * walking the large leases record sorts its keys first.
   */
  leaseCounts(state: EngineState, uid: number): { owned: number; total: number } {
    let owned = 0;
    if (this.#mirrors.get(state.persisted.leases) === state.leases) {
      for (const l of state.persisted.leases) if (l.uid === uid) owned++;
      return { owned, total: state.persisted.leases.length };
    }
    const leases = Object.values(state.leases);
    for (const l of leases) if (l.uid === uid) owned++;
    return { owned, total: leases.length };
  }

  /** The status for `stable6 status`: never the secret. */
  status(state: EngineState, now: number): EngineStatus {
    return engineStatus(state, now);
  }

  /**
   * One event in, the new state, the commands to apply in order, and when to be woken.
   * `random` is a fraction in [0, 1) from the caller's random source, used only for the
   * RFC 7217 §6 retry delay.
   */
  step(state: EngineState, event: EngineEvent, now: number, random = 0, options: StepOptions = {}): StepResult {
    return this.stepMany(state, [event], now, random, options);
  }

  /**
   * Several events as one step: each is applied in turn, then the engine reconciles once, so a
   * burst costs one pass over the state (and one state to write) instead of one per event. Only
   * events that reconcile leaves alone in between may go together (`canStepTogether`): lease
   * requests and the OS's address reports. The end state is that of stepping them one by one
   * (property-tested), except that leases are answered from the burst's end: an address reported
   * usable and then not usable within one burst does not make its lease ready on the way. An
   * address that changes twice within the burst is reported once, in its newest state, and
   * commands that a later event in the burst makes moot are never issued. `random` may be a
   * source, drawn once per event (the RFC 7217 §6 retry delay of each DAD failure).
   */
  stepMany(state: EngineState, events: readonly EngineEvent[], now: number, random: number | (() => number) = 0, options: StepOptions = {}): StepResult {
    if (!Number.isFinite(now)) throw new RangeError('now must be a finite number of milliseconds');
    if (events.length === 0) throw new RangeError('stepMany needs at least one event');
    if (events.length > 1 && !events.every(canStepTogether)) {
      throw new RangeError(`only ${[...STEP_TOGETHER].join(', ')} events can be stepped together`);
    }
    const s = options.reuseState ? state : structuredClone(state);
    const leases: { ifname: string; label: string }[] = [];
    let ensureAll = false;
    for (const event of events) {
      if (event.type === 'lease-request') leases.push({ ifname: event.ifname, label: event.label });
      else if (event.type === 'config' || event.type === 'snapshot' || event.type === 'prefix-received') ensureAll = true;
    }
    const ensure: Ctx['ensure'] = ensureAll || (leases.length > 0 && leases);
    const draw = (): number => Math.min(Math.max(typeof random === 'function' ? random() : random, 0), 1);
    const ctx: Ctx = { s, now, random: draw(), commands: [], ensure, newLeaseLabels: new Set() };
    if (s.stopped) return { state: s, commands: [], wakeAt: undefined };
    this.#dirty = false;
    // Per-step scratch, emptied rather than made anew: a burst of leases is thousands of steps.
    this.#touched.clear();
    this.#releasedOwners.clear();
    this.#current = s;
    events.forEach((event, i) => {
      if (i > 0) ctx.random = draw();
      this.#apply(ctx, event);
    });
    if (!s.stopped) this.#reconcile(ctx);
    this.#reportAddressChanges(ctx);
    if (this.#dirty) ctx.commands.push({ type: 'persist-state', state: copyPersisted(s.persisted) });
    return { state: s, commands: ctx.commands, wakeAt: s.stopped ? undefined : this.#wakeAt(s, now) };
  }

  /** Per step: whether the persisted part changed, and each touched address's visible state before. */
  #dirty = false;
  readonly #touched = new Map<AddressState, string | undefined>();
  /** Per step: the owners of leases released in it, for the removal reports of their addresses. */
  readonly #releasedOwners = new Map<string, number>();

  #visibleOf(a: AddressState): string {
    return `${statusOfPhase(a.phase)} ${a.address ?? ''}`;
  }

  #touch(a: AddressState, isNew = false): void {
    if (!this.#touched.has(a)) this.#touched.set(a, isNew ? undefined : this.#visibleOf(a));
  }

  #move(a: AddressState, to: AddressPhase | 'removed', reason: string, retryAtMs: number | null = null): void {
    this.#touch(a);
    addressTransition(this.#log, a, to, reason, retryAtMs);
    this.#syncWaiting(this.#current!, a);
  }

  /** Keeps `state.waiting` (the addresses reconcile may have to add) in step with the phase. */
  #syncWaiting(s: EngineState, a: AddressState): void {
    const key = addressKey(a.ifname, a.prefix, a.label);
    if ((a.phase === 'pending' || a.phase === 'delayed') && s.addresses[key] === a) s.waiting[key] = true;
    else delete s.waiting[key];
  }

  #current: EngineState | undefined;

  // ---- Events ---------------------------------------------------------------------------------

  #apply(ctx: Ctx, event: EngineEvent): void {
    switch (event.type) {
      case 'config':
        this.#applyConfig(ctx, event.config);
        return;
      case 'snapshot':
        this.#snapshot(ctx, event.links, event.addresses, event.routes);
        return;
      case 'link-changed':
        this.#linkChanged(ctx, event.link);
        return;
      case 'link-removed': {
        const name = Object.keys(ctx.s.links).find((n) => ctx.s.links[n]!.ifindex === event.ifindex);
        if (name !== undefined) this.#linkGone(ctx, name, 'the interface was removed');
        return;
      }
      case 'address-changed':
        this.#addressChanged(ctx, event.address);
        return;
      case 'address-removed':
        this.#addressRemoved(ctx, event.address);
        return;
      case 'route-changed':
        this.#routeSeen(ctx, event.route, true);
        return;
      case 'route-removed':
        this.#routeSeen(ctx, event.route, false);
        return;
      case 'prefix-received':
        this.#prefixReceived(ctx, event.prefix);
        return;
      case 'nd-user-option':
      case 'resynced':
      case 'timer':
        // resynced: the driver answers it with a snapshot. timer: reconcile does the work.
        return;
      case 'lease-request':
        this.#leaseRequest(ctx, event.ifname, event.label, event.uid, event.binding, event.connectionId);
        return;
      case 'lease-release':
        this.#leaseRelease(ctx, event.ifname, event.label, event.uid);
        return;
      case 'connection-closed':
        for (const lease of Object.values(ctx.s.leases)) {
          if (lease.binding === 'connection' && lease.connectionId === event.connectionId) this.#releaseLease(ctx, lease.ifname, lease.label, 'its connection closed');
        }
        return;
      case 'command-failed':
        this.#commandFailed(ctx, event.command, event.code, event.message);
        return;
      case 'interface-settings-saved': {
        const saved = ctx.s.persisted.savedSettings;
        // The first values seen are the administrator's: after a crash the OS shows ours.
        if (!saved.some((x) => x.ifname === event.ifname)) {
          saved.push({ ifname: event.ifname, ...event.previous });
          this.#dirty = true;
        }
        return;
      }
      case 'shutdown':
        this.#shutdown(ctx, event.flush);
        return;
      default: {
        const never: never = event;
        throw new Stable6Error('ERR_ENGINE_TRANSITION', `unknown engine event ${JSON.stringify(never)}`);
      }
    }
  }

  #applyConfig(ctx: Ctx, config: EngineConfig): void {
    const { s, now } = ctx;
    this.#validateConfig(config);
    // Resolve everything that can fail before changing anything: a refused config changes nothing.
    const wantedByIface = new Map<string, Map<string, PrefixState>>();
    for (const iface of config.interfaces) wantedByIface.set(iface.name, this.#staticPrefixes(iface, now));
    const oldNames = new Set((s.config?.interfaces ?? []).map((i) => i.name));
    s.config = structuredClone(config);
    const newNames = new Set(config.interfaces.map((i) => i.name));
    for (const name of oldNames) if (!newNames.has(name)) this.#unmanage(ctx, name);
    // Leases kept from an earlier run on an interface no longer managed end here.
    for (const lease of Object.values(s.leases)) {
      if (!newNames.has(lease.ifname)) this.#releaseLease(ctx, lease.ifname, lease.label, 'its interface is not managed any more');
    }
    for (const iface of config.interfaces) {
      const wanted = wantedByIface.get(iface.name)!;
      for (const p of Object.values(s.prefixes)) {
        if (p.ifname === iface.name && p.source === 'static' && !wanted.has(p.prefix)) {
          this.#retirePrefix(ctx, p, 'removed from the configuration', true);
        }
      }
      for (const [text, p] of wanted) {
        const existing = s.prefixes[prefixKey(iface.name, text)];
        if (existing?.source === 'static' && existing.staticValidSec === p.staticValidSec && existing.staticPreferredSec === p.staticPreferredSec) continue;
        if (existing) existing.source = 'static';
        const target = existing ?? p;
        if (existing) Object.assign(existing, { ...p, phase: existing.phase });
        else {
          s.prefixes[prefixKey(iface.name, text)] = p;
          this.#log.log('info', `prefix ${text} on ${iface.name} (static): none -> ${p.phase}: configured`, { ifname: iface.name });
        }
        this.#refreshPrefixAddresses(ctx, target);
      }
      // The default gateway kept in place.
      const old = s.gateways[iface.name];
      const gateway = iface.defaultGateway === undefined ? undefined : Ipv6Address.parse(iface.defaultGateway).toString();
      if (old && (old.gateway !== gateway || old.metric !== iface.gatewayMetric)) {
        const link = s.links[iface.name];
        if (old.present && link) ctx.commands.push(this.#routeCommand('delete-default-route', iface.name, link, old.gateway, old.metric));
        delete s.gateways[iface.name];
      }
      if (gateway !== undefined && !s.gateways[iface.name]) {
        s.gateways[iface.name] = { ifname: iface.name, gateway, present: false, retryAtMs: null, commandFailures: 0 };
        if (iface.gatewayMetric !== undefined) s.gateways[iface.name]!.metric = iface.gatewayMetric;
      }
      s.foreign[iface.name] ??= [];
    }
  }

  /** The configured static prefixes of an interface, each resolved to its /64 (a routed prefix shorter than /64 needs the secret for "auto"). */
  #staticPrefixes(iface: InterfaceConfig, now: number): Map<string, PrefixState> {
    const wanted = new Map<string, PrefixState>();
    for (const [i, sp] of (iface.staticPrefixes ?? []).entries()) {
      const where = `interface ${iface.name} static prefix ${i}`;
      let routed: Ipv6Prefix;
      let resolved: { prefix: Ipv6Prefix; subnetId: bigint };
      try {
        routed = Ipv6Prefix.parse(sp.prefix);
        resolved = resolveSubnet64(this.#secret, routed, iface.netIface ?? iface.name, parseSubnet(sp.subnet, where));
      } catch (cause) {
        throw new Stable6Error('ERR_ENGINE_CONFIG', `${where}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
      }
      const validSec = sp.validLifetimeSec ?? INFINITE_LIFETIME;
      const preferredSec = Math.min(sp.preferredLifetimeSec ?? validSec, validSec);
      const text = resolved.prefix.toString();
      const p: PrefixState = {
        ifname: iface.name,
        prefix: text,
        source: 'static',
        phase: preferredSec > 0 ? 'preferred' : 'deprecated',
        validUntilMs: untilMs(now, validSec),
        preferredUntilMs: untilMs(now, preferredSec),
        lastSeenMs: now,
        refreshAtMs: validSec === INFINITE_LIFETIME ? null : now + Math.floor((validSec * 1000) / 2),
        staticValidSec: validSec,
        staticPreferredSec: preferredSec,
      };
      if (routed.length < 64) {
        p.routedPrefix = routed.toString();
        p.subnetId = resolved.subnetId.toString();
      }
      wanted.set(text, p);
    }
    return wanted;
  }

  #validateConfig(config: EngineConfig): void {
    const bad = (message: string): never => {
      throw new Stable6Error('ERR_ENGINE_CONFIG', message);
    };
    if (!config || !Array.isArray(config.interfaces)) bad('the configuration needs an interfaces list');
    const names = new Set<string>();
    for (const iface of config.interfaces) {
      if (typeof iface.name !== 'string' || iface.name === '') bad('every interface needs a name');
      if (names.has(iface.name)) bad(`interface ${iface.name} is configured twice`);
      names.add(iface.name);
      const algorithm = iface.algorithm ?? STABLE6_V1;
      if (!this.#algorithms.has(algorithm)) bad(`interface ${iface.name}: unknown algorithm ${JSON.stringify(algorithm)}`);
      if (iface.networkId !== undefined && !/^(?:[0-9a-fA-F]{2}){0,255}$/.test(iface.networkId)) bad(`interface ${iface.name}: networkId must be hex of at most 255 bytes`);
      const netIface = iface.netIface ?? iface.name;
      const bytes = Buffer.byteLength(netIface, 'utf8');
      if (bytes < 1 || bytes > 255) bad(`interface ${iface.name}: netIface must be 1 to 255 bytes of UTF-8`);
      if (iface.maxPrefixes !== undefined && (!Number.isInteger(iface.maxPrefixes) || iface.maxPrefixes < 1 || iface.maxPrefixes > 1024)) bad(`interface ${iface.name}: maxPrefixes must be 1 to 1024`);
      for (const sp of iface.staticPrefixes ?? []) {
        checkLifetime(sp.validLifetimeSec, `interface ${iface.name}: validLifetimeSec`);
        checkLifetime(sp.preferredLifetimeSec, `interface ${iface.name}: preferredLifetimeSec`, 0);
      }
      if (iface.defaultGateway !== undefined) {
        let gw: Ipv6Address | undefined;
        try {
          gw = Ipv6Address.parse(iface.defaultGateway);
        } catch {
          bad(`interface ${iface.name}: defaultGateway is not an IPv6 address`);
        }
        if (gw && (gw.isMulticast() || gw.isUnspecified())) bad(`interface ${iface.name}: defaultGateway must be a unicast address`);
      }
    }
    const retries = config.idgenRetries ?? DEFAULT_IDGEN_RETRIES;
    if (!Number.isInteger(retries) || retries < 0 || retries > MAX_DAD_COUNTER) bad('idgenRetries must be an integer from 0 to 255');
    const delay = config.idgenDelayMs ?? DEFAULT_IDGEN_DELAY_MS;
    if (!Number.isInteger(delay) || delay < 0 || delay > 60_000) bad('idgenDelayMs must be an integer from 0 to 60000');
    const maxLeases = config.maxLeases ?? DEFAULT_MAX_LEASES;
    if (!Number.isInteger(maxLeases) || maxLeases < 0 || maxLeases > 65536) bad('maxLeases must be an integer from 0 to 65536');
  }

  /** An interface leaves the configuration: its settings go back; its addresses keep their kernel lifetimes. */
  #unmanage(ctx: Ctx, name: string): void {
    const { s } = ctx;
    this.#restoreSettings(ctx, name);
    for (const [key, a] of Object.entries(s.addresses)) if (a.ifname === name) this.#deleteEntry(s, key);
    for (const [key, p] of Object.entries(s.prefixes)) if (p.ifname === name) delete s.prefixes[key];
    for (const [key, l] of Object.entries(s.leases)) {
      if (l.ifname !== name) continue;
      delete s.leases[key];
      ctx.commands.push({ type: 'report', report: { kind: 'lease-released', ifname: name, label: l.label, uid: l.uid } });
    }
    s.persisted.leases = s.persisted.leases.filter((l) => l.ifname !== name);
    this.#dirty = true;
    delete s.gateways[name];
    delete s.foreign[name];
    this.#log.log('info', `interface ${name}: managed -> unmanaged: removed from the configuration`, { ifname: name });
  }

  #restoreSettings(ctx: Ctx, name: string): void {
    const { s } = ctx;
    const saved = s.persisted.savedSettings.find((x) => x.ifname === name);
    const link = s.links[name];
    if (!saved || !link) return;
    ctx.commands.push({
      type: 'restore-interface-settings',
      ifindex: link.ifindex,
      ifname: name,
      settings: { autoconf: saved.autoconf, acceptRa: saved.acceptRa },
    });
    s.persisted.savedSettings = s.persisted.savedSettings.filter((x) => x.ifname !== name);
    this.#dirty = true;
    link.configured = false;
  }

  #managedConfig(s: EngineState, name: string): InterfaceConfig | undefined {
    return s.config?.interfaces.find((i) => i.name === name);
  }

  #managedNameByIndex(s: EngineState, ifindex: number): string | undefined {
    for (const [name, link] of Object.entries(s.links)) {
      if (link.ifindex === ifindex) return this.#managedConfig(s, name) ? name : undefined;
    }
    return undefined;
  }

  #linkChanged(ctx: Ctx, info: InterfaceInfo): void {
    const { s } = ctx;
    // A rename: the old name's link is gone, but the addresses on the interface stay with it, so
    // what is known of addresses stable6 does not own moves to the new name.
    const carried: string[] = [];
    for (const [name, link] of Object.entries(s.links)) {
      if (link.ifindex !== info.index || name === info.name) continue;
      carried.push(...(s.foreign[name] ?? []));
      this.#linkGone(ctx, name, `renamed to ${info.name}`);
    }
    let link = s.links[info.name];
    if (link && link.ifindex !== info.index) {
      this.#linkGone(ctx, info.name, 'the interface was re-created');
      link = undefined;
    }
    for (const text of carried) this.#setForeign(s, info.name, text, true);
    const wasUp = link?.up ?? false;
    if (!link) {
      link = { ifindex: info.index, up: info.up, running: info.running, configured: false, solicit: true, solicitAtMs: null, solicitFailures: 0, solicitsSent: 0 };
      s.links[info.name] = link;
    }
    link.up = info.up;
    link.running = info.running;
    const hw = hex(info.hwAddress);
    const perm = hex(info.permHwAddress);
    if (hw === undefined) delete link.hwAddress;
    else link.hwAddress = hw;
    if (perm === undefined) delete link.permHwAddress;
    else link.permHwAddress = perm;
    if (!wasUp && link.up) {
      link.solicit = true;
      link.solicitAtMs = null;
      link.solicitFailures = 0;
      link.solicitsSent = 0;
    }
    if (wasUp && !link.up && this.#managedConfig(s, info.name)) {
      this.#log.log('info', `interface ${info.name}: up -> down`, { ifname: info.name });
    }
  }

  /** The link is gone (removed, renamed, re-created): nothing of ours is on it any more. */
  #linkGone(ctx: Ctx, name: string, reason: string): void {
    const { s } = ctx;
    if (!s.links[name]) return;
    delete s.links[name];
    for (const p of Object.values(s.prefixes)) {
      // Prefixes learned on that link belonged to it; static ones come back with the link.
      if (p.ifname === name && p.source === 'ra') this.#retirePrefix(ctx, p, reason, false);
    }
    for (const a of Object.values(s.addresses)) {
      if (a.ifname !== name) continue;
      a.present = false;
      a.usable = false;
      if (a.phase === 'tentative' || a.phase === 'preferred' || a.phase === 'deprecated') this.#move(a, 'pending', reason);
    }
    const gw = s.gateways[name];
    if (gw) gw.present = false;
    if (s.foreign[name]) s.foreign[name] = [];
  }

  #findAddress(s: EngineState, ifname: string, text: string): AddressState | undefined {
    const key = s.addressIndex[`${ifname}|${text}`];
    return key === undefined ? undefined : s.addresses[key];
  }

  #setAddressText(s: EngineState, a: AddressState, text: string | null): void {
    if (a.address !== null) delete s.addressIndex[`${a.ifname}|${a.address}`];
    a.address = text;
    if (text !== null) s.addressIndex[`${a.ifname}|${text}`] = addressKey(a.ifname, a.prefix, a.label);
  }

  #deleteEntry(s: EngineState, key: string): void {
    const a = s.addresses[key];
    if (a?.address != null) delete s.addressIndex[`${a.ifname}|${a.address}`];
    delete s.addresses[key];
    delete s.waiting[key];
  }


  #setForeign(s: EngineState, ifname: string, text: string, present: boolean): void {
    const list = (s.foreign[ifname] ??= []);
    const at = list.indexOf(text);
    if (present && at < 0) list.push(text);
    if (!present && at >= 0) list.splice(at, 1);
  }

  /** The name of any known link with this index (managed or not). */
  #linkNameByIndex(s: EngineState, ifindex: number): string | undefined {
    for (const [name, link] of Object.entries(s.links)) if (link.ifindex === ifindex) return name;
    return undefined;
  }

  #addressChanged(ctx: Ctx, info: AddressInfo): void {
    const { s } = ctx;
    const text = info.address.toString();
    // Addresses stable6 does not own are remembered on every link, managed or not, so that a
    // rename into a managed name keeps them out of reach.
    const anyName = this.#linkNameByIndex(s, info.ifindex);
    if (anyName !== undefined && !this.#managedConfig(s, anyName)) {
      this.#setForeign(s, anyName, text, !info.owned);
      return;
    }
    const name = this.#managedNameByIndex(s, info.ifindex);
    if (name === undefined) return;
    const entry = this.#findAddress(s, name, text);
    if (!info.owned) {
      this.#setForeign(s, name, text, true);
      if (entry && entry.phase !== 'delayed' && entry.phase !== 'failed') {
        // Someone replaced our address with one of their own: it is theirs now. Never touch it;
        // move on as after a DAD conflict.
        entry.present = false;
        this.#dadFailure(ctx, entry, false, 'the address now belongs to someone else');
      }
      return;
    }
    this.#setForeign(s, name, text, false);
    if (!entry) {
      this.#log.log('debug', `owned address ${text} on ${name} is not one the engine wants; left alone`, { ifname: name });
      return;
    }
    this.#observeOwned(ctx, entry, info);
  }

  /** What the OS says about one of our addresses. */
  #observeOwned(ctx: Ctx, a: AddressState, info: AddressInfo): void {
    if (a.phase === 'delayed' || a.phase === 'failed') return;
    a.present = true;
    if (info.flags.dadFailed) {
      this.#dadFailure(ctx, a, true, 'DAD found a duplicate');
      return;
    }
    if (info.flags.tentative) {
      a.usable = info.flags.optimistic;
      this.#move(a, 'tentative', info.flags.optimistic ? 'optimistic, DAD running' : 'DAD running');
      return;
    }
    a.usable = true;
    const prefix = ctx.s.prefixes[prefixKey(a.ifname, a.prefix)];
    const deprecated = info.flags.deprecated || prefix?.phase === 'deprecated';
    this.#move(a, deprecated ? 'deprecated' : 'preferred', a.phase === 'tentative' ? 'DAD passed' : 'reported by the OS');
  }

  #addressRemoved(ctx: Ctx, info: AddressInfo): void {
    const { s, now } = ctx;
    const text = info.address.toString();
    const anyName = this.#linkNameByIndex(s, info.ifindex);
    if (anyName !== undefined && !this.#managedConfig(s, anyName)) {
      this.#setForeign(s, anyName, text, false);
      return;
    }
    const name = this.#managedNameByIndex(s, info.ifindex);
    if (name === undefined) return;
    const entry = this.#findAddress(s, name, text);
    if (!info.owned) {
      this.#setForeign(s, name, text, false);
      return;
    }
    if (!entry) return;
    if (entry.phase === 'delayed' || entry.phase === 'failed') {
      entry.present = false;
      return;
    }
    entry.present = false;
    entry.usable = false;
    if (info.flags.dadFailed) {
      this.#dadFailure(ctx, entry, false, 'DAD found a duplicate');
      return;
    }
    const prefix = s.prefixes[prefixKey(entry.ifname, entry.prefix)];
    const left = prefix?.validUntilMs === null ? Infinity : (prefix?.validUntilMs ?? now) - now;
    if (left < EXPIRY_SLACK_MS) {
      this.#move(entry, 'pending', 'its valid lifetime ended');
      return;
    }
    // Deleted by hand, flushed by link down, dropped by a stack reset: reconcile puts it back.
    s.stats.repairs++;
    this.#move(entry, 'pending', 'removed from the OS, to be put back');
  }

  /** RFC 7217 §6: a duplicate means the next counter after a random delay, at most IDGEN_RETRIES times. */
  #dadFailure(ctx: Ctx, a: AddressState, stillPresent: boolean, reason: string): void {
    const { s, now } = ctx;
    s.stats.dadConflicts++;
    const link = s.links[a.ifname];
    if (stillPresent && a.address !== null && link) {
      // Linux keeps a permanent duplicate as "dadfailed tentative": it is ours, take it away.
      ctx.commands.push({ type: 'delete-address', ifindex: link.ifindex, ifname: a.ifname, address: a.address, prefixLength: 64 });
    }
    this.#touch(a);
    a.present = false;
    a.usable = false;
    const limit = Math.min(MAX_DAD_COUNTER, a.firstCounter + this.#retries(s));
    if (a.dadCounter < limit) {
      const delay = Math.floor(ctx.random * this.#idgenDelay(s));
      this.#move(a, 'delayed', `${reason}; counter ${a.dadCounter + 1} in ${delay} ms`, now + delay);
      a.dadCounter++;
      this.#setAddressText(s, a, null);
      this.#setCounter(s, a);
      return;
    }
    this.#fail(ctx, a, 'ERR_DAD_EXHAUSTED', `${reason}; no DAD retries left (IDGEN_RETRIES ${this.#retries(s)})`);
  }

  #fail(ctx: Ctx, a: AddressState, code: string, message: string): void {
    ctx.s.stats.addressesFailed++;
    this.#move(a, 'failed', message);
    ctx.commands.push({
      type: 'report',
      report: { kind: 'address-failed', ifname: a.ifname, label: a.label, prefix: a.prefix, dadCounter: a.dadCounter, code, message },
    });
  }

  #prefixReceived(ctx: Ctx, pio: { ifindex: number; prefix: Ipv6Address; prefixLength: number; autonomous: boolean; validLifetimeSec: number; preferredLifetimeSec: number }): void {
    const { s, now } = ctx;
    const name = this.#managedNameByIndex(s, pio.ifindex);
    if (name === undefined) return;
    const config = this.#managedConfig(s, name)!;
    if (config.acceptRa === false) return;
    s.stats.prefixesReceived++;
    // A Router Advertisement came: no more solicitations until the link goes down and up again.
    const link = s.links[name];
    if (link && link.solicitAtMs !== null && link.solicitsSent > 0) {
      link.solicit = false;
      link.solicitAtMs = null;
    }
    const masked = pio.prefixLength === 64 ? Ipv6Prefix.containing(pio.prefix, 64).toString() : undefined;
    const existing = masked === undefined ? undefined : s.prefixes[prefixKey(name, masked)];
    const check = checkPio(pio, existing !== undefined);
    if (!check.ok) {
      s.stats.prefixesRejected++;
      this.#log.log('debug', `PIO ${pio.prefix.toString()}/${pio.prefixLength} on ${name} ignored: ${check.reason} (RFC 4862 §5.5.3)`, { ifname: name });
      return;
    }
    const text = check.prefix.toString();
    if (existing?.source === 'static') return; // the configuration owns this prefix's lifetimes
    if (!existing) {
      const count = Object.values(s.prefixes).filter((p) => p.ifname === name && p.source === 'ra').length;
      const cap = config.maxPrefixes ?? DEFAULT_MAX_PREFIXES;
      if (count >= cap) {
        s.stats.prefixesRejected++;
        this.#log.log('warn', `PIO ${text} on ${name} ignored: ${cap} prefixes already (maxPrefixes)`, { ifname: name });
        return;
      }
      const preferredSec = Math.min(pio.preferredLifetimeSec, pio.validLifetimeSec);
      const p: PrefixState = {
        ifname: name,
        prefix: text,
        source: 'ra',
        phase: preferredSec > 0 ? 'preferred' : 'deprecated',
        validUntilMs: untilMs(now, pio.validLifetimeSec),
        preferredUntilMs: untilMs(now, preferredSec),
        lastSeenMs: now,
        refreshAtMs: null,
      };
      s.prefixes[prefixKey(name, text)] = p;
      this.#log.log('info', `prefix ${text} on ${name} (ra): none -> ${p.phase}: advertised, valid ${pio.validLifetimeSec} s, preferred ${preferredSec} s`, { ifname: name });
      return;
    }
    // RFC 4862 §5.5.3 e) for a prefix in use: the two-hour rule for the valid lifetime, the
    // preferred lifetime taken as advertised.
    const validSec = nextValidLifetime(pio.validLifetimeSec, remainingSec(existing.validUntilMs, now));
    const preferredSec = nextPreferredLifetime(pio.preferredLifetimeSec, validSec);
    existing.validUntilMs = untilMs(now, validSec);
    existing.preferredUntilMs = untilMs(now, preferredSec);
    existing.lastSeenMs = now;
    prefixTransition(this.#log, existing, preferredSec > 0 ? 'preferred' : 'deprecated', `advertised, valid ${validSec} s, preferred ${preferredSec} s`);
    this.#refreshPrefixAddresses(ctx, existing);
  }

  /** New lifetimes for every address of the prefix the OS has (the kernel keeps lifetimes). */
  #refreshPrefixAddresses(ctx: Ctx, p: PrefixState): void {
    for (const a of Object.values(ctx.s.addresses)) {
      if (a.ifname !== p.ifname || a.prefix !== p.prefix) continue;
      if (a.phase === 'preferred' && p.phase === 'deprecated') this.#move(a, 'deprecated', 'the prefix is deprecated');
      else if (a.phase === 'deprecated' && p.phase === 'preferred' && !this.#leaseDeprecated(ctx.s, a)) this.#move(a, 'preferred', 'the prefix is preferred again');
      if (a.present && a.address !== null && (a.phase === 'tentative' || a.phase === 'preferred' || a.phase === 'deprecated')) {
        const command = this.#addCommand(ctx, a, p);
        if (command) ctx.commands.push(command);
      }
    }
  }

  #retirePrefix(ctx: Ctx, p: PrefixState, reason: string, deleteAddresses: boolean): void {
    const { s } = ctx;
    const link = s.links[p.ifname];
    for (const [key, a] of Object.entries(s.addresses)) {
      if (a.ifname !== p.ifname || a.prefix !== p.prefix) continue;
      // An expired prefix's addresses are expired in the kernel too: nothing to delete. A static
      // prefix taken out of the configuration may have infinite lifetimes: delete what is ours.
      if (deleteAddresses && a.present && a.address !== null && link) {
        ctx.commands.push({ type: 'delete-address', ifindex: link.ifindex, ifname: a.ifname, address: a.address, prefixLength: 64 });
      }
      this.#move(a, 'removed', `prefix ${p.prefix}: ${reason}`);
      this.#deleteEntry(s, key);
    }
    prefixTransition(this.#log, p, 'removed', reason);
    delete s.prefixes[prefixKey(p.ifname, p.prefix)];
  }

  #routeSeen(ctx: Ctx, route: RouteInfo, present: boolean): void {
    const { s } = ctx;
    if (!route.owned || route.destination.length !== 0 || !route.gateway) return;
    const name = this.#managedNameByIndex(s, route.ifindex);
    if (name === undefined) return;
    const gw = s.gateways[name];
    const text = route.gateway.toString();
    if (gw && gw.gateway === text && (gw.metric ?? 1024) === route.metric) {
      if (!present && gw.present) {
        s.stats.repairs++;
        this.#log.log('info', `default gateway ${text} on ${name}: present -> missing: removed from the OS, to be put back`, { ifname: name });
      }
      gw.present = present;
      return;
    }
    if (present && s.synced) this.#deleteUnwantedRoute(ctx, name, route);
  }

  /** A default route tagged as ours that the configuration does not (or no longer) want. */
  #deleteUnwantedRoute(ctx: Ctx, name: string, route: RouteInfo): void {
    const link = ctx.s.links[name];
    if (!link || !route.gateway) return;
    ctx.commands.push(this.#routeCommand('delete-default-route', name, link, route.gateway.toString(), route.metric === 1024 ? undefined : route.metric));
  }

  #routeCommand(type: 'add-default-route' | 'delete-default-route', name: string, link: LinkState, gateway: string, metric: number | undefined): EngineCommand {
    return metric === undefined ? { type, ifindex: link.ifindex, ifname: name, gateway } : { type, ifindex: link.ifindex, ifname: name, gateway, metric };
  }

  // ---- Snapshot: start-up adoption and resync ---------------------------------------------------

  #snapshot(ctx: Ctx, links: InterfaceInfo[], addresses: AddressInfo[], routes: RouteInfo[]): void {
    const { s } = ctx;
    const names = new Set(links.map((l) => l.name));
    for (const name of Object.keys(s.links)) if (!names.has(name)) this.#linkGone(ctx, name, 'not in the OS any more');
    for (const info of links) this.#linkChanged(ctx, info);
    // A full listing happens at start and after lost notifications (netlink ENOBUFS). Prefix
    // reports lost with them cannot be listed again, so ask the routers again (RFC 4861 §6.3.7).
    for (const link of Object.values(s.links)) {
      link.solicit = true;
      link.solicitAtMs = null;
      link.solicitFailures = 0;
      link.solicitsSent = 0;
    }

    const owned = new Map<string, AddressInfo>();
    const foreign: Record<string, string[]> = {};
    for (const info of addresses) {
      const name = this.#linkNameByIndex(s, info.ifindex);
      if (name === undefined) continue;
      const text = info.address.toString();
      if (!info.owned) (foreign[name] ??= []).push(text);
      else if (this.#managedConfig(s, name)) owned.set(`${name}|${text}`, info);
    }
    s.foreign = {};
    for (const name of Object.keys(s.links)) s.foreign[name] = foreign[name] ?? [];

    for (const a of Object.values(s.addresses)) {
      const info = a.address === null ? undefined : owned.get(`${a.ifname}|${a.address}`);
      if (info) {
        owned.delete(`${a.ifname}|${a.address}`);
        this.#observeOwned(ctx, a, info);
      } else if (a.present) {
        a.present = false;
        a.usable = false;
        if (a.phase === 'tentative' || a.phase === 'preferred' || a.phase === 'deprecated') {
          s.stats.repairs++;
          this.#move(a, 'pending', 'missing from the OS after a resync, to be put back');
        }
      }
    }
    this.#adopt(ctx, [...owned.values()]);

    const seenGateways = new Set<string>();
    for (const route of routes) {
      if (!route.owned || route.destination.length !== 0 || !route.gateway) continue;
      const name = this.#managedNameByIndex(s, route.ifindex);
      if (name === undefined) continue;
      const gw = s.gateways[name];
      if (gw && gw.gateway === route.gateway.toString() && (gw.metric ?? 1024) === route.metric) {
        gw.present = true;
        seenGateways.add(name);
      } else {
        this.#deleteUnwantedRoute(ctx, name, route);
      }
    }
    for (const gw of Object.values(s.gateways)) {
      if (gw.present && !seenGateways.has(gw.ifname)) {
        gw.present = false;
        s.stats.repairs++;
      }
    }
    s.synced = true;
    s.staleLabels = {};
  }

  /**
   * Owned addresses the engine has no entry for (a restart): recompute which label and counter
   * made each one. Ours and wanted: adopted as it is, no delete-and-re-add. Ours but of a lease
   * that ended while we were down: deleted. Not recognisable (another secret, another config):
   * left alone to run out its lifetime.
   */
  #adopt(ctx: Ctx, infos: AddressInfo[]): void {
    const { s, now } = ctx;
    const groups = new Map<string, AddressInfo[]>();
    for (const info of infos) {
      const name = this.#managedNameByIndex(s, info.ifindex)!;
      const key = `${name}|${Ipv6Prefix.containing(info.address, 64).toString()}`;
      groups.set(key, [...(groups.get(key) ?? []), info]);
    }
    for (const [key, group] of groups) {
      const [name, prefixText] = key.split('|') as [string, string];
      const config = this.#managedConfig(s, name)!;
      const candidates = this.#candidates(s, config, prefixText);
      for (const info of group) {
        const text = info.address.toString();
        const match = candidates.get(text);
        const link = s.links[name]!;
        if (!match) {
          this.#log.log('warn', `owned address ${text} on ${name} matches no label or counter of this configuration; left to its lifetime`, { ifname: name });
          continue;
        }
        const wanted = match.label === '' || s.leases[leaseKey(name, match.label)] !== undefined;
        if (!wanted) {
          this.#log.log('info', `owned address ${text} on ${name} (label ${JSON.stringify(match.label)}): its lease ended; deleting`, { ifname: name });
          ctx.commands.push({ type: 'delete-address', ifindex: link.ifindex, ifname: name, address: text, prefixLength: info.prefixLength });
          continue;
        }
        let prefix = s.prefixes[prefixKey(name, prefixText)];
        if (!prefix) {
          prefix = {
            ifname: name,
            prefix: prefixText,
            source: 'ra',
            phase: info.preferredLifetimeSec > 0 ? 'preferred' : 'deprecated',
            validUntilMs: untilMs(now, info.validLifetimeSec),
            preferredUntilMs: untilMs(now, Math.min(info.preferredLifetimeSec, info.validLifetimeSec)),
            lastSeenMs: null,
            refreshAtMs: null,
          };
          s.prefixes[prefixKey(name, prefixText)] = prefix;
          this.#log.log('info', `prefix ${prefixText} on ${name} (ra): none -> ${prefix.phase}: adopted from ${text}`, { ifname: name });
        }
        const aKey = addressKey(name, prefixText, match.label);
        if (s.addresses[aKey]) continue; // two counters of one label present: keep the first, leave the other
        const a: AddressState = {
          ifname: name,
          prefix: prefixText,
          label: match.label,
          algorithm: config.algorithm ?? STABLE6_V1,
          dadCounter: match.counter,
          firstCounter: this.#storedCounter(s, config, prefixText, match.label) ?? match.counter,
          address: text,
          phase: 'pending',
          present: true,
          usable: false,
          retryAtMs: null,
          commandFailures: 0,
        };
        s.addresses[aKey] = a;
        s.addressIndex[`${name}|${text}`] = aKey;
        this.#touch(a, true);
        this.#setCounter(s, a);
        this.#log.log('info', `address ${describeAddress(a)}: none -> adopted: found in the OS at start`, { ifname: name });
        a.phase = info.flags.tentative || info.flags.dadFailed ? 'tentative' : 'pending';
        if (!info.flags.tentative && !info.flags.dadFailed) {
          a.usable = true;
          a.phase = info.flags.deprecated || prefix.phase === 'deprecated' ? 'deprecated' : 'preferred';
        } else {
          this.#observeOwned(ctx, a, info);
        }
        this.#syncWaiting(s, a);
      }
    }
  }

  #candidates(s: EngineState, config: InterfaceConfig, prefixText: string): Map<string, { label: string; counter: number }> {
    const labels = new Set<string>(['']);
    for (const l of Object.values(s.leases)) if (l.ifname === config.name) labels.add(l.label);
    for (const label of s.staleLabels[config.name] ?? []) labels.add(label);
    const netIface = config.netIface ?? config.name;
    for (const c of s.persisted.counters) if (c.prefix === prefixText && c.netIface === netIface) labels.add(c.label);
    const generate = this.#algorithms.get(config.algorithm ?? STABLE6_V1)!;
    const prefix = Ipv6Prefix.parse(prefixText);
    const link = s.links[config.name];
    const result = new Map<string, { label: string; counter: number }>();
    for (const label of labels) {
      if (Buffer.byteLength(label, 'utf8') > 255) continue;
      const top = Math.min(MAX_DAD_COUNTER, (this.#storedCounter(s, config, prefixText, label) ?? 0) + this.#retries(s));
      for (let counter = 0; counter <= top; counter++) {
        try {
          const generated = generate({
            prefix,
            netIface,
            networkId: Buffer.from(config.networkId ?? '', 'hex'),
            label,
            dadCounter: counter,
            maxDadCounter: counter,
            isTaken: () => false,
            ...(link?.hwAddress ? { hwAddress: Buffer.from(link.hwAddress, 'hex') } : {}),
            ...(link?.permHwAddress ? { permHwAddress: Buffer.from(link.permHwAddress, 'hex') } : {}),
          });
          const text = generated.address.toString();
          if (!result.has(text)) result.set(text, { label, counter });
        } catch (error) {
          if (!isStable6Error(error)) throw error;
        }
      }
    }
    return result;
  }

  // ---- Leases ----------------------------------------------------------------------------------

  #leaseRequest(ctx: Ctx, ifname: string, label: string, uid: number, binding: LeaseBinding, connectionId: string | undefined): void {
    const { s } = ctx;
    const refuse = (code: string, message: string): void => {
      this.#log.log('info', `lease ${JSON.stringify(label)} on ${ifname} (uid ${uid}) refused: ${message}`, { ifname });
      ctx.commands.push({ type: 'report', report: { kind: 'lease-failed', ifname, label, uid, code, message } });
    };
    const problem = labelProblem(label);
    if (problem) return refuse('ERR_API_BAD_REQUEST', problem);
    if (!Number.isInteger(uid) || uid < 0) return refuse('ERR_API_BAD_REQUEST', 'the uid must be a non-negative integer');
    if (binding !== 'persistent' && binding !== 'connection') return refuse('ERR_API_BAD_REQUEST', 'binding must be persistent or connection');
    if (binding === 'connection' && !connectionId) return refuse('ERR_API_BAD_REQUEST', 'a connection-bound lease needs its connection id');
    if (!this.#managedConfig(s, ifname)) return refuse('ERR_API_UNKNOWN_INTERFACE', `stable6 does not manage an interface named ${ifname}`);
    const key = leaseKey(ifname, label);
    const existing = s.leases[key];
    if (existing) {
      if (existing.uid !== uid) return refuse('ERR_API_LABEL_TAKEN', `another user holds label ${JSON.stringify(label)} on ${ifname}`);
      // The same owner asks again: a persistent request makes it persistent; a connection one
      // never downgrades a persistent lease.
      if (binding === 'persistent' && existing.binding !== 'persistent') {
        existing.binding = 'persistent';
        delete existing.connectionId;
      } else if (existing.binding === 'connection' && connectionId) existing.connectionId = connectionId;
      this.#persistLeases(s, existing, false);
      if (existing.phase === 'ready') ctx.commands.push(this.#readyReport(s, existing.ifname, existing.label, existing.uid));
      return;
    }
    const max = s.config?.maxLeases ?? DEFAULT_MAX_LEASES;
    if (this.#leaseCount(s) >= max) return refuse('ERR_API_LIMIT', `the daemon holds ${max} leases already`);
    const lease: LeaseState = { ifname, label, uid, binding, phase: 'pending', ...(binding === 'connection' ? { connectionId } : {}) };
    s.leases[key] = lease;
    this.#log.log('info', `lease ${JSON.stringify(label)} on ${ifname} (uid ${uid}): none -> pending: requested (${binding})`, { ifname });
    this.#persistLeases(s, lease, true);
  }

  #leaseRelease(ctx: Ctx, ifname: string, label: string, uid: number): void {
    const lease = ctx.s.leases[leaseKey(ifname, label)];
    if (!lease || (lease.uid !== uid && uid !== 0)) {
      ctx.commands.push({
        type: 'report',
        report: { kind: 'lease-failed', ifname, label, uid, code: 'ERR_API_NOT_FOUND', message: `no lease ${JSON.stringify(label)} on ${ifname} for uid ${uid}` },
      });
      return;
    }
    this.#releaseLease(ctx, ifname, label, `released by uid ${uid}`);
  }

  #releaseLease(ctx: Ctx, ifname: string, label: string, reason: string): void {
    const { s } = ctx;
    const key = leaseKey(ifname, label);
    const lease = s.leases[key];
    if (!lease) return;
    const link = s.links[ifname];
    for (const [aKey, a] of Object.entries(s.addresses)) {
      if (a.ifname !== ifname || a.label !== label) continue;
      if (a.present && a.address !== null && link) {
        ctx.commands.push({ type: 'delete-address', ifindex: link.ifindex, ifname, address: a.address, prefixLength: 64 });
      }
      this.#move(a, 'removed', `lease ${reason}`);
      this.#deleteEntry(s, aKey);
    }
    leaseTransition(this.#log, lease, 'removed', reason);
    this.#releasedOwners.set(key, lease.uid);
    delete s.leases[key];
    this.#persistLeases(s);
    ctx.commands.push({ type: 'report', report: { kind: 'lease-released', ifname, label, uid: lease.uid } });
  }

  /**
   * Keeps `persisted.leases` the records of `s.leases` in its order. A lease just added (it is
   * last in `s.leases`) or changed is one record, not a rebuild of every lease per request
   * (1,000 leases: bench/lease-scale.ts); anything else, or a list out of step, is rebuilt.
   * Records are replaced, never changed in place: persist-state commands share them.
   */
  #persistLeases(s: EngineState, changed?: LeaseState, added = false): void {
    this.#dirty = true;
    const record = (l: LeaseState): PersistedState['leases'][number] => ({ ifname: l.ifname, label: l.label, uid: l.uid, binding: l.binding });
    const list = s.persisted.leases;
    if (changed && this.#mirrors.get(list) === s.leases) {
      if (added) {
        list.push(record(changed));
        return;
      }
      const at = list.findIndex((l) => l.ifname === changed.ifname && l.label === changed.label);
      if (at >= 0) {
        list[at] = record(changed);
        return;
      }
    }
    s.persisted.leases = Object.values(s.leases).map(record);
    this.#mirrors.set(s.persisted.leases, s.leases);
  }

  /**
   * A `persisted.leases` list rebuilt from a `leases` record by #persistLeases, which has kept it
   * in step since (a list the engine made otherwise, or a cloned state, is rebuilt once).
   */
  readonly #mirrors = new WeakMap<PersistedState['leases'], EngineState['leases']>();

  /** How many leases: the mirrored list's length, as counting a large record's keys sorts them. */
  #leaseCount(s: EngineState): number {
    return this.#mirrors.get(s.persisted.leases) === s.leases ? s.persisted.leases.length : Object.keys(s.leases).length;
  }

  #readyReport(s: EngineState, ifname: string, label: string, uid: number, entries?: AddressState[]): EngineCommand {
    const addresses = (entries ?? Object.values(s.addresses))
      .filter((a) => a.ifname === ifname && a.label === label && a.usable && a.address !== null)
      .map((a) => a.address!)
      .sort();
    return { type: 'report', report: { kind: 'lease-ready', ifname, label, uid, addresses } };
  }

  // ---- Failures and shutdown -------------------------------------------------------------------

  #commandFailed(ctx: Ctx, command: EngineCommand, code: string | undefined, message: string): void {
    const { s, now } = ctx;
    this.#log.log('warn', `${command.type} failed: ${code ?? 'error'}: ${message}`, { command: command.type });
    switch (command.type) {
      case 'add-address': {
        const a = this.#findAddress(s, command.ifname, command.address);
        if (!a || a.phase === 'delayed' || a.phase === 'failed') return;
        a.present = false;
        a.usable = false;
        a.commandFailures++;
        const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(a.commandFailures - 1, 16));
        this.#move(a, 'pending', `the OS refused it (${code ?? message}); again in ${backoff} ms`, now + backoff);
        return;
      }
      case 'add-default-route': {
        const gw = s.gateways[command.ifname];
        if (!gw || gw.gateway !== command.gateway) return;
        gw.present = false;
        gw.commandFailures++;
        gw.retryAtMs = now + Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(gw.commandFailures - 1, 16));
        return;
      }
      case 'set-interface-settings':
        // Not retried at once (a sysctl that cannot be written fails again); the next link
        // re-creation tries again. The kernel's own SLAAC may add addresses meanwhile: say so loudly.
        this.#log.log('error', `interface ${command.ifname}: could not turn the kernel's SLAAC off (${code ?? message}); its own addresses may appear`, { ifname: command.ifname });
        return;
      case 'send-router-solicitation': {
        // Right after link up the link-local address is still tentative and the RS has no
        // source (EADDRNOTAVAIL): try again, at most MAX_RTR_SOLICITATIONS (3, RFC 4861 §10) times.
        const link = s.links[command.ifname];
        if (!link || link.ifindex !== command.ifindex) return;
        if (++link.solicitFailures >= MAX_RTR_SOLICITATIONS) {
          link.solicit = false;
          link.solicitAtMs = null;
          return;
        }
        link.solicit = true;
        link.solicitAtMs = now + RS_RETRY_MS;
        link.solicitsSent = Math.max(0, link.solicitsSent - 1); // it was not sent
        return;
      }
      default:
        // A delete of something already gone, a report: nothing to redo.
        return;
    }
  }

  #shutdown(ctx: Ctx, flush: boolean): void {
    const { s } = ctx;
    for (const iface of s.config?.interfaces ?? []) this.#restoreSettings(ctx, iface.name);
    if (flush) {
      for (const a of Object.values(s.addresses)) {
        const link = s.links[a.ifname];
        if (a.present && a.address !== null && link) {
          ctx.commands.push({ type: 'delete-address', ifindex: link.ifindex, ifname: a.ifname, address: a.address, prefixLength: 64 });
        }
      }
      for (const gw of Object.values(s.gateways)) {
        const link = s.links[gw.ifname];
        if (gw.present && link) ctx.commands.push(this.#routeCommand('delete-default-route', gw.ifname, link, gw.gateway, gw.metric));
      }
    }
    this.#log.log('info', `engine: running -> stopped${flush ? ' (flushing owned addresses)' : ' (addresses keep their kernel lifetimes)'}`);
    s.stopped = true;
  }

  // ---- Reconcile ---------------------------------------------------------------------------------

  #reconcile(ctx: Ctx): void {
    const { s, now } = ctx;
    // Lifetimes: expiry retires a prefix and its addresses; the preferred lifetime's end
    // deprecates; a static prefix with finite lifetimes is renewed at half of them.
    for (const p of Object.values(s.prefixes)) {
      if (p.validUntilMs !== null && p.validUntilMs <= now) {
        this.#retirePrefix(ctx, p, 'its valid lifetime ended', false);
        continue;
      }
      if (p.refreshAtMs !== null && p.refreshAtMs <= now && p.staticValidSec !== undefined) {
        const validSec = p.staticValidSec;
        const preferredSec = p.staticPreferredSec ?? validSec;
        p.validUntilMs = untilMs(now, validSec);
        p.preferredUntilMs = untilMs(now, preferredSec);
        p.refreshAtMs = now + Math.floor((validSec * 1000) / 2);
        p.lastSeenMs = now;
        prefixTransition(this.#log, p, preferredSec > 0 ? 'preferred' : 'deprecated', 'static lifetimes renewed');
        if (s.synced) this.#refreshPrefixAddresses(ctx, p);
        continue;
      }
      if (p.phase === 'preferred' && p.preferredUntilMs !== null && p.preferredUntilMs <= now) {
        prefixTransition(this.#log, p, 'deprecated', 'its preferred lifetime ended');
        for (const a of Object.values(s.addresses)) {
          if (a.ifname === p.ifname && a.prefix === p.prefix && a.phase === 'preferred') this.#move(a, 'deprecated', 'the prefix is deprecated');
        }
      }
    }
    if (!s.synced || !s.config) return;

    for (const iface of s.config.interfaces) {
      const link = s.links[iface.name];
      if (!link) continue;
      if (!link.configured) {
        // The kernel's own SLAAC is off while stable6 manages the interface; accept_ra stays
        // on, so default routes still come from Router Advertisements.
        ctx.commands.push({ type: 'set-interface-settings', ifindex: link.ifindex, ifname: iface.name, settings: { autoconf: false } });
        link.configured = true;
      }
      if (link.up && link.solicit && (link.solicitAtMs === null || link.solicitAtMs <= now)) {
        if (iface.acceptRa !== false) ctx.commands.push({ type: 'send-router-solicitation', ifindex: link.ifindex, ifname: iface.name });
        // A solicitation or its answer may be lost (a router not ready yet, a busy link): send
        // again every RTR_SOLICITATION_INTERVAL, up to MAX_RTR_SOLICITATIONS, until an RA comes.
        link.solicitsSent++;
        link.solicit = iface.acceptRa !== false && link.solicitsSent < MAX_RTR_SOLICITATIONS;
        link.solicitAtMs = link.solicit ? now + RTR_SOLICITATION_INTERVAL_MS : null;
      }
    }

    // Every prefix gets one address per label: the interface's own (empty label) and each lease's.
    // Only events that add prefixes or leases can make new ones.
    if (ctx.ensure) this.#ensureEntries(ctx);
    for (const key of Object.keys(s.waiting)) {
      const a = s.addresses[key];
      if (!a) {
        delete s.waiting[key];
        continue;
      }
      const due = a.retryAtMs === null || a.retryAtMs <= now;
      if ((a.phase === 'pending' && !a.present && due) || (a.phase === 'delayed' && due)) this.#install(ctx, a);
    }

    for (const gw of Object.values(s.gateways)) {
      const link = s.links[gw.ifname];
      if (!link || !link.up || gw.present || (gw.retryAtMs !== null && gw.retryAtMs > now)) continue;
      ctx.commands.push(this.#routeCommand('add-default-route', gw.ifname, link, gw.gateway, gw.metric));
      gw.present = true;
      gw.retryAtMs = null;
    }

    this.#answerLeases(ctx);
  }

  #ensureEntries(ctx: Ctx): void {
    const { s } = ctx;
    if (!s.config) return;
    // Lease requests only need their own labels' entries: keep that step O(prefixes) per lease.
    const only = typeof ctx.ensure === 'object' ? ctx.ensure : undefined;
    const labelsByIface = new Map<string, string[]>();
    if (only) {
      for (const { ifname, label } of only) {
        if (!s.leases[leaseKey(ifname, label)]) continue;
        const labels = labelsByIface.get(ifname);
        if (labels) labels.push(label);
        else labelsByIface.set(ifname, [label]);
      }
      if (labelsByIface.size === 0) return;
    } else {
      for (const iface of s.config.interfaces) labelsByIface.set(iface.name, ['']);
      for (const l of Object.values(s.leases)) labelsByIface.get(l.ifname)?.push(l.label);
    }
    for (const p of Object.values(s.prefixes)) {
      if (only && !labelsByIface.has(p.ifname)) continue;
      const config = this.#managedConfig(s, p.ifname);
      if (!config) continue;
      for (const label of labelsByIface.get(p.ifname) ?? []) {
        const key = addressKey(p.ifname, p.prefix, label);
        if (s.addresses[key]) continue;
        const stored = this.#storedCounter(s, config, p.prefix, label) ?? 0;
        s.addresses[key] = {
          ifname: p.ifname,
          prefix: p.prefix,
          label,
          algorithm: config.algorithm ?? STABLE6_V1,
          dadCounter: stored,
          firstCounter: stored,
          address: null,
          phase: 'pending',
          present: false,
          usable: false,
          retryAtMs: null,
          commandFailures: 0,
        };
        this.#touch(s.addresses[key]!, true);
        s.waiting[key] = true;
        ctx.newLeaseLabels.add(leaseKey(p.ifname, label));
      }
    }
  }

  /** Generates (if needed) and adds an address, with its prefix's remaining lifetimes. */
  #install(ctx: Ctx, a: AddressState): void {
    const { s, now } = ctx;
    const link = s.links[a.ifname];
    const prefix = s.prefixes[prefixKey(a.ifname, a.prefix)];
    const config = this.#managedConfig(s, a.ifname);
    if (!prefix || !config) return;
    if (!link || !link.up) {
      if (a.phase === 'delayed') this.#move(a, 'pending', 'waiting for the link');
      return;
    }
    if (prefix.validUntilMs !== null && prefix.validUntilMs - now < MIN_INSTALL_MS) return;
    if (a.address !== null && (s.foreign[a.ifname] ?? []).includes(a.address)) {
      this.#dadFailure(ctx, a, false, 'an address stable6 does not own holds it');
      if (a.phase !== 'delayed' || (a.retryAtMs ?? 0) > now) return;
    }
    if (a.address === null) {
      const max = Math.min(MAX_DAD_COUNTER, a.firstCounter + this.#retries(s));
      // Two labels never share an address, and an address someone else holds is never ours.
      const foreign = new Set<string>(s.foreign[a.ifname] ?? []);
      const taken = {
        has: (text: string): boolean => {
          if (foreign.has(text)) return true;
          const other = this.#findAddress(s, a.ifname, text);
          return other !== undefined && other !== a;
        },
      };
      const p64 = Ipv6Prefix.parse(a.prefix);
      let generated;
      try {
        if (a.dadCounter > max) throw new Stable6Error('ERR_GEN_EXHAUSTED', `counter ${a.dadCounter} is past the last allowed (${max})`);
        generated = this.#algorithms.get(a.algorithm)!({
          prefix: p64,
          netIface: config.netIface ?? config.name,
          networkId: Buffer.from(config.networkId ?? '', 'hex'),
          label: a.label,
          dadCounter: a.dadCounter,
          maxDadCounter: max,
          isTaken: (address) => taken.has(address.toString()),
          ...(link.hwAddress ? { hwAddress: Buffer.from(link.hwAddress, 'hex') } : {}),
          ...(link.permHwAddress ? { permHwAddress: Buffer.from(link.permHwAddress, 'hex') } : {}),
        });
      } catch (error) {
        if (!isStable6Error(error)) throw error;
        const code = error.code === 'ERR_GEN_EXHAUSTED' ? 'ERR_DAD_EXHAUSTED' : error.code;
        this.#fail(ctx, a, code, `no address: ${error.message}`);
        return;
      }
      // Trust, but check: a generator must never hand out a reserved, taken or foreign address.
      const text = generated.address.toString();
      if (
        !p64.contains(generated.address) ||
        isReservedIid(generated.address.toBytes(), 8) ||
        taken.has(text) ||
        !Number.isInteger(generated.dadCounter) ||
        generated.dadCounter < a.dadCounter ||
        generated.dadCounter > max
      ) {
        this.#fail(ctx, a, 'ERR_GEN_EXHAUSTED', `algorithm ${a.algorithm} returned an unusable address ${text}`);
        return;
      }
      this.#touch(a);
      this.#setAddressText(s, a, text);
      a.dadCounter = generated.dadCounter;
      this.#setCounter(s, a);
    }
    const command = this.#addCommand(ctx, a, prefix);
    if (!command) return;
    ctx.commands.push(command);
    a.present = true;
    a.usable = false;
    this.#move(a, 'tentative', a.commandFailures > 0 ? 'added again after a failure' : 'added, DAD running');
  }

  #addCommand(ctx: Ctx, a: AddressState, p: PrefixState): EngineCommand | undefined {
    const link = ctx.s.links[a.ifname];
    const config = this.#managedConfig(ctx.s, a.ifname);
    if (!link || a.address === null || !config) return undefined;
    const validSec = remainingSec(p.validUntilMs, ctx.now);
    if (validSec === 0) return undefined;
    let preferredSec = Math.min(remainingSec(p.preferredUntilMs, ctx.now), validSec);
    if (this.#leaseDeprecated(ctx.s, a)) preferredSec = 0;
    return {
      type: 'add-address',
      ifindex: link.ifindex,
      ifname: a.ifname,
      address: a.address,
      prefixLength: 64,
      validLifetimeSec: validSec,
      preferredLifetimeSec: preferredSec,
      optimistic: config.optimistic ?? false,
      // For an RA prefix the kernel adds the on-link route from the PIO's L flag itself (RFC
      // 4861 §6.3.4): an address must not make an off-link prefix on-link. A static prefix is on-link.
      noPrefixRoute: p.source === 'ra',
    };
  }

  #leaseDeprecated(s: EngineState, a: AddressState): boolean {
    return a.label !== '' && (s.config?.leaseAddressesDeprecated ?? true);
  }

  #answerLeases(ctx: Ctx): void {
    const { s } = ctx;
    // Only a lease whose addresses changed this step (or was just made) can have a new answer.
    const keys = new Set(ctx.newLeaseLabels);
    for (const a of this.#touched.keys()) if (a.label !== '') keys.add(leaseKey(a.ifname, a.label));
    for (const key of keys) {
      const lease = s.leases[key];
      if (!lease || lease.phase === 'ready') continue;
      const entries: AddressState[] = [];
      for (const p of Object.values(s.prefixes)) {
        const a = p.ifname === lease.ifname ? s.addresses[addressKey(p.ifname, p.prefix, lease.label)] : undefined;
        if (a) entries.push(a);
      }
      if (entries.length === 0) continue; // no prefix yet: the lease waits
      if (entries.some((a) => !a.usable && a.phase !== 'failed')) continue; // DAD still running somewhere
      if (entries.some((a) => a.usable)) {
        leaseTransition(this.#log, lease, 'ready', 'DAD finished');
        ctx.commands.push(this.#readyReport(s, lease.ifname, lease.label, lease.uid, entries));
      } else if (lease.phase === 'pending') {
        leaseTransition(this.#log, lease, 'failed', 'every address failed DAD');
        ctx.commands.push({
          type: 'report',
          report: {
            kind: 'lease-failed',
            ifname: lease.ifname,
            label: lease.label,
            uid: lease.uid,
            code: 'ERR_API_LEASE_FAILED',
            message: `no usable address for ${JSON.stringify(lease.label)} on ${lease.ifname}: DAD failed after every retry`,
          },
        });
      }
    }
  }

  // ---- Counters, timers, reports ------------------------------------------------------------------

  #retries(s: EngineState): number {
    return s.config?.idgenRetries ?? DEFAULT_IDGEN_RETRIES;
  }

  #idgenDelay(s: EngineState): number {
    return s.config?.idgenDelayMs ?? DEFAULT_IDGEN_DELAY_MS;
  }

  #storedCounter(s: EngineState, config: InterfaceConfig, prefix: string, label: string): number | undefined {
    const netIface = config.netIface ?? config.name;
    const networkId = (config.networkId ?? '').toLowerCase();
    const algorithm = config.algorithm ?? STABLE6_V1;
    return s.persisted.counters.find(
      (c) => c.algorithm === algorithm && c.prefix === prefix && c.netIface === netIface && c.networkId === networkId && c.label === label,
    )?.dadCounter;
  }

  /** The counter in use is persisted (spec "Retries"); 0 is the default and is not stored. */
  #setCounter(s: EngineState, a: AddressState): void {
    const config = this.#managedConfig(s, a.ifname);
    if (!config) return;
    const netIface = config.netIface ?? config.name;
    const networkId = (config.networkId ?? '').toLowerCase();
    const list = s.persisted.counters;
    const at = list.findIndex(
      (c) => c.algorithm === a.algorithm && c.prefix === a.prefix && c.netIface === netIface && c.networkId === networkId && c.label === a.label,
    );
    if (at >= 0 && list[at]!.dadCounter === a.dadCounter) return;
    if (at < 0 && a.dadCounter === 0) return;
    this.#dirty = true;
    if (at >= 0) list.splice(at, 1);
    if (a.dadCounter === 0) return;
    list.push({ algorithm: a.algorithm, prefix: a.prefix, netIface, networkId, label: a.label, dadCounter: a.dadCounter });
    // Bounded: the oldest entries go first.
    while (list.length > 4096) list.shift();
  }

  #wakeAt(s: EngineState, now: number): number | undefined {
    let best = Infinity;
    const consider = (at: number | null): void => {
      if (at !== null && at > now && at < best) best = at;
    };
    for (const p of Object.values(s.prefixes)) {
      consider(p.validUntilMs);
      if (p.phase === 'preferred') consider(p.preferredUntilMs);
      consider(p.refreshAtMs);
    }
    for (const key of Object.keys(s.waiting)) consider(s.addresses[key]?.retryAtMs ?? null);
    for (const gw of Object.values(s.gateways)) if (!gw.present) consider(gw.retryAtMs);
    for (const link of Object.values(s.links)) if (link.solicit) consider(link.solicitAtMs);
    if (best === Infinity) return undefined;
    // Node timers overflow past 2^31-1 ms: wake up then, find nothing due, and look again.
    return Math.min(best, now + MAX_TIMER_MS);
  }

  /** One `address-state` report per address whose visible state changed (for the API's event stream). */
  #reportAddressChanges(ctx: Ctx): void {
    for (const [a, before] of this.#touched) {
      const removed = ctx.s.addresses[addressKey(a.ifname, a.prefix, a.label)] !== a;
      if (removed) {
        // Gone from the status: say so for one that was shown with an address before this step.
        const [lastState, lastAddress] = (before ?? '').split(' ');
        if (lastAddress) {
          const key = leaseKey(a.ifname, a.label);
          const owner = a.label === '' ? undefined : (ctx.s.leases[key]?.uid ?? this.#releasedOwners.get(key));
          ctx.commands.push({
            type: 'report',
            report: {
              kind: 'address-removed',
              ifname: a.ifname,
              label: a.label,
              prefix: a.prefix,
              address: lastAddress,
              algorithm: a.algorithm,
              dadCounter: a.dadCounter,
              state: lastState as AddressStatusState,
              ...(owner === undefined ? {} : { owner }),
            },
          });
        }
        continue;
      }
      if (before === this.#visibleOf(a)) continue;
      ctx.commands.push({
        type: 'report',
        report: { kind: 'address-state', ifname: a.ifname, label: a.label, prefix: a.prefix, address: a.address, state: statusOfPhase(a.phase) },
      });
    }
  }
}
