/**
 * An in-memory Windows IPv6 stack behind the IpHelper function table.
 *
 * It lets the real WindowsPlatform code run on Linux: rows arrive as bytes and are decoded
 * with the same codec, the keys are checked the way the IP Helper documentation describes
 * (an address row is keyed by interface and address; a row with neither LUID nor index is
 * ERROR_INVALID_PARAMETER; an interface the address is not on is ERROR_NOT_FOUND),
 * and every change is reported to the registered callbacks later, on a later turn of the
 * event loop, as Windows does from its own thread, with only the key fields of the row filled
 * (so the platform must re-read the entry, as it must on Windows).
 *
 * Exported publicly, like the Linux fake, for applications' own tests. What it does not model
 * is listed in docs/windows.md (timers inside the stack, RA processing itself, IPv4).
 */
import { Ipv6Address } from '../../core/address.js';
import { maskAddress } from '../../core/prefix.js';
import {
  AF_INET6,
  AF_UNSPEC,
  DadState,
  MibNotification,
  PrefixOrigin,
  RouteOrigin,
  RouteProtocol,
  RouterDiscovery,
  SuffixOrigin,
  WIN32_INFINITE,
  WIN32_STATUS,
} from '../../codec/win32/constants.js';
import {
  decodeIpForwardRow2,
  decodeIpInterfaceRow,
  decodeUnicastIpAddressRow,
  encodeIpForwardRow2,
  encodeIpForwardTable2,
  encodeIpInterfaceRow,
  encodeIpInterfaceTable,
  encodeUnicastIpAddressRow,
  encodeUnicastIpAddressTable,
  inet6,
  unspecifiedSockaddr,
  type IpForwardRow2,
  type IpInterfaceRow,
  type SockaddrInet,
  type UnicastIpAddressRow,
} from '../../codec/win32/rows.js';
import type { IpHelper, MibChangeCallback, NotificationHandle, NotifyResult, TableResult } from './ip-helper.js';

export type FakeIpHelperFunction = keyof IpHelper;

export interface FakeWindowsInterface {
  index: number;
  /** Defaults to an Ethernet LUID (IfType 6) built from the index. */
  luid?: bigint;
  alias: string;
  connected?: boolean;
  mtu?: number;
  /** 0 turns DAD off for the interface (Windows' DadTransmits). */
  dadTransmits?: number;
}

export interface FakeIpHelperOptions {
  /**
   * 'auto' (default): DAD of a new address ends on a later turn of the event loop, Preferred
   * (or Duplicate for an address given to conflictOn()). 'manual': it stays Tentative until
   * completeDad().
   */
  dad?: 'auto' | 'manual';
}

interface Iface {
  row: IpInterfaceRow;
}

interface Registration {
  readonly handle: NotificationHandle;
  readonly table: 'address' | 'interface' | 'route';
  readonly callback: MibChangeCallback;
  active: boolean;
}

const NOT_SET = 0xffffffff;

function addressKey(luid: bigint, address: Ipv6Address): string {
  return `${luid} ${address.toString()}`;
}

function routeKey(luid: bigint, prefix: Ipv6Address, length: number, nextHop: Ipv6Address): string {
  return `${luid} ${prefix.toString()}/${length} ${nextHop.toString()}`;
}

function ipv6Of(sockaddr: SockaddrInet): Ipv6Address | undefined {
  return sockaddr.kind === 'inet6' ? sockaddr.address : undefined;
}

const UNSPECIFIED = Ipv6Address.parse('::');

export class FakeIpHelper implements IpHelper {
  /** Every function called, in order, with the status it returned. */
  readonly calls: { fn: FakeIpHelperFunction; status?: number }[] = [];
  /** The decoded rows the platform passed to CreateUnicastIpAddressEntry, as Windows would have seen them. */
  readonly createdAddressRows: UnicastIpAddressRow[] = [];

  readonly #dadMode: 'auto' | 'manual';
  #interfaces = new Map<bigint, Iface>();
  #aliases = new Map<bigint, string>();
  #addresses = new Map<string, UnicastIpAddressRow>();
  #routes = new Map<string, IpForwardRow2>();
  #registrations: Registration[] = [];
  #failures = new Map<FakeIpHelperFunction, number[]>();
  #conflicts = new Set<string>();
  #denyWrites = false;
  #pending = 0;
  #idleWaiters: (() => void)[] = [];
  #clock = 0n;

  constructor(options: FakeIpHelperOptions = {}) {
    this.#dadMode = options.dad ?? 'auto';
  }

  // ---- test controls ------------------------------------------------------------------------

  /** Adds an interface (with its link-local address) as Windows does when an adapter appears. */
  addInterface(spec: FakeWindowsInterface): bigint {
    const luid = spec.luid ?? (6n << 48n) | (BigInt(spec.index) << 24n);
    const row = this.#blankInterfaceRow();
    row.family = AF_INET6;
    row.interfaceLuid = luid;
    row.interfaceIndex = spec.index;
    row.connected = spec.connected ?? true;
    row.nlMtu = spec.mtu ?? 1500;
    row.dadTransmits = spec.dadTransmits ?? 1;
    row.routerDiscoveryBehavior = RouterDiscovery.Enabled;
    row.supportsRouterDiscovery = true;
    row.supportsNeighborDiscovery = true;
    this.#interfaces.set(luid, { row });
    this.#aliases.set(luid, spec.alias);
    this.#notify('interface', this.#interfaceKeyBytes(row), MibNotification.AddInstance);
    const linkLocal = Ipv6Address.fromHalves(0xfe80n << 48n, 0x0200_00ff_fe00_0000n | BigInt(spec.index));
    this.#putAddress({
      ...this.#blankAddressRow(),
      address: inet6(linkLocal, spec.index),
      interfaceLuid: luid,
      interfaceIndex: spec.index,
      prefixOrigin: PrefixOrigin.WellKnown,
      suffixOrigin: SuffixOrigin.LinkLayerAddress,
      onLinkPrefixLength: 64,
      dadState: DadState.Preferred,
    });
    return luid;
  }


  /**
   * A stack reset, as after a driver restart or `netsh int ipv6 reset`: the interface goes away
   * with every address and route on it, then comes back (MibAddInstance) with only its
   * link-local address. `newIndex` gives it another interface index (the LUID stays).
   */
  resetInterface(index: number, options: { newIndex?: number } = {}): void {
    const iface = this.#byIndex(index);
    if (!iface) throw new Error(`fake: no interface ${index}`);
    const luid = iface.row.interfaceLuid;
    const alias = this.#aliases.get(luid) ?? `if${index}`;
    this.removeInterface(index);
    this.addInterface({
      index: options.newIndex ?? index,
      luid,
      alias,
      connected: iface.row.connected,
      mtu: iface.row.nlMtu,
      dadTransmits: iface.row.dadTransmits,
    });
  }

  /** A MibAddInstance for an interface that kept everything (a re-bind without a reset). */
  announceInterface(index: number): void {
    const iface = this.#byIndex(index);
    if (!iface) throw new Error(`fake: no interface ${index}`);
    this.#notify('interface', this.#interfaceKeyBytes(iface.row), MibNotification.AddInstance);
  }

  /** The adapter disappears: its addresses and routes first, then the interface. */
  removeInterface(index: number): void {
    const iface = this.#byIndex(index);
    if (!iface) throw new Error(`fake: no interface ${index}`);
    const luid = iface.row.interfaceLuid;
    for (const [key, row] of this.#addresses) {
      if (row.interfaceLuid !== luid) continue;
      this.#addresses.delete(key);
      this.#notify('address', this.#addressKeyBytes(row), MibNotification.DeleteInstance);
    }
    for (const [key, row] of this.#routes) {
      if (row.interfaceLuid !== luid) continue;
      this.#routes.delete(key);
      this.#notify('route', this.#routeKeyBytes(row), MibNotification.DeleteInstance);
    }
    this.#interfaces.delete(luid);
    this.#notify('interface', this.#interfaceKeyBytes(iface.row), MibNotification.DeleteInstance);
  }

  /** Media connected or not (a ParameterNotification, as Windows sends). */
  setConnected(index: number, connected: boolean): void {
    const iface = this.#byIndex(index);
    if (!iface) throw new Error(`fake: no interface ${index}`);
    iface.row.connected = connected;
    this.#notify('interface', this.#interfaceKeyBytes(iface.row), MibNotification.ParameterNotification);
  }

  /**
   * What Windows does with a Router Advertisement carrying a Prefix Information Option and a
   * router lifetime: an on-link route (L flag), an address of its own (A flag; SLAAC with a
   * random stable IID), and a default route via the router, all with origin "router
   * advertisement" and the advertised lifetimes.
   */
  receiveRouterAdvertisement(ra: {
    index: number;
    router: Ipv6Address;
    routerLifetimeSec?: number;
    prefix: Ipv6Address;
    prefixLength: number;
    onLink?: boolean;
    autonomous?: boolean;
    validLifetimeSec: number;
    preferredLifetimeSec: number;
    /** The IID Windows would pick (its stable random one); default ::abcd. */
    iid?: bigint;
  }): void {
    const iface = this.#byIndex(ra.index);
    if (!iface) throw new Error(`fake: no interface ${ra.index}`);
    const luid = iface.row.interfaceLuid;
    const prefix = maskAddress(ra.prefix, ra.prefixLength);
    if (ra.onLink ?? true) {
      this.#putRoute({
        ...this.#blankRouteRow(luid, ra.index),
        destinationPrefix: { prefix: inet6(prefix), prefixLength: ra.prefixLength },
        nextHop: inet6(UNSPECIFIED),
        validLifetimeSec: ra.validLifetimeSec,
        preferredLifetimeSec: ra.preferredLifetimeSec,
        metric: 256,
        protocol: RouteProtocol.Other,
        origin: RouteOrigin.RouterAdvertisement,
        immortal: false,
      });
    }
    if ((ra.autonomous ?? true) && ra.prefixLength === 64) {
      this.#putAddress({
        ...this.#blankAddressRow(),
        address: inet6(Ipv6Address.fromHalves(prefix.high64, ra.iid ?? 0xabcdn)),
        interfaceLuid: luid,
        interfaceIndex: ra.index,
        prefixOrigin: PrefixOrigin.RouterAdvertisement,
        suffixOrigin: SuffixOrigin.Random,
        validLifetimeSec: ra.validLifetimeSec,
        preferredLifetimeSec: ra.preferredLifetimeSec,
        onLinkPrefixLength: ra.prefixLength,
        dadState: ra.preferredLifetimeSec === 0 ? DadState.Deprecated : DadState.Preferred,
      });
    }
    if ((ra.routerLifetimeSec ?? 1800) > 0) {
      this.#putRoute({
        ...this.#blankRouteRow(luid, ra.index),
        destinationPrefix: { prefix: inet6(UNSPECIFIED), prefixLength: 0 },
        nextHop: inet6(ra.router, ra.index),
        validLifetimeSec: ra.routerLifetimeSec ?? 1800,
        preferredLifetimeSec: ra.routerLifetimeSec ?? 1800,
        metric: 256,
        protocol: RouteProtocol.Other,
        origin: RouteOrigin.RouterAdvertisement,
        immortal: false,
      });
    }
  }

  /** Someone else (an administrator, netsh) deletes an address. */
  deleteAddressBehindBack(index: number, address: Ipv6Address): void {
    const iface = this.#byIndex(index);
    const row = iface && this.#addresses.get(addressKey(iface.row.interfaceLuid, address));
    if (!iface || !row) throw new Error(`fake: no address ${address.toString()} on ${index}`);
    this.#addresses.delete(addressKey(iface.row.interfaceLuid, address));
    this.#notify('address', this.#addressKeyBytes(row), MibNotification.DeleteInstance);
  }

  /** Someone else adds a default route (e.g. `route add ::/0 fe80::1 if 12`). */
  addForeignDefaultRoute(index: number, gateway: Ipv6Address, protocol: number = RouteProtocol.NetMgmt): void {
    const iface = this.#byIndex(index);
    if (!iface) throw new Error(`fake: no interface ${index}`);
    this.#putRoute({
      ...this.#blankRouteRow(iface.row.interfaceLuid, index),
      destinationPrefix: { prefix: inet6(UNSPECIFIED), prefixLength: 0 },
      nextHop: inet6(gateway, index),
      metric: 256,
      protocol,
      origin: RouteOrigin.Manual,
    });
  }

  /** DAD of this address will find a duplicate (in 'auto' mode). */
  conflictOn(address: Ipv6Address): void {
    this.#conflicts.add(address.toString());
  }

  /** Ends DAD of a tentative address (for `dad: 'manual'`). */
  completeDad(index: number, address: Ipv6Address, outcome: 'preferred' | 'duplicate'): void {
    const iface = this.#byIndex(index);
    const row = iface && this.#addresses.get(addressKey(iface.row.interfaceLuid, address));
    if (!row || row.dadState !== DadState.Tentative) throw new Error(`fake: ${address.toString()} is not tentative on ${index}`);
    this.#finishDad(row, outcome === 'duplicate');
  }

  /** Every write (Create/Set/Delete) answers ERROR_ACCESS_DENIED, as for a user without rights. */
  denyWrites(deny = true): void {
    this.#denyWrites = deny;
  }

  /** The next call of `fn` returns `status` without doing anything. */
  failNext(fn: FakeIpHelperFunction, status: number): void {
    const queue = this.#failures.get(fn) ?? [];
    queue.push(status);
    this.#failures.set(fn, queue);
  }

  /** Resolves once every queued notification has been delivered (and what they caused). */
  async flush(): Promise<void> {
    for (let i = 0; i < 50 && this.#pending > 0; i++) {
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** The rows as Windows holds them (for assertions). */
  addressRows(): UnicastIpAddressRow[] {
    return [...this.#addresses.values()].map((r) => ({ ...r }));
  }

  routeRows(): IpForwardRow2[] {
    return [...this.#routes.values()].map((r) => ({ ...r }));
  }

  interfaceRow(index: number): IpInterfaceRow | undefined {
    const iface = this.#byIndex(index);
    return iface && { ...iface.row };
  }

  /** How many notification registrations are active (0 after the platform closed). */
  get activeRegistrations(): number {
    return this.#registrations.filter((r) => r.active).length;
  }

  // ---- IpHelper: addresses ------------------------------------------------------------------

  InitializeUnicastIpAddressEntry(row: Uint8Array): void {
    this.#call('InitializeUnicastIpAddressEntry');
    encodeUnicastIpAddressRow(this.#blankAddressRow(), row);
  }

  CreateUnicastIpAddressEntry(bytes: Uint8Array): number {
    return this.#run('CreateUnicastIpAddressEntry', () => {
      if (this.#denyWrites) return WIN32_STATUS.ERROR_ACCESS_DENIED;
      const row = decodeUnicastIpAddressRow(bytes);
      this.createdAddressRows.push({ ...row });
      const address = ipv6Of(row.address);
      if (!address) return WIN32_STATUS.ERROR_INVALID_PARAMETER;
      const found = this.#resolve(row.interfaceLuid, row.interfaceIndex);
      if (typeof found === 'number') return found === WIN32_STATUS.ERROR_FILE_NOT_FOUND ? WIN32_STATUS.ERROR_NOT_FOUND : found;
      if (row.validLifetimeSec < row.preferredLifetimeSec) return WIN32_STATUS.ERROR_INVALID_PARAMETER;
      if (row.onLinkPrefixLength > 128 && row.onLinkPrefixLength !== 0xff) return WIN32_STATUS.ERROR_INVALID_PARAMETER;
      const luid = found.row.interfaceLuid;
      if (this.#addresses.has(addressKey(luid, address))) return WIN32_STATUS.ERROR_OBJECT_ALREADY_EXISTS;
      const stored: UnicastIpAddressRow = {
        ...row,
        address: inet6(address, address.isLinkLocal() ? found.row.interfaceIndex : 0),
        interfaceLuid: luid,
        interfaceIndex: found.row.interfaceIndex,
        prefixOrigin: row.prefixOrigin === PrefixOrigin.Unchanged ? PrefixOrigin.Manual : row.prefixOrigin,
        suffixOrigin: row.suffixOrigin === SuffixOrigin.Unchanged ? SuffixOrigin.Manual : row.suffixOrigin,
        onLinkPrefixLength: row.onLinkPrefixLength === 0xff ? 64 : row.onLinkPrefixLength,
        dadState: found.row.dadTransmits === 0 ? this.#settledState(row) : DadState.Tentative,
        creationTimeStamp: ++this.#clock,
      };
      this.#putAddress(stored);
      if (stored.dadState === DadState.Tentative && this.#dadMode === 'auto') {
        this.#later(() => {
          const current = this.#addresses.get(addressKey(luid, address));
          if (current && current.dadState === DadState.Tentative) this.#finishDad(current, this.#conflicts.has(address.toString()));
        });
      }
      return WIN32_STATUS.NO_ERROR;
    });
  }

  GetUnicastIpAddressEntry(bytes: Uint8Array): number {
    return this.#run('GetUnicastIpAddressEntry', () => {
      const found = this.#findAddress(bytes);
      if (typeof found === 'number') return found;
      encodeUnicastIpAddressRow(found, bytes);
      return WIN32_STATUS.NO_ERROR;
    });
  }

  SetUnicastIpAddressEntry(bytes: Uint8Array): number {
    return this.#run('SetUnicastIpAddressEntry', () => {
      if (this.#denyWrites) return WIN32_STATUS.ERROR_ACCESS_DENIED;
      const found = this.#findAddress(bytes);
      if (typeof found === 'number') return found;
      const row = decodeUnicastIpAddressRow(bytes);
      if (row.validLifetimeSec < row.preferredLifetimeSec) return WIN32_STATUS.ERROR_INVALID_PARAMETER;
      found.validLifetimeSec = row.validLifetimeSec;
      found.preferredLifetimeSec = row.preferredLifetimeSec;
      if (row.prefixOrigin !== PrefixOrigin.Unchanged) found.prefixOrigin = row.prefixOrigin;
      if (row.suffixOrigin !== SuffixOrigin.Unchanged) found.suffixOrigin = row.suffixOrigin;
      if (row.onLinkPrefixLength !== 0xff) found.onLinkPrefixLength = row.onLinkPrefixLength;
      found.skipAsSource = row.skipAsSource;
      if (found.dadState === DadState.Preferred || found.dadState === DadState.Deprecated) {
        found.dadState = this.#settledState(found);
      }
      this.#notify('address', this.#addressKeyBytes(found), MibNotification.ParameterNotification);
      return WIN32_STATUS.NO_ERROR;
    });
  }

  DeleteUnicastIpAddressEntry(bytes: Uint8Array): number {
    return this.#run('DeleteUnicastIpAddressEntry', () => {
      if (this.#denyWrites) return WIN32_STATUS.ERROR_ACCESS_DENIED;
      const found = this.#findAddress(bytes);
      if (typeof found === 'number') return found;
      this.#addresses.delete(addressKey(found.interfaceLuid, ipv6Of(found.address) ?? UNSPECIFIED));
      this.#notify('address', this.#addressKeyBytes(found), MibNotification.DeleteInstance);
      return WIN32_STATUS.NO_ERROR;
    });
  }

  GetUnicastIpAddressTable(family: number): TableResult {
    let table: Uint8Array | undefined;
    const status = this.#run('GetUnicastIpAddressTable', () => {
      if (family !== AF_INET6 && family !== AF_UNSPEC) return WIN32_STATUS.ERROR_NOT_SUPPORTED;
      table = encodeUnicastIpAddressTable([...this.#addresses.values()]);
      return WIN32_STATUS.NO_ERROR;
    });
    return table ? { status, table } : { status };
  }

  // ---- IpHelper: routes ---------------------------------------------------------------------

  InitializeIpForwardEntry(row: Uint8Array): void {
    this.#call('InitializeIpForwardEntry');
    encodeIpForwardRow2(
      {
        ...this.#blankRouteRow(0n, 0),
        destinationPrefix: { prefix: unspecifiedSockaddr(), prefixLength: 0 },
        nextHop: unspecifiedSockaddr(),
        // "SitePrefixLength, Metric and Protocol are set to illegal values" (InitializeIpForwardEntry docs).
        sitePrefixLength: 0xff,
        metric: NOT_SET,
        protocol: -1,
        loopback: true,
        autoconfigureAddress: true,
        publish: true,
        immortal: true,
      },
      row,
    );
  }

  CreateIpForwardEntry2(bytes: Uint8Array): number {
    return this.#run('CreateIpForwardEntry2', () => {
      if (this.#denyWrites) return WIN32_STATUS.ERROR_ACCESS_DENIED;
      const row = decodeIpForwardRow2(bytes);
      const prefix = ipv6Of(row.destinationPrefix.prefix);
      const nextHop = ipv6Of(row.nextHop);
      if (!prefix || !nextHop || row.destinationPrefix.prefixLength > 128) return WIN32_STATUS.ERROR_INVALID_PARAMETER;
      if (row.validLifetimeSec < row.preferredLifetimeSec) return WIN32_STATUS.ERROR_INVALID_PARAMETER;
      const found = this.#resolve(row.interfaceLuid, row.interfaceIndex);
      if (typeof found === 'number') return found === WIN32_STATUS.ERROR_FILE_NOT_FOUND ? WIN32_STATUS.ERROR_NOT_FOUND : found;
      const luid = found.row.interfaceLuid;
      const key = routeKey(luid, prefix, row.destinationPrefix.prefixLength, nextHop);
      if (this.#routes.has(key)) return WIN32_STATUS.ERROR_OBJECT_ALREADY_EXISTS;
      this.#putRoute({
        ...row,
        interfaceLuid: luid,
        interfaceIndex: found.row.interfaceIndex,
        metric: row.metric === NOT_SET ? 256 : row.metric,
        protocol: row.protocol < 1 ? RouteProtocol.NetMgmt : row.protocol,
        sitePrefixLength: 0,
        origin: RouteOrigin.Manual,
      });
      return WIN32_STATUS.NO_ERROR;
    });
  }

  DeleteIpForwardEntry2(bytes: Uint8Array): number {
    return this.#run('DeleteIpForwardEntry2', () => {
      if (this.#denyWrites) return WIN32_STATUS.ERROR_ACCESS_DENIED;
      const row = decodeIpForwardRow2(bytes);
      const prefix = ipv6Of(row.destinationPrefix.prefix);
      const nextHop = ipv6Of(row.nextHop);
      if (!prefix || !nextHop) return WIN32_STATUS.ERROR_INVALID_PARAMETER;
      const found = this.#resolve(row.interfaceLuid, row.interfaceIndex);
      if (typeof found === 'number') return found;
      const key = routeKey(found.row.interfaceLuid, prefix, row.destinationPrefix.prefixLength, nextHop);
      const existing = this.#routes.get(key);
      if (!existing) return WIN32_STATUS.ERROR_NOT_FOUND;
      this.#routes.delete(key);
      this.#notify('route', this.#routeKeyBytes(existing), MibNotification.DeleteInstance);
      return WIN32_STATUS.NO_ERROR;
    });
  }

  GetIpForwardTable2(family: number): TableResult {
    let table: Uint8Array | undefined;
    const status = this.#run('GetIpForwardTable2', () => {
      if (family !== AF_INET6 && family !== AF_UNSPEC) return WIN32_STATUS.ERROR_NOT_SUPPORTED;
      table = encodeIpForwardTable2([...this.#routes.values()]);
      return WIN32_STATUS.NO_ERROR;
    });
    return table ? { status, table } : { status };
  }

  // ---- IpHelper: interfaces -----------------------------------------------------------------

  InitializeIpInterfaceEntry(row: Uint8Array): void {
    this.#call('InitializeIpInterfaceEntry');
    encodeIpInterfaceRow(this.#blankInterfaceRow(), row);
  }

  GetIpInterfaceEntry(bytes: Uint8Array): number {
    return this.#run('GetIpInterfaceEntry', () => {
      const request = decodeIpInterfaceRow(bytes);
      if (request.family !== AF_INET6) return WIN32_STATUS.ERROR_INVALID_PARAMETER;
      const found = this.#resolve(request.interfaceLuid, request.interfaceIndex);
      if (typeof found === 'number') return found === WIN32_STATUS.ERROR_FILE_NOT_FOUND ? WIN32_STATUS.ERROR_NOT_FOUND : found;
      encodeIpInterfaceRow(found.row, bytes);
      return WIN32_STATUS.NO_ERROR;
    });
  }

  SetIpInterfaceEntry(bytes: Uint8Array): number {
    return this.#run('SetIpInterfaceEntry', () => {
      if (this.#denyWrites) return WIN32_STATUS.ERROR_ACCESS_DENIED;
      const request = decodeIpInterfaceRow(bytes);
      if (request.family !== AF_INET6) return WIN32_STATUS.ERROR_INVALID_PARAMETER;
      const found = this.#resolve(request.interfaceLuid, request.interfaceIndex);
      if (typeof found === 'number') return found === WIN32_STATUS.ERROR_FILE_NOT_FOUND ? WIN32_STATUS.ERROR_NOT_FOUND : found;
      const { interfaceLuid, interfaceIndex, connected, nlMtu } = found.row;
      found.row = { ...request, interfaceLuid, interfaceIndex, connected, nlMtu };
      this.#notify('interface', this.#interfaceKeyBytes(found.row), MibNotification.ParameterNotification);
      return WIN32_STATUS.NO_ERROR;
    });
  }

  GetIpInterfaceTable(family: number): TableResult {
    let table: Uint8Array | undefined;
    const status = this.#run('GetIpInterfaceTable', () => {
      if (family !== AF_INET6 && family !== AF_UNSPEC) return WIN32_STATUS.ERROR_NOT_SUPPORTED;
      table = encodeIpInterfaceTable([...this.#interfaces.values()].map((i) => i.row));
      return WIN32_STATUS.NO_ERROR;
    });
    return table ? { status, table } : { status };
  }

  // ---- IpHelper: notifications --------------------------------------------------------------

  NotifyUnicastIpAddressChange(family: number, callback: MibChangeCallback, initial: boolean): NotifyResult {
    return this.#register('NotifyUnicastIpAddressChange', 'address', family, callback, initial);
  }

  NotifyIpInterfaceChange(family: number, callback: MibChangeCallback, initial: boolean): NotifyResult {
    return this.#register('NotifyIpInterfaceChange', 'interface', family, callback, initial);
  }

  NotifyRouteChange2(family: number, callback: MibChangeCallback, initial: boolean): NotifyResult {
    return this.#register('NotifyRouteChange2', 'route', family, callback, initial);
  }

  async CancelMibChangeNotify2(handle: NotificationHandle): Promise<number> {
    return this.#run('CancelMibChangeNotify2', () => {
      const registration = this.#registrations.find((r) => r.handle === handle && r.active);
      if (!registration) return WIN32_STATUS.ERROR_INVALID_HANDLE;
      // After a successful cancel no callback of the registration runs any more, queued or not.
      registration.active = false;
      return WIN32_STATUS.NO_ERROR;
    });
  }

  // ---- IpHelper: conversions ----------------------------------------------------------------

  ConvertInterfaceNameToLuidW(name: string): { status: number; luid: bigint } {
    let luid = 0n;
    const status = this.#run('ConvertInterfaceNameToLuidW', () => {
      const match = [...this.#interfaces.values()].find((i) => this.#ndisName(i.row) === name);
      if (!match) return WIN32_STATUS.ERROR_INVALID_PARAMETER;
      luid = match.row.interfaceLuid;
      return WIN32_STATUS.NO_ERROR;
    });
    return { status, luid };
  }

  ConvertInterfaceLuidToIndex(luid: bigint): { status: number; index: number } {
    let index = 0;
    const status = this.#run('ConvertInterfaceLuidToIndex', () => {
      const iface = this.#interfaces.get(luid);
      if (!iface) return WIN32_STATUS.ERROR_FILE_NOT_FOUND;
      index = iface.row.interfaceIndex;
      return WIN32_STATUS.NO_ERROR;
    });
    return { status, index };
  }

  ConvertInterfaceIndexToLuid(index: number): { status: number; luid: bigint } {
    let luid = 0n;
    const status = this.#run('ConvertInterfaceIndexToLuid', () => {
      const iface = this.#byIndex(index);
      if (!iface) return WIN32_STATUS.ERROR_FILE_NOT_FOUND;
      luid = iface.row.interfaceLuid;
      return WIN32_STATUS.NO_ERROR;
    });
    return { status, luid };
  }

  ConvertInterfaceLuidToAlias(luid: bigint): { status: number; alias: string } {
    let alias = '';
    const status = this.#run('ConvertInterfaceLuidToAlias', () => {
      const found = this.#aliases.get(luid);
      if (found === undefined || !this.#interfaces.has(luid)) return WIN32_STATUS.ERROR_FILE_NOT_FOUND;
      alias = found;
      return WIN32_STATUS.NO_ERROR;
    });
    return { status, alias };
  }

  // ---- internals ----------------------------------------------------------------------------

  #call(fn: FakeIpHelperFunction, status?: number): void {
    this.calls.push(status === undefined ? { fn } : { fn, status });
  }

  #run(fn: FakeIpHelperFunction, body: () => number): number {
    const scripted = this.#failures.get(fn)?.shift();
    const status = scripted ?? body();
    this.#call(fn, status);
    return status;
  }

  #register(
    fn: FakeIpHelperFunction,
    table: Registration['table'],
    family: number,
    callback: MibChangeCallback,
    initial: boolean,
  ): NotifyResult {
    let handle: NotificationHandle | undefined;
    const status = this.#run(fn, () => {
      if (family !== AF_INET6 && family !== AF_UNSPEC) return WIN32_STATUS.ERROR_INVALID_PARAMETER;
      const registration: Registration = { handle: { kind: 'notification-handle' }, table, callback, active: true };
      this.#registrations.push(registration);
      handle = registration.handle;
      if (initial) this.#later(() => registration.active && registration.callback(undefined, MibNotification.InitialNotification));
      return WIN32_STATUS.NO_ERROR;
    });
    return handle ? { status, handle } : { status };
  }

  #later(work: () => void): void {
    this.#pending++;
    setImmediate(() => {
      try {
        work();
      } finally {
        this.#pending--;
        if (this.#pending === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
      }
    });
  }

  #notify(table: Registration['table'], keyBytes: Uint8Array, type: number): void {
    for (const registration of this.#registrations) {
      if (registration.table !== table || !registration.active) continue;
      this.#later(() => {
        if (registration.active) registration.callback(Uint8Array.from(keyBytes), type);
      });
    }
  }

  #byIndex(index: number): Iface | undefined {
    return [...this.#interfaces.values()].find((i) => i.row.interfaceIndex === index);
  }

  /** LUID first when non-zero, then the index, as the IP Helper functions document. */
  #resolve(luid: bigint, index: number): Iface | number {
    if (luid !== 0n) return this.#interfaces.get(luid) ?? WIN32_STATUS.ERROR_FILE_NOT_FOUND;
    if (index !== 0) return this.#byIndex(index) ?? WIN32_STATUS.ERROR_FILE_NOT_FOUND;
    return WIN32_STATUS.ERROR_INVALID_PARAMETER;
  }

  #findAddress(bytes: Uint8Array): UnicastIpAddressRow | number {
    const row = decodeUnicastIpAddressRow(bytes);
    const address = ipv6Of(row.address);
    if (!address) return WIN32_STATUS.ERROR_INVALID_PARAMETER;
    const found = this.#resolve(row.interfaceLuid, row.interfaceIndex);
    if (typeof found === 'number') return found;
    // The interface exists but does not hold the address: the classic ERROR_NOT_FOUND.
    return this.#addresses.get(addressKey(found.row.interfaceLuid, address)) ?? WIN32_STATUS.ERROR_NOT_FOUND;
  }

  #settledState(row: UnicastIpAddressRow): number {
    return row.preferredLifetimeSec === 0 ? DadState.Deprecated : DadState.Preferred;
  }

  #finishDad(row: UnicastIpAddressRow, duplicate: boolean): void {
    row.dadState = duplicate ? DadState.Duplicate : this.#settledState(row);
    this.#notify('address', this.#addressKeyBytes(row), MibNotification.ParameterNotification);
  }

  #putAddress(row: UnicastIpAddressRow): void {
    const address = ipv6Of(row.address) ?? UNSPECIFIED;
    const key = addressKey(row.interfaceLuid, address);
    const existed = this.#addresses.has(key);
    this.#addresses.set(key, row);
    this.#notify('address', this.#addressKeyBytes(row), existed ? MibNotification.ParameterNotification : MibNotification.AddInstance);
  }

  #putRoute(row: IpForwardRow2): void {
    const key = routeKey(
      row.interfaceLuid,
      ipv6Of(row.destinationPrefix.prefix) ?? UNSPECIFIED,
      row.destinationPrefix.prefixLength,
      ipv6Of(row.nextHop) ?? UNSPECIFIED,
    );
    const existed = this.#routes.has(key);
    this.#routes.set(key, row);
    this.#notify('route', this.#routeKeyBytes(row), existed ? MibNotification.ParameterNotification : MibNotification.AddInstance);
  }

  /** A notification row carries only the keys; the rest is zero (the platform must re-read). */
  #addressKeyBytes(row: UnicastIpAddressRow): Uint8Array {
    return encodeUnicastIpAddressRow({
      ...this.#zeroAddressRow(),
      address: row.address,
      interfaceLuid: row.interfaceLuid,
      interfaceIndex: row.interfaceIndex,
    });
  }

  #routeKeyBytes(row: IpForwardRow2): Uint8Array {
    return encodeIpForwardRow2({
      ...this.#blankRouteRow(row.interfaceLuid, row.interfaceIndex),
      destinationPrefix: row.destinationPrefix,
      nextHop: row.nextHop,
      validLifetimeSec: 0,
      preferredLifetimeSec: 0,
    });
  }

  #interfaceKeyBytes(row: IpInterfaceRow): Uint8Array {
    return encodeIpInterfaceRow({
      ...this.#blankInterfaceRow(),
      family: AF_INET6,
      interfaceLuid: row.interfaceLuid,
      interfaceIndex: row.interfaceIndex,
    });
  }

  #ndisName(row: IpInterfaceRow): string {
    return `ethernet_${Number(row.interfaceLuid >> 24n) & 0xffffff}`;
  }

  #zeroAddressRow(): UnicastIpAddressRow {
    return {
      address: unspecifiedSockaddr(),
      interfaceLuid: 0n,
      interfaceIndex: 0,
      prefixOrigin: 0,
      suffixOrigin: 0,
      validLifetimeSec: 0,
      preferredLifetimeSec: 0,
      onLinkPrefixLength: 0,
      skipAsSource: false,
      dadState: 0,
      scopeId: 0,
      creationTimeStamp: 0n,
    };
  }

  /** What InitializeUnicastIpAddressEntry leaves: origins "unchanged", infinite lifetimes, length 255. */
  #blankAddressRow(): UnicastIpAddressRow {
    return {
      ...this.#zeroAddressRow(),
      prefixOrigin: PrefixOrigin.Unchanged,
      suffixOrigin: SuffixOrigin.Unchanged,
      validLifetimeSec: WIN32_INFINITE,
      preferredLifetimeSec: WIN32_INFINITE,
      onLinkPrefixLength: 0xff,
    };
  }

  #blankRouteRow(luid: bigint, index: number): IpForwardRow2 {
    return {
      interfaceLuid: luid,
      interfaceIndex: index,
      destinationPrefix: { prefix: inet6(UNSPECIFIED), prefixLength: 0 },
      nextHop: inet6(UNSPECIFIED),
      sitePrefixLength: 0,
      validLifetimeSec: WIN32_INFINITE,
      preferredLifetimeSec: WIN32_INFINITE,
      metric: 256,
      protocol: RouteProtocol.NetMgmt,
      loopback: false,
      autoconfigureAddress: false,
      publish: false,
      immortal: true,
      ageSec: 0,
      origin: RouteOrigin.Manual,
    };
  }

  #blankInterfaceRow(): IpInterfaceRow {
    return {
      family: 0,
      interfaceLuid: 0n,
      interfaceIndex: 0,
      maxReassemblySize: 0,
      interfaceIdentifier: 0n,
      minRouterAdvertisementInterval: 0,
      maxRouterAdvertisementInterval: 0,
      advertisingEnabled: false,
      forwardingEnabled: false,
      weakHostSend: false,
      weakHostReceive: false,
      useAutomaticMetric: true,
      useNeighborUnreachabilityDetection: true,
      managedAddressConfigurationSupported: false,
      otherStatefulConfigurationSupported: false,
      advertiseDefaultRoute: false,
      routerDiscoveryBehavior: RouterDiscovery.Unchanged,
      dadTransmits: 1,
      baseReachableTime: 30000,
      retransmitTime: 1000,
      pathMtuDiscoveryTimeout: 600000,
      linkLocalAddressBehavior: 1,
      linkLocalAddressTimeout: 0,
      zoneIndices: new Array<number>(16).fill(0),
      sitePrefixLength: 0,
      metric: 0,
      nlMtu: 1500,
      connected: false,
      supportsWakeUpPatterns: false,
      supportsNeighborDiscovery: true,
      supportsRouterDiscovery: true,
      reachableTime: 30000,
      transmitOffload: 0,
      receiveOffload: 0,
      disableDefaultRoutes: false,
    };
  }
}
