/**
 * `networkmanager`: NetworkManager's `ipv6.addr-gen-mode=stable-privacy`
 * (`nm_utils_ipv6_addr_set_stable_privacy`, NM 1.x; vectors from NM's own unit tests).
 *
 * F = SHA-256 over:
 *   u8 stable type        OMITTED when the type is 0 (the connection UUID), for NM's own
 *                         backward compatibility; 1 = connection.stable-id, 2 = a stable-id
 *                         with ${...} substitutions (network id = base64(SHA-1(expanded)))
 *   prefix                8 bytes
 *   ifname + NUL
 *   network id + NUL      the UUID, the stable-id, or the base64 form for type 2
 *   BE32(dad counter)
 *   BE32(secret length)
 *   secret                the host id (see secret-formats.ts: `secret_key` file, nm-v2)
 * IID = digest[0..8] (the FIRST 8 bytes, not the last as RFC 7217 §5 suggests).
 *
 * Reserved (NM's `_is_reserved_ipv6_iid`): IID 0; first 5 bytes 02 00 5e ff fe; first 7
 * bytes fd ff ff ff ff ff ff with iid[7] & 0x80. QUIRK: a reserved hit is not a new F with
 * the next counter: `digest = SHA256(previous digest || BE32(++counter))`, with no limit, and
 * the stored counter does not move. Reproduced.
 *
 * Retries: on a DAD failure NM calls F again with its stored counter + 1; SLAAC (global)
 * addresses stop at counter 3 (NM_STABLE_PRIVACY_RFC7217_IDGEN_RETRIES), link-local ones
 * (nm-l3-ipv6ll.c) at 6. Type 3 (${RANDOM}) is a fresh random id per activation: not
 * reproducible, refused.
 */
import { createHash } from 'node:crypto';
import type { Ipv6Prefix } from '../prefix.js';
import { addressOf, compatInput, exhausted, requireBytes, requireCounter, requirePrefix64, type CompatResult } from './compat-result.js';

export const NETWORKMANAGER = 'networkmanager';
export const NM_IDGEN_RETRIES = 3;
export const NM_LINK_LOCAL_RETRIES = 6;

/** NMUtilsStableType: 0 connection UUID, 1 stable-id, 2 generated (with substitutions). */
export type NmStableType = 0 | 1 | 2;

export interface NetworkManagerInput {
  /** The host id: `secret_key` read as NM reads it (any length from 1 byte; NM's tests use 3). */
  secret: Uint8Array;
  prefix: Ipv6Prefix;
  ifname: string;
  stableType: NmStableType;
  /** The network id for that type (use nmNetworkId() to derive it). */
  networkId: string;
  dadCounter: number;
}

export interface NetworkManagerOptions {
  /** The counter limit: 3 for SLAAC addresses, 6 for link-local (default: by prefix, fe80::/64 → 6). */
  retries?: number;
}

/** NM's `_is_reserved_ipv6_iid` on the first 8 bytes of a digest. */
export function nmIsReservedIid(iid: Uint8Array): boolean {
  if (iid.subarray(0, 8).every((b) => b === 0)) return true;
  if (iid[0] === 0x02 && iid[1] === 0x00 && iid[2] === 0x5e && iid[3] === 0xff && iid[4] === 0xfe) return true;
  return (
    iid[0] === 0xfd && iid[1] === 0xff && iid[2] === 0xff && iid[3] === 0xff && iid[4] === 0xff && iid[5] === 0xff &&
    iid[6] === 0xff && ((iid[7] ?? 0) & 0x80) !== 0
  );
}

/**
 * The (type, network id) NM uses for a connection: its stable-id when set (type 1, or type 2
 * with `expanded` = the text after NM's ${...} substitution), else its UUID (type 0).
 */
export function nmNetworkId(options: { uuid?: string; stableId?: string; expanded?: string }): {
  stableType: NmStableType;
  networkId: string;
} {
  const { uuid, stableId, expanded } = options;
  if (stableId === undefined) {
    if (uuid === undefined) throw compatInput(`${NETWORKMANAGER}: give the connection UUID or its stable-id`);
    return { stableType: 0, networkId: uuid };
  }
  if (stableId.includes('${RANDOM}')) {
    throw compatInput(`${NETWORKMANAGER}: stable-id \${RANDOM} makes a new address at each activation; nothing to reproduce`);
  }
  if (expanded !== undefined) {
    // nm_utils_stable_id_generated_complete(): base64 of the SHA-1, the one '=' of padding dropped.
    return { stableType: 2, networkId: createHash('sha1').update(expanded, 'utf8').digest('base64').replace(/=+$/, '') };
  }
  if (/\$\{(CONNECTION|BOOT|DEVICE|MAC|NETWORK_SSID)\}/.test(stableId)) {
    throw compatInput(`${NETWORKMANAGER}: stable-id ${JSON.stringify(stableId)} has substitutions; give the expanded text (type 2)`);
  }
  return { stableType: 1, networkId: stableId };
}

function cString(what: string, value: string): Buffer {
  if (typeof value !== 'string' || value.includes('\0')) throw compatInput(`${NETWORKMANAGER}: ${what} must be text without NUL`);
  return Buffer.concat([Buffer.from(value, 'utf8'), Buffer.of(0)]);
}

/** The first digest for one counter (no reserved check): NM's message, SHA-256. */
export function nmStablePrivacyDigest(input: NetworkManagerInput): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(input.dadCounter >>> 0, 0);
  header.writeUInt32BE(input.secret.length >>> 0, 4);
  const hash = createHash('sha256');
  if (input.stableType !== 0) hash.update(Uint8Array.of(input.stableType));
  return hash
    .update(input.prefix.address.toBytes().subarray(0, 8))
    .update(cString('the interface name', input.ifname))
    .update(cString('the network id', input.networkId))
    .update(header)
    .update(input.secret)
    .digest();
}

/** F with NM's reserved-IID chain, for any counter (no retry limit: NM's test with counter 384 uses this). */
export function nmStablePrivacyIid(input: NetworkManagerInput): Uint8Array {
  let digest = nmStablePrivacyDigest(input);
  let counter = input.dadCounter >>> 0;
  while (nmIsReservedIid(digest)) {
    counter = (counter + 1) >>> 0;
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(counter, 0);
    digest = createHash('sha256').update(digest).update(tail).digest();
  }
  return Uint8Array.from(digest.subarray(0, 8));
}

export function generateNetworkManager(input: NetworkManagerInput, options: NetworkManagerOptions = {}): CompatResult {
  requireBytes(NETWORKMANAGER, 'the secret (host id)', input.secret, 1, 0xffffffff);
  const high = requirePrefix64(NETWORKMANAGER, input.prefix);
  if (![0, 1, 2].includes(input.stableType)) throw compatInput(`${NETWORKMANAGER}: stable type must be 0, 1 or 2, got ${String(input.stableType)}`);
  if (input.ifname.length === 0) throw compatInput(`${NETWORKMANAGER}: the interface name is required`);
  const isLinkLocal = high[0] === 0xfe && high[1] === 0x80 && high.subarray(2).every((b) => b === 0);
  const retries = options.retries ?? (isLinkLocal ? NM_LINK_LOCAL_RETRIES : NM_IDGEN_RETRIES);
  requireCounter(NETWORKMANAGER, input.dadCounter, 0xffffffff);
  if (input.dadCounter >= retries) {
    throw exhausted(NETWORKMANAGER, input.prefix, `counter ${input.dadCounter} is past NM's limit (${retries} tries: "Too many DAD collisions")`);
  }
  const iid = nmStablePrivacyIid(input);
  const next = input.dadCounter + 1;
  return { address: addressOf(high, iid), iid, dadCounter: input.dadCounter, nextDadCounter: next >= retries ? undefined : next };
}
