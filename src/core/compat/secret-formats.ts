/**
 * The secrets of other systems, in their own formats: pure parsers (no file reads here; the
 * readers in src/compat/readers/ fetch the bytes). `where` names the source (a file path) in
 * errors; a secret's value never appears in an error.
 */
import { createHash, createHmac } from 'node:crypto';
import { Ipv6Address } from '../address.js';
import { Stable6Error } from '../../errors.js';

function malformed(where: string, why: string): Stable6Error {
  return new Stable6Error('ERR_COMPAT_SECRET_MALFORMED', `${where}: ${why}`, { details: { file: where } });
}

/**
 * Linux `stable_secret`: IPv6 text (the kernel reads it with in6_pton and prints it as %pI6,
 * eight groups of four digits). Surrounding white space is allowed.
 */
export function parseLinuxStableSecret(text: string, where: string): Uint8Array {
  const trimmed = text.trim();
  if (trimmed === '') throw malformed(where, 'the stable_secret is empty (not set: the kernel answers EIO for an unset one)');
  try {
    return Ipv6Address.parse(trimmed).toBytes();
  } catch {
    throw malformed(where, 'the stable_secret is not IPv6 address text (the form the kernel takes and prints)');
  }
}

/** The text the kernel prints for a stable_secret (%pI6: eight groups of four hex digits). */
export function formatLinuxStableSecret(secret: Uint8Array): string {
  if (secret.length !== 16) throw new RangeError('a stable_secret is 16 bytes');
  const hex = Buffer.from(secret).toString('hex');
  return Array.from({ length: 8 }, (_, i) => hex.slice(4 * i, 4 * i + 4)).join(':');
}

/** `/etc/machine-id`: 32 hex digits and a newline → 16 bytes. The UUID form with dashes is also taken (systemd does). */
export function parseMachineId(text: string, where: string): Uint8Array {
  const trimmed = text.trim();
  const hex = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(trimmed) ? trimmed.replace(/-/g, '') : trimmed;
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) {
    throw malformed(where, trimmed === 'uninitialized' ? 'the machine id is not initialized yet' : 'not a machine id (32 hex digits)');
  }
  if (/^0+$/.test(hex)) throw malformed(where, 'the machine id is all zero');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** A networkd Token UUID (`prefixstable,UUID`): 32 hex digits or the 8-4-4-4-12 form; never all zero. */
export function parseNetworkdTokenKey(text: string, where: string): Uint8Array {
  const key = parseMachineId(text, where);
  return key;
}

/** networkd's app id for NDisc (SLAAC) prefixstable addresses: NDISC_APP_ID. */
export const NETWORKD_NDISC_APP_ID = '13ac81a7d53f497892795d0c293abc7e';

/**
 * `sd_id128_get_machine_app_specific(app_id)`: HMAC-SHA256(key = the 16 machine-id bytes,
 * message = the 16 app-id bytes), first 16 bytes, then made a v4 UUID (byte 6 high nibble 4,
 * byte 8 top bits 10).
 */
export function networkdAppSpecificKey(machineId: Uint8Array, appIdHex: string = NETWORKD_NDISC_APP_ID): Uint8Array {
  const digest = createHmac('sha256', machineId).update(Buffer.from(appIdHex, 'hex')).digest();
  const key = Uint8Array.from(digest.subarray(0, 16));
  key[6] = ((key[6] ?? 0) & 0x0f) | 0x40;
  key[8] = ((key[8] ?? 0) & 0x3f) | 0x80;
  return key;
}

const NM_V2_PREFIX = Buffer.from('nm-v2:', 'ascii');

/**
 * NetworkManager's host id from `/var/lib/NetworkManager/secret_key` (nm_utils_host_id_get):
 * - starts with `nm-v2:` and is at least 38 bytes: SHA-256 of the file's length in decimal, a
 *   space, the file's bytes and the machine id as 32 lower-case hex digits (left out when NM
 *   has no real machine id), 32 bytes;
 * - otherwise at least 16 bytes: the file's bytes as they are;
 * - shorter: NM would throw it away and write a new key, so there is nothing to reproduce.
 */
export function nmHostId(file: Uint8Array, machineId: Uint8Array | undefined, where: string): Uint8Array {
  if (file.length > 10 * 1024) throw malformed(where, `the secret_key is ${file.length} bytes; NetworkManager reads at most 10 KiB`);
  const bytes = Buffer.from(file);
  if (bytes.length >= NM_V2_PREFIX.length + 32 && bytes.subarray(0, NM_V2_PREFIX.length).equals(NM_V2_PREFIX)) {
    const hash = createHash('sha256').update(`${bytes.length} `, 'ascii').update(bytes);
    if (machineId !== undefined) hash.update(Buffer.from(machineId).toString('hex'), 'ascii');
    return Uint8Array.from(hash.digest());
  }
  if (bytes.length >= 16) return Uint8Array.from(bytes);
  throw malformed(where, `the secret_key is ${bytes.length} bytes; NetworkManager needs 16 (or an nm-v2 key) and would replace it`);
}

/**
 * dhcpcd's `secret` file, as its `hwaddr_aton` reads it: pairs of hex digits, separators ':',
 * '-' and newlines skipped anywhere; any other character, an odd digit, or fewer than two
 * bytes is refused (dhcpcd itself would then write a new secret over the file). At most
 * BUFSIZ - 1 bytes of text.
 */
export function parseDhcpcdSecret(text: string, where: string): Uint8Array {
  if (text.length >= 8192) throw malformed(where, 'the secret file is too long for dhcpcd (8 KiB)');
  const out: number[] = [];
  let i = 0;
  while (i < text.length) {
    const c0 = text[i++] ?? '';
    if (c0 === '\n' || c0 === ':' || c0 === '-') continue;
    const c1 = text[i++] ?? '';
    if (!/^[0-9a-fA-F]$/.test(c0) || !/^[0-9a-fA-F]$/.test(c1)) {
      throw malformed(where, 'not dhcpcd secret text (hex bytes separated by colons)');
    }
    if (out.length === 0 && i >= text.length) throw malformed(where, 'a dhcpcd secret has at least two bytes');
    out.push(parseInt(c0 + c1, 16));
  }
  if (out.length === 0) throw malformed(where, 'the dhcpcd secret is empty');
  return Uint8Array.from(out);
}

/** The text dhcpcd writes for a secret: colon-separated lower-case hex and a newline. */
export function formatDhcpcdSecret(secret: Uint8Array): string {
  return `${Array.from(secret, (b) => b.toString(16).padStart(2, '0')).join(':')}\n`;
}

/** OpenBSD `/etc/soii.key`: 32 hex digits → the 16-byte soiikey. */
export function parseSoiiKey(text: string, where: string): Uint8Array {
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw malformed(where, 'not a soii key (32 hex digits)');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
