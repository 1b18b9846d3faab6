/**
 * One transition function per entity, as OpenBSD slaacd has one `*_state_transition()` each:
 * it checks the move against the entity's state machine, sets or clears the entity's timer,
 * and logs `old -> new`. A move the machine does not allow is a bug and throws.
 *
 * Address:
 *   pending   wants to be in the OS, cannot be yet (link down or gone, lifetime nearly out)
 *   tentative added, DAD running
 *   preferred / deprecated   DAD done; deprecated once the prefix's preferred lifetime ends
 *   delayed   DAD found a duplicate; the next counter is tried after a random delay (RFC 7217 §6)
 *   failed    every allowed counter found a duplicate: reported, never replaced by another algorithm
 *   removed   gone from the engine (prefix expired, lease released): the entry is deleted
 */
import { Stable6Error } from '../errors.js';
import type { AddressPhase, AddressState, EngineLogger, LeasePhase, LeaseState, PrefixPhase, PrefixState } from './types.js';

type Moves<P extends string> = Record<P, readonly (P | 'removed')[]>;

const ADDRESS_MOVES: Moves<AddressPhase> = {
  // pending -> preferred/deprecated: the OS reports it there after all (a resync, an add that
  // reported an error but took effect).
  pending: ['tentative', 'preferred', 'deprecated', 'delayed', 'failed', 'removed'],
  tentative: ['preferred', 'deprecated', 'pending', 'delayed', 'failed', 'removed'],
  // preferred/deprecated -> delayed/failed: someone else took the address (it is no longer
  // tagged as ours); the next counter is tried, or none is left.
  preferred: ['tentative', 'deprecated', 'pending', 'delayed', 'failed', 'removed'],
  deprecated: ['tentative', 'preferred', 'pending', 'delayed', 'failed', 'removed'],
  delayed: ['tentative', 'pending', 'failed', 'removed'],
  failed: ['removed'],
};

const PREFIX_MOVES: Moves<PrefixPhase> = {
  preferred: ['deprecated', 'removed'],
  deprecated: ['preferred', 'removed'],
};

const LEASE_MOVES: Moves<LeasePhase> = {
  pending: ['ready', 'failed', 'removed'],
  ready: ['failed', 'removed'],
  failed: ['ready', 'removed'],
};

function check<P extends string>(kind: string, name: string, moves: Moves<P>, from: P, to: P | 'removed'): void {
  // Staying put is always allowed (a refresh); it is neither logged nor checked.
  if (from !== to && !moves[from].includes(to)) {
    throw new Stable6Error('ERR_ENGINE_TRANSITION', `${kind} ${name}: ${from} -> ${to} is not a valid move`, {
      details: { kind, from, to },
    });
  }
}

export function describeAddress(a: AddressState): string {
  return `${a.address ?? a.prefix} (${a.ifname}, label ${JSON.stringify(a.label)}, counter ${a.dadCounter})`;
}

/**
 * Moves an address to `to`. `retryAtMs` is its timer in the new state (a delayed retry or a
 * back-off); every other move clears it.
 */
export function addressTransition(
  log: EngineLogger,
  a: AddressState,
  to: AddressPhase | 'removed',
  reason: string,
  retryAtMs: number | null = null,
): void {
  check('address', describeAddress(a), ADDRESS_MOVES, a.phase, to);
  if (to === 'delayed' && retryAtMs === null) {
    throw new Stable6Error('ERR_ENGINE_TRANSITION', `address ${describeAddress(a)}: delayed needs a retry time`);
  }
  if (a.phase !== to) log.log('info', `address ${describeAddress(a)}: ${a.phase} -> ${to}: ${reason}`, { ifname: a.ifname, label: a.label });
  if (to !== 'removed') a.phase = to;
  a.retryAtMs = retryAtMs;
}

export function prefixTransition(log: EngineLogger, p: PrefixState, to: PrefixPhase | 'removed', reason: string): void {
  check('prefix', `${p.prefix} on ${p.ifname}`, PREFIX_MOVES, p.phase, to);
  if (p.phase !== to) log.log('info', `prefix ${p.prefix} on ${p.ifname} (${p.source}): ${p.phase} -> ${to}: ${reason}`, { ifname: p.ifname });
  if (to !== 'removed') p.phase = to;
}

export function leaseTransition(log: EngineLogger, l: LeaseState, to: LeasePhase | 'removed', reason: string): void {
  check('lease', `${JSON.stringify(l.label)} on ${l.ifname}`, LEASE_MOVES, l.phase, to);
  if (l.phase !== to) log.log('info', `lease ${JSON.stringify(l.label)} on ${l.ifname} (uid ${l.uid}): ${l.phase} -> ${to}: ${reason}`, { ifname: l.ifname });
  if (to !== 'removed') l.phase = to;
}
