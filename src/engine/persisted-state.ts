/**
 * What the engine keeps across restarts: versioned, plain JSON, validated on the way in.
 *
 * - DAD counters that are not 0, per (algorithm, prefix, netIface, networkId, label): RFC 7217
 *   §6 and the spec ("the counter in use is kept ... and reused after a restart"), so the same
 *   address comes back after a conflict forced a later counter;
 * - leases, so persistent ones survive and connection-bound ones are cleaned up after a crash;
 * - interface settings as they were before stable6 changed them, so a crash does not lose them.
 *
 * The secret is never part of it.
 */
import { Stable6Error } from '../errors.js';
import { Ipv6Prefix } from '../core/prefix.js';

export const PERSISTED_STATE_VERSION = 1;
/** Bounded: conflicts are rare, so this many counters is far more than a host needs. */
export const MAX_PERSISTED_COUNTERS = 4096;
export const MAX_PERSISTED_LEASES = 65536;

export interface PersistedCounter {
  algorithm: string;
  prefix: string;
  netIface: string;
  /** Hex. */
  networkId: string;
  label: string;
  dadCounter: number;
}

export interface PersistedLease {
  ifname: string;
  label: string;
  uid: number;
  binding: 'persistent' | 'connection';
}

export interface PersistedSettings {
  ifname: string;
  autoconf: boolean;
  acceptRa: number;
}

export interface PersistedState {
  version: typeof PERSISTED_STATE_VERSION;
  counters: PersistedCounter[];
  leases: PersistedLease[];
  savedSettings: PersistedSettings[];
}

export function emptyPersistedState(): PersistedState {
  return { version: PERSISTED_STATE_VERSION, counters: [], leases: [], savedSettings: [] };
}

function fail(where: string, problem: string): never {
  throw new Stable6Error('ERR_ENGINE_STATE', `engine state: ${where}: ${problem}`, { details: { where } });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(where: string, value: unknown, maxBytes = 255): string {
  if (typeof value !== 'string') fail(where, 'must be a string');
  if (Buffer.byteLength(value, 'utf8') > maxBytes) fail(where, `must be at most ${maxBytes} bytes`);
  return value;
}

function int(where: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(where, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function array(where: string, value: unknown, max: number): unknown[] {
  if (!Array.isArray(value)) fail(where, 'must be an array');
  if (value.length > max) fail(where, `has ${value.length} entries, at most ${max}`);
  return value;
}

function onlyKeys(where: string, value: Record<string, unknown>, keys: string[]): void {
  for (const key of Object.keys(value)) if (!keys.includes(key)) fail(`${where}.${key}`, 'is not a known field');
}

/** Checks `value` (e.g. parsed JSON) and returns it typed; anything malformed is ERR_ENGINE_STATE. */
export function validatePersistedState(value: unknown): PersistedState {
  if (!isRecord(value)) fail('(top)', 'must be an object');
  if (value.version !== PERSISTED_STATE_VERSION) {
    fail('version', `is ${JSON.stringify(value.version)}; this stable6 reads version ${PERSISTED_STATE_VERSION}`);
  }
  onlyKeys('(top)', value, ['version', 'counters', 'leases', 'savedSettings']);
  const counters = array('counters', value.counters, MAX_PERSISTED_COUNTERS).map((c, i): PersistedCounter => {
    const where = `counters[${i}]`;
    if (!isRecord(c)) fail(where, 'must be an object');
    onlyKeys(where, c, ['algorithm', 'prefix', 'netIface', 'networkId', 'label', 'dadCounter']);
    const prefix = str(`${where}.prefix`, c.prefix);
    let parsed: Ipv6Prefix;
    try {
      parsed = Ipv6Prefix.parse(prefix);
    } catch {
      fail(`${where}.prefix`, 'is not an IPv6 prefix');
    }
    if (parsed.length !== 64 || parsed.toString() !== prefix) fail(`${where}.prefix`, 'must be a /64 in RFC 5952 text');
    const networkId = str(`${where}.networkId`, c.networkId, 510);
    if (!/^(?:[0-9a-f]{2})*$/.test(networkId)) fail(`${where}.networkId`, 'must be lower-case hex');
    return {
      algorithm: str(`${where}.algorithm`, c.algorithm, 64),
      prefix,
      netIface: str(`${where}.netIface`, c.netIface),
      networkId,
      label: str(`${where}.label`, c.label),
      dadCounter: int(`${where}.dadCounter`, c.dadCounter, 1, 255),
    };
  });
  const leases = array('leases', value.leases, MAX_PERSISTED_LEASES).map((l, i): PersistedLease => {
    const where = `leases[${i}]`;
    if (!isRecord(l)) fail(where, 'must be an object');
    onlyKeys(where, l, ['ifname', 'label', 'uid', 'binding']);
    const label = str(`${where}.label`, l.label);
    if (label === '') fail(`${where}.label`, 'must not be empty (the empty label is the interface\'s own address)');
    if (l.binding !== 'persistent' && l.binding !== 'connection') fail(`${where}.binding`, 'must be "persistent" or "connection"');
    return { ifname: str(`${where}.ifname`, l.ifname), label, uid: int(`${where}.uid`, l.uid, 0, 2 ** 32 - 1), binding: l.binding };
  });
  const savedSettings = array('savedSettings', value.savedSettings, 4096).map((s, i): PersistedSettings => {
    const where = `savedSettings[${i}]`;
    if (!isRecord(s)) fail(where, 'must be an object');
    onlyKeys(where, s, ['ifname', 'autoconf', 'acceptRa']);
    if (typeof s.autoconf !== 'boolean') fail(`${where}.autoconf`, 'must be a boolean');
    return { ifname: str(`${where}.ifname`, s.ifname), autoconf: s.autoconf, acceptRa: int(`${where}.acceptRa`, s.acceptRa, 0, 2) };
  });
  const seen = new Set<string>();
  for (const c of counters) {
    const key = JSON.stringify([c.algorithm, c.prefix, c.netIface, c.networkId, c.label]);
    if (seen.has(key)) fail('counters', `has ${c.prefix} ${JSON.stringify(c.label)} twice`);
    seen.add(key);
  }
  return { version: PERSISTED_STATE_VERSION, counters, leases, savedSettings };
}

/** JSON text of the state, for a state file. */
export function formatPersistedState(state: PersistedState): string {
  return `${JSON.stringify(validatePersistedState(state), null, 2)}\n`;
}

/** Parses and validates state-file text. */
export function parsePersistedState(text: string): PersistedState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new Stable6Error('ERR_ENGINE_STATE', 'engine state: not JSON text', { cause });
  }
  return validatePersistedState(value);
}
