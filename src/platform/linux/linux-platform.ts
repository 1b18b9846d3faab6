/**
 * The Linux Platform: rtnetlink in-process, event-driven.
 *
 * Requests go over one netlink socket (NetlinkClient); notifications arrive on a second,
 * subscribed to the link, IPv6 address, IPv6 route, prefix and ND user-option groups. The
 * backend keeps the last known links, addresses and default routes, so that when the kernel
 * drops notifications (ENOBUFS) it can list everything again and report only what changed,
 * then `resynced` (DESIGN.md: "never deletes something merely because a partial view lacks it").
 *
 * Settings are read and written under /proc/sys/net/ipv6/conf/<ifname>/ of the namespace the
 * process runs in.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Stable6Error } from '../../errors.js';
import {
  AF_INET6,
  AF_UNSPEC,
  IFA_ADDRESS,
  IFA_CACHEINFO,
  IFA_FLAGS,
  IFA_PROTO,
  IFA_F_NODAD,
  IFA_F_NOPREFIXROUTE,
  IFA_F_OPTIMISTIC,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELROUTE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNDUSEROPT,
  RTM_NEWPREFIX,
  RTM_NEWROUTE,
  RTN_UNICAST,
  RTNLGRP_IPV6_IFADDR,
  RTNLGRP_IPV6_PREFIX,
  RTNLGRP_IPV6_ROUTE,
  RTNLGRP_LINK,
  RTNLGRP_ND_USEROPT,
  checkNetlinkBody,
  writeU16,
  writeU32,
  decodeNetlinkMessage,
  decodeNetlinkMessages,
  scanNetlinkMessages,
  type AddressAttribute,
  type NetlinkMessage,
  type RouteAttribute,
} from '../../codec/netlink/index.js';
import {
  INFINITE_LIFETIME,
  STABLE6_PROTOCOL,
  type AddAddressRequest,
  type AddressInfo,
  type DefaultRouteRequest,
  type DeleteAddressRequest,
  type InterfaceInfo,
  type InterfaceSettings,
  type Platform,
  type PlatformEvent,
  type PlatformListener,
  type RouteInfo,
} from '../platform.js';
import {
  addressInfo,
  addressInfoAt,
  addressKey,
  defaultRoutes,
  linkInfo,
  ndUserOptionReport,
  prefixReport,
  routeKey,
  sameAddress,
  sameLink,
  sameRoute,
} from './convert.js';
import { NetlinkClient, type NetlinkRequest } from './netlink-client.js';
import { dialKernel } from './netlink-socket.js';
import type { NetlinkDialer, NetlinkTransport } from './netlink-transport.js';
import { sendRouterSolicitationRaw, type RouterSolicitationSender } from './router-solicitation.js';

export interface LinuxPlatformOptions {
  /** How to open netlink sockets: the kernel by default; a FakeNetlink's `dial` in tests. */
  dial?: NetlinkDialer;
  /** SO_RCVBUF of the event socket (default 8 MiB); tests make it tiny to force ENOBUFS. */
  eventReceiveBufferBytes?: number;
  /**
   * Requests per datagram in addAddresses (default 4). The kernel handles a datagram without
   * yielding its CPU (this kernel is built non-preemptible), and its time per address grows
   * with the table: small datagrams keep that span short.
   */
  batchSize?: number;
  /**
   * Requests handed to the kernel in one off-loop call in addAddresses (default 32, as
   * datagrams of `batchSize` through sendmmsg): fewer hand-offs to the thread pool and fewer
   * event-loop wake-ups, since their ACKs are read together.
   */
  requestsPerSend?: number;
  /** Where the per-interface sysctls live (default /proc/sys/net/ipv6/conf). */
  sysctlRoot?: string;
  /** Sends a Router Solicitation; the raw ICMPv6 socket by default. */
  sendRouterSolicitation?: RouterSolicitationSender;
  /** Where a listener's exception goes (default: rethrown on a later tick, like an EventEmitter's). */
  onListenerError?: (error: unknown) => void;
}

const DEFAULT_BATCH = 4;
const DEFAULT_REQUESTS_PER_SEND = 32;
/** Sends of addAddresses queued at once: the next is ready when the kernel finishes one. */
const SENDS_IN_FLIGHT = 2;
/** The most event-loop time one chunk's encoding should take (ms). */
const ENCODE_SLICE_MS = 1;

const EVENT_GROUPS = [RTNLGRP_LINK, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV6_PREFIX, RTNLGRP_ND_USEROPT];

interface Snapshot {
  links: Map<number, InterfaceInfo>;
  addresses: Map<string, AddressInfo>;
  routes: Map<string, RouteInfo>;
  atMs: number;
}

function ifaddrBody(ifindex: number, prefixLength: number, attributes: AddressAttribute[]) {
  return { kind: 'address' as const, family: AF_INET6, prefixLength, flags: 0, scope: RT_SCOPE_UNIVERSE, index: ifindex, attributes };
}

function checkLifetimes(r: AddAddressRequest): void {
  const ok = (n: number) => Number.isInteger(n) && n >= 0 && n <= INFINITE_LIFETIME;
  if (!ok(r.validLifetimeSec) || !ok(r.preferredLifetimeSec) || r.preferredLifetimeSec > r.validLifetimeSec) {
    throw new Stable6Error('ERR_NETLINK_ENCODE', `lifetimes must be 0..0xffffffff seconds with preferred ≤ valid, got valid ${r.validLifetimeSec} preferred ${r.preferredLifetimeSec}`);
  }
}

export function addAddressRequest(r: AddAddressRequest): NetlinkRequest {
  checkLifetimes(r);
  let flags = 0;
  if (r.noDad) flags |= IFA_F_NODAD;
  if (r.optimistic) flags |= IFA_F_OPTIMISTIC;
  if (r.noPrefixRoute) flags |= IFA_F_NOPREFIXROUTE;
  return {
    type: RTM_NEWADDR,
    // REPLACE: an existing address gets the new lifetimes and flags (no delete-and-re-add, connections live on).
    flags: NLM_F_CREATE | NLM_F_REPLACE,
    body: ifaddrBody(r.ifindex, r.prefixLength, [
      { kind: 'address', value: r.address.toBytes() },
      { kind: 'cacheinfo', value: { preferredSec: r.preferredLifetimeSec, validSec: r.validLifetimeSec, createdCs: 0, updatedCs: 0 } },
      { kind: 'flags', value: flags },
      { kind: 'proto', value: STABLE6_PROTOCOL },
    ]),
  };
}

/**
 * The payload of addAddressRequest(r) (ifaddrmsg, IFA_ADDRESS, IFA_CACHEINFO, IFA_FLAGS,
 * IFA_PROTO), the same bytes written straight into one array: addAddresses encodes thousands,
 * on the event loop, and the first of them run as cold code, where the generic encoder's calls
 * and intermediate arrays cost many times more. A property test holds the two equal.
 */
export function addAddressPayload(r: AddAddressRequest): Uint8Array {
  checkLifetimes(r);
  let flags = 0;
  if (r.noDad) flags |= IFA_F_NODAD;
  if (r.optimistic) flags |= IFA_F_OPTIMISTIC;
  if (r.noPrefixRoute) flags |= IFA_F_NOPREFIXROUTE;
  const out = new Uint8Array(64);
  out[0] = AF_INET6;
  out[1] = r.prefixLength & 0xff;
  out[3] = RT_SCOPE_UNIVERSE;
  writeU32(out, 4, r.ifindex >>> 0);
  // IFA_ADDRESS, 4 + 16 bytes
  writeU16(out, 8, 20);
  writeU16(out, 10, IFA_ADDRESS);
  r.address.copyTo(out, 12);
  // IFA_CACHEINFO, 4 + 16 bytes: preferred, valid, created 0, updated 0
  writeU16(out, 28, 20);
  writeU16(out, 30, IFA_CACHEINFO);
  writeU32(out, 32, r.preferredLifetimeSec);
  writeU32(out, 36, r.validLifetimeSec);
  // IFA_FLAGS, 4 + 4 bytes
  writeU16(out, 48, 8);
  writeU16(out, 50, IFA_FLAGS);
  writeU32(out, 52, flags);
  // IFA_PROTO, 4 + 1 bytes, padded to 8
  writeU16(out, 56, 5);
  writeU16(out, 58, IFA_PROTO);
  out[60] = STABLE6_PROTOCOL;
  return out;
}

function routeRequest(type: number, flags: number, r: DefaultRouteRequest): NetlinkRequest {
  const attributes: RouteAttribute[] = [
    { kind: 'gateway', value: r.gateway.toBytes() },
    { kind: 'oif', value: r.ifindex },
    { kind: 'priority', value: r.metric ?? DEFAULT_ROUTE_METRIC },
  ];
  return {
    type,
    flags,
    body: {
      kind: 'route',
      family: AF_INET6,
      dstLength: 0,
      srcLength: 0,
      tos: 0,
      table: RT_TABLE_MAIN,
      // On delete the kernel matches the protocol too, so stable6 never deletes a route it does not own.
      protocol: STABLE6_PROTOCOL,
      scope: RT_SCOPE_UNIVERSE,
      routeType: RTN_UNICAST,
      flags: 0,
      attributes,
    },
  };
}

/** The kernel's own default metric for IPv6 routes (IP6_RT_PRIO_USER). */
export const DEFAULT_ROUTE_METRIC = 1024;

export class LinuxPlatform implements Platform {
  readonly kind = 'linux' as const;
  readonly #options: LinuxPlatformOptions;
  readonly #dial: NetlinkDialer;
  readonly #client: NetlinkClient;
  readonly #listeners = new Set<PlatformListener>();
  #events: NetlinkTransport | undefined;
  #state: Snapshot | undefined;
  /** Notifications that arrive while a (re)sync dump runs: applied after it, in order. */
  #queue: NetlinkMessage[] | undefined;
  #syncing = false;
  #resyncAgain = false;
  #reportSync = false;
  #closed = false;
  #batchSize: number;
  #requestsPerSend: number;
  /** Keys of addresses notified while an optimistic read-back runs (#reportOptimistic). */
  readonly #touched = new Set<Set<string>>();

  constructor(options: LinuxPlatformOptions = {}) {
    this.#options = options;
    this.#batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH);
    this.#requestsPerSend = Math.max(this.#batchSize, options.requestsPerSend ?? DEFAULT_REQUESTS_PER_SEND);
    this.#dial = options.dial ?? dialKernel;
    this.#client = new NetlinkClient(this.#dial);
  }

  // ------------------------------------------------------------------ reads

  async listInterfaces(): Promise<InterfaceInfo[]> {
    const replies = await this.#client.dump('list interfaces', RTM_GETLINK, {
      kind: 'link',
      family: AF_UNSPEC,
      linkType: 0,
      index: 0,
      flags: 0,
      change: 0,
      attributes: [],
    });
    return replies.flatMap((m) => (m.body.kind === 'link' && m.header.type === RTM_NEWLINK ? [linkInfo(m.body)] : []));
  }

  async #link(ifindex: number, operation: string): Promise<InterfaceInfo> {
    let replies: NetlinkMessage[];
    try {
      replies = await this.#client.request(operation, {
        type: RTM_GETLINK,
        flags: 0,
        body: { kind: 'link', family: AF_UNSPEC, linkType: 0, index: ifindex, flags: 0, change: 0, attributes: [] },
      });
    } catch (error) {
      if (error instanceof Stable6Error && error.details.errno === 'ENODEV') {
        throw new Stable6Error('ERR_PLATFORM_INTERFACE', `${operation}: no interface with index ${ifindex}`, { cause: error, details: { ifindex } });
      }
      throw error;
    }
    const link = replies.find((m) => m.body.kind === 'link');
    if (!link || link.body.kind !== 'link') throw new Stable6Error('ERR_PLATFORM_INTERFACE', `${operation}: no interface with index ${ifindex}`, { details: { ifindex } });
    return linkInfo(link.body);
  }

  async listAddresses(ifindex?: number): Promise<AddressInfo[]> {
    // Raw: the parts stay bytes until the dump ends, then become AddressInfo in one pass with no
    // intermediate objects (a 10,000-address dump decoded eagerly was mostly garbage collection).
    const dump = await this.#client.dumpRaw('list addresses', RTM_GETADDR, ifaddrBody(0, 0, []));
    const out: AddressInfo[] = [];
    for (const datagram of dump.datagrams) {
      scanNetlinkMessages(datagram, (type, _flags, seq, _pid, start, end) => {
        if (seq !== dump.seq || type !== RTM_NEWADDR) return;
        const info = addressInfoAt(datagram, start, end);
        if (info && (ifindex === undefined || info.ifindex === ifindex)) out.push(info);
      });
    }
    return out;
  }

  async listDefaultRoutes(ifindex?: number): Promise<RouteInfo[]> {
    const replies = await this.#client.dump('list default routes', RTM_GETROUTE, {
      kind: 'route',
      family: AF_INET6,
      dstLength: 0,
      srcLength: 0,
      tos: 0,
      table: 0,
      protocol: 0,
      scope: 0,
      routeType: 0,
      flags: 0,
      attributes: [],
    });
    return replies
      .flatMap((m) => (m.body.kind === 'route' && m.header.type === RTM_NEWROUTE ? defaultRoutes(m.body) : []))
      .filter((r) => ifindex === undefined || r.ifindex === ifindex);
  }

  // ------------------------------------------------------------------ writes

  async addAddress(request: AddAddressRequest): Promise<void> {
    const [outcome] = await this.addAddresses([request]);
    if (outcome) throw outcome;
  }

  async addAddresses(requests: readonly AddAddressRequest[]): Promise<(Error | undefined)[]> {
    const results = new Array<Error | undefined>(requests.length).fill(undefined);
    const inFlight: Promise<void>[] = [];
    // The first sends are small and grow: they run cold (unoptimized) code, whose cost per
    // request is many times the warm one, and each send's encoding runs on the event loop.
    let size = this.#batchSize;
    for (let i = 0; i < requests.length; ) {
      const first = i;
      const chunk = requests.slice(i, i + size);
      i += chunk.length;
      const encodeStart = performance.now();
      const encoded: (NetlinkRequest | Error)[] = chunk.map((r) => {
        try {
          // The same request as addAddressRequest(r), its payload pre-encoded (a raw body).
          return { type: RTM_NEWADDR, flags: NLM_F_CREATE | NLM_F_REPLACE, body: { kind: 'raw' as const, bytes: addAddressPayload(r) } };
        } catch (error) {
          return error as Error;
        }
      });
      const valid = encoded.filter((e): e is NetlinkRequest => !(e instanceof Error));
      // Off the loop: the kernel's time per address grows with the table (notes), and spikes.
      const outcomes = valid.length > 0 ? this.#client.batch('add address', valid, true, this.#batchSize) : Promise.resolve([]);
      inFlight.push(
        outcomes.then((list) => {
          let next = 0;
          chunk.forEach((r, j) => {
            const e = encoded[j];
            if (e instanceof Error) return (results[first + j] = e);
            const outcome = list[next++];
            if (!outcome || outcome.ok) return undefined;
            const operation = `add address ${r.address.toString()}/${r.prefixLength} on ifindex ${r.ifindex}`;
            const { details } = outcome.error;
            return (results[first + j] = new Stable6Error(outcome.error.code, outcome.error.message.replace(/^add address/, operation), {
              cause: outcome.error.cause,
              details: { ...details, operation },
            }));
          });
        }),
      );
      // Each chunk is encoded in one go on the event loop: its size follows the time that takes
      // (small while the code is cold, up to requestsPerSend once it is warm).
      const encodeMs = performance.now() - encodeStart;
      if (encodeMs > ENCODE_SLICE_MS) size = Math.max(this.#batchSize, size >> 1);
      else if (encodeMs < ENCODE_SLICE_MS / 4) size = Math.min(size * 2, this.#requestsPerSend);
      // The next chunk is encoded while the kernel works on this one, never more than a few ahead.
      if (inFlight.length >= SENDS_IN_FLIGHT) await inFlight.shift();
    }
    await Promise.all(inFlight);
    await this.#reportOptimistic(requests.filter((r, n) => r.optimistic && results[n] === undefined));
    return results;
  }

  /**
   * Linux does not announce an address added with IFA_F_OPTIMISTIC until its DAD ends, unless
   * `use_optimistic` is set: inet6_addr_add() skips its RTM_NEWADDR for optimistic addresses and
   * addrconf_dad_begin() sends one only if ipv6_use_optimistic_addr(). Yet the address can be
   * bound at once (__ipv6_chk_addr_and_flags() does not count an optimistic address as
   * tentative), which is the point of RFC 4429. Without a report our listeners would wait for
   * the whole DAD; so the added addresses are read back and the optimistic ones reported here.
   * A notification about one of them that is applied while we read is newer than what we read:
   * then ours is dropped. An address known already and past DAD (a refresh) is not read back.
   * (test/integration/lease-optimistic.test.ts fails without this.)
   */
  async #reportOptimistic(added: readonly AddAddressRequest[]): Promise<void> {
    if (!this.#events || this.#closed) return;
    const keys = new Set(added.filter((r) => this.#state?.addresses.get(addressKey(r))?.flags.tentative !== false).map((r) => addressKey(r)));
    if (keys.size === 0) return;
    const touched = new Set<string>();
    this.#touched.add(touched);
    let listed: AddressInfo[];
    try {
      listed = await this.listAddresses();
    } catch {
      return; // the DAD-finished notification still comes
    } finally {
      this.#touched.delete(touched);
    }
    for (const address of listed) {
      const key = addressKey(address);
      if (!keys.has(key) || touched.has(key) || !address.flags.optimistic || !address.flags.tentative) continue;
      this.#state?.addresses.set(key, address);
      this.#emit({ type: 'address-changed', address });
    }
  }

  async deleteAddress(request: DeleteAddressRequest): Promise<void> {
    await this.#client.request(`delete address ${request.address.toString()}/${request.prefixLength} on ifindex ${request.ifindex}`, {
      type: RTM_DELADDR,
      flags: 0,
      body: ifaddrBody(request.ifindex, request.prefixLength, [{ kind: 'address', value: request.address.toBytes() }]),
    });
  }

  async addDefaultRoute(request: DefaultRouteRequest): Promise<void> {
    const operation = `add default route via ${request.gateway.toString()} on ifindex ${request.ifindex}`;
    try {
      // EXCL, not REPLACE: IPv6 REPLACE would take over a route with the same metric that someone
      // else owns (an RA's), and a plain add refreshes an existing RA route's expiry.
      await this.#client.request(operation, routeRequest(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, request));
    } catch (error) {
      if (!(error instanceof Stable6Error) || error.details.errno !== 'EEXIST') throw error;
      const metric = request.metric ?? DEFAULT_ROUTE_METRIC;
      const existing = (await this.listDefaultRoutes(request.ifindex)).find((r) => r.metric === metric && r.gateway?.equals(request.gateway));
      if (!existing?.owned) throw error; // someone else's route with the same next hop and metric
    }
  }

  async deleteDefaultRoute(request: DefaultRouteRequest): Promise<void> {
    await this.#client.request(`delete default route via ${request.gateway.toString()} on ifindex ${request.ifindex}`, routeRequest(RTM_DELROUTE, 0, request));
  }

  // ------------------------------------------------------------------ settings

  async #sysctlPath(ifindex: number, key: string, operation: string): Promise<string> {
    const link = await this.#link(ifindex, operation);
    return path.join(this.#options.sysctlRoot ?? '/proc/sys/net/ipv6/conf', link.name, key);
  }

  async getInterfaceSettings(ifindex: number): Promise<InterfaceSettings> {
    const operation = `read IPv6 settings of ifindex ${ifindex}`;
    const read = async (key: string): Promise<number> => {
      const file = await this.#sysctlPath(ifindex, key, operation);
      try {
        const value = Number.parseInt((await readFile(file, 'utf8')).trim(), 10);
        if (!Number.isInteger(value)) throw new Error(`not a number in ${file}`);
        return value;
      } catch (error) {
        throw new Stable6Error('ERR_PLATFORM_SETTINGS', `${operation}: ${file}: ${(error as Error).message}`, { cause: error, details: { file, errno: (error as NodeJS.ErrnoException).code } });
      }
    };
    const [autoconf, acceptRa] = await Promise.all([read('autoconf'), read('accept_ra')]);
    return { autoconf: autoconf !== 0, acceptRa };
  }

  async setInterfaceSettings(ifindex: number, settings: Partial<InterfaceSettings>): Promise<void> {
    const operation = `set IPv6 settings of ifindex ${ifindex}`;
    const write = async (key: string, value: number): Promise<void> => {
      const file = await this.#sysctlPath(ifindex, key, operation);
      try {
        await writeFile(file, `${value}\n`);
      } catch (error) {
        throw new Stable6Error('ERR_PLATFORM_SETTINGS', `${operation}: ${key}=${value}: ${(error as Error).message}`, { cause: error, details: { file, errno: (error as NodeJS.ErrnoException).code } });
      }
    };
    if (settings.acceptRa !== undefined) {
      if (![0, 1, 2].includes(settings.acceptRa)) throw new Stable6Error('ERR_PLATFORM_SETTINGS', `${operation}: accept_ra must be 0, 1 or 2, got ${settings.acceptRa}`);
      await write('accept_ra', settings.acceptRa);
    }
    if (settings.autoconf !== undefined) await write('autoconf', settings.autoconf ? 1 : 0);
  }

  // ------------------------------------------------------------------ Router Solicitation

  async sendRouterSolicitation(ifindex: number): Promise<void> {
    const operation = `send a Router Solicitation on ifindex ${ifindex}`;
    const link = await this.#link(ifindex, operation);
    // A usable link-local source lets us include our link-layer address (RFC 4861 §4.1 forbids it from ::).
    const source = (await this.listAddresses(ifindex)).find((a) => a.address.isLinkLocal() && !a.flags.tentative && !a.flags.dadFailed);
    const send = this.#options.sendRouterSolicitation ?? sendRouterSolicitationRaw;
    const hw = link.hwAddress && link.hwAddress.some((b) => b !== 0) ? link.hwAddress : undefined;
    await send({ ifindex, ifname: link.name, ...(source ? { source: source.address } : {}), ...(source && hw ? { linkLayerAddress: hw } : {}) });
  }

  // ------------------------------------------------------------------ events

  subscribe(listener: PlatformListener): () => void {
    if (this.#closed) throw new Stable6Error('ERR_NETLINK_CLOSED', 'the platform is closed');
    this.#listeners.add(listener);
    if (!this.#events) this.#openEvents();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#closeEvents();
    };
  }

  #openEvents(): void {
    this.#events = this.#dial(
      { groups: EVENT_GROUPS, ...(this.#options.eventReceiveBufferBytes !== undefined ? { receiveBufferBytes: this.#options.eventReceiveBufferBytes } : {}) },
      {
        datagram: (bytes) => this.#onDatagram(bytes),
        overrun: () => {
          // What is still queued predates the listing #sync makes: applied after it, a stale
          // "added" would bring back an address since deleted (seen in test/integration/linux-overrun).
          this.#events?.discardQueued?.();
          void this.#sync(true);
        },
        failed: () => {
          // The event socket died: open a new one and re-list, as after an overrun.
          this.#events = undefined;
          if (!this.#closed && this.#listeners.size > 0) {
            this.#openEvents();
          }
        },
      },
    );
    void this.#sync(this.#state !== undefined);
  }

  #closeEvents(): void {
    this.#events?.close();
    this.#events = undefined;
    this.#state = undefined;
    this.#queue = undefined;
  }

  #onDatagram(bytes: Uint8Array): void {
    if (this.#queue) {
      let messages: NetlinkMessage[];
      try {
        messages = decodeNetlinkMessages(bytes);
      } catch {
        // A notification we cannot parse is a lost notification: re-list.
        void this.#sync(true);
        return;
      }
      this.#queue.push(...messages);
      return;
    }
    try {
      scanNetlinkMessages(bytes, (type, flags, _seq, _pid, start, end) => checkNetlinkBody(type, flags, bytes, start, end));
    } catch {
      void this.#sync(true); // as above
      return;
    }
    // Address notifications (thousands when many addresses change) are read straight from the
    // bytes, as in listAddresses; the rest decoded and applied as usual.
    scanNetlinkMessages(bytes, (type, _flags, _seq, _pid, start, end) => {
      if ((type === RTM_NEWADDR || type === RTM_DELADDR) && end - start >= 8) this.#applyAddress(type, addressInfoAt(bytes, start, end));
      else this.#apply(decodeNetlinkMessage(bytes.subarray(start - 16, end)));
    });
  }

  #applyAddress(type: number, address: AddressInfo | undefined): void {
    if (!address) return;
    const state = this.#state;
    const key = addressKey(address);
    for (const touched of this.#touched) touched.add(key);
    if (type === RTM_NEWADDR) {
      state?.addresses.set(key, address);
      this.#emit({ type: 'address-changed', address });
    } else if (type === RTM_DELADDR) {
      // Reported even if unknown here: a DAD failure can delete an address never announced (notes).
      state?.addresses.delete(key);
      this.#emit({ type: 'address-removed', address });
    }
  }

  /**
   * Lists links, addresses and default routes. With `report`, emits the differences from the
   * last known state and then `resynced`; without, only sets the baseline. Notifications that
   * arrive meanwhile are queued and applied afterwards, in order, so nothing is lost between
   * the dump and the stream.
   */
  async #sync(report: boolean): Promise<void> {
    this.#reportSync ||= report;
    if (this.#syncing) {
      this.#resyncAgain = true;
      return;
    }
    this.#syncing = true;
    try {
      let snapshot: Snapshot;
      do {
        this.#resyncAgain = false;
        // Queued notifications older than a new overrun may be stale: start the queue afresh.
        this.#queue = [];
        snapshot = await this.#snapshot();
      } while (this.#resyncAgain && !this.#closed);
      if (this.#closed || !this.#events) return;
      const before = this.#state;
      this.#state = snapshot;
      const reportNow = this.#reportSync;
      this.#reportSync = false;
      if (reportNow && before) this.#emitDifferences(before, snapshot);
      const queued = this.#queue ?? [];
      this.#queue = undefined;
      for (const m of queued) this.#apply(m);
      if (reportNow) this.#emit({ type: 'resynced' });
    } catch {
      // The request socket failed mid-dump: report what was queued and carry on; the next overrun re-lists.
      const queued = this.#queue ?? [];
      this.#queue = undefined;
      for (const m of queued) this.#apply(m);
    } finally {
      this.#syncing = false;
    }
  }

  async #snapshot(): Promise<Snapshot> {
    const [links, addresses, routes] = await Promise.all([this.listInterfaces(), this.listAddresses(), this.listDefaultRoutes()]);
    return {
      links: new Map(links.map((l) => [l.index, l])),
      addresses: new Map(addresses.map((a) => [addressKey(a), a])),
      routes: new Map(routes.map((r) => [routeKey(r), r])),
      atMs: performance.now(),
    };
  }

  #emitDifferences(before: Snapshot, after: Snapshot): void {
    const elapsedSec = (after.atMs - before.atMs) / 1000;
    for (const [index, link] of before.links) if (!after.links.has(index)) this.#emit({ type: 'link-removed', ifindex: index, name: link.name });
    for (const [index, link] of after.links) {
      const old = before.links.get(index);
      if (!old || !sameLink(old, link)) this.#emit({ type: 'link-changed', link });
    }
    for (const [key, address] of before.addresses) if (!after.addresses.has(key)) this.#emit({ type: 'address-removed', address });
    for (const [key, address] of after.addresses) {
      const old = before.addresses.get(key);
      if (!old || !sameAddress(old, address, elapsedSec)) this.#emit({ type: 'address-changed', address });
    }
    for (const [key, route] of before.routes) if (!after.routes.has(key)) this.#emit({ type: 'route-removed', route });
    for (const [key, route] of after.routes) {
      const old = before.routes.get(key);
      if (!old || !sameRoute(old, route)) this.#emit({ type: 'route-changed', route });
    }
  }

  /** One notification: update the known state, report it. */
  #apply(m: NetlinkMessage): void {
    const state = this.#state;
    const { body } = m;
    switch (body.kind) {
      case 'link': {
        const link = linkInfo(body);
        if (m.header.type === RTM_NEWLINK) {
          state?.links.set(link.index, link);
          this.#emit({ type: 'link-changed', link });
        } else if (m.header.type === RTM_DELLINK) {
          state?.links.delete(link.index);
          this.#emit({ type: 'link-removed', ifindex: link.index, name: link.name });
        }
        return;
      }
      case 'address':
        this.#applyAddress(m.header.type, addressInfo(body));
        return;
      case 'route':
        for (const route of defaultRoutes(body)) {
          const key = routeKey(route);
          if (m.header.type === RTM_NEWROUTE) {
            state?.routes.set(key, route);
            this.#emit({ type: 'route-changed', route });
          } else if (m.header.type === RTM_DELROUTE) {
            state?.routes.delete(key);
            this.#emit({ type: 'route-removed', route });
          }
        }
        return;
      case 'prefix': {
        const prefix = m.header.type === RTM_NEWPREFIX ? prefixReport(body) : undefined;
        if (prefix) this.#emit({ type: 'prefix-received', prefix });
        return;
      }
      case 'nd-user-option': {
        const report = m.header.type === RTM_NEWNDUSEROPT ? ndUserOptionReport(body) : undefined;
        if (report) this.#emit({ type: 'nd-user-option', report });
        return;
      }
      case 'error':
      case 'done':
      case 'raw':
        return;
      default: {
        const never: never = body;
        return never;
      }
    }
  }

  #emit(event: PlatformEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        const report =
          this.#options.onListenerError ??
          ((e: unknown) =>
            queueMicrotask(() => {
              throw e;
            }));
        report(error);
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#closeEvents();
    this.#client.close();
  }
}

export function createLinuxPlatform(options: LinuxPlatformOptions = {}): LinuxPlatform {
  return new LinuxPlatform(options);
}
