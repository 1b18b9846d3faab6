/**
 * The engine's vocabulary: configuration, events in, commands out, and its state.
 *
 * Everything here is plain data (strings for addresses, numbers for times), so events and
 * commands can be logged, replayed in tests and one day cross a process boundary. Events are
 * past-tense facts; commands are imperatives. Times are monotonic milliseconds (`now`),
 * lifetimes are seconds with INFINITE_LIFETIME (0xffffffff) for "forever".
 */
import type { AddressInfo, InterfaceInfo, InterfaceSettings, PlatformEvent, RouteInfo } from '../platform/platform.js';
import type { PersistedState } from './persisted-state.js';

/** Node timers overflow past this (about 24.8 days): the engine never asks for a later wake-up. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** RFC 7217 §6 / spec "Retries": IDGEN_RETRIES and IDGEN_DELAY defaults. */
export const DEFAULT_IDGEN_RETRIES = 3;
export const DEFAULT_IDGEN_DELAY_MS = 1000;
/** Bounded tables (DESIGN.md "Bounded"). */
export const DEFAULT_MAX_PREFIXES = 16;
export const DEFAULT_MAX_LEASES = 4096;

// ---- Configuration (data only: the secret and the generators are engine options) -----------

export interface StaticPrefixConfig {
  /** A /64, or a routed prefix shorter than /64 with `subnet`. */
  prefix: string;
  /** Subnet ID inside a prefix shorter than /64: a number, a decimal or 0x-hex string, or "auto". */
  subnet?: number | string;
  /** Default: infinite. A finite lifetime is refreshed by the engine at half of it. */
  validLifetimeSec?: number;
  preferredLifetimeSec?: number;
}

export interface InterfaceConfig {
  /** The OS interface name. */
  name: string;
  /** The stable name that enters the hash (spec `netIface`); default `name`. */
  netIface?: string;
  /** Hex bytes of the RFC 7217 Network_ID; default empty. */
  networkId?: string;
  /** A generator name from the engine options; default "stable6-v1". */
  algorithm?: string;
  /** Take prefixes from Router Advertisements (default true). */
  acceptRa?: boolean;
  staticPrefixes?: StaticPrefixConfig[];
  /** A default gateway kept in place by the engine (for links with no router advertising). */
  defaultGateway?: string;
  gatewayMetric?: number;
  /** Cap on prefixes learned from RAs on this interface. */
  maxPrefixes?: number;
  /** Add with IFA_F_OPTIMISTIC (RFC 4429): usable while DAD runs. */
  optimistic?: boolean;
}

export interface EngineConfig {
  interfaces: InterfaceConfig[];
  idgenRetries?: number;
  idgenDelayMs?: number;
  maxLeases?: number;
  /**
   * Install per-application (lease) addresses deprecated (preferred lifetime 0), so that RFC
   * 6724 source selection (rule 3, "avoid deprecated addresses") never picks them for unrelated
   * traffic while applications can still bind them. Default true.
   */
  leaseAddressesDeprecated?: boolean;
}

// ---- Events ------------------------------------------------------------------------------

export type LeaseBinding = 'persistent' | 'connection';

export type EngineEvent =
  | PlatformEvent
  /** The whole OS view, listed at start-up and after a `resynced`: the engine reconciles with it. */
  | { type: 'snapshot'; links: InterfaceInfo[]; addresses: AddressInfo[]; routes: RouteInfo[] }
  | { type: 'config'; config: EngineConfig }
  /** A wake-up the engine asked for (`wakeAt`) is due. */
  | { type: 'timer' }
  | { type: 'lease-request'; ifname: string; label: string; uid: number; binding: LeaseBinding; connectionId?: string }
  | { type: 'lease-release'; ifname: string; label: string; uid: number }
  | { type: 'connection-closed'; connectionId: string }
  /** A command could not be applied. */
  | { type: 'command-failed'; command: EngineCommand; code?: string; message: string }
  /** `set-interface-settings` was applied; `previous` is what the OS had before. */
  | { type: 'interface-settings-saved'; ifname: string; ifindex: number; previous: InterfaceSettings }
  /** The daemon stops: restore interface settings; with `flush`, delete what stable6 owns. */
  | { type: 'shutdown'; flush: boolean };

// ---- Commands ----------------------------------------------------------------------------

export type EngineReport =
  | { kind: 'lease-ready'; ifname: string; label: string; uid: number; addresses: string[] }
  | { kind: 'lease-failed'; ifname: string; label: string; uid: number; code: string; message: string }
  | { kind: 'lease-released'; ifname: string; label: string; uid: number }
  | { kind: 'address-failed'; ifname: string; label: string; prefix: string; dadCounter: number; code: string; message: string }
  | { kind: 'address-state'; ifname: string; label: string; prefix: string; address: string | null; state: AddressStatusState }
  /**
   * An address the status showed is gone from it (lease released, prefix retired); `state` is its
   * last one, `owner` the uid of its lease (none for the interface's own address).
   */
  | { kind: 'address-removed'; ifname: string; label: string; prefix: string; address: string; algorithm: string; dadCounter: number; state: AddressStatusState; owner?: number };

export type EngineCommand =
  | {
      type: 'add-address';
      ifindex: number;
      ifname: string;
      address: string;
      prefixLength: number;
      validLifetimeSec: number;
      preferredLifetimeSec: number;
      optimistic: boolean;
      noPrefixRoute: boolean;
    }
  | { type: 'delete-address'; ifindex: number; ifname: string; address: string; prefixLength: number }
  | { type: 'add-default-route'; ifindex: number; ifname: string; gateway: string; metric?: number }
  | { type: 'delete-default-route'; ifindex: number; ifname: string; gateway: string; metric?: number }
  | { type: 'send-router-solicitation'; ifindex: number; ifname: string }
  /** Apply `settings`; the applier reports the values it replaced (`interface-settings-saved`). */
  | { type: 'set-interface-settings'; ifindex: number; ifname: string; settings: Partial<InterfaceSettings> }
  | { type: 'restore-interface-settings'; ifindex: number; ifname: string; settings: InterfaceSettings }
  | { type: 'persist-state'; state: PersistedState }
  | { type: 'report'; report: EngineReport };

export interface StepResult {
  state: EngineState;
  commands: EngineCommand[];
  /** When to deliver the next `timer` event (monotonic ms), never more than MAX_TIMER_MS after `now`. */
  wakeAt: number | undefined;
}

// ---- State (plain, serializable; the secret is never here) ---------------------------------

export type AddressPhase = 'pending' | 'tentative' | 'preferred' | 'deprecated' | 'delayed' | 'failed';
export type AddressStatusState = 'tentative' | 'preferred' | 'deprecated' | 'failed';
export type PrefixPhase = 'preferred' | 'deprecated';
export type LeasePhase = 'pending' | 'ready' | 'failed';

export interface LinkState {
  ifindex: number;
  up: boolean;
  running: boolean;
  hwAddress?: string;
  permHwAddress?: string;
  /** `set-interface-settings` was sent for this ifindex. */
  configured: boolean;
  /** A Router Solicitation is due (start, link up), at `solicitAtMs` if set (a retry). */
  solicit: boolean;
  solicitAtMs: number | null;
  solicitFailures: number;
  /** Solicitations sent since the last start or link up, until a Router Advertisement answers (RFC 4861 §6.3.7). */
  solicitsSent: number;
}

export interface PrefixState {
  ifname: string;
  /** The /64, RFC 5952 text. */
  prefix: string;
  source: 'ra' | 'static';
  phase: PrefixPhase;
  /** Monotonic ms; null = infinite. */
  validUntilMs: number | null;
  preferredUntilMs: number | null;
  /** When a PIO for it was last received (RA) or the config applied (static); null if only adopted. */
  lastSeenMs: number | null;
  /** Static with finite lifetimes: when to install fresh lifetimes again. */
  refreshAtMs: number | null;
  /** Static: the configured lifetimes, re-applied at each refresh. */
  staticValidSec?: number;
  staticPreferredSec?: number;
  /** Static routed prefix shorter than /64: the configured prefix and the subnet ID used. */
  routedPrefix?: string;
  subnetId?: string;
}

export interface AddressState {
  ifname: string;
  prefix: string;
  label: string;
  algorithm: string;
  /** The counter of `address` (RFC 7217 DAD_Counter). */
  dadCounter: number;
  /** Where this round of retries began: at most IDGEN_RETRIES counters after it. */
  firstCounter: number;
  address: string | null;
  phase: AddressPhase;
  /** The OS has it (or an add is on its way). */
  present: boolean;
  /** DAD is done, or the address is optimistic: it can be bound. */
  usable: boolean;
  /** Delayed retry (DAD) or back-off after a failed command. */
  retryAtMs: number | null;
  commandFailures: number;
}

export interface LeaseState {
  ifname: string;
  label: string;
  uid: number;
  binding: LeaseBinding;
  connectionId?: string;
  phase: LeasePhase;
}

export interface GatewayState {
  ifname: string;
  gateway: string;
  metric?: number;
  present: boolean;
  retryAtMs: number | null;
  commandFailures: number;
}

export interface EngineStats {
  prefixesReceived: number;
  prefixesRejected: number;
  dadConflicts: number;
  repairs: number;
  addressesFailed: number;
}

export interface EngineState {
  config: EngineConfig | null;
  /** Every link seen, by name. */
  links: Record<string, LinkState>;
  /** Key `ifname|prefix`. */
  prefixes: Record<string, PrefixState>;
  /** Key `ifname|prefix|label`. */
  addresses: Record<string, AddressState>;
  /** `ifname|address` to the key in `addresses`, for the addresses that have one. */
  addressIndex: Record<string, string>;
  /** Keys of the addresses waiting to be added (pending or delayed). */
  waiting: Record<string, true>;
  /** Key `ifname|label`. */
  leases: Record<string, LeaseState>;
  /** Key ifname. */
  gateways: Record<string, GatewayState>;
  /** Addresses stable6 does not own, per managed interface: never touched, never generated. */
  foreign: Record<string, string[]>;
  /** Labels of leases that ended while the daemon was down: their addresses go at the first snapshot. */
  staleLabels: Record<string, string[]>;
  persisted: PersistedState;
  /** The first snapshot has been seen: until then nothing is added (adopt first, never churn). */
  synced: boolean;
  stopped: boolean;
  stats: EngineStats;
}

export interface EngineLogger {
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: EngineLogger = { log() {} };
