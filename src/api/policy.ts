/**
 * Who may lease which labels, how many, and who may see what. Pure: user and group names are
 * resolved from passwd/group text handed in (see readIdDatabase in server.ts' caller).
 *
 * The socket file's mode and group are the first gate (only who can open the socket gets
 * here); this policy is the second. Root (uid 0) passes the user, group, label-pattern and
 * per-user checks, but not the total lease limit nor label validation.
 */
import { Stable6Error } from '../errors.js';
import type { Caller } from './service.js';

/** The `[api]` part of the daemon's configuration, as written. */
export interface ApiPolicyConfig {
  /** Users (names or uids) who may lease. */
  users?: readonly (string | number)[];
  /** Groups (names or gids): a caller whose primary or supplementary group is listed may lease. */
  groups?: readonly (string | number)[];
  /**
   * Label patterns a non-root caller may use: `*` any run of characters, `?` one character,
   * `{uid}` the caller's uid, `{user}` the caller's user name. Empty or absent: any valid label.
   */
  labels?: readonly string[];
  /** A regular expression (Unicode mode) every non-root caller's label must match as well. */
  labelRegExp?: string;
  /** Leases one non-root user may hold at once (default 16). */
  maxLeasesPerUser?: number;
  /** Leases on the host in total, root's included (default 1024): the table is bounded. */
  maxLeases?: number;
}

export interface ApiPolicy {
  /** undefined: anyone who can open the socket may lease. */
  allowUids: ReadonlySet<number> | undefined;
  allowGids: ReadonlySet<number>;
  labelPatterns: readonly string[];
  labelRegExp: RegExp | undefined;
  maxLeasesPerUser: number;
  maxLeases: number;
  /** uid → user name, for `{user}` in label patterns. */
  userNames: ReadonlyMap<number, string>;
}

export const DEFAULT_MAX_LEASES_PER_USER = 16;
export const DEFAULT_MAX_LEASES = 1024;

/** Names and ids from /etc/passwd and /etc/group. Only local files: NSS sources (LDAP, ...) are not read. */
export interface IdDatabase {
  users: ReadonlyMap<string, number>;
  groups: ReadonlyMap<string, number>;
}

/** `name:x:uid:gid:...` lines (passwd(5), group(5)): name → the third field. */
export function parseIdFile(text: string): Map<string, number> {
  const ids = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const [name, , id] = line.split(':');
    if (name && id !== undefined && /^\d+$/.test(id)) ids.set(name, Number(id));
  }
  return ids;
}

function resolveIds(kind: 'user' | 'group', entries: readonly (string | number)[], names: ReadonlyMap<string, number>): Set<number> {
  const ids = new Set<number>();
  for (const entry of entries) {
    if (typeof entry === 'number' || /^\d+$/.test(entry)) {
      const id = Number(entry);
      if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) {
        throw new Stable6Error('ERR_API_CONFIG', `api ${kind} id ${String(entry)} is out of range`);
      }
      ids.add(id);
      continue;
    }
    const id = names.get(entry);
    // An unknown name is a configuration error, not a silent "nobody": the operator meant someone.
    if (id === undefined) throw new Stable6Error('ERR_API_CONFIG', `api: no ${kind} named ${JSON.stringify(entry)}`);
    ids.add(id);
  }
  return ids;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw new Stable6Error('ERR_API_CONFIG', `api ${name} must be an integer ≥ 0`);
  return value;
}

export function compilePolicy(config: ApiPolicyConfig, ids: IdDatabase = { users: new Map(), groups: new Map() }): ApiPolicy {
  const userNames = new Map<number, string>();
  for (const [name, uid] of ids.users) if (!userNames.has(uid)) userNames.set(uid, name);
  const open = config.users === undefined && config.groups === undefined;
  for (const pattern of config.labels ?? []) {
    if (typeof pattern !== 'string' || pattern.length === 0) throw new Stable6Error('ERR_API_CONFIG', 'api label patterns must be non-empty strings');
  }
  let labelRegExp: RegExp | undefined;
  if (config.labelRegExp !== undefined) {
    try {
      labelRegExp = new RegExp(config.labelRegExp, 'u');
    } catch (cause) {
      throw new Stable6Error('ERR_API_CONFIG', `api label pattern ${JSON.stringify(config.labelRegExp)} is not a regular expression`, { cause });
    }
  }
  return {
    allowUids: open ? undefined : resolveIds('user', config.users ?? [], ids.users),
    allowGids: resolveIds('group', config.groups ?? [], ids.groups),
    labelPatterns: [...(config.labels ?? [])],
    labelRegExp,
    maxLeasesPerUser: positiveInteger('maxLeasesPerUser', config.maxLeasesPerUser, DEFAULT_MAX_LEASES_PER_USER),
    maxLeases: positiveInteger('maxLeases', config.maxLeases, DEFAULT_MAX_LEASES),
    userNames,
  };
}

/** The `[api]` table as src/daemon/config.ts reads it (structurally: this module does not import the daemon). */
export interface DaemonApiSettings {
  allowedUsers: readonly (string | number)[];
  allowedGroups: readonly (string | number)[];
  labelPattern?: string;
  maxLeasesPerUser: number;
}

/** The daemon's `[api]` settings as a policy: both lists empty means anyone who can open the socket. */
export function policyFromSettings(settings: DaemonApiSettings, ids?: IdDatabase): ApiPolicy {
  const open = settings.allowedUsers.length === 0 && settings.allowedGroups.length === 0;
  return compilePolicy(
    {
      ...(open ? {} : { users: settings.allowedUsers, groups: settings.allowedGroups }),
      ...(settings.labelPattern === undefined ? {} : { labelRegExp: settings.labelPattern }),
      maxLeasesPerUser: settings.maxLeasesPerUser,
    },
    ids,
  );
}

/** Anyone who can open the socket, up to the default limits. */
export const OPEN_POLICY: ApiPolicy = compilePolicy({});

export function isRoot(caller: Pick<Caller, 'uid'>): boolean {
  return caller.uid === 0;
}

/** Root sees everything; others see what they own, and what nobody owns (the host's own addresses). */
export function maySee(caller: Pick<Caller, 'uid'>, ownerUid: number | undefined): boolean {
  return isRoot(caller) || ownerUid === undefined || ownerUid === caller.uid;
}

function patternRegExp(pattern: string, caller: Caller, userName: string | undefined): RegExp | undefined {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const rest = pattern.slice(i);
    if (rest.startsWith('{uid}')) {
      source += String(caller.uid);
      i += 4;
    } else if (rest.startsWith('{user}')) {
      // A pattern naming the user cannot match for a uid without a name.
      if (userName === undefined) return undefined;
      source += userName.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
      i += 5;
    } else if (pattern[i] === '*') source += '.*';
    else if (pattern[i] === '?') source += '.';
    else source += (pattern[i] ?? '').replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'us');
}

export function labelAllowed(policy: ApiPolicy, caller: Caller, label: string): boolean {
  if (isRoot(caller)) return true;
  if (policy.labelRegExp !== undefined && !policy.labelRegExp.test(label)) return false;
  if (policy.labelPatterns.length === 0) return true;
  const userName = policy.userNames.get(caller.uid);
  return policy.labelPatterns.some((pattern) => patternRegExp(pattern, caller, userName)?.test(label) ?? false);
}

export function userAllowed(policy: ApiPolicy, caller: Caller): boolean {
  if (isRoot(caller) || policy.allowUids === undefined) return true;
  if (policy.allowUids.has(caller.uid) || policy.allowGids.has(caller.gid)) return true;
  return caller.groups.some((gid) => policy.allowGids.has(gid));
}

/** Throws ERR_API_FORBIDDEN when the caller may not lease this label. */
export function checkMayLease(policy: ApiPolicy, caller: Caller, label: string): void {
  if (!userAllowed(policy, caller)) {
    throw new Stable6Error('ERR_API_FORBIDDEN', `uid ${caller.uid} may not lease addresses (api users/groups)`, {
      details: { uid: caller.uid },
    });
  }
  if (!labelAllowed(policy, caller, label)) {
    throw new Stable6Error('ERR_API_FORBIDDEN', `label ${JSON.stringify(label)} is not allowed for uid ${caller.uid} (api labels)`, {
      details: { uid: caller.uid, label },
    });
  }
}

/**
 * Throws ERR_API_LIMIT when one more lease would pass a limit. `owned` and `total` count the
 * leases that exist plus the requests still in flight, so a burst cannot slip past.
 */
export function checkLimits(policy: ApiPolicy, caller: Caller, owned: number, total: number): void {
  if (!isRoot(caller) && owned >= policy.maxLeasesPerUser) {
    throw new Stable6Error('ERR_API_LIMIT', `uid ${caller.uid} holds ${owned} leases, the most a user may hold (api maxLeasesPerUser)`, {
      details: { uid: caller.uid, limit: policy.maxLeasesPerUser },
    });
  }
  if (total >= policy.maxLeases) {
    throw new Stable6Error('ERR_API_LIMIT', `the host holds ${total} leases, the most allowed (api maxLeases)`, {
      details: { limit: policy.maxLeases },
    });
  }
}
