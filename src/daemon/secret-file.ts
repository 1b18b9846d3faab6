/**
 * The secret file: the one key of stable6-v1 (RFC 7217 §5 secret_key).
 *
 * Format: hex text of 16 to 64 bytes, one line. Mode 0600, owned by the user that reads
 * it. The secret is never logged, never printed by status or JSON output, and never part of
 * an error message: errors name the file and the problem only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Stable6Error } from '../errors.js';
import { SECRET_MAX_BYTES, SECRET_MIN_BYTES } from '../core/stable6-v1.js';
import { writeFileAtomic } from './atomic-file.js';

export const DEFAULT_SECRET_FILE = '/var/lib/stable6/secret';
export const DEFAULT_SECRET_BYTES = 32;

/** Parses hex text (surrounding white space allowed) into secret bytes. `where` names the source in errors. */
export function parseSecretHex(text: string, where: string): Uint8Array {
  const hex = text.trim();
  if (hex.length === 0) throw new Stable6Error('ERR_SECRET_MALFORMED', `${where}: the secret is empty`);
  if (!/^[0-9a-fA-F]+$/.test(hex)) {
    throw new Stable6Error('ERR_SECRET_MALFORMED', `${where}: the secret is not hex text (only 0-9, a-f allowed)`);
  }
  if (hex.length % 2 !== 0) {
    throw new Stable6Error('ERR_SECRET_MALFORMED', `${where}: the secret has an odd number of hex digits`);
  }
  const bytes = hex.length / 2;
  if (bytes < SECRET_MIN_BYTES || bytes > SECRET_MAX_BYTES) {
    throw new Stable6Error(
      'ERR_SECRET_MALFORMED',
      `${where}: the secret is ${bytes} bytes; it must be ${SECRET_MIN_BYTES} to ${SECRET_MAX_BYTES}`,
    );
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function formatSecretHex(secret: Uint8Array): string {
  return `${Buffer.from(secret).toString('hex')}\n`;
}

/**
 * Loads and checks the secret file: a regular file (not followed through a link), mode
 * without group or other bits, owned by the current user, hex of 16 to 64 bytes.
 */
export async function loadSecretFile(file: string): Promise<Uint8Array> {
  let stat;
  try {
    stat = await fs.lstat(file);
  } catch (cause) {
    throw ioError(file, 'read', cause);
  }
  if (!stat.isFile()) {
    throw new Stable6Error('ERR_SECRET_UNSAFE', `${file}: not a regular file`, { details: { file } });
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new Stable6Error(
      'ERR_SECRET_UNSAFE',
      `${file}: mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')} lets others read it; run chmod 600 ${file}`,
      { details: { file, mode: stat.mode & 0o777 } },
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new Stable6Error('ERR_SECRET_UNSAFE', `${file}: owned by uid ${stat.uid}, not by this user (uid ${uid})`, {
      details: { file, owner: stat.uid, uid },
    });
  }
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (cause) {
    throw ioError(file, 'read', cause);
  }
  return parseSecretHex(text, file);
}

/** Writes a secret atomically with mode 0600; an existing file is replaced only with `force`. */
export async function writeSecretFile(file: string, secret: Uint8Array, force: boolean): Promise<void> {
  parseSecretHex(Buffer.from(secret).toString('hex'), file); // refuses a length outside the spec
  try {
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, formatSecretHex(secret), { mode: 0o600, overwrite: force });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new Stable6Error('ERR_SECRET_EXISTS', `${file}: a secret exists already; --force replaces it (and every address it made)`, {
        details: { file },
      });
    }
    throw ioError(file, 'write', cause);
  }
}

/** A new secret from the CSPRNG. */
export function newSecret(bytes = DEFAULT_SECRET_BYTES): Uint8Array {
  return Uint8Array.from(randomBytes(bytes));
}

/**
 * A short, non-reversible id of a secret for status output and support: a tagged SHA-256
 * (never a prefix of the secret), 16 hex digits.
 */
export function secretFingerprint(secret: Uint8Array): string {
  const digest = createHash('sha256').update('stable6 secret fingerprint v1\0').update(secret).digest('hex');
  return `s6fp-${digest.slice(0, 16)}`;
}

function ioError(file: string, op: 'read' | 'write', cause: unknown): Stable6Error {
  const errno = (cause as NodeJS.ErrnoException).code;
  if (op === 'read' && errno === 'ENOENT') {
    return new Stable6Error('ERR_SECRET_MISSING', `${file}: no secret file; create one with: stable6 secret init --secret-file ${file}`, {
      cause,
      details: { file, errno },
    });
  }
  return new Stable6Error('ERR_SECRET_IO', `${file}: cannot ${op} the secret file (${errno ?? 'unknown error'})`, {
    cause,
    details: { file, errno },
  });
}
