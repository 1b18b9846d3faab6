/**
 * The one interface between stable6 and a host's IPv6 stack.
 *
 * One implementation per OS (linux/, windows/) and an in-memory fake (fake/) that ships
 * publicly for applications' own tests. The backend is chosen in exactly one file
 * (select-platform.ts); nothing else looks at `process.platform`.
 *
 * Lifetimes are seconds, as the OS reports them: `INFINITE_LIFETIME` (0xffffffff) means
 * forever (RFC 4861 §4.6.2), and a backend reports the time left, not the time given.
 */
import type { Ipv6Address } from '../core/address.js';
import type { Ipv6Prefix } from '../core/prefix.js';

export const INFINITE_LIFETIME = 0xffffffff;

/** The tag stable6 puts on what it owns: `IFA_PROTO` on Linux addresses, the route protocol on routes. */
export const STABLE6_PROTOCOL = 115;

export interface InterfaceInfo {
  index: number;
  name: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Operationally up: carrier and lower layers (IFF_RUNNING / IfOperStatusUp). */
  running: boolean;
  mtu?: number;
  /** The current hardware address, if the link has one. */
  hwAddress?: Uint8Array;
  /** The permanent (burnt-in) hardware address where the OS reports one; all-zero on veth. */
  permHwAddress?: Uint8Array;
}

export interface AddressFlags {
  tentative: boolean;
  dadFailed: boolean;
  deprecated: boolean;
  optimistic: boolean;
  /** Added without lifetimes (static, "forever"). */
  permanent: boolean;
  noDad: boolean;
  noPrefixRoute: boolean;
}

export interface AddressInfo {
  ifindex: number;
  address: Ipv6Address;
  prefixLength: number;
  /** Seconds left, or INFINITE_LIFETIME. */
  validLifetimeSec: number;
  preferredLifetimeSec: number;
  flags: AddressFlags;
  /** The owner tag (Linux IFA_PROTO); undefined when the OS has none for this address. */
  protocol?: number;
  /** True when stable6 owns this address (tagged with STABLE6_PROTOCOL). */
  owned: boolean;
}

export interface AddAddressRequest {
  ifindex: number;
  address: Ipv6Address;
  prefixLength: number;
  validLifetimeSec: number;
  preferredLifetimeSec: number;
  /** Skip DAD (IFA_F_NODAD). Never for stable6-v1 addresses on a shared link. */
  noDad?: boolean;
  /** Usable while DAD runs (IFA_F_OPTIMISTIC, RFC 4429); needs optimistic_dad=1 on Linux. */
  optimistic?: boolean;
  /** Do not add the on-link prefix route (IFA_F_NOPREFIXROUTE). */
  noPrefixRoute?: boolean;
}

export interface DeleteAddressRequest {
  ifindex: number;
  address: Ipv6Address;
  prefixLength: number;
}

export interface RouteInfo {
  ifindex: number;
  destination: Ipv6Prefix;
  gateway?: Ipv6Address;
  metric: number;
  /** The route's protocol (Linux rtm_protocol; e.g. 9 = ra). */
  protocol: number;
  /** Seconds left, or INFINITE_LIFETIME. */
  expiresSec: number;
  owned: boolean;
}

export interface DefaultRouteRequest {
  ifindex: number;
  gateway: Ipv6Address;
  metric?: number;
}

/** The per-interface IPv6 settings stable6 changes and restores. */
export interface InterfaceSettings {
  /** The stack's own SLAAC (Linux `autoconf`). */
  autoconf: boolean;
  /** Accept Router Advertisements (Linux `accept_ra`: 0, 1 or 2). */
  acceptRa: number;
}

/** A Prefix Information Option the OS accepted from a Router Advertisement, as the OS reports it. */
export interface PrefixReport {
  ifindex: number;
  prefix: Ipv6Address;
  /** As received: the OS may pass odd lengths through; the daemon checks RFC 4862 §5.5.3 itself. */
  prefixLength: number;
  onLink: boolean;
  autonomous: boolean;
  validLifetimeSec: number;
  preferredLifetimeSec: number;
  /** The advertising router's link-local address, when the OS tells it. */
  router?: Ipv6Address;
}

/**
 * ND options the OS passed up from a Router Advertisement for user space to handle
 * (Linux `RTM_NEWNDUSEROPT`: RDNSS 25, DNSSL 31 and, on recent kernels, the PIO 3).
 */
export interface NdUserOptionReport {
  ifindex: number;
  /** The ICMPv6 type of the carrying message (134 = Router Advertisement). */
  icmpType: number;
  /** Each option whole, as on the wire: type, length in 8-octet units, body (RFC 4861 §4.6). */
  options: { type: number; bytes: Uint8Array }[];
  /** The advertising router's link-local address, when the OS tells it. */
  router?: Ipv6Address;
}

/** What a backend reports. Past-tense facts, discriminated on `type`. */
export type PlatformEvent =
  | { type: 'link-changed'; link: InterfaceInfo }
  | { type: 'link-removed'; ifindex: number; name: string }
  /** A new address, or a change of an existing one (flags, lifetimes, DAD finished). */
  | { type: 'address-changed'; address: AddressInfo }
  /** Gone; `address.flags.dadFailed` tells a DAD failure from a deletion. */
  | { type: 'address-removed'; address: AddressInfo }
  | { type: 'route-changed'; route: RouteInfo }
  | { type: 'route-removed'; route: RouteInfo }
  | { type: 'prefix-received'; prefix: PrefixReport }
  | { type: 'nd-user-option'; report: NdUserOptionReport }
  /**
   * Notifications were lost (netlink ENOBUFS, a stack reset): the backend re-listed
   * everything and reported the differences as the events above; consumers may re-read.
   */
  | { type: 'resynced' };

export type PlatformListener = (event: PlatformEvent) => void;

export interface Platform {
  readonly kind: 'linux' | 'windows' | 'fake';

  listInterfaces(): Promise<InterfaceInfo[]>;
  listAddresses(ifindex?: number): Promise<AddressInfo[]>;
  /** Adds the address, or updates its lifetimes and flags when it exists; tagged as stable6's. */
  addAddress(request: AddAddressRequest): Promise<void>;
  /** Many at once, each with its own outcome (undefined = done), in order. */
  addAddresses(requests: readonly AddAddressRequest[]): Promise<(Error | undefined)[]>;
  deleteAddress(request: DeleteAddressRequest): Promise<void>;

  listDefaultRoutes(ifindex?: number): Promise<RouteInfo[]>;
  /** Adds or replaces a default route tagged as stable6's. */
  addDefaultRoute(request: DefaultRouteRequest): Promise<void>;
  deleteDefaultRoute(request: DefaultRouteRequest): Promise<void>;

  getInterfaceSettings(ifindex: number): Promise<InterfaceSettings>;
  setInterfaceSettings(ifindex: number, settings: Partial<InterfaceSettings>): Promise<void>;

  /** Asks routers on the link to advertise now (RFC 4861 §6.3.7). */
  sendRouterSolicitation(ifindex: number): Promise<void>;

  /** Starts reporting events to `listener`; the returned function stops it. */
  subscribe(listener: PlatformListener): () => void;

  close(): Promise<void>;
}

/**
 * `addAddresses` for a backend with no batch call of its own (Windows, the fake): one add
 * after another, each outcome in its place.
 */
export async function addEachAddress<R extends AddAddressRequest>(add: (request: R) => Promise<void>, requests: readonly R[]): Promise<(Error | undefined)[]> {
  const results: (Error | undefined)[] = [];
  for (const request of requests) {
    try {
      await add(request);
      results.push(undefined);
    } catch (error) {
      results.push(error instanceof Error ? error : new Error(String(error)));
    }
  }
  return results;
}
