/**
 * The Windows Platform over the IP Helper API (iphlpapi.dll), driven through the IpHelper
 * function table so that the same code runs against the DLL and against FakeIpHelper.
 *
 * How Windows differs from Linux, and what this backend does about it:
 *
 * - Rows are keyed by (InterfaceLuid, address). Every row we send carries the LUID of the
 *   interface, resolved from the index first: a row with only the address is the classic
 *   ERROR_NOT_FOUND of GetUnicastIpAddressEntry. LUIDs survive a stack reset; indexes may not,
 *   so everything we own is remembered by LUID.
 * - Windows has no owner tag on addresses and no free protocol number on routes. stable6
 *   creates addresses with PrefixOrigin/SuffixOrigin Manual and routes with Protocol
 *   MIB_IPPROTO_NETMGMT, which is also what netsh and `route add` use; so "owned" means "in
 *   the set this platform added", remembered in memory (and handed back by ownedState() for the
 *   daemon to persist and pass to the next run's `owned` option). See docs/windows.md.
 * - Notification callbacks carry only the key fields; we re-read the entry. Windows runs
 *   them on its own thread; koffi hands them to the JS thread.
 * - A stack reset (an interface coming back: MibAddInstance) drops every address and route
 *   on it. Following Microsoft's guidance for drivers, everything we own on that interface
 *   is applied again: what exists is kept, what is stale is deleted, what is missing is
 *   added with the lifetime it has left.
 * - The stack processes Router Advertisements itself. Its RA-learned prefixes are read from
 *   the route table (on-link routes with origin NlroRouterAdvertisement) and from addresses
 *   with PrefixOrigin IpPrefixOriginRouterAdvertisement (4), and reported as
 *   `prefix-received`.
 */
import { Ipv6Address } from '../../core/address.js';
import { Ipv6Prefix, maskAddress } from '../../core/prefix.js';
import { Stable6Error } from '../../errors.js';
import {
  AF_INET6,
  DadState,
  MibNotification,
  PrefixOrigin,
  RouteOrigin,
  RouteProtocol,
  RouterDiscovery,
  SuffixOrigin,
  WIN32_INFINITE,
  WIN32_STATUS,
  win32StatusName,
} from '../../codec/win32/constants.js';
import {
  decodeIpForwardRow2,
  decodeIpForwardTable2,
  decodeIpInterfaceRow,
  decodeIpInterfaceTable,
  decodeUnicastIpAddressRow,
  decodeUnicastIpAddressTable,
  encodeIpForwardRow2,
  encodeIpInterfaceRow,
  encodeUnicastIpAddressRow,
  inet6,
  type IpForwardRow2,
  type IpInterfaceRow,
  type UnicastIpAddressRow,
} from '../../codec/win32/rows.js';
import { MIB_IPFORWARD_ROW2, MIB_IPINTERFACE_ROW, MIB_UNICASTIPADDRESS_ROW } from '../../codec/win32/structs.js';
import {
  INFINITE_LIFETIME,
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
import type { IpHelper, NotificationHandle, TableResult } from './ip-helper.js';
import { loadIpHelper } from './iphlpapi.js';
import { win32Error } from './win32-error.js';

/** An address stable6 added, by LUID (stable across stack resets). */
export interface OwnedAddress {
  luid: bigint;
  address: Ipv6Address;
  prefixLength: number;
  validLifetimeSec: number;
  preferredLifetimeSec: number;
  /** Monotonic ms (the `now` option's clock) when the lifetimes above were given. */
  givenAtMs: number;
  skipAsSource: boolean;
}

export interface OwnedRoute {
  luid: bigint;
  gateway: Ipv6Address;
  metric: number;
}

/** Windows-only extras of an add request (structurally a Platform AddAddressRequest). */
export interface WindowsAddAddressRequest extends AddAddressRequest {
  /**
   * Never pick this address as a source by default (SkipAsSource): for per-application
   * leased addresses, which only their application binds to explicitly.
   */
  skipAsSource?: boolean;
}

export interface WindowsPlatformOptions {
  /** The function table; default: the koffi bindings to iphlpapi.dll (Windows only). */
  ipHelper?: IpHelper;
  /** A monotonic clock in ms; default performance.now(). */
  now?: () => number;
  /** Failures of background work (re-reads, re-applying after a stack reset, listeners). */
  onError?: (error: unknown) => void;
  /** The metric of default routes added without one. Default 256, as `route add` on Windows. */
  defaultRouteMetric?: number;
  /** What a previous run owned (from ownedState()), adopted as ours. */
  owned?: { addresses?: readonly OwnedAddress[]; routes?: readonly OwnedRoute[] };
}

interface PrefixSeen {
  report: PrefixReport;
  atMs: number;
}

const UNSPECIFIED = Ipv6Address.parse('::');
/** A later report within this many seconds of what the last one predicts is not a refresh. */
const REFRESH_SLACK_SEC = 2;

function addressKey(luid: bigint, address: Ipv6Address): string {
  return `${luid} ${address.toString()}`;
}

function routeKey(luid: bigint, gateway: Ipv6Address): string {
  return `${luid} ${gateway.toString()}`;
}

function isDefaultRoute(row: IpForwardRow2): boolean {
  const prefix = row.destinationPrefix.prefix;
  return row.destinationPrefix.prefixLength === 0 && prefix.kind === 'inet6' && prefix.address.isUnspecified();
}

function flagsOf(row: UnicastIpAddressRow): AddressFlags {
  return {
    tentative: row.dadState === DadState.Tentative,
    dadFailed: row.dadState === DadState.Duplicate,
    deprecated: row.dadState === DadState.Deprecated,
    optimistic: false,
    permanent: row.validLifetimeSec === WIN32_INFINITE,
    noDad: false,
    noPrefixRoute: false,
  };
}

function remaining(lifetimeSec: number, elapsedSec: number): number {
  if (lifetimeSec === INFINITE_LIFETIME) return INFINITE_LIFETIME;
  return Math.max(0, lifetimeSec - elapsedSec);
}

export class WindowsPlatform implements Platform {
  readonly kind = 'windows' as const;

  readonly #ip: IpHelper;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  readonly #defaultMetric: number;
  #handles: NotificationHandle[] = [];
  #listeners = new Set<PlatformListener>();
  #addresses = new Map<string, AddressInfo>();
  #links = new Map<bigint, InterfaceInfo>();
  #routes = new Map<string, RouteInfo>();
  #prefixes = new Map<string, PrefixSeen>();
  #ownedAddresses = new Map<string, OwnedAddress>();
  #ownedRoutes = new Map<string, OwnedRoute>();
  #work: Promise<void> = Promise.resolve();
  #prefixScanQueued = false;
  #closed = false;

  constructor(options: WindowsPlatformOptions = {}) {
    this.#ip = options.ipHelper ?? loadIpHelper();
    this.#now = options.now ?? (() => performance.now());
    this.#onError = options.onError ?? (() => undefined);
    this.#defaultMetric = options.defaultRouteMetric ?? 256;
    for (const owned of options.owned?.addresses ?? []) this.#ownedAddresses.set(addressKey(owned.luid, owned.address), { ...owned });
    for (const owned of options.owned?.routes ?? []) this.#ownedRoutes.set(routeKey(owned.luid, owned.gateway), { ...owned });

    // Read the tables first, so that the first notification is compared with what was there.
    for (const row of this.#interfaceRows()) this.#links.set(row.interfaceLuid, this.#linkInfo(row));
    for (const row of this.#addressRows()) {
      if (row.address.kind === 'inet6') this.#addresses.set(addressKey(row.interfaceLuid, row.address.address), this.#addressInfo(row));
    }
    for (const row of this.#routeRows()) {
      if (isDefaultRoute(row) && row.nextHop.kind === 'inet6') {
        this.#routes.set(routeKey(row.interfaceLuid, row.nextHop.address), this.#routeInfo(row));
      }
    }

    const register = (
      fn: 'NotifyUnicastIpAddressChange' | 'NotifyIpInterfaceChange' | 'NotifyRouteChange2',
      handler: (row: Uint8Array, type: number) => void,
    ): void => {
      const result = this.#ip[fn](
        AF_INET6,
        (row, type) => {
          if (this.#closed || row === undefined || type === MibNotification.InitialNotification) return;
          this.#enqueue(() => handler(row, type));
        },
        false,
      );
      if (result.status !== WIN32_STATUS.NO_ERROR || !result.handle) {
        const registered = this.#handles.splice(0);
        for (const handle of registered) void this.#ip.CancelMibChangeNotify2(handle);
        throw win32Error(fn, result.status, 'cannot register for change notifications');
      }
      this.#handles.push(result.handle);
    };
    register('NotifyIpInterfaceChange', (row, type) => this.#onInterface(row, type));
    register('NotifyUnicastIpAddressChange', (row, type) => this.#onAddress(row, type));
    register('NotifyRouteChange2', (row, type) => this.#onRoute(row, type));
  }

  // ---- Platform: interfaces -----------------------------------------------------------------

  async listInterfaces(): Promise<InterfaceInfo[]> {
    this.#open('listInterfaces');
    return this.#interfaceRows().map((row) => this.#linkInfo(row));
  }

  async getInterfaceSettings(ifindex: number): Promise<InterfaceSettings> {
    this.#open('getInterfaceSettings');
    const row = this.#interfaceEntry(this.#luidOf(ifindex));
    // Windows forms its own SLAAC addresses whenever it processes RAs: there is no separate switch.
    const processesRa = row.routerDiscoveryBehavior !== RouterDiscovery.Disabled;
    return { autoconf: processesRa, acceptRa: processesRa ? 1 : 0 };
  }

  async setInterfaceSettings(ifindex: number, settings: Partial<InterfaceSettings>): Promise<void> {
    this.#open('setInterfaceSettings');
    const luid = this.#luidOf(ifindex);
    const row = this.#interfaceEntry(luid);
    const acceptRa = settings.acceptRa ?? (row.routerDiscoveryBehavior === RouterDiscovery.Disabled ? 0 : 1);
    const autoconf = settings.autoconf ?? acceptRa > 0;
    if (autoconf !== acceptRa > 0) {
      throw new Stable6Error(
        'ERR_WIN32_UNSUPPORTED',
        `Windows cannot ${autoconf ? 'form SLAAC addresses without' : 'stop forming its own SLAAC addresses while'} processing Router Advertisements (RouterDiscoveryBehavior is one switch for both)`,
        { details: { ifindex, autoconf, acceptRa } },
      );
    }
    const behavior = acceptRa > 0 ? RouterDiscovery.Enabled : RouterDiscovery.Disabled;
    if (behavior === row.routerDiscoveryBehavior) return;
    // SetIpInterfaceEntry writes every field: start from the current row (read with the LUID).
    const bytes = encodeIpInterfaceRow({ ...row, routerDiscoveryBehavior: behavior, sitePrefixLength: 0 });
    const status = this.#ip.SetIpInterfaceEntry(bytes);
    if (status !== WIN32_STATUS.NO_ERROR) {
      throw win32Error('SetIpInterfaceEntry', status, `cannot set router discovery on interface ${ifindex}`, { ifindex });
    }
  }

  /**
   * Windows has no API to send a Router Solicitation: its stack solicits by itself when an
   * interface connects. What the caller wants, the prefixes routers currently advertise, is
   * re-read from the tables and reported again as `prefix-received`.
   */
  async sendRouterSolicitation(ifindex: number): Promise<void> {
    this.#open('sendRouterSolicitation');
    this.#luidOf(ifindex);
    await this.#enqueue(() => this.#scanPrefixes(ifindex));
  }

  // ---- Platform: addresses ------------------------------------------------------------------

  async listAddresses(ifindex?: number): Promise<AddressInfo[]> {
    this.#open('listAddresses');
    return this.#addressRows()
      .filter((row) => row.address.kind === 'inet6' && (ifindex === undefined || row.interfaceIndex === ifindex))
      .map((row) => this.#addressInfo(row));
  }

  /** One address, read with GetUnicastIpAddressEntry keyed by LUID and address; undefined when absent. */
  async getAddress(ifindex: number, address: Ipv6Address): Promise<AddressInfo | undefined> {
    this.#open('getAddress');
    const found = this.#addressEntry(this.#luidOf(ifindex), ifindex, address);
    if (typeof found === 'number') {
      if (found === WIN32_STATUS.ERROR_NOT_FOUND) return undefined;
      throw win32Error('GetUnicastIpAddressEntry', found, `cannot read ${address.toString()} on interface ${ifindex}`, { ifindex });
    }
    return this.#addressInfo(found);
  }

  async addAddress(request: WindowsAddAddressRequest): Promise<void> {
    this.#open('addAddress');
    const luid = this.#luidOf(request.ifindex);
    this.#applyAddress({
      luid,
      address: request.address,
      prefixLength: request.prefixLength,
      validLifetimeSec: request.validLifetimeSec,
      preferredLifetimeSec: request.preferredLifetimeSec,
      givenAtMs: this.#now(),
      skipAsSource: request.skipAsSource ?? false,
    }, request.ifindex);
  }

  addAddresses(requests: readonly WindowsAddAddressRequest[]): Promise<(Error | undefined)[]> {
    return addEachAddress((request) => this.addAddress(request), requests);
  }

  async deleteAddress(request: DeleteAddressRequest): Promise<void> {
    this.#open('deleteAddress');
    const luid = this.#luidOf(request.ifindex);
    const row = this.#newAddressRow(luid, request.ifindex, request.address);
    const status = this.#ip.DeleteUnicastIpAddressEntry(encodeUnicastIpAddressRow(row));
    if (status !== WIN32_STATUS.NO_ERROR) {
      throw win32Error('DeleteUnicastIpAddressEntry', status, `cannot delete ${request.address.toString()} from interface ${request.ifindex}`, {
        ifindex: request.ifindex,
        address: request.address.toString(),
      });
    }
    this.#ownedAddresses.delete(addressKey(luid, request.address));
  }

  // ---- Platform: default routes -------------------------------------------------------------

  async listDefaultRoutes(ifindex?: number): Promise<RouteInfo[]> {
    this.#open('listDefaultRoutes');
    return this.#routeRows()
      .filter((row) => isDefaultRoute(row) && (ifindex === undefined || row.interfaceIndex === ifindex))
      .map((row) => this.#routeInfo(row));
  }

  async addDefaultRoute(request: DefaultRouteRequest): Promise<void> {
    this.#open('addDefaultRoute');
    const luid = this.#luidOf(request.ifindex);
    this.#applyRoute({ luid, gateway: request.gateway, metric: request.metric ?? this.#defaultMetric }, request.ifindex, true);
  }

  async deleteDefaultRoute(request: DefaultRouteRequest): Promise<void> {
    this.#open('deleteDefaultRoute');
    const luid = this.#luidOf(request.ifindex);
    const row = this.#routeRows().find(
      (r) => r.interfaceLuid === luid && isDefaultRoute(r) && r.nextHop.kind === 'inet6' && r.nextHop.address.equals(request.gateway),
    );
    const status = row ? this.#ip.DeleteIpForwardEntry2(encodeIpForwardRow2(row)) : WIN32_STATUS.ERROR_NOT_FOUND;
    if (status !== WIN32_STATUS.NO_ERROR) {
      throw win32Error('DeleteIpForwardEntry2', status, `cannot delete the default route via ${request.gateway.toString()} on interface ${request.ifindex}`, {
        ifindex: request.ifindex,
      });
    }
    this.#ownedRoutes.delete(routeKey(luid, request.gateway));
  }

  // ---- Platform: events and lifetime --------------------------------------------------------

  subscribe(listener: PlatformListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Cancels the three notification registrations; nothing is reported after this resolves. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const handles = this.#handles.splice(0);
    const statuses = await Promise.all(handles.map((handle) => this.#ip.CancelMibChangeNotify2(handle)));
    await this.#work;
    this.#listeners.clear();
    const failed = statuses.find((status) => status !== WIN32_STATUS.NO_ERROR);
    if (failed !== undefined) throw win32Error('CancelMibChangeNotify2', failed, 'cannot cancel a change notification');
  }

  /** What this platform owns now, for the daemon to persist and hand to the next run. */
  ownedState(): { addresses: OwnedAddress[]; routes: OwnedRoute[] } {
    return {
      addresses: [...this.#ownedAddresses.values()].map((a) => ({ ...a })),
      routes: [...this.#ownedRoutes.values()].map((r) => ({ ...r })),
    };
  }

  /** Resolves when the notifications received so far have been handled. */
  async whenIdle(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.#work;
      await seen;
    } while (seen !== this.#work);
  }

  // ---- applying what we own -----------------------------------------------------------------

  #applyAddress(owned: OwnedAddress, ifindex: number): void {
    const row: UnicastIpAddressRow = {
      ...this.#newAddressRow(owned.luid, ifindex, owned.address),
      prefixOrigin: PrefixOrigin.Manual,
      suffixOrigin: SuffixOrigin.Manual,
      validLifetimeSec: owned.validLifetimeSec,
      preferredLifetimeSec: owned.preferredLifetimeSec,
      onLinkPrefixLength: owned.prefixLength,
      skipAsSource: owned.skipAsSource,
    };
    const details = { ifindex, address: owned.address.toString() };
    let fn = 'CreateUnicastIpAddressEntry';
    let status = this.#ip.CreateUnicastIpAddressEntry(encodeUnicastIpAddressRow(row));
    if (status === WIN32_STATUS.ERROR_OBJECT_ALREADY_EXISTS) {
      // "Adds the address, or updates its lifetimes and flags when it exists."
      const existing = this.#addressEntry(owned.luid, ifindex, owned.address);
      if (typeof existing !== 'number' && existing.onLinkPrefixLength !== owned.prefixLength) {
        // The on-link length is part of what Windows derived routes from: replace, not patch.
        fn = 'DeleteUnicastIpAddressEntry';
        status = this.#ip.DeleteUnicastIpAddressEntry(encodeUnicastIpAddressRow(row));
        if (status === WIN32_STATUS.NO_ERROR) {
          fn = 'CreateUnicastIpAddressEntry';
          status = this.#ip.CreateUnicastIpAddressEntry(encodeUnicastIpAddressRow(row));
        }
      } else {
        fn = 'SetUnicastIpAddressEntry';
        status = this.#ip.SetUnicastIpAddressEntry(encodeUnicastIpAddressRow(row));
      }
    }
    if (status !== WIN32_STATUS.NO_ERROR) {
      throw win32Error(fn, status, `cannot add ${owned.address.toString()}/${owned.prefixLength} to interface ${ifindex}`, details);
    }
    this.#ownedAddresses.set(addressKey(owned.luid, owned.address), owned);
  }

  /**
   * Makes `owned` the default route via its gateway on its interface: first the stale ones
   * (ours via another gateway on the same interface, or ours with another metric) go, then
   * the route is added. Another party's routes are left alone.
   */
  #applyRoute(owned: OwnedRoute, ifindex: number, replaceOthers: boolean): void {
    const defaults = this.#routeRows().filter((r) => r.interfaceLuid === owned.luid && isDefaultRoute(r) && r.nextHop.kind === 'inet6');
    let present = false;
    for (const row of defaults) {
      const gateway = row.nextHop.kind === 'inet6' ? row.nextHop.address : UNSPECIFIED;
      const same = gateway.equals(owned.gateway);
      const ours = this.#ownedRoutes.has(routeKey(owned.luid, gateway));
      if (same && row.metric === owned.metric) {
        present = true;
        continue;
      }
      if (!(same || (replaceOthers && ours))) continue;
      const status = this.#ip.DeleteIpForwardEntry2(encodeIpForwardRow2(row));
      if (status !== WIN32_STATUS.NO_ERROR && status !== WIN32_STATUS.ERROR_NOT_FOUND) {
        throw win32Error('DeleteIpForwardEntry2', status, `cannot delete the stale default route via ${gateway.toString()} on interface ${ifindex}`, {
          ifindex,
        });
      }
      if (!same) this.#ownedRoutes.delete(routeKey(owned.luid, gateway));
    }
    if (!present) {
      const bytes = new Uint8Array(MIB_IPFORWARD_ROW2.size);
      this.#ip.InitializeIpForwardEntry(bytes);
      const row: IpForwardRow2 = {
        ...decodeIpForwardRow2(bytes),
        interfaceLuid: owned.luid,
        interfaceIndex: ifindex,
        destinationPrefix: { prefix: inet6(UNSPECIFIED), prefixLength: 0 },
        nextHop: inet6(owned.gateway),
        sitePrefixLength: 0,
        metric: owned.metric,
        protocol: RouteProtocol.NetMgmt,
        // A host's default route is not advertised to others.
        publish: false,
        autoconfigureAddress: false,
      };
      const status = this.#ip.CreateIpForwardEntry2(encodeIpForwardRow2(row));
      if (status !== WIN32_STATUS.NO_ERROR && status !== WIN32_STATUS.ERROR_OBJECT_ALREADY_EXISTS) {
        throw win32Error('CreateIpForwardEntry2', status, `cannot add the default route via ${owned.gateway.toString()} on interface ${ifindex}`, {
          ifindex,
        });
      }
    }
    this.#ownedRoutes.set(routeKey(owned.luid, owned.gateway), owned);
  }

  /**
   * After a stack reset: apply again everything owned on the interface. Addresses keep the
   * lifetime they have left (an address whose valid lifetime ended is forgotten, as Windows
   * would have removed it anyway); what exists unchanged is not touched.
   */
  #reapply(luid: bigint): void {
    const index = this.#ip.ConvertInterfaceLuidToIndex(luid);
    if (index.status !== WIN32_STATUS.NO_ERROR) return; // gone again; the next MibAddInstance brings us back
    const nowMs = this.#now();
    for (const [key, owned] of [...this.#ownedAddresses]) {
      if (owned.luid !== luid) continue;
      const elapsedSec = Math.floor((nowMs - owned.givenAtMs) / 1000);
      const validLeft = remaining(owned.validLifetimeSec, elapsedSec);
      if (validLeft === 0) {
        this.#ownedAddresses.delete(key);
        continue;
      }
      const existing = this.#addressEntry(luid, index.index, owned.address);
      if (typeof existing !== 'number' && existing.onLinkPrefixLength === owned.prefixLength) continue;
      try {
        this.#applyAddress(
          { ...owned, validLifetimeSec: validLeft, preferredLifetimeSec: remaining(owned.preferredLifetimeSec, elapsedSec), givenAtMs: nowMs },
          index.index,
        );
      } catch (error) {
        this.#onError(error);
      }
    }
    for (const owned of [...this.#ownedRoutes.values()]) {
      if (owned.luid !== luid) continue;
      try {
        this.#applyRoute(owned, index.index, false);
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  // ---- notifications ------------------------------------------------------------------------

  #enqueue(work: () => void): Promise<void> {
    const next = this.#work.then(() => {
      if (this.#closed) return;
      try {
        work();
      } catch (error) {
        this.#onError(error);
      }
    });
    this.#work = next;
    return next;
  }

  #emit(event: PlatformEvent): void {
    if (this.#closed) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  #onInterface(bytes: Uint8Array, type: number): void {
    const key = decodeIpInterfaceRow(bytes);
    const luid = key.interfaceLuid;
    if (type === MibNotification.DeleteInstance) {
      const known = this.#links.get(luid);
      this.#links.delete(luid);
      this.#emit({ type: 'link-removed', ifindex: known?.index ?? key.interfaceIndex, name: known?.name ?? '' });
      return;
    }
    let row: IpInterfaceRow;
    try {
      row = this.#interfaceEntry(luid);
    } catch (error) {
      if (error instanceof Stable6Error && error.code === 'ERR_PLATFORM_INTERFACE') return; // gone already
      throw error;
    }
    const link = this.#linkInfo(row);
    this.#links.set(luid, link);
    this.#emit({ type: 'link-changed', link });
    if (type === MibNotification.AddInstance) {
      // The interface came (back): a stack reset dropped whatever we had on it.
      this.#reapply(luid);
      this.#emit({ type: 'resynced' });
    }
  }

  #onAddress(bytes: Uint8Array, type: number): void {
    const key = decodeUnicastIpAddressRow(bytes);
    if (key.address.kind !== 'inet6') return;
    const address = key.address.address;
    const cacheKey = addressKey(key.interfaceLuid, address);
    const found = type === MibNotification.DeleteInstance ? WIN32_STATUS.ERROR_NOT_FOUND : this.#addressEntry(key.interfaceLuid, key.interfaceIndex, address);
    if (typeof found === 'number') {
      if (found !== WIN32_STATUS.ERROR_NOT_FOUND && found !== WIN32_STATUS.ERROR_FILE_NOT_FOUND) {
        throw win32Error('GetUnicastIpAddressEntry', found, `cannot re-read ${address.toString()} after a notification`);
      }
      const known = this.#addresses.get(cacheKey);
      this.#addresses.delete(cacheKey);
      this.#emit({
        type: 'address-removed',
        address: known ?? {
          ifindex: key.interfaceIndex,
          address,
          prefixLength: 128,
          validLifetimeSec: 0,
          preferredLifetimeSec: 0,
          flags: flagsOf({ ...key, dadState: DadState.Invalid, validLifetimeSec: 0 }),
          owned: this.#ownedAddresses.has(cacheKey),
        },
      });
      this.#queuePrefixScan();
      return;
    }
    const info = this.#addressInfo(found);
    this.#addresses.set(cacheKey, info);
    this.#emit({ type: 'address-changed', address: info });
    if (found.prefixOrigin === PrefixOrigin.RouterAdvertisement) this.#queuePrefixScan();
  }

  #onRoute(bytes: Uint8Array, type: number): void {
    const key = decodeIpForwardRow2(bytes);
    if (!isDefaultRoute(key)) {
      this.#queuePrefixScan();
      return;
    }
    if (key.nextHop.kind !== 'inet6') return;
    const gateway = key.nextHop.address;
    const cacheKey = routeKey(key.interfaceLuid, gateway);
    const row =
      type === MibNotification.DeleteInstance
        ? undefined
        : this.#routeRows().find((r) => r.interfaceLuid === key.interfaceLuid && isDefaultRoute(r) && r.nextHop.kind === 'inet6' && r.nextHop.address.equals(gateway));
    if (!row) {
      const known = this.#routes.get(cacheKey);
      this.#routes.delete(cacheKey);
      if (known) this.#emit({ type: 'route-removed', route: known });
      return;
    }
    const info = this.#routeInfo(row);
    this.#routes.set(cacheKey, info);
    this.#emit({ type: 'route-changed', route: info });
  }

  #queuePrefixScan(): void {
    if (this.#prefixScanQueued) return;
    this.#prefixScanQueued = true;
    void this.#enqueue(() => {
      this.#prefixScanQueued = false;
      this.#scanPrefixes();
    });
  }

  /**
   * The prefixes the stack learned from Router Advertisements: on-link routes with origin
   * "router advertisement" and no next hop (PIOs with the L flag; RFC 4191 route options have
   * a next hop and are not prefixes of this link), and the prefixes of addresses the stack
   * formed from an RA (PIOs with the A flag). An address gives its own lifetimes, which for a
   * temporary address (RFC 8981) are shorter than the prefix's: the longest seen is taken.
   * A prefix is reported when it is new, its flags changed, or its lifetimes were refreshed.
   */
  #scanPrefixes(onlyIfindex?: number): void {
    const found = new Map<string, PrefixReport>();
    const merge = (report: PrefixReport): void => {
      const key = `${report.ifindex} ${report.prefix.toString()}/${report.prefixLength}`;
      const known = found.get(key);
      if (!known) {
        found.set(key, report);
        return;
      }
      known.onLink ||= report.onLink;
      known.autonomous ||= report.autonomous;
      known.validLifetimeSec = longer(known.validLifetimeSec, report.validLifetimeSec);
      known.preferredLifetimeSec = longer(known.preferredLifetimeSec, report.preferredLifetimeSec);
    };
    for (const row of this.#routeRows()) {
      const prefix = row.destinationPrefix.prefix;
      if (row.origin !== RouteOrigin.RouterAdvertisement || prefix.kind !== 'inet6') continue;
      if (row.destinationPrefix.prefixLength === 0 || prefix.address.isLinkLocal()) continue;
      if (row.nextHop.kind === 'inet6' && !row.nextHop.address.isUnspecified()) continue;
      merge({
        ifindex: row.interfaceIndex,
        prefix: maskAddress(prefix.address, row.destinationPrefix.prefixLength),
        prefixLength: row.destinationPrefix.prefixLength,
        onLink: true,
        autonomous: false,
        validLifetimeSec: row.validLifetimeSec,
        preferredLifetimeSec: row.preferredLifetimeSec,
      });
    }
    for (const row of this.#addressRows()) {
      if (row.prefixOrigin !== PrefixOrigin.RouterAdvertisement || row.address.kind !== 'inet6') continue;
      if (row.onLinkPrefixLength > 128) continue;
      merge({
        ifindex: row.interfaceIndex,
        prefix: maskAddress(row.address.address, row.onLinkPrefixLength),
        prefixLength: row.onLinkPrefixLength,
        onLink: false,
        autonomous: true,
        validLifetimeSec: row.validLifetimeSec,
        preferredLifetimeSec: row.preferredLifetimeSec,
      });
    }
    const nowMs = this.#now();
    for (const [key, report] of found) {
      if (onlyIfindex !== undefined && report.ifindex !== onlyIfindex) continue;
      const seen = this.#prefixes.get(key);
      const forced = onlyIfindex !== undefined;
      if (forced || !seen || this.#differs(seen, report, nowMs)) this.#emit({ type: 'prefix-received', prefix: report });
      this.#prefixes.set(key, { report: { ...report }, atMs: nowMs });
    }
    for (const key of [...this.#prefixes.keys()]) if (!found.has(key)) this.#prefixes.delete(key);
  }

  #differs(seen: PrefixSeen, report: PrefixReport, nowMs: number): boolean {
    if (seen.report.onLink !== report.onLink || seen.report.autonomous !== report.autonomous) return true;
    const elapsedSec = Math.floor((nowMs - seen.atMs) / 1000);
    const drifted = (before: number, now: number): boolean => {
      if (before === INFINITE_LIFETIME || now === INFINITE_LIFETIME) return before !== now;
      return Math.abs(remaining(before, elapsedSec) - now) > REFRESH_SLACK_SEC;
    };
    return drifted(seen.report.validLifetimeSec, report.validLifetimeSec) || drifted(seen.report.preferredLifetimeSec, report.preferredLifetimeSec);
  }

  // ---- reading ------------------------------------------------------------------------------

  #open(operation: string): void {
    if (this.#closed) throw new Stable6Error('ERR_WIN32_CLOSED', `the Windows platform is closed (${operation})`);
  }

  /** The LUID of an interface index: every row we send carries it. */
  #luidOf(ifindex: number): bigint {
    const result = this.#ip.ConvertInterfaceIndexToLuid(ifindex);
    if (result.status !== WIN32_STATUS.NO_ERROR || result.luid === 0n) {
      const status = win32StatusName(result.status);
      throw new Stable6Error('ERR_PLATFORM_INTERFACE', `no interface with index ${ifindex} (ConvertInterfaceIndexToLuid: ${status})`, {
        details: { ifindex, function: 'ConvertInterfaceIndexToLuid', status, win32Status: result.status },
      });
    }
    return result.luid;
  }

  /** A row from InitializeUnicastIpAddressEntry with the full key: address, LUID and index. */
  #newAddressRow(luid: bigint, ifindex: number, address: Ipv6Address): UnicastIpAddressRow {
    const bytes = new Uint8Array(MIB_UNICASTIPADDRESS_ROW.size);
    this.#ip.InitializeUnicastIpAddressEntry(bytes);
    return { ...decodeUnicastIpAddressRow(bytes), address: inet6(address), interfaceLuid: luid, interfaceIndex: ifindex };
  }

  #addressEntry(luid: bigint, ifindex: number, address: Ipv6Address): UnicastIpAddressRow | number {
    const bytes = encodeUnicastIpAddressRow(this.#newAddressRow(luid, ifindex, address));
    const status = this.#ip.GetUnicastIpAddressEntry(bytes);
    return status === WIN32_STATUS.NO_ERROR ? decodeUnicastIpAddressRow(bytes) : status;
  }

  #interfaceEntry(luid: bigint): IpInterfaceRow {
    const bytes = new Uint8Array(MIB_IPINTERFACE_ROW.size);
    this.#ip.InitializeIpInterfaceEntry(bytes);
    const request = { ...decodeIpInterfaceRow(bytes), family: AF_INET6, interfaceLuid: luid };
    const filled = encodeIpInterfaceRow(request);
    const status = this.#ip.GetIpInterfaceEntry(filled);
    if (status !== WIN32_STATUS.NO_ERROR) {
      const name = win32StatusName(status);
      throw new Stable6Error('ERR_PLATFORM_INTERFACE', `cannot read the IPv6 interface ${luid} (GetIpInterfaceEntry: ${name})`, {
        details: { function: 'GetIpInterfaceEntry', status: name, win32Status: status },
      });
    }
    return decodeIpInterfaceRow(filled);
  }

  #table<T>(fn: 'GetUnicastIpAddressTable' | 'GetIpForwardTable2' | 'GetIpInterfaceTable', decode: (bytes: Uint8Array) => T[]): T[] {
    const result: TableResult = this.#ip[fn](AF_INET6);
    if (result.status !== WIN32_STATUS.NO_ERROR || !result.table) {
      // ERROR_NOT_FOUND from a table getter means an empty table on some Windows versions.
      if (result.status === WIN32_STATUS.ERROR_NOT_FOUND) return [];
      throw win32Error(fn, result.status, 'cannot read the table');
    }
    return decode(result.table);
  }

  #addressRows(): UnicastIpAddressRow[] {
    return this.#table('GetUnicastIpAddressTable', decodeUnicastIpAddressTable);
  }

  #routeRows(): IpForwardRow2[] {
    return this.#table('GetIpForwardTable2', decodeIpForwardTable2);
  }

  #interfaceRows(): IpInterfaceRow[] {
    return this.#table('GetIpInterfaceTable', decodeIpInterfaceTable).filter((row) => row.family === AF_INET6);
  }

  #linkInfo(row: IpInterfaceRow): InterfaceInfo {
    const alias = this.#ip.ConvertInterfaceLuidToAlias(row.interfaceLuid);
    return {
      index: row.interfaceIndex,
      name: alias.status === WIN32_STATUS.NO_ERROR ? alias.alias : `if${row.interfaceIndex}`,
      // MIB_IPINTERFACE_ROW has no administrative state: an IPv6 interface that exists is up.
      up: true,
      running: row.connected,
      mtu: row.nlMtu,
    };
  }

  #addressInfo(row: UnicastIpAddressRow): AddressInfo {
    const address = row.address.kind === 'inet6' ? row.address.address : UNSPECIFIED;
    return {
      ifindex: row.interfaceIndex,
      address,
      prefixLength: row.onLinkPrefixLength,
      validLifetimeSec: row.validLifetimeSec,
      preferredLifetimeSec: row.preferredLifetimeSec,
      flags: flagsOf(row),
      owned: this.#ownedAddresses.has(addressKey(row.interfaceLuid, address)),
    };
  }

  #routeInfo(row: IpForwardRow2): RouteInfo {
    const gateway = row.nextHop.kind === 'inet6' && !row.nextHop.address.isUnspecified() ? row.nextHop.address : undefined;
    return {
      ifindex: row.interfaceIndex,
      destination: Ipv6Prefix.of(UNSPECIFIED, 0),
      ...(gateway ? { gateway } : {}),
      metric: row.metric,
      protocol: row.protocol,
      expiresSec: row.validLifetimeSec,
      owned: gateway !== undefined && this.#ownedRoutes.has(routeKey(row.interfaceLuid, gateway)),
    };
  }
}

function longer(a: number, b: number): number {
  if (a === INFINITE_LIFETIME || b === INFINITE_LIFETIME) return INFINITE_LIFETIME;
  return Math.max(a, b);
}
