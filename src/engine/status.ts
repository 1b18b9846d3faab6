/**
 * What `stable6 status` shows, computed from the engine's state and the time: a pure function.
 * The state never holds the secret, so neither can this.
 */
import { INFINITE_LIFETIME } from '../platform/platform.js';
import type { AddressPhase, AddressState, AddressStatusState, EngineState, EngineStats, LeaseBinding, LeasePhase } from './types.js';

export interface PrefixStatus {
  prefix: string;
  source: 'ra' | 'static';
  state: 'preferred' | 'deprecated';
  /** Seconds left; INFINITE_LIFETIME (0xffffffff) for forever. */
  validLifetimeSec: number;
  preferredLifetimeSec: number;
  /** Seconds since a Router Advertisement (or the configuration) last gave it; null if only adopted. */
  lastSeenSecAgo: number | null;
  routedPrefix?: string;
  subnetId?: string;
}

export interface AddressStatus {
  address: string | null;
  prefix: string;
  label: string;
  algorithm: string;
  dadCounter: number;
  state: AddressStatusState;
  validLifetimeSec: number;
  preferredLifetimeSec: number;
}

export interface InterfaceStatus {
  name: string;
  ifindex: number | null;
  up: boolean;
  prefixes: PrefixStatus[];
  addresses: AddressStatus[];
}

export interface LeaseStatus {
  ifname: string;
  label: string;
  uid: number;
  binding: LeaseBinding;
  state: LeasePhase;
  addresses: string[];
}

export interface EngineStatus {
  interfaces: InterfaceStatus[];
  leases: LeaseStatus[];
  stats: EngineStats;
}

/** How an internal phase shows: waiting to be (re)added or retrying counts as tentative. */
export function statusOfPhase(phase: AddressPhase): AddressStatusState {
  switch (phase) {
    case 'pending':
    case 'delayed':
    case 'tentative':
      return 'tentative';
    case 'preferred':
    case 'deprecated':
    case 'failed':
      return phase;
    default: {
      const never: never = phase;
      return never;
    }
  }
}

function left(untilMs: number | null, now: number): number {
  if (untilMs === null) return INFINITE_LIFETIME;
  return Math.max(0, Math.floor((untilMs - now) / 1000));
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function addressStatus(state: EngineState, a: AddressState, now: number): AddressStatus {
  const p = state.prefixes[`${a.ifname}|${a.prefix}`];
  const valid = p && a.phase !== 'failed' ? left(p.validUntilMs, now) : 0;
  const leaseDeprecated = a.label !== '' && (state.config?.leaseAddressesDeprecated ?? true);
  const preferred = p && a.phase !== 'failed' && !leaseDeprecated ? Math.min(left(p.preferredUntilMs, now), valid) : 0;
  return {
    address: a.address,
    prefix: a.prefix,
    label: a.label,
    algorithm: a.algorithm,
    dadCounter: a.dadCounter,
    state: statusOfPhase(a.phase),
    validLifetimeSec: valid,
    preferredLifetimeSec: preferred,
  };
}

/** One lease as `engineStatus` shows it, with its label's addresses on its interface. */
export interface LeaseView {
  lease: LeaseStatus;
  /** The interface's addresses with the lease's label, in the status's order (by prefix). */
  addresses: AddressStatus[];
}

/**
 * One lease of `engineStatus(state, now)` and its label's entries of the interface's
 * `addresses`, the same values, without building the whole status: the API answers every
 * lease request with one lease, and a status of 1,000 leases per answer made a burst quadratic.
 */
export function leaseView(state: EngineState, ifname: string, label: string, now: number): LeaseView | undefined {
  const l = state.leases[`${ifname}|${label}`];
  if (!l || l.ifname !== ifname || l.label !== label) return undefined;
  // engineStatus lists addresses only under configured interfaces.
  const configured = (state.config?.interfaces ?? []).some((i) => i.name === ifname);
  const entries: AddressState[] = [];
  const usable: string[] = [];
  // An address entry exists only under a prefix of its interface (the engine adds entries per
  // prefix and deletes them with it; its lease answers look them up the same way): one lookup
  // per prefix instead of a pass over every address.
  for (const pKey in state.prefixes) {
    const p = state.prefixes[pKey]!;
    if (p.ifname !== ifname) continue;
    const a = state.addresses[`${ifname}|${p.prefix}|${label}`];
    if (!a || a.ifname !== ifname || a.label !== label || a.prefix !== p.prefix) continue;
    if (configured) entries.push(a);
    if (a.usable && a.address !== null && label !== '') usable.push(a.address);
  }
  entries.sort((a, b) => byText(a.prefix, b.prefix));
  return {
    lease: { ifname: l.ifname, label: l.label, uid: l.uid, binding: l.binding, state: l.phase, addresses: usable.sort(byText) },
    addresses: entries.map((a) => addressStatus(state, a, now)),
  };
}

/**
 * One address entry as `engineStatus(state, now)` lists it (the same values), found by its key
 * instead of a status of every address, and whether it is usable (an optimistic one is, while
 * DAD runs); undefined when the status would not list it.
 */
export function addressView(
  state: EngineState,
  ifname: string,
  prefix: string,
  label: string,
  address: string,
  now: number,
): { status: AddressStatus; usable: boolean } | undefined {
  if (!(state.config?.interfaces ?? []).some((i) => i.name === ifname)) return undefined;
  const a = state.addresses[`${ifname}|${prefix}|${label}`];
  if (!a || a.address !== address) return undefined;
  return { status: addressStatus(state, a, now), usable: a.usable };
}

export function engineStatus(state: EngineState, now: number): EngineStatus {
  const interfaces: InterfaceStatus[] = (state.config?.interfaces ?? []).map((iface) => {
    const link = state.links[iface.name];
    const prefixes = Object.values(state.prefixes)
      .filter((p) => p.ifname === iface.name)
      .sort((a, b) => byText(a.prefix, b.prefix))
      .map((p): PrefixStatus => {
        const status: PrefixStatus = {
          prefix: p.prefix,
          source: p.source,
          state: p.phase,
          validLifetimeSec: left(p.validUntilMs, now),
          preferredLifetimeSec: Math.min(left(p.preferredUntilMs, now), left(p.validUntilMs, now)),
          lastSeenSecAgo: p.lastSeenMs === null ? null : Math.max(0, Math.floor((now - p.lastSeenMs) / 1000)),
        };
        if (p.routedPrefix !== undefined) status.routedPrefix = p.routedPrefix;
        if (p.subnetId !== undefined) status.subnetId = p.subnetId;
        return status;
      });
    const addresses = Object.values(state.addresses)
      .filter((a) => a.ifname === iface.name)
      .sort((a, b) => byText(a.prefix, b.prefix) || byText(a.label, b.label))
      .map((a) => addressStatus(state, a, now));
    return { name: iface.name, ifindex: link?.ifindex ?? null, up: link?.up ?? false, prefixes, addresses };
  });
  // Usable addresses by (interface, label), in one pass: scanning every address for every lease
  // made the status quadratic, and the API reads it on every request (1,000 leases: seconds).
  const usable = new Map<string, string[]>();
  for (const a of Object.values(state.addresses)) {
    if (!a.usable || a.address === null || a.label === '') continue;
    const key = `${a.ifname}\u0000${a.label}`;
    const list = usable.get(key);
    if (list) list.push(a.address);
    else usable.set(key, [a.address]);
  }
  const leases = Object.values(state.leases)
    .sort((a, b) => byText(a.ifname, b.ifname) || byText(a.label, b.label))
    .map((l): LeaseStatus => ({
      ifname: l.ifname,
      label: l.label,
      uid: l.uid,
      binding: l.binding,
      state: l.phase,
      addresses: [...(usable.get(`${l.ifname}\u0000${l.label}`) ?? [])].sort(byText),
    }));
  return { interfaces, leases, stats: { ...state.stats } };
}
