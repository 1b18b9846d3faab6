/**
 * An in-memory IPv6 host stack that implements `Platform`, for stable6's own tests and for
 * applications' tests. Public API.
 *
 * It behaves like the Linux kernel where stable6 depends on the behaviour (see
 * shared/notes/linux-kernel-facts.md), on a virtual clock (`FakeClock`) so tests are
 * deterministic and never sleep:
 * - addresses count their lifetimes down; a preferred lifetime that ends deprecates the address,
 *   a valid lifetime that ends removes it (`address-removed`);
 * - DAD takes `dadDurationMs`; a duplicate (scripted with `scriptDad` or a neighbour made with
 *   `holdAddress`) removes an address with finite lifetimes with `flags.dadFailed`, and leaves a
 *   permanent one in place as `dadfailed tentative`, as Linux does;
 * - setting a link administratively down flushes its global addresses and its routes
 *   (`keep_addr_on_down=0`); link-local addresses are kept here for simplicity;
 * - with `autoconf` on, an injected Prefix Information Option makes the stack's own (EUI-64)
 *   address, not owned by stable6, as a kernel doing SLAAC would.
 *
 * Events are delivered synchronously, at the moment of the change, to every subscriber.
 * Every operation is also recorded (`operations`), and any add or delete that touched an address
 * stable6 did not own is listed in `foreignTouches`, so tests can assert "nothing not owned was
 * touched".
 */
import { Ipv6Address } from '../../core/address.js';
import { Ipv6Prefix } from '../../core/prefix.js';
import { Stable6Error } from '../../errors.js';
import {
  INFINITE_LIFETIME,
  STABLE6_PROTOCOL,
  addEachAddress,
  type AddAddressRequest,
  type AddressFlags,
  type AddressInfo,
  type DefaultRouteRequest,
  type DeleteAddressRequest,
  type InterfaceInfo,
  type InterfaceSettings,
  type Platform,
  type PlatformEvent,
  type PlatformListener,
  type PrefixReport,
  type RouteInfo,
} from '../platform.js';
import { FakeClock, type TimerHandle } from './fake-clock.js';

/** Linux `IFA_PROTO_KERNEL_RA`: what the kernel's own SLAAC tags its addresses with. */
const PROTO_KERNEL_RA = 2;
/** Linux `RTPROT_RA`: a default route learned from a Router Advertisement. */
const RTPROT_RA = 9;

export type FakeOperation =
  | 'addAddress'
  | 'deleteAddress'
  | 'addDefaultRoute'
  | 'deleteDefaultRoute'
  | 'setInterfaceSettings'
  | 'getInterfaceSettings'
  | 'sendRouterSolicitation'
  | 'listInterfaces'
  | 'listAddresses'
  | 'listDefaultRoutes';

export interface FakePlatformOptions {
  clock?: FakeClock;
  /** How long DAD takes for each address (Linux default: 1.1 to 2.0 s). */
  dadDurationMs?: number;
  /** Give each new interface a link-local address (not owned by stable6). Default true. */
  linkLocal?: boolean;
  /** Delay between a Router Solicitation and the scripted router's answer. */
  routerAnswerDelayMs?: number;
}

export interface AddInterfaceOptions {
  name: string;
  up?: boolean;
  running?: boolean;
  mtu?: number;
  hwAddress?: Uint8Array;
  permHwAddress?: Uint8Array;
  settings?: Partial<InterfaceSettings>;
}

export interface ForeignAddressOptions {
  prefixLength?: number;
  validLifetimeSec?: number;
  preferredLifetimeSec?: number;
  protocol?: number;
}

export interface OperationRecord {
  op: FakeOperation;
  ifindex?: number;
  address?: string;
  gateway?: string;
}

interface FakeInterface {
  info: InterfaceInfo;
  settings: InterfaceSettings;
  routerSolicitations: number;
  router?: Omit<PrefixReport, 'ifindex'>[];
}

interface FakeAddress {
  ifindex: number;
  address: Ipv6Address;
  prefixLength: number;
  validUntil: number;
  preferredUntil: number;
  flags: AddressFlags;
  protocol: number | undefined;
  /** Deprecation and expiry. */
  timers: TimerHandle[];
  /** DAD in progress; a replace (new lifetimes) leaves it running, as the kernel does. */
  dadTimer: TimerHandle | undefined;
}

interface FakeRoute {
  ifindex: number;
  gateway: Ipv6Address;
  metric: number;
  protocol: number;
  expiresAt: number;
}

interface ScriptedDad {
  outcome: 'pass' | 'duplicate';
  afterMs: number | undefined;
}

interface Snapshot {
  links: Map<number, string>;
  addresses: Map<string, { text: string; info: AddressInfo }>;
  routes: Map<string, RouteInfo>;
}

const DEFAULT_ROUTE = Ipv6Prefix.parse('::/0');

function noFlags(): AddressFlags {
  return {
    tentative: false,
    dadFailed: false,
    deprecated: false,
    optimistic: false,
    permanent: false,
    noDad: false,
    noPrefixRoute: false,
  };
}

function addressKey(ifindex: number, address: Ipv6Address | string): string {
  return `${ifindex} ${typeof address === 'string' ? Ipv6Address.parse(address).toString() : address.toString()}`;
}

function routeKey(ifindex: number, gateway: Ipv6Address, metric: number): string {
  return `${ifindex} ${gateway.toString()} ${metric}`;
}

function toAddress(value: Ipv6Address | string): Ipv6Address {
  return typeof value === 'string' ? Ipv6Address.parse(value) : value;
}

function lifetimeUntil(now: number, sec: number): number {
  return sec === INFINITE_LIFETIME ? Infinity : now + sec * 1000;
}

function lifetimeLeft(now: number, until: number): number {
  if (until === Infinity) return INFINITE_LIFETIME;
  return Math.max(0, Math.ceil((until - now) / 1000));
}

export class FakePlatform implements Platform {
  readonly kind = 'fake' as const;
  readonly clock: FakeClock;
  /** Every operation called, in order. */
  readonly operations: OperationRecord[] = [];
  /** Adds and deletes that touched an address stable6 did not own when they ran. */
  readonly foreignTouches: OperationRecord[] = [];

  readonly #dadDurationMs: number;
  readonly #linkLocal: boolean;
  readonly #routerAnswerDelayMs: number;
  #nextIndex = 2;
  #interfaces = new Map<number, FakeInterface>();
  #addresses = new Map<string, FakeAddress>();
  #routes = new Map<string, FakeRoute>();
  #listeners = new Set<PlatformListener>();
  #held = new Set<string>();
  #scripted = new Map<string, ScriptedDad[]>();
  #failures = new Map<FakeOperation, Error[]>();
  #lossSnapshot: Snapshot | undefined;
  #closed = false;

  constructor(options: FakePlatformOptions = {}) {
    this.clock = options.clock ?? new FakeClock();
    this.#dadDurationMs = options.dadDurationMs ?? 1000;
    this.#linkLocal = options.linkLocal ?? true;
    this.#routerAnswerDelayMs = options.routerAnswerDelayMs ?? 0;
  }

  // ---- Platform ---------------------------------------------------------------------------

  async listInterfaces(): Promise<InterfaceInfo[]> {
    this.#begin('listInterfaces', {});
    return [...this.#interfaces.values()].map((i) => copyLink(i.info));
  }

  async listAddresses(ifindex?: number): Promise<AddressInfo[]> {
    this.#begin('listAddresses', ifindex === undefined ? {} : { ifindex });
    return [...this.#addresses.values()]
      .filter((a) => ifindex === undefined || a.ifindex === ifindex)
      .map((a) => this.#addressInfo(a));
  }

  async addAddress(request: AddAddressRequest): Promise<void> {
    this.#begin('addAddress', { ifindex: request.ifindex, address: request.address.toString() });
    this.#addAddressNow(request, STABLE6_PROTOCOL);
  }

  addAddresses(requests: readonly AddAddressRequest[]): Promise<(Error | undefined)[]> {
    return addEachAddress((request) => this.addAddress(request), requests);
  }

  async deleteAddress(request: DeleteAddressRequest): Promise<void> {
    this.#begin('deleteAddress', { ifindex: request.ifindex, address: request.address.toString() });
    const key = addressKey(request.ifindex, request.address);
    const existing = this.#addresses.get(key);
    if (!existing) {
      throw new Stable6Error('ERR_FAKE_NOT_FOUND', `no address ${request.address.toString()} on interface ${request.ifindex}`);
    }
    if (existing.protocol !== STABLE6_PROTOCOL) this.foreignTouches.push(this.operations.at(-1)!);
    this.#removeAddress(key);
  }

  async listDefaultRoutes(ifindex?: number): Promise<RouteInfo[]> {
    this.#begin('listDefaultRoutes', ifindex === undefined ? {} : { ifindex });
    return [...this.#routes.values()].filter((r) => ifindex === undefined || r.ifindex === ifindex).map((r) => this.#routeInfo(r));
  }

  async addDefaultRoute(request: DefaultRouteRequest): Promise<void> {
    this.#begin('addDefaultRoute', { ifindex: request.ifindex, gateway: request.gateway.toString() });
    const link = this.#link(request.ifindex);
    if (!link.info.up) {
      // Linux refuses a route through a down device (ENETDOWN).
      throw new Stable6Error('ERR_FAKE_NOT_FOUND', `interface ${request.ifindex} is down: no route can go through it`);
    }
    const route: FakeRoute = {
      ifindex: request.ifindex,
      gateway: request.gateway,
      metric: request.metric ?? 1024,
      protocol: STABLE6_PROTOCOL,
      expiresAt: Infinity,
    };
    this.#routes.set(routeKey(route.ifindex, route.gateway, route.metric), route);
    this.#emit({ type: 'route-changed', route: this.#routeInfo(route) });
  }

  async deleteDefaultRoute(request: DefaultRouteRequest): Promise<void> {
    this.#begin('deleteDefaultRoute', { ifindex: request.ifindex, gateway: request.gateway.toString() });
    const key = routeKey(request.ifindex, request.gateway, request.metric ?? 1024);
    const route = this.#routes.get(key);
    if (!route) {
      throw new Stable6Error('ERR_FAKE_NOT_FOUND', `no default route via ${request.gateway.toString()} on interface ${request.ifindex}`);
    }
    if (route.protocol !== STABLE6_PROTOCOL) this.foreignTouches.push(this.operations.at(-1)!);
    this.#routes.delete(key);
    this.#emit({ type: 'route-removed', route: this.#routeInfo(route) });
  }

  async getInterfaceSettings(ifindex: number): Promise<InterfaceSettings> {
    this.#begin('getInterfaceSettings', { ifindex });
    return { ...this.#link(ifindex).settings };
  }

  async setInterfaceSettings(ifindex: number, settings: Partial<InterfaceSettings>): Promise<void> {
    this.#begin('setInterfaceSettings', { ifindex });
    const link = this.#link(ifindex);
    if (settings.autoconf !== undefined) link.settings.autoconf = settings.autoconf;
    if (settings.acceptRa !== undefined) link.settings.acceptRa = settings.acceptRa;
  }

  async sendRouterSolicitation(ifindex: number): Promise<void> {
    this.#begin('sendRouterSolicitation', { ifindex });
    const link = this.#link(ifindex);
    link.routerSolicitations++;
    const answer = link.router;
    if (answer && link.info.up) {
      this.clock.setTimeout(() => {
        const current = this.#interfaces.get(ifindex);
        if (!current || !current.info.up || this.#closed) return;
        for (const pio of answer) this.injectPrefix({ ...pio, ifindex });
      }, this.#routerAnswerDelayMs);
    }
  }

  subscribe(listener: PlatformListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const a of this.#addresses.values()) this.#clearTimers(a);
    this.#listeners.clear();
  }

  // ---- Test helpers: links ------------------------------------------------------------------

  /** A new interface; like Linux, a re-created interface gets a new index. */
  addInterface(options: AddInterfaceOptions): InterfaceInfo {
    const index = this.#nextIndex++;
    const info: InterfaceInfo = {
      index,
      name: options.name,
      up: options.up ?? true,
      running: options.running ?? options.up ?? true,
    };
    if (options.mtu !== undefined) info.mtu = options.mtu;
    if (options.hwAddress) info.hwAddress = Uint8Array.from(options.hwAddress);
    if (options.permHwAddress) info.permHwAddress = Uint8Array.from(options.permHwAddress);
    this.#interfaces.set(index, {
      info,
      settings: { autoconf: true, acceptRa: 1, ...options.settings },
      routerSolicitations: 0,
    });
    this.#emit({ type: 'link-changed', link: copyLink(info) });
    if (this.#linkLocal) {
      this.#addAddressNow(
        {
          ifindex: index,
          address: Ipv6Address.fromHalves(0xfe80n << 48n, this.#eui64(info)),
          prefixLength: 64,
          validLifetimeSec: INFINITE_LIFETIME,
          preferredLifetimeSec: INFINITE_LIFETIME,
          noDad: true,
        },
        undefined,
      );
    }
    return copyLink(info);
  }

  removeInterface(ifindex: number): void {
    const link = this.#link(ifindex);
    for (const [key, a] of this.#addresses) if (a.ifindex === ifindex) this.#removeAddress(key);
    this.#flushRoutes(ifindex);
    this.#interfaces.delete(ifindex);
    this.#emit({ type: 'link-removed', ifindex, name: link.info.name });
  }

  /**
   * Changes the link state. Administratively down flushes the interface's global addresses and
   * its routes (Linux with `keep_addr_on_down=0`); carrier loss (`running: false`) keeps them.
   * Coming back up restarts DAD for addresses still tentative.
   */
  setLink(ifindex: number, change: { up?: boolean; running?: boolean }): void {
    const link = this.#link(ifindex);
    const wasUp = link.info.up;
    if (change.up !== undefined) link.info.up = change.up;
    if (change.running !== undefined) link.info.running = change.running;
    if (change.up === false && change.running === undefined) link.info.running = false;
    if (change.up === true && change.running === undefined) link.info.running = true;
    // Linux sends RTM_NEWLINK first, then the RTM_DELADDRs of the flush (__dev_notify_flags).
    this.#emit({ type: 'link-changed', link: copyLink(link.info) });
    if (wasUp && !link.info.up) {
      for (const [key, a] of this.#addresses) {
        if (a.ifindex === ifindex && !a.address.isLinkLocal()) this.#removeAddress(key);
      }
      this.#flushRoutes(ifindex);
    }
    if (link.info.up && link.info.running) {
      for (const a of this.#addresses.values()) {
        if (a.ifindex === ifindex && a.flags.tentative && !a.flags.dadFailed && !a.dadTimer) this.#startDad(a);
      }
    }
  }

  setHwAddress(ifindex: number, hwAddress: Uint8Array): void {
    const link = this.#link(ifindex);
    link.info.hwAddress = Uint8Array.from(hwAddress);
    this.#emit({ type: 'link-changed', link: copyLink(link.info) });
  }

  /** The interface's IPv6 settings as they are now (what stable6 set or restored). */
  settingsOf(ifindex: number): InterfaceSettings {
    return { ...this.#link(ifindex).settings };
  }

  routerSolicitations(ifindex: number): number {
    return this.#link(ifindex).routerSolicitations;
  }

  /**
   * A router on the link that answers each Router Solicitation with these Prefix Information
   * Options (after `routerAnswerDelayMs` on the fake clock). `undefined` removes the router.
   */
  setRouter(ifindex: number, prefixes: Omit<PrefixReport, 'ifindex'>[] | undefined): void {
    const link = this.#link(ifindex);
    if (prefixes) link.router = prefixes.map((p) => ({ ...p }));
    else delete link.router;
  }

  // ---- Test helpers: prefixes, addresses, routes ---------------------------------------------

  /** As if a Router Advertisement with this Prefix Information Option arrived. */
  injectPrefix(report: PrefixReport): void {
    const link = this.#link(report.ifindex);
    this.#emit({ type: 'prefix-received', prefix: { ...report } });
    // The stack's own SLAAC (RFC 4862 §5.5.3), only when stable6 has not turned it off.
    if (link.settings.autoconf && report.autonomous && report.prefixLength === 64 && report.validLifetimeSec > 0) {
      const prefix = Ipv6Prefix.containing(report.prefix, 64);
      if (prefix.address.isLinkLocal()) return;
      this.addForeignAddress(report.ifindex, Ipv6Address.fromHalves(prefix.high64, this.#eui64(link.info)), {
        validLifetimeSec: report.validLifetimeSec,
        preferredLifetimeSec: report.preferredLifetimeSec,
        protocol: PROTO_KERNEL_RA,
      });
    }
  }

  /** An address stable6 does not own (added by an administrator or another program); no DAD. */
  addForeignAddress(ifindex: number, address: Ipv6Address | string, options: ForeignAddressOptions = {}): void {
    this.#addAddressNow(
      {
        ifindex,
        address: toAddress(address),
        prefixLength: options.prefixLength ?? 64,
        validLifetimeSec: options.validLifetimeSec ?? INFINITE_LIFETIME,
        preferredLifetimeSec: options.preferredLifetimeSec ?? INFINITE_LIFETIME,
        noDad: true,
      },
      options.protocol,
    );
  }

  /** A default route learned from a Router Advertisement (not owned by stable6). */
  addRaDefaultRoute(ifindex: number, gateway: Ipv6Address | string, lifetimeSec = 1800): void {
    this.#link(ifindex);
    const route: FakeRoute = {
      ifindex,
      gateway: toAddress(gateway),
      metric: 1024,
      protocol: RTPROT_RA,
      expiresAt: lifetimeUntil(this.clock.now(), lifetimeSec),
    };
    this.#routes.set(routeKey(ifindex, route.gateway, route.metric), route);
    this.#emit({ type: 'route-changed', route: this.#routeInfo(route) });
  }

  /** `ip addr del` by hand: the address goes, owned or not. */
  deleteAddressByHand(ifindex: number, address: Ipv6Address | string): void {
    const key = addressKey(ifindex, address);
    if (!this.#addresses.has(key)) throw new Stable6Error('ERR_FAKE_NOT_FOUND', `no address ${String(address)} on interface ${ifindex}`);
    this.#removeAddress(key);
  }

  /** `ip route del default` by hand. */
  deleteRouteByHand(ifindex: number, gateway: Ipv6Address | string, metric = 1024): void {
    const key = routeKey(ifindex, toAddress(gateway), metric);
    const route = this.#routes.get(key);
    if (!route) throw new Stable6Error('ERR_FAKE_NOT_FOUND', `no default route via ${String(gateway)} on interface ${ifindex}`);
    this.#routes.delete(key);
    this.#emit({ type: 'route-removed', route: this.#routeInfo(route) });
  }

  /** A neighbour on the link holds `address`: every DAD for it on `ifindex` finds a duplicate. */
  holdAddress(ifindex: number, address: Ipv6Address | string): void {
    this.#held.add(addressKey(ifindex, address));
  }

  releaseHeldAddress(ifindex: number, address: Ipv6Address | string): void {
    this.#held.delete(addressKey(ifindex, address));
  }

  /** The outcome of the next DAD for `address` (on any interface), and optionally its duration. */
  scriptDad(address: Ipv6Address | string, outcome: 'pass' | 'duplicate', afterMs?: number): void {
    const key = toAddress(address).toString();
    const queue = this.#scripted.get(key) ?? [];
    queue.push({ outcome, afterMs });
    this.#scripted.set(key, queue);
  }

  /** The next call of `operation` fails with `error` (default: an ERR_FAKE_INJECTED error). */
  failNext(operation: FakeOperation, error?: Error): void {
    const queue = this.#failures.get(operation) ?? [];
    queue.push(error ?? new Stable6Error('ERR_FAKE_INJECTED', `scripted failure of ${operation}`));
    this.#failures.set(operation, queue);
  }

  /**
   * Everything on every interface is gone at once (a Windows stack reset, a driver reload).
   * With `lossy`, the notifications are lost and the fake reports a resync instead (as after
   * an `ENOBUFS`).
   */
  stackReset(options: { lossy?: boolean } = {}): void {
    if (options.lossy) this.beginEventLoss();
    for (const key of [...this.#addresses.keys()]) this.#removeAddress(key);
    for (const ifindex of this.#interfaces.keys()) this.#flushRoutes(ifindex);
    if (options.lossy) this.endEventLoss();
  }

  /** From now on notifications are lost, as when a netlink socket's receive buffer overruns. */
  beginEventLoss(): void {
    if (!this.#lossSnapshot) this.#lossSnapshot = this.#snapshot();
  }

  /**
   * The backend notices the loss, re-lists everything and reports what changed since the loss
   * began as ordinary events, then `resynced`.
   */
  endEventLoss(): void {
    const before = this.#lossSnapshot;
    if (!before) return;
    this.#lossSnapshot = undefined;
    const after = this.#snapshot();
    for (const [index, name] of before.links) {
      if (!after.links.has(index)) this.#emit({ type: 'link-removed', ifindex: index, name });
    }
    for (const [index, text] of after.links) {
      if (before.links.get(index) !== text) this.#emit({ type: 'link-changed', link: copyLink(this.#interfaces.get(index)!.info) });
    }
    for (const [key, old] of before.addresses) {
      if (!after.addresses.has(key)) this.#emit({ type: 'address-removed', address: old.info });
    }
    for (const [key, { text }] of after.addresses) {
      if (before.addresses.get(key)?.text !== text) this.#emit({ type: 'address-changed', address: this.#addressInfo(this.#addresses.get(key)!) });
    }
    for (const [key, route] of before.routes) {
      if (!after.routes.has(key)) this.#emit({ type: 'route-removed', route });
    }
    for (const [key, route] of after.routes) {
      if (!before.routes.has(key)) this.#emit({ type: 'route-changed', route });
    }
    this.#emit({ type: 'resynced' });
  }

  // ---- Internals ------------------------------------------------------------------------------

  #begin(op: FakeOperation, record: Omit<OperationRecord, 'op'>): void {
    if (this.#closed) throw new Stable6Error('ERR_FAKE_CLOSED', `the fake platform is closed (${op})`);
    this.operations.push({ op, ...record });
    const queue = this.#failures.get(op);
    const failure = queue?.shift();
    if (failure) throw failure;
  }

  #link(ifindex: number): FakeInterface {
    const link = this.#interfaces.get(ifindex);
    if (!link) throw new Stable6Error('ERR_PLATFORM_INTERFACE', `no interface with index ${ifindex}`);
    return link;
  }

  #addAddressNow(request: AddAddressRequest, protocol: number | undefined): void {
    this.#link(request.ifindex);
    const now = this.clock.now();
    const key = addressKey(request.ifindex, request.address);
    const existing = this.#addresses.get(key);
    const validUntil = lifetimeUntil(now, request.validLifetimeSec);
    const preferredUntil = Math.min(validUntil, lifetimeUntil(now, request.preferredLifetimeSec));
    if (request.validLifetimeSec === 0) {
      // Linux refuses a valid lifetime of 0 for a new address and deletes an existing one.
      if (existing) this.#removeAddress(key);
      return;
    }
    if (existing) {
      if (protocol === STABLE6_PROTOCOL && existing.protocol !== STABLE6_PROTOCOL) this.foreignTouches.push(this.operations.at(-1)!);
      // Replace: lifetimes and tag change; DAD state stays as it is.
      this.#clearLifetimeTimers(existing);
      existing.validUntil = validUntil;
      existing.preferredUntil = preferredUntil;
      existing.protocol = protocol;
      existing.flags.permanent = validUntil === Infinity;
      existing.flags.deprecated = preferredUntil <= now;
      existing.flags.noPrefixRoute = request.noPrefixRoute ?? false;
      this.#armLifetimeTimers(existing);
      this.#emit({ type: 'address-changed', address: this.#addressInfo(existing) });
      return;
    }
    const entry: FakeAddress = {
      ifindex: request.ifindex,
      address: request.address,
      prefixLength: request.prefixLength,
      validUntil,
      preferredUntil,
      protocol,
      timers: [],
      dadTimer: undefined,
      flags: {
        ...noFlags(),
        tentative: !request.noDad,
        optimistic: !request.noDad && (request.optimistic ?? false),
        noDad: request.noDad ?? false,
        noPrefixRoute: request.noPrefixRoute ?? false,
        permanent: validUntil === Infinity,
        deprecated: preferredUntil <= now,
      },
    };
    this.#addresses.set(key, entry);
    this.#armLifetimeTimers(entry);
    this.#emit({ type: 'address-changed', address: this.#addressInfo(entry) });
    const link = this.#interfaces.get(request.ifindex)!;
    if (entry.flags.tentative && link.info.up && link.info.running) this.#startDad(entry);
  }

  #startDad(entry: FakeAddress): void {
    const text = entry.address.toString();
    const scripted = this.#scripted.get(text)?.shift();
    const duration = scripted?.afterMs ?? this.#dadDurationMs;
    entry.dadTimer = this.clock.setTimeout(() => {
      entry.dadTimer = undefined;
      const key = addressKey(entry.ifindex, entry.address);
      if (this.#addresses.get(key) !== entry) return;
      const duplicate = scripted ? scripted.outcome === 'duplicate' : this.#held.has(key);
      if (!duplicate) {
        entry.flags.tentative = false;
        entry.flags.optimistic = false;
        this.#emit({ type: 'address-changed', address: this.#addressInfo(entry) });
        return;
      }
      entry.flags.dadFailed = true;
      entry.flags.optimistic = false;
      if (entry.validUntil === Infinity) {
        // Linux keeps a permanent duplicate as "dadfailed tentative".
        this.#emit({ type: 'address-changed', address: this.#addressInfo(entry) });
      } else {
        this.#removeAddress(key);
      }
    }, duration);
  }

  #armLifetimeTimers(entry: FakeAddress): void {
    const now = this.clock.now();
    if (entry.preferredUntil !== Infinity && entry.preferredUntil > now && entry.preferredUntil < entry.validUntil) {
      const handle = this.clock.setTimeout(() => {
        entry.timers = entry.timers.filter((t) => t !== handle);
        entry.flags.deprecated = true;
        this.#emit({ type: 'address-changed', address: this.#addressInfo(entry) });
      }, entry.preferredUntil - now);
      entry.timers.push(handle);
    }
    if (entry.validUntil !== Infinity) {
      const handle = this.clock.setTimeout(() => {
        entry.timers = entry.timers.filter((t) => t !== handle);
        this.#removeAddress(addressKey(entry.ifindex, entry.address));
      }, entry.validUntil - now);
      entry.timers.push(handle);
    }
  }

  #clearLifetimeTimers(entry: FakeAddress): void {
    for (const t of entry.timers) this.clock.clearTimeout(t);
    entry.timers = [];
  }

  #clearTimers(entry: FakeAddress): void {
    this.#clearLifetimeTimers(entry);
    if (entry.dadTimer) this.clock.clearTimeout(entry.dadTimer);
    entry.dadTimer = undefined;
  }

  #removeAddress(key: string): void {
    const entry = this.#addresses.get(key);
    if (!entry) return;
    this.#clearTimers(entry);
    this.#addresses.delete(key);
    this.#emit({ type: 'address-removed', address: this.#addressInfo(entry) });
  }

  #flushRoutes(ifindex: number): void {
    for (const [key, route] of this.#routes) {
      if (route.ifindex !== ifindex) continue;
      this.#routes.delete(key);
      this.#emit({ type: 'route-removed', route: this.#routeInfo(route) });
    }
  }

  #addressInfo(a: FakeAddress): AddressInfo {
    const now = this.clock.now();
    const info: AddressInfo = {
      ifindex: a.ifindex,
      address: a.address,
      prefixLength: a.prefixLength,
      validLifetimeSec: lifetimeLeft(now, a.validUntil),
      preferredLifetimeSec: lifetimeLeft(now, a.preferredUntil),
      flags: { ...a.flags },
      owned: a.protocol === STABLE6_PROTOCOL,
    };
    if (a.protocol !== undefined) info.protocol = a.protocol;
    return info;
  }

  #routeInfo(r: FakeRoute): RouteInfo {
    return {
      ifindex: r.ifindex,
      destination: DEFAULT_ROUTE,
      gateway: r.gateway,
      metric: r.metric,
      protocol: r.protocol,
      expiresSec: lifetimeLeft(this.clock.now(), r.expiresAt),
      owned: r.protocol === STABLE6_PROTOCOL,
    };
  }

  #eui64(info: InterfaceInfo): bigint {
    const mac = info.hwAddress;
    if (!mac || mac.length !== 6) return BigInt(info.index);
    const bytes = [mac[0]! ^ 0x02, mac[1]!, mac[2]!, 0xff, 0xfe, mac[3]!, mac[4]!, mac[5]!];
    return bytes.reduce((v, b) => (v << 8n) | BigInt(b), 0n);
  }

  #snapshot(): Snapshot {
    const links = new Map<number, string>();
    for (const [index, link] of this.#interfaces) links.set(index, JSON.stringify({ ...link.info, hwAddress: [...(link.info.hwAddress ?? [])], permHwAddress: [...(link.info.permHwAddress ?? [])] }));
    const addresses = new Map<string, { text: string; info: AddressInfo }>();
    for (const [key, a] of this.#addresses) {
      const text = JSON.stringify({ flags: a.flags, protocol: a.protocol ?? null, length: a.prefixLength });
      addresses.set(key, { text, info: this.#addressInfo(a) });
    }
    const routes = new Map<string, RouteInfo>();
    for (const [key, r] of this.#routes) routes.set(key, this.#routeInfo(r));
    return { links, addresses, routes };
  }

  #emit(event: PlatformEvent): void {
    if (this.#lossSnapshot || this.#closed) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        // A listener's bug must not corrupt the fake's state; surface it as an uncaught error.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

function copyLink(info: InterfaceInfo): InterfaceInfo {
  const copy: InterfaceInfo = { ...info };
  if (info.hwAddress) copy.hwAddress = Uint8Array.from(info.hwAddress);
  if (info.permHwAddress) copy.permHwAddress = Uint8Array.from(info.permHwAddress);
  return copy;
}
