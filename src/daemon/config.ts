/**
 * The daemon's configuration: a TOML file (docs/config.md, examples/stable6.toml),
 * overridden by command-line flags. Every value is checked here, before anything on the
 * host changes; an error names the file, the key path and the problem.
 */
import { promises as fs } from 'node:fs';
import { parse as parseToml, TomlError } from 'smol-toml';
import { Ipv6Address } from '../core/address.js';
import { Ipv6Prefix } from '../core/prefix.js';
import type { SubnetChoice } from '../core/stable6-v1.js';
import { Stable6Error } from '../errors.js';
import { INFINITE_LIFETIME } from '../platform/platform.js';
import { DEFAULT_SECRET_FILE } from './secret-file.js';

export interface StaticPrefixConfig {
  prefix: Ipv6Prefix;
  /** For a prefix shorter than /64: which /64 (RFC 3587 layout). */
  subnet?: SubnetChoice;
  /** Seconds; INFINITE_LIFETIME for forever. */
  validLifetimeSec: number;
  preferredLifetimeSec: number;
}

export interface InterfaceConfig {
  /** The OS interface name. */
  name: string;
  /** The stable name that enters the hash (spec `netIface`); default: `name`. */
  netIface: string;
  networkId: string;
  algorithm: string;
  /** Learn prefixes from Router Advertisements (default true). */
  ra: boolean;
  /** Use optimistic DAD (RFC 4429) so that addresses can be bound at once. */
  optimistic: boolean;
  staticPrefixes: StaticPrefixConfig[];
  /** A static default gateway for a link where no router advertises. */
  gateway?: Ipv6Address;
  /** Inputs of a compatibility algorithm (hwaddr, stable-id, ...), checked by that algorithm. */
  algorithmInputs: Record<string, string | number>;
}

export interface ApiConfig {
  socket: string;
  /** Mode of the socket file (default 0o660). */
  socketMode: number;
  /** Group of the socket file (a name or a gid); default: the daemon's. */
  socketGroup?: string | number;
  /** Users (names or uids) allowed to lease; empty with no groups = everyone. */
  allowedUsers: (string | number)[];
  allowedGroups: (string | number)[];
  /** A regular expression every label must match. */
  labelPattern: string;
  maxLeasesPerUser: number;
}

export interface DaemonConfig {
  secretFile: string;
  stateDir: string;
  idgenRetries: number;
  idgenDelayMs: number;
  maxPrefixesPerInterface: number;
  flushOnExit: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** host:port for Prometheus metrics; undefined = off. */
  metricsListen?: string;
  api: ApiConfig;
  interfaces: InterfaceConfig[];
}

export const DEFAULT_STATE_DIR = '/var/lib/stable6';
export const DEFAULT_SOCKET = '/run/stable6/api.sock';
export const DEFAULT_CONFIG_FILE = '/etc/stable6/stable6.toml';

/** Flags that override the file (`stable6 daemon --interface ... --state-dir ...`). */
export interface ConfigOverrides {
  interfaces?: string[];
  secretFile?: string;
  stateDir?: string;
  socket?: string;
  flushOnExit?: boolean;
}

type Table = Record<string, unknown>;

class Checker {
  constructor(private readonly source: string) {}

  fail(path: string, problem: string): never {
    throw new Stable6Error('ERR_CONFIG_INVALID', `${this.source}: ${path}: ${problem}`, { details: { file: this.source, key: path } });
  }

  table(value: unknown, path: string): Table {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date) this.fail(path, 'must be a table');
    return value as Table;
  }

  /** Refuses keys the schema does not know: a typo must not be silently ignored. */
  known(table: Table, path: string, keys: readonly string[]): void {
    for (const key of Object.keys(table)) {
      if (!keys.includes(key)) this.fail(path ? `${path}.${key}` : key, `unknown key (known: ${keys.join(', ')})`);
    }
  }

  string(value: unknown, path: string, fallback?: string): string {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'string') this.fail(path, value === undefined ? 'is required' : 'must be a string');
    return value;
  }

  integer(value: unknown, path: string, min: number, max: number, fallback: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(path, `must be an integer from ${min} to ${max}`);
    }
    return value;
  }

  boolean(value: unknown, path: string, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(path, 'must be true or false');
    return value;
  }

  /** "infinite" or whole seconds from `min` (a valid lifetime of 0 would make a prefix that is already gone). */
  lifetime(value: unknown, path: string, min: number): number {
    if (value === undefined || value === 'infinite') return INFINITE_LIFETIME;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value >= INFINITE_LIFETIME) {
      this.fail(path, `must be "infinite" or whole seconds from ${min} to 4294967294`);
    }
    return value;
  }

  ids(value: unknown, path: string): (string | number)[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) this.fail(path, 'must be an array of names or ids');
    return value.map((item, i) => {
      if (typeof item === 'string' && /^[a-z_][a-z0-9_.-]*\$?$/i.test(item)) return item;
      if (typeof item === 'number' && Number.isInteger(item) && item >= 0 && item < 2 ** 32) return item;
      return this.fail(`${path}[${i}]`, 'must be a user or group name or a numeric id');
    });
  }
}

const TOP_KEYS = [
  'secret_file',
  'state_dir',
  'idgen_retries',
  'idgen_delay_ms',
  'max_prefixes_per_interface',
  'flush_on_exit',
  'log_level',
  'metrics',
  'api',
  'interface',
] as const;
const INTERFACE_KEYS = ['name', 'net_iface', 'network_id', 'algorithm', 'ra', 'optimistic', 'static_prefix', 'gateway', 'algorithm_inputs'] as const;
const PREFIX_KEYS = ['prefix', 'subnet', 'valid_lifetime', 'preferred_lifetime'] as const;
const API_KEYS = ['socket', 'socket_mode', 'socket_group', 'allowed_users', 'allowed_groups', 'label_pattern', 'max_leases_per_user'] as const;

/** Linux interface names: 1 to 15 bytes, no '/', no white space, not '.' or '..'. */
export function isValidInterfaceName(name: string): boolean {
  return /^[^/\s:]{1,15}$/.test(name) && name !== '.' && name !== '..';
}

/** Checks a parsed TOML document and applies the flags; `source` names the file in errors. */
export function checkConfig(document: unknown, source: string, overrides: ConfigOverrides = {}): DaemonConfig {
  const c = new Checker(source);
  const top = c.table(document, '(top level)');
  c.known(top, '', TOP_KEYS);

  const metrics = top.metrics === undefined ? undefined : c.table(top.metrics, 'metrics');
  if (metrics) c.known(metrics, 'metrics', ['listen']);
  const metricsListen = metrics?.listen === undefined ? undefined : c.string(metrics.listen, 'metrics.listen');
  if (metricsListen !== undefined && !/^(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):\d{1,5}$/.test(metricsListen)) {
    c.fail('metrics.listen', 'must be host:port with a literal address, e.g. "127.0.0.1:9716" or "[::1]:9716"');
  }

  const api = top.api === undefined ? {} : c.table(top.api, 'api');
  c.known(api, 'api', API_KEYS);
  const modeText = c.string(api.socket_mode, 'api.socket_mode', '0660');
  if (!/^0?[0-7]{3}$/.test(modeText)) c.fail('api.socket_mode', 'must be an octal mode such as "0660"');
  const labelPattern = c.string(api.label_pattern, 'api.label_pattern', '^[a-z0-9][a-z0-9._-]{0,62}$');
  try {
    new RegExp(labelPattern, 'u');
  } catch (cause) {
    c.fail('api.label_pattern', `is not a valid regular expression (${(cause as Error).message})`);
  }
  const socketGroup = api.socket_group;
  if (socketGroup !== undefined && typeof socketGroup !== 'string' && !(typeof socketGroup === 'number' && Number.isInteger(socketGroup) && socketGroup >= 0)) {
    c.fail('api.socket_group', 'must be a group name or a numeric gid');
  }

  const logLevel = c.string(top.log_level, 'log_level', 'info');
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) c.fail('log_level', 'must be one of debug, info, warn, error');

  const list: unknown = top.interface === undefined ? [] : top.interface;
  if (!Array.isArray(list)) c.fail('interface', 'must be an array of tables ([[interface]])');
  const interfaces: InterfaceConfig[] = (list as unknown[]).map((item, i) => checkInterface(c, item, `interface[${i}]`));
  for (const name of overrides.interfaces ?? []) {
    if (!isValidInterfaceName(name)) c.fail('--interface', `${JSON.stringify(name)} is not a valid interface name`);
    if (!interfaces.some((x) => x.name === name)) interfaces.push(defaultInterface(name));
  }
  const seen = new Set<string>();
  for (const [i, x] of interfaces.entries()) {
    if (seen.has(x.name)) c.fail(`interface[${i}].name`, `${x.name} is configured twice`);
    seen.add(x.name);
  }

  return {
    secretFile: overrides.secretFile ?? c.string(top.secret_file, 'secret_file', DEFAULT_SECRET_FILE),
    stateDir: overrides.stateDir ?? c.string(top.state_dir, 'state_dir', DEFAULT_STATE_DIR),
    idgenRetries: c.integer(top.idgen_retries, 'idgen_retries', 0, 255, 3),
    idgenDelayMs: c.integer(top.idgen_delay_ms, 'idgen_delay_ms', 0, 60_000, 1000),
    maxPrefixesPerInterface: c.integer(top.max_prefixes_per_interface, 'max_prefixes_per_interface', 1, 1024, 16),
    flushOnExit: overrides.flushOnExit ?? c.boolean(top.flush_on_exit, 'flush_on_exit', false),
    logLevel: logLevel as DaemonConfig['logLevel'],
    ...(metricsListen === undefined ? {} : { metricsListen }),
    api: {
      socket: overrides.socket ?? c.string(api.socket, 'api.socket', DEFAULT_SOCKET),
      socketMode: parseInt(modeText, 8),
      ...(socketGroup === undefined ? {} : { socketGroup: socketGroup as string | number }),
      allowedUsers: c.ids(api.allowed_users, 'api.allowed_users'),
      allowedGroups: c.ids(api.allowed_groups, 'api.allowed_groups'),
      labelPattern,
      maxLeasesPerUser: c.integer(api.max_leases_per_user, 'api.max_leases_per_user', 0, 4096, 16),
    },
    interfaces,
  };
}

function defaultInterface(name: string): InterfaceConfig {
  return { name, netIface: name, networkId: '', algorithm: 'stable6-v1', ra: true, optimistic: false, staticPrefixes: [], algorithmInputs: {} };
}

function checkInterface(c: Checker, item: unknown, path: string): InterfaceConfig {
  const t = c.table(item, path);
  c.known(t, path, INTERFACE_KEYS);
  const name = c.string(t.name, `${path}.name`);
  if (!isValidInterfaceName(name)) c.fail(`${path}.name`, `${JSON.stringify(name)} is not a valid interface name`);
  const netIface = c.string(t.net_iface, `${path}.net_iface`, name);
  if (Buffer.byteLength(netIface) < 1 || Buffer.byteLength(netIface) > 255) c.fail(`${path}.net_iface`, 'must be 1 to 255 bytes of UTF-8');
  const networkId = c.string(t.network_id, `${path}.network_id`, '');
  if (Buffer.byteLength(networkId) > 255) c.fail(`${path}.network_id`, 'must be at most 255 bytes of UTF-8');
  const algorithm = c.string(t.algorithm, `${path}.algorithm`, 'stable6-v1');
  if (!/^[a-z0-9-]+$/.test(algorithm)) c.fail(`${path}.algorithm`, 'must be an algorithm name such as "stable6-v1"');
  const prefixes: unknown = t.static_prefix === undefined ? [] : t.static_prefix;
  if (!Array.isArray(prefixes)) c.fail(`${path}.static_prefix`, 'must be an array of tables ([[interface.static_prefix]])');
  const inputs = t.algorithm_inputs === undefined ? {} : c.table(t.algorithm_inputs, `${path}.algorithm_inputs`);
  for (const [key, value] of Object.entries(inputs)) {
    if (typeof value !== 'string' && typeof value !== 'number') c.fail(`${path}.algorithm_inputs.${key}`, 'must be a string or a number');
  }
  let gateway: Ipv6Address | undefined;
  if (t.gateway !== undefined) {
    const text = c.string(t.gateway, `${path}.gateway`);
    try {
      gateway = Ipv6Address.parse(text);
    } catch {
      c.fail(`${path}.gateway`, `${JSON.stringify(text)} is not an IPv6 address`);
    }
    if (gateway.isMulticast() || gateway.isUnspecified()) c.fail(`${path}.gateway`, 'must be a unicast address');
  }
  return {
    name,
    netIface,
    networkId,
    algorithm,
    ra: c.boolean(t.ra, `${path}.ra`, true),
    optimistic: c.boolean(t.optimistic, `${path}.optimistic`, false),
    staticPrefixes: (prefixes as unknown[]).map((p, i) => checkStaticPrefix(c, p, `${path}.static_prefix[${i}]`)),
    ...(gateway ? { gateway } : {}),
    algorithmInputs: inputs as Record<string, string | number>,
  };
}

function checkStaticPrefix(c: Checker, item: unknown, path: string): StaticPrefixConfig {
  const t = c.table(item, path);
  c.known(t, path, PREFIX_KEYS);
  const text = c.string(t.prefix, `${path}.prefix`);
  let prefix: Ipv6Prefix;
  try {
    prefix = Ipv6Prefix.parse(text);
  } catch (cause) {
    c.fail(`${path}.prefix`, (cause as Error).message);
  }
  if (prefix.length > 64) c.fail(`${path}.prefix`, `${prefix.toString()} is longer than /64`);
  if (prefix.address.isLinkLocal() || prefix.address.isMulticast()) c.fail(`${path}.prefix`, 'must not be link-local or multicast');
  let subnet: SubnetChoice | undefined;
  if (t.subnet !== undefined) {
    if (t.subnet === 'auto') subnet = { kind: 'auto' };
    else if (typeof t.subnet === 'number' && Number.isInteger(t.subnet) && t.subnet >= 0) subnet = { kind: 'fixed', id: BigInt(t.subnet) };
    else c.fail(`${path}.subnet`, 'must be "auto" or a non-negative integer');
  }
  if (prefix.length < 64 && subnet === undefined) c.fail(`${path}.subnet`, `${prefix.toString()} is shorter than /64: set subnet = N or "auto"`);
  if (prefix.length === 64 && subnet !== undefined && !(subnet.kind === 'fixed' && subnet.id === 0n)) c.fail(`${path}.subnet`, 'a /64 has no subnet to choose');
  if (subnet?.kind === 'fixed' && subnet.id >= 1n << BigInt(64 - prefix.length)) {
    c.fail(`${path}.subnet`, `does not fit in the ${64 - prefix.length} bits of ${prefix.toString()}`);
  }
  const validLifetimeSec = c.lifetime(t.valid_lifetime, `${path}.valid_lifetime`, 1);
  // 0 is allowed: the prefix's address is deprecated from the start (never chosen as a source).
  const preferredLifetimeSec = t.preferred_lifetime === undefined ? validLifetimeSec : c.lifetime(t.preferred_lifetime, `${path}.preferred_lifetime`, 0);
  if (preferredLifetimeSec > validLifetimeSec) c.fail(`${path}.preferred_lifetime`, 'must not exceed valid_lifetime (RFC 4862 §5.5.3 c)');
  return { prefix, ...(subnet ? { subnet } : {}), validLifetimeSec, preferredLifetimeSec };
}

/** Parses TOML text; a syntax error names the file, line and column. */
export function parseConfigText(text: string, source: string, overrides: ConfigOverrides = {}): DaemonConfig {
  let document: unknown;
  try {
    document = parseToml(text);
  } catch (cause) {
    if (cause instanceof TomlError) {
      const first = cause.message.split('\n')[0] ?? 'syntax error';
      throw new Stable6Error('ERR_CONFIG_SYNTAX', `${source}:${cause.line}:${cause.column}: ${first}`, {
        cause,
        details: { file: source, line: cause.line, column: cause.column },
      });
    }
    throw cause;
  }
  return checkConfig(document, source, overrides);
}

/** Reads and checks a config file; with no file, the defaults and the flags alone. */
export async function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}): Promise<DaemonConfig> {
  if (file === undefined) return checkConfig({}, '(flags)', overrides);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code;
    throw new Stable6Error('ERR_CONFIG_IO', `${file}: cannot read the configuration (${errno ?? 'error'})`, { cause, details: { file, errno } });
  }
  return parseConfigText(text, file, overrides);
}
