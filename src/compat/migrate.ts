/**
 * `stable6 migrate`: for each interface and each /64 it has an address in (global or
 * link-local), the address another system made there and the address stable6 computes in that
 * system's mode. They must be equal; a difference is a mismatch, never glossed over.
 *
 * The addresses come from a Platform (the live OS, or a fake in tests); secrets from the
 * peer's own files (readers/secrets.ts). Which present address is "the peer's": the one equal
 * to what the mode gives at the peer's counter 0 or any retry counter the peer allows.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { stringify } from 'smol-toml';
import { Ipv6Prefix } from '../core/prefix.js';
import { ALGORITHMS, type AlgorithmInputs, type AlgorithmName } from '../core/algorithms.js';
import { nmNetworkId, type NmStableType } from '../core/compat/networkmanager.js';
import { Stable6Error, isStable6Error } from '../errors.js';
import type { AddressInfo, InterfaceInfo, Platform } from '../platform/platform.js';
import {
  readDhcpcdSecret,
  readLinuxStableSecret,
  readNetworkdKey,
  readNetworkManagerSecret,
  type CompatSecret,
  type SecretRoots,
} from './readers/secrets.js';

export const MIGRATE_FROM = ['linux', 'networkmanager', 'systemd-networkd', 'dhcpcd'] as const;
export type MigrateFrom = (typeof MIGRATE_FROM)[number];

export interface MigrateOptions extends SecretRoots {
  from: MigrateFrom;
  /** Only this interface (default: every interface with an IPv6 address, loopback excepted). */
  iface?: string;
  /** networkmanager: the connection's stable-id (type 1, or 2 with its expanded text), or UUID (type 0). */
  stableId?: string;
  stableType?: NmStableType;
  /** systemd-networkd: the UUID of `Token=prefixstable,UUID` (default: the machine's app-specific key). */
  tokenUuid?: string;
}

export interface MigrateRow {
  prefix: string;
  /** The present address that the mode reproduces (undefined on a mismatch). */
  theirs?: string;
  /** The address stable6 computes in this mode (at the matched counter, else counter 0). */
  ours: string;
  dadCounter: number;
  match: boolean;
  /** The addresses present in this /64 (on a mismatch: what the peer has instead). */
  present: string[];
}

export interface MigrateInterface {
  name: string;
  /** Where the secret came from (a path; never the secret). */
  secretFile?: string;
  rows: MigrateRow[];
  /** Inputs that go into the configuration snippet (algorithm_inputs). */
  inputs: Record<string, string | number>;
  /** Why this interface could not be checked (a missing input or secret). */
  error?: { code: string; message: string };
}

export interface MigrateReport {
  from: MigrateFrom;
  interfaces: MigrateInterface[];
  /** True when every row matched and no interface failed. */
  allMatched: boolean;
}

const formatHw = (hw: Uint8Array): string => Array.from(hw, (b) => b.toString(16).padStart(2, '0')).join(':');

/** NetworkManager's device state file names the active connection's UUID. */
async function nmConnectionUuid(root: string | undefined, ifindex: number): Promise<string | undefined> {
  try {
    const text = await fs.readFile(path.join(root ?? '/', 'run/NetworkManager/devices', String(ifindex)), 'utf8');
    return /^connection-uuid=(.+)$/m.exec(text)?.[1]?.trim();
  } catch {
    return undefined;
  }
}

async function inputsFor(
  options: MigrateOptions,
  link: InterfaceInfo,
  shared: { secret?: CompatSecret },
): Promise<{ base: Omit<AlgorithmInputs, 'prefix' | 'dadCounter'>; config: Record<string, string | number>; secretFile: string }> {
  const { from } = options;
  switch (from) {
    case 'linux': {
      const s = await readLinuxStableSecret(link.name, options);
      const perm = link.permHwAddress ?? new Uint8Array(0);
      return {
        base: { secret: s.secret, ifname: link.name, permHwAddress: perm },
        config: { secret_file: s.file, ...(perm.some((b) => b !== 0) ? { perm_hwaddr: formatHw(perm) } : {}) },
        secretFile: s.file,
      };
    }
    case 'networkmanager': {
      shared.secret ??= await readNetworkManagerSecret(options);
      let id: { stableType: NmStableType; networkId: string };
      if (options.stableId !== undefined) {
        const type = options.stableType ?? 1;
        id = type === 0 ? nmNetworkId({ uuid: options.stableId }) : type === 1 ? { stableType: 1, networkId: options.stableId } : nmNetworkId({ stableId: options.stableId, expanded: options.stableId });
      } else {
        const uuid = await nmConnectionUuid(options.root, link.index);
        if (uuid === undefined) {
          throw new Stable6Error('ERR_COMPAT_INPUT', `${link.name}: no NetworkManager connection found (run/NetworkManager/devices/${link.index}); give --stable-id`);
        }
        id = nmNetworkId({ uuid });
      }
      const config: Record<string, string | number> = { secret_file: shared.secret.file, stable_type: id.stableType, stable_id: id.networkId };
      if (shared.secret.alsoFrom?.[0]) config.machine_id_file = shared.secret.alsoFrom[0];
      return { base: { secret: shared.secret.secret, ifname: link.name, stableType: id.stableType, stableId: id.networkId }, config, secretFile: shared.secret.file };
    }
    case 'systemd-networkd': {
      shared.secret ??= await readNetworkdKey(options, options.tokenUuid === undefined ? {} : { tokenUuid: options.tokenUuid });
      const hw = link.hwAddress ?? new Uint8Array(0);
      const config: Record<string, string | number> = options.tokenUuid === undefined ? { machine_id_file: shared.secret.file } : { token_file: '(put the Token UUID in a 0600 file and name it here)' };
      return { base: { secret: shared.secret.secret, ifname: link.name, hwAddress: hw }, config: { ...config, hwaddr: formatHw(hw) }, secretFile: shared.secret.file };
    }
    case 'dhcpcd': {
      shared.secret ??= await readDhcpcdSecret(options);
      const hw = link.hwAddress ?? new Uint8Array(0);
      return { base: { secret: shared.secret.secret, ifname: link.name, hwAddress: hw }, config: { secret_file: shared.secret.file, hwaddr: formatHw(hw) }, secretFile: shared.secret.file };
    }
  }
}

/** The mode's address for `prefix` at each counter the peer may reach, first to last. */
function candidates(from: AlgorithmName, base: Omit<AlgorithmInputs, 'prefix' | 'dadCounter'>, prefix: Ipv6Prefix): { address: string; dadCounter: number }[] {
  const out: { address: string; dadCounter: number }[] = [];
  let counter: number | undefined = 0;
  while (counter !== undefined && out.length < 16) {
    try {
      const r = ALGORITHMS[from].generate({ ...base, prefix, dadCounter: counter });
      out.push({ address: r.address.toString(), dadCounter: r.dadCounter });
      counter = r.nextDadCounter;
    } catch (error) {
      if (isStable6Error(error, 'ERR_GEN_EXHAUSTED')) break;
      throw error;
    }
  }
  return out;
}

function byPrefix(addresses: AddressInfo[]): Map<string, { prefix: Ipv6Prefix; present: string[] }> {
  const groups = new Map<string, { prefix: Ipv6Prefix; present: string[] }>();
  for (const a of addresses) {
    if (a.owned || a.flags.dadFailed || a.address.isMulticast() || a.prefixLength !== 64) continue;
    const prefix = Ipv6Prefix.containing(a.address, 64);
    const key = prefix.toString();
    const group = groups.get(key) ?? { prefix, present: [] };
    group.present.push(a.address.toString());
    groups.set(key, group);
  }
  return groups;
}

/** Compares, per interface and /64, the peer's present address with stable6's in that mode. */
export async function planMigration(platform: Platform, options: MigrateOptions): Promise<MigrateReport> {
  if (!(MIGRATE_FROM as readonly string[]).includes(options.from)) {
    throw new Stable6Error('ERR_COMPAT_INPUT', `cannot migrate from ${JSON.stringify(options.from)} (from: ${MIGRATE_FROM.join(', ')})`);
  }
  const links = await platform.listInterfaces();
  const selected = options.iface === undefined ? links.filter((l) => l.name !== 'lo') : links.filter((l) => l.name === options.iface);
  if (options.iface !== undefined && selected.length === 0) {
    throw new Stable6Error('ERR_PLATFORM_INTERFACE', `no interface named ${JSON.stringify(options.iface)}`, { details: { iface: options.iface } });
  }
  const shared: { secret?: CompatSecret } = {};
  const report: MigrateReport = { from: options.from, interfaces: [], allMatched: true };
  for (const link of selected.sort((a, b) => a.name.localeCompare(b.name))) {
    const groups = byPrefix(await platform.listAddresses(link.index));
    if (groups.size === 0 && options.iface === undefined) continue;
    const entry: MigrateInterface = { name: link.name, rows: [], inputs: {} };
    report.interfaces.push(entry);
    let prepared;
    try {
      prepared = await inputsFor(options, link, shared);
    } catch (error) {
      // A secret another interface shares failing is the whole run's problem, not one row's.
      if (isStable6Error(error) && options.from !== 'linux' && error.code !== 'ERR_COMPAT_INPUT') throw error;
      if (!isStable6Error(error)) throw error;
      entry.error = { code: error.code, message: error.message };
      report.allMatched = false;
      continue;
    }
    entry.secretFile = prepared.secretFile;
    entry.inputs = prepared.config;
    for (const { prefix, present } of [...groups.values()].sort((a, b) => a.prefix.toString().localeCompare(b.prefix.toString()))) {
      const list = candidates(options.from, prepared.base, prefix);
      const hit = list.find((c) => present.includes(c.address));
      const first = list[0];
      const row: MigrateRow = {
        prefix: prefix.toString(),
        ours: (hit ?? first)?.address ?? '(none: the mode makes no address here)',
        dadCounter: (hit ?? first)?.dadCounter ?? 0,
        match: hit !== undefined,
        present,
        ...(hit ? { theirs: hit.address } : {}),
      };
      if (!row.match) report.allMatched = false;
      entry.rows.push(row);
    }
  }
  return report;
}

/** A configuration snippet ([[interface]] tables) that keeps the matched addresses. No secret in it: only paths. */
export function migrationConfig(report: MigrateReport): string {
  const interfaces = report.interfaces
    .filter((i) => i.error === undefined && i.rows.some((r) => r.match))
    .map((i) => ({ name: i.name, algorithm: report.from, algorithm_inputs: i.inputs }));
  const header = `# Written by 'stable6 migrate --from ${report.from}': keeps the addresses ${report.from} made.\n# The secrets stay where ${report.from} keeps them; only their paths are named here.\n`;
  return `${header}${stringify({ interface: interfaces })}\n`;
}
