/**
 * Reads other systems' secrets where they keep them, and decodes them with the pure parsers
 * of src/core/compat/secret-formats.ts. Every error names the file; none shows the secret.
 *
 * Paths are built from roots so that tests (and `stable6 migrate --root/--proc-root`) can point
 * at a copy: `procRoot` for /proc (default "/proc"), `root` for the rest (default "/").
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Stable6Error } from '../../errors.js';
import {
  networkdAppSpecificKey,
  nmHostId,
  parseDhcpcdSecret,
  parseLinuxStableSecret,
  parseMachineId,
  parseNetworkdTokenKey,
  parseSoiiKey,
} from '../../core/compat/secret-formats.js';

export interface SecretRoots {
  /** Where /proc is (default "/proc"). */
  procRoot?: string;
  /** The file-system root for /etc and /var (default "/"). */
  root?: string;
}

/** A decoded secret and the file(s) it came from (for messages and the config snippet). */
export interface CompatSecret {
  secret: Uint8Array;
  file: string;
  /** Other files that entered it (NetworkManager's machine-id). */
  alsoFrom?: string[];
}

export const NM_SECRET_KEY = '/var/lib/NetworkManager/secret_key';
export const MACHINE_ID = '/etc/machine-id';
export const DHCPCD_SECRET = '/var/lib/dhcpcd/secret';
export const SOII_KEY = '/etc/soii.key';

const under = (root: string | undefined, file: string): string => path.join(root ?? '/', file);

async function readBytes(file: string, what: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT') {
      throw new Stable6Error('ERR_COMPAT_SECRET_MISSING', `${file}: no ${what} there`, { cause, details: { file, errno } });
    }
    throw new Stable6Error('ERR_COMPAT_SECRET_IO', `${file}: cannot read the ${what} (${errno ?? 'unknown error'})`, {
      cause,
      details: { file, errno },
    });
  }
}

/**
 * The kernel's stable_secret for `ifname`: its own, else net.ipv6.conf.default's (as
 * ipv6_generate_stable_address falls back). An unset one reads as EIO.
 */
export async function readLinuxStableSecret(ifname: string, roots: SecretRoots = {}): Promise<CompatSecret> {
  if (!/^[^/\s]{1,15}$/.test(ifname) || ifname === '.' || ifname === '..') {
    throw new Stable6Error('ERR_COMPAT_INPUT', `not an interface name: ${JSON.stringify(ifname)}`);
  }
  const procRoot = roots.procRoot ?? '/proc';
  const tried: string[] = [];
  for (const conf of [ifname, 'default']) {
    const file = path.join(procRoot, 'sys/net/ipv6/conf', conf, 'stable_secret');
    tried.push(file);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (cause) {
      const errno = (cause as NodeJS.ErrnoException).code;
      if (errno === 'EIO' || errno === 'ENOENT') continue; // not set (EIO), or no such interface here
      throw new Stable6Error('ERR_COMPAT_SECRET_IO', `${file}: cannot read the stable_secret (${errno ?? 'unknown error'})`, {
        cause,
        details: { file, errno },
      });
    }
    if (text.trim() === '') continue;
    return { secret: parseLinuxStableSecret(text, file), file };
  }
  throw new Stable6Error('ERR_COMPAT_SECRET_MISSING', `no stable_secret is set for ${ifname} (${tried.join(', ')}): the kernel makes no stable-privacy address there`, {
    details: { files: tried },
  });
}

/** /etc/machine-id as 16 bytes. */
export async function readMachineId(roots: SecretRoots = {}, file = under(roots.root, MACHINE_ID)): Promise<{ machineId: Uint8Array; file: string }> {
  return { machineId: parseMachineId((await readBytes(file, 'machine id')).toString('utf8'), file), file };
}

/** NetworkManager's host id (secret_key, hashed with the machine id for nm-v2 keys). */
export async function readNetworkManagerSecret(roots: SecretRoots = {}, files: { secretKey?: string; machineId?: string } = {}): Promise<CompatSecret> {
  const keyFile = files.secretKey ?? under(roots.root, NM_SECRET_KEY);
  const bytes = await readBytes(keyFile, 'NetworkManager secret_key');
  const idFile = files.machineId ?? under(roots.root, MACHINE_ID);
  let machineId: Uint8Array | undefined;
  // NM hashes the machine id in only when it has a real one; without it, NM's "fake" id is left out.
  try {
    machineId = (await readMachineId(roots, idFile)).machineId;
  } catch (error) {
    if (!(error instanceof Stable6Error && error.code === 'ERR_COMPAT_SECRET_MISSING')) throw error;
  }
  return { secret: nmHostId(bytes, machineId, keyFile), file: keyFile, ...(machineId ? { alsoFrom: [idFile] } : {}) };
}

/** networkd's prefixstable key: the Token's UUID when given, else the app-specific machine key. */
export async function readNetworkdKey(roots: SecretRoots = {}, options: { tokenUuid?: string; machineIdFile?: string } = {}): Promise<CompatSecret> {
  if (options.tokenUuid !== undefined) return { secret: parseNetworkdTokenKey(options.tokenUuid, 'Token=prefixstable UUID'), file: '(Token= UUID)' };
  const { machineId, file } = await readMachineId(roots, options.machineIdFile ?? under(roots.root, MACHINE_ID));
  return { secret: networkdAppSpecificKey(machineId), file };
}

export async function readDhcpcdSecret(roots: SecretRoots = {}, file = under(roots.root, DHCPCD_SECRET)): Promise<CompatSecret> {
  return { secret: parseDhcpcdSecret((await readBytes(file, 'dhcpcd secret')).toString('latin1'), file), file };
}

export async function readSoiiKey(roots: SecretRoots = {}, file = under(roots.root, SOII_KEY)): Promise<CompatSecret> {
  return { secret: parseSoiiKey((await readBytes(file, 'soii key')).toString('latin1'), file), file };
}

/** Reads a file of the given peer's secret format (gen --secret-file). */
export async function readSecretFileAs(algorithm: string, file: string, options: { machineIdFile?: string } = {}): Promise<CompatSecret> {
  switch (algorithm) {
    case 'linux':
      return { secret: parseLinuxStableSecret((await readBytes(file, 'stable_secret')).toString('utf8'), file), file };
    case 'networkmanager':
      return readNetworkManagerSecret({}, { secretKey: file, ...(options.machineIdFile ? { machineId: options.machineIdFile } : {}) });
    case 'systemd-networkd':
      return readNetworkdKey({}, { machineIdFile: file });
    case 'dhcpcd':
      return readDhcpcdSecret({}, file);
    case 'slaacd':
      return readSoiiKey({}, file);
    default:
      throw new Stable6Error('ERR_COMPAT_INPUT', `no secret format for algorithm ${JSON.stringify(algorithm)}`);
  }
}
