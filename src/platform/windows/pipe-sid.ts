/**
 * Windows identities for the local API: SIDs as bytes and text, the TOKEN_USER / TOKEN_GROUPS
 * blocks GetTokenInformation fills, and how a token becomes the API's `Caller`. Pure.
 *
 * The API keys ownership, limits and policy on a numeric uid (src/api). Windows has SIDs, so:
 *
 * - **Root**: the token's user is LocalSystem (S-1-5-18), or the token has BUILTIN\Administrators
 *   (S-1-5-32-544) *enabled*. A UAC-filtered administrator has that group only as
 *   SE_GROUP_USE_FOR_DENY_ONLY and is an ordinary user until elevated, like a Linux user before
 *   sudo. Root is uid 0, so every root caller shares one owner, as on Linux.
 * - **Everyone else**: uid = uidForSid(user SID), a 31-bit value from SHA-256 of the SID's text,
 *   in [0x80000000, 0xfffffffe]. Not the RID: RIDs repeat across domains and machines (a local
 *   account 1001 and a domain account 1001 are different people), and ownership must not.
 *   A hash can collide; SidIdRegistry refuses the second SID that lands on a taken uid (fail
 *   closed) for the process's lifetime; see docs/windows.md for what is left.
 * - **Groups**: the token's enabled groups (not deny-only), each mapped the same way, so that
 *   `allowed_groups = ["S-1-5-32-545"]` works through sidIdDatabase(). gid = uid: Windows'
 *   primary group means nothing for access here.
 */
import { createHash } from 'node:crypto';
import { Stable6Error } from '../../errors.js';

/** SID_MAX_SUB_AUTHORITIES (winnt.h). */
export const SID_MAX_SUB_AUTHORITIES = 15;
/** SID_AND_ATTRIBUTES on x64: PSID (8) + DWORD Attributes (4) + 4 bytes of padding. */
export const SID_AND_ATTRIBUTES_SIZE = 16;
/** TOKEN_GROUPS on x64: DWORD GroupCount, 4 bytes of padding, then SID_AND_ATTRIBUTES Groups[]. */
export const TOKEN_GROUPS_GROUPS_OFFSET = 8;

/** Group attributes (winnt.h) that decide whether a group counts. */
export const SE_GROUP_MANDATORY = 0x1;
export const SE_GROUP_ENABLED_BY_DEFAULT = 0x2;
export const SE_GROUP_ENABLED = 0x4;
export const SE_GROUP_USE_FOR_DENY_ONLY = 0x10;
export const SE_GROUP_LOGON_ID = 0xc0000000;

export const WELL_KNOWN_SID = {
  LOCAL_SYSTEM: 'S-1-5-18',
  LOCAL_SERVICE: 'S-1-5-19',
  NETWORK_SERVICE: 'S-1-5-20',
  ANONYMOUS: 'S-1-5-7',
  AUTHENTICATED_USERS: 'S-1-5-11',
  NETWORK: 'S-1-5-2',
  BUILTIN_ADMINISTRATORS: 'S-1-5-32-544',
  BUILTIN_USERS: 'S-1-5-32-545',
} as const;

function sidError(message: string, details: Record<string, unknown> = {}): Stable6Error {
  return new Stable6Error('ERR_WIN32_PIPE_IDENTITY', message, { details });
}

/** A binary SID (winnt.h SID: Revision, SubAuthorityCount, IdentifierAuthority[6] big-endian, SubAuthority[] little-endian) as text, as ConvertSidToStringSidW writes it. */
export function formatSid(bytes: Uint8Array): string {
  if (bytes.length < 8) throw sidError(`a SID is at least 8 bytes, got ${bytes.length}`);
  const revision = bytes[0] ?? 0;
  const count = bytes[1] ?? 0;
  if (revision !== 1) throw sidError(`SID revision ${revision} is not 1`);
  if (count > SID_MAX_SUB_AUTHORITIES) throw sidError(`a SID has at most ${SID_MAX_SUB_AUTHORITIES} sub-authorities, got ${count}`);
  if (bytes.length < 8 + 4 * count) throw sidError(`a SID with ${count} sub-authorities is ${8 + 4 * count} bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Authorities below 2^32 are decimal; larger ones 0x + 12 hex digits (ConvertSidToStringSid's rule).
  const high = view.getUint16(2, false);
  const low = view.getUint32(4, false);
  const authority =
    high === 0 ? String(low) : `0x${Buffer.from(bytes.subarray(2, 8)).toString('hex')}`;
  let text = `S-1-${authority}`;
  for (let i = 0; i < count; i++) text += `-${view.getUint32(8 + 4 * i, true)}`;
  return text;
}

/** The text form (S-1-5-21-...) as bytes; ERR_WIN32_PIPE_IDENTITY for anything else. */
export function parseSid(text: string): Uint8Array {
  const match = /^S-1-(\d{1,15}|0x[0-9a-fA-F]{12})((?:-\d{1,10}){0,15})$/i.exec(text);
  if (!match) throw sidError(`${JSON.stringify(text)} is not a SID`);
  const authorityText = match[1] ?? '0';
  // BigInt reads both forms: "5" and "0x0000000000ff".
  const authority = BigInt(authorityText.toLowerCase());
  if (authority >= 1n << 48n) throw sidError(`the authority of ${text} is too large`);
  const subs = (match[2] ?? '').split('-').slice(1).map(Number);
  const bytes = new Uint8Array(8 + 4 * subs.length);
  const view = new DataView(bytes.buffer);
  bytes[0] = 1;
  bytes[1] = subs.length;
  view.setUint16(2, Number(authority >> 32n), false);
  view.setUint32(4, Number(authority & 0xffffffffn), false);
  subs.forEach((sub, i) => {
    if (sub > 0xffffffff) throw sidError(`sub-authority ${sub} of ${text} is out of range`);
    view.setUint32(8 + 4 * i, sub, true);
  });
  return bytes;
}

/** The canonical text of a SID (upper-case S, decimal authority where it fits), so that equal SIDs compare equal. */
export function canonicalSid(text: string): string {
  return formatSid(parseSid(text));
}

export interface SidAndAttributes {
  sid: string;
  attributes: number;
}

/** A pointer inside a block Windows filled: its offset in our copy of that block. */
function pointerOffset(pointer: bigint, base: bigint, length: number, what: string): number {
  const offset = pointer - base;
  if (offset < 0n || offset >= BigInt(length)) throw sidError(`${what} points outside the token block`);
  return Number(offset);
}

function sidAt(bytes: Uint8Array, offset: number): string {
  const count = bytes[offset + 1] ?? 0;
  return formatSid(bytes.subarray(offset, offset + 8 + 4 * count));
}

function decodeSidAndAttributes(bytes: Uint8Array, offset: number, base: bigint, what: string): SidAndAttributes {
  if (offset + SID_AND_ATTRIBUTES_SIZE > bytes.length) throw sidError(`${what} is cut short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pointer = view.getBigUint64(offset, true);
  return { sid: sidAt(bytes, pointerOffset(pointer, base, bytes.length, what)), attributes: view.getUint32(offset + 8, true) };
}

/**
 * TOKEN_USER as GetTokenInformation(TokenUser) wrote it at native address `base`: the SID
 * pointer points into the same block, so a copy of the block plus its address is enough.
 */
export function decodeTokenUser(bytes: Uint8Array, base: bigint): SidAndAttributes {
  return decodeSidAndAttributes(bytes, 0, base, 'TOKEN_USER.User.Sid');
}

/** TOKEN_GROUPS as GetTokenInformation(TokenGroups) wrote it at native address `base`. */
export function decodeTokenGroups(bytes: Uint8Array, base: bigint): SidAndAttributes[] {
  if (bytes.length < TOKEN_GROUPS_GROUPS_OFFSET) throw sidError('TOKEN_GROUPS is cut short');
  const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (TOKEN_GROUPS_GROUPS_OFFSET + count * SID_AND_ATTRIBUTES_SIZE > bytes.length) {
    throw sidError(`TOKEN_GROUPS claims ${count} groups, more than its ${bytes.length} bytes hold`);
  }
  const groups: SidAndAttributes[] = [];
  for (let i = 0; i < count; i++) {
    groups.push(decodeSidAndAttributes(bytes, TOKEN_GROUPS_GROUPS_OFFSET + i * SID_AND_ATTRIBUTES_SIZE, base, `TOKEN_GROUPS.Groups[${i}].Sid`));
  }
  return groups;
}

/** Lays SID_AND_ATTRIBUTES entries out as Windows does: the array, then the SIDs, pointers absolute at `base`. */
function encodeEntries(header: number, entries: readonly SidAndAttributes[], base: bigint): Uint8Array {
  const sids = entries.map((e) => parseSid(e.sid));
  const arrayEnd = header + entries.length * SID_AND_ATTRIBUTES_SIZE;
  const total = arrayEnd + sids.reduce((n, s) => n + s.length, 0);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  let at = arrayEnd;
  entries.forEach((entry, i) => {
    const sid = sids[i] ?? new Uint8Array();
    const slot = header + i * SID_AND_ATTRIBUTES_SIZE;
    view.setBigUint64(slot, base + BigInt(at), true);
    view.setUint32(slot + 8, entry.attributes >>> 0, true);
    bytes.set(sid, at);
    at += sid.length;
  });
  return bytes;
}

/** The block GetTokenInformation(TokenUser) would write at `base` (for fakes and golden tests). */
export function encodeTokenUser(user: SidAndAttributes, base: bigint): Uint8Array {
  return encodeEntries(0, [user], base);
}

/** The block GetTokenInformation(TokenGroups) would write at `base`. */
export function encodeTokenGroups(groups: readonly SidAndAttributes[], base: bigint): Uint8Array {
  const bytes = encodeEntries(TOKEN_GROUPS_GROUPS_OFFSET, groups, base);
  new DataView(bytes.buffer).setUint32(0, groups.length, true);
  return bytes;
}

/** The first uid a SID can map to: above every uid a Linux or Cygwin system hands out by default. */
export const SID_UID_BASE = 0x80000000;
const SID_UID_RANGE = 0x7fffffff;

/** A stable uid for a SID (see the top of this file): never 0, never 0xffffffff, the same on every host and run. */
export function uidForSid(sid: string): number {
  const digest = createHash('sha256').update(canonicalSid(sid), 'utf8').digest();
  return SID_UID_BASE + (digest.readUInt32BE(0) % SID_UID_RANGE);
}

/**
 * Remembers which SID each uid stands for, so that a hash collision is refused instead of
 * merging two people. Seed it with the SIDs the daemon already knows (owners of persisted
 * leases, the policy's SIDs) to keep that promise across restarts.
 */
export class SidIdRegistry {
  readonly #byUid = new Map<number, string>();
  readonly #map: (sid: string) => number;
  #onNew: ((sid: string) => void) | undefined;

  /**
   * `known`: SIDs seen by earlier runs (a collision among them throws ERR_WIN32_PIPE_IDENTITY).
   * `map` is uidForSid; tests pass another to make collisions happen.
   */
  constructor(known: readonly string[] = [], map: (sid: string) => number = uidForSid) {
    this.#map = map;
    for (const sid of known) this.idFor(sid);
  }

  /** Called with each SID seen for the first time from now on (the daemon persists them). */
  onNew(listener: (sid: string) => void): void {
    this.#onNew = listener;
  }

  /** uidForSid(sid), or ERR_WIN32_PIPE_IDENTITY if another SID holds that uid already. */
  idFor(sid: string): number {
    const canonical = canonicalSid(sid);
    const uid = this.#map(canonical);
    const holder = this.#byUid.get(uid);
    if (holder !== undefined && holder !== canonical) {
      throw sidError(`SIDs ${holder} and ${canonical} map to the same uid ${uid}; refusing the second`, { uid });
    }
    if (holder === undefined) {
      this.#byUid.set(uid, canonical);
      this.#onNew?.(canonical);
    }
    return uid;
  }

  /** The SID a uid was given to, for logs. */
  sidOf(uid: number): string | undefined {
    return this.#byUid.get(uid);
  }

  /** Every SID seen, for the daemon to persist and seed the next run with. */
  knownSids(): string[] {
    return [...this.#byUid.values()];
  }
}

/** Who a pipe client is, in the API's terms (src/api Caller without the connection id) plus its SIDs. */
export interface PipeCallerIdentity {
  uid: number;
  gid: number;
  pid: number;
  groups: number[];
  /** The token's user SID. */
  sid: string;
  /** The token's enabled group SIDs (deny-only groups left out). */
  groupSids: string[];
}

/** A group counts when it is enabled and not deny-only (UAC's filtered administrator). */
export function groupCounts(attributes: number): boolean {
  return (attributes & SE_GROUP_ENABLED) !== 0 && (attributes & SE_GROUP_USE_FOR_DENY_ONLY) === 0;
}

/** The token's user and groups as the API's identity; ERR_WIN32_PIPE_IDENTITY for an anonymous token. */
export function identityFromToken(
  user: SidAndAttributes,
  groups: readonly SidAndAttributes[],
  pid: number,
  registry: SidIdRegistry,
): PipeCallerIdentity {
  const sid = canonicalSid(user.sid);
  // An anonymous client is nobody in particular: it cannot own anything.
  if (sid === WELL_KNOWN_SID.ANONYMOUS) throw sidError('the pipe client is anonymous (ANONYMOUS LOGON)', { sid });
  const groupSids = groups.filter((g) => groupCounts(g.attributes)).map((g) => canonicalSid(g.sid));
  const root = sid === WELL_KNOWN_SID.LOCAL_SYSTEM || groupSids.includes(WELL_KNOWN_SID.BUILTIN_ADMINISTRATORS);
  const uid = root ? 0 : registry.idFor(sid);
  return { uid, gid: uid, pid, groups: groupSids.map((g) => registry.idFor(g)), sid, groupSids };
}

/**
 * The IdDatabase (src/api/policy.ts) for a policy written with SIDs: `allowed_users` and
 * `allowed_groups` entries that are SIDs resolve to their uids; anything else stays unknown
 * and the policy refuses to load (ERR_API_CONFIG), never a silent "nobody".
 */
export function sidIdDatabase(
  entries: { users: readonly (string | number)[]; groups: readonly (string | number)[] },
  registry: SidIdRegistry,
): { users: Map<string, number>; groups: Map<string, number> } {
  const map = (list: readonly (string | number)[]): Map<string, number> => {
    const ids = new Map<string, number>();
    for (const entry of list) {
      if (typeof entry !== 'string' || !/^S-1-/i.test(entry)) continue;
      const canonical = canonicalSid(entry);
      // Administrators and SYSTEM are root already; listing them is harmless and maps to 0.
      ids.set(entry, canonical === WELL_KNOWN_SID.LOCAL_SYSTEM ? 0 : registry.idFor(canonical));
    }
    return ids;
  };
  return { users: map(entries.users), groups: map(entries.groups) };
}
