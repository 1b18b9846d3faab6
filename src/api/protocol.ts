/**
 * The local API, version 1: what crosses the daemon's Unix socket, and how requests are checked.
 *
 * Pure: no sockets, no files, no clock. The server (server.ts) and the client (client.ts) both
 * build on these types, so a change here is a change of the wire format: add fields, never
 * rename or repurpose one; anything incompatible becomes /v2.
 *
 * Lifetimes are seconds as the OS reports them; 4294967295 (INFINITE_LIFETIME) means forever
 * (RFC 4861 §4.6.2). Addresses are RFC 5952 text, prefixes `address/length`.
 */
import { Stable6Error, type ErrorCode } from '../errors.js';

export const API_VERSION = 1;
export const API_PREFIX = '/v1';

/** Where the daemon listens unless configured otherwise; `STABLE6_SOCKET` overrides it for clients. */
export const DEFAULT_SOCKET_PATH = '/run/stable6/api.sock';

/** The largest label the algorithm accepts (spec: UTF-8, 0 to 255 bytes; leases need at least 1). */
export const MAX_LABEL_BYTES = 255;
/** Interface names: Linux allows 15 bytes (IFNAMSIZ - 1), Windows aliases up to 256 characters. */
export const MAX_INTERFACE_BYTES = 255;

/**
 * `optimistic` is RFC 4429's Optimistic Address: added with optimistic DAD, DAD still running,
 * but usable (bind, accept, send) already; `tentative` is DAD running and not usable yet.
 */
export type AddressState = 'tentative' | 'optimistic' | 'preferred' | 'deprecated' | 'failed';
export const ADDRESS_STATES: readonly AddressState[] = ['tentative', 'optimistic', 'preferred', 'deprecated', 'failed'];

/** One address of a lease: one per current prefix of the interface. */
export interface LeaseAddress {
  address: string;
  /** The /64 the address is in, e.g. `2001:db8:1:2::/64`. */
  prefix: string;
  state: AddressState;
  validLifetimeSec: number;
  preferredLifetimeSec: number;
}

/**
 * A per-application address: stable6-v1 with `label` on `interface`. The key is
 * (interface, label): the label enters the hash, so two users cannot hold the same one.
 */
export interface Lease {
  label: string;
  interface: string;
  /** The owner, as the kernel told it (SO_PEERCRED) when the lease was made. */
  uid: number;
  /** Kept across client exits and daemon restarts until released; otherwise released when its connection closes. */
  persistent: boolean;
  addresses: LeaseAddress[];
}

/** The body of POST /v1/leases. */
export interface LeaseRequest {
  label: string;
  interface: string;
  persistent: boolean;
}

/** The most labels one POST /v1/leases/batch may carry. */
export const MAX_BATCH_LABELS = 1024;

/**
 * The body of POST /v1/leases/batch: many leases on one interface in one request, as
 * `ip -batch` is many addresses in one process. Each label is its own lease with its own
 * outcome; they share the interface and the lifetime kind.
 */
export interface LeaseBatchRequest {
  interface: string;
  /** 1 to MAX_BATCH_LABELS labels, each valid as in a single lease, none twice. */
  labels: string[];
  persistent: boolean;
}

/** The outcome of one label of a batch, in the request's order. */
export type LeaseBatchResult =
  | { label: string; lease: Lease; created: boolean }
  | { label: string; error: ApiErrorBody['error'] };

/** The answer of POST /v1/leases/batch (HTTP 200 even when some labels failed). */
export interface LeaseBatchReply {
  results: LeaseBatchResult[];
}

/** The key of DELETE /v1/leases/{interface}/{label}. */
export interface LeaseKey {
  label: string;
  interface: string;
}

export interface PrefixStatus {
  prefix: string;
  source: 'ra' | 'static';
  validLifetimeSec: number;
  preferredLifetimeSec: number;
  /** RFC 3339 UTC time the prefix was last advertised; null for a static prefix. */
  lastSeen: string | null;
}

export interface StatusAddress {
  address: string;
  prefix: string;
  /** Empty for the interface's own address; the lease's label otherwise. */
  label: string;
  /** The generation algorithm, e.g. `stable6-v1`. */
  algorithm: string;
  dadCounter: number;
  state: AddressState;
  validLifetimeSec: number;
  preferredLifetimeSec: number;
  /** The uid of the lease holding this address; absent for the interface's own addresses. */
  owner?: number;
}

export interface InterfaceStatus {
  name: string;
  prefixes: PrefixStatus[];
  addresses: StatusAddress[];
}

/** GET /v1/status. The secret's fingerprint (a tagged hash), never the secret. */
export interface StatusReport {
  secretFingerprint: string;
  interfaces: InterfaceStatus[];
}

/**
 * One line of GET /v1/events (newline-delimited JSON). Past-tense facts, discriminated on
 * `type`. `subscribed` comes first, once, when the stream is live.
 */
export type ApiEvent =
  | { type: 'subscribed'; version: number }
  /** Made, or its addresses or lifetimes changed. */
  | { type: 'lease-changed'; lease: Lease }
  | { type: 'lease-released'; lease: Lease }
  | { type: 'address-changed'; interface: string; address: StatusAddress }
  | { type: 'address-removed'; interface: string; address: StatusAddress };

export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** The HTTP status for each code the server sends; other codes a service throws go out as 500. */
export const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  ERR_API_BAD_REQUEST: 400,
  ERR_API_FORBIDDEN: 403,
  ERR_API_LIMIT: 403,
  ERR_API_NOT_FOUND: 404,
  ERR_API_UNKNOWN_INTERFACE: 404,
  ERR_API_METHOD: 405,
  ERR_API_LABEL_TAKEN: 409,
  ERR_API_TOO_LARGE: 413,
  ERR_API_RATE_LIMITED: 429,
  ERR_API_INTERNAL: 500,
  ERR_API_LEASE_FAILED: 503,
  ERR_API_BUSY: 503,
};

export function httpStatusFor(code: string): number {
  return HTTP_STATUS[code as ErrorCode] ?? 500;
}

export function errorBody(code: string, message: string): ApiErrorBody {
  return { error: { code, message } };
}

/** False for strings with lone surrogates, which have no UTF-8 form. */
function isWellFormed(text: string): boolean {
  return Buffer.from(text, 'utf8').toString('utf8') === text;
}

function badRequest(message: string, details?: Record<string, unknown>): Stable6Error {
  return new Stable6Error('ERR_API_BAD_REQUEST', message, details ? { details } : {});
}

/**
 * Labels a lease may use: 1 to 255 bytes of UTF-8, in Unicode normalization form C, made of
 * letters and digits of any script and `. _ - + : @`, starting with a letter or a digit.
 *
 * Why so narrow when the algorithm takes any bytes: the label enters the hash, so two texts
 * that look the same must not give two addresses (hence NFC, and no invisible or space
 * characters); it appears in URL paths, logs and shell commands (no `/`, `%`, quotes, controls);
 * a leading `-` would read as an option. A non-NFC label is refused, not normalized, so the
 * address always comes from exactly the bytes the client sent.
 */
const LABEL_PATTERN = /^[\p{L}\p{N}][\p{L}\p{M}\p{N}._+:@-]*$/u;

export function validateLabel(label: unknown): string {
  if (typeof label !== 'string') throw badRequest('label must be a string', { field: 'label' });
  const bytes = Buffer.byteLength(label, 'utf8');
  if (bytes < 1 || bytes > MAX_LABEL_BYTES) {
    throw badRequest(`label must be 1 to ${MAX_LABEL_BYTES} bytes of UTF-8, got ${bytes}`, { field: 'label' });
  }
  if (!isWellFormed(label) || label.normalize('NFC') !== label) {
    throw badRequest('label must be well-formed Unicode in normalization form C', { field: 'label' });
  }
  if (!LABEL_PATTERN.test(label)) {
    throw badRequest(`label ${JSON.stringify(label)} must start with a letter or digit and hold only letters, digits and . _ - + : @`, {
      field: 'label',
    });
  }
  return label;
}

/**
 * Interface names: 1 to 255 bytes, no control characters, no `/` (it would split the DELETE
 * path), no leading or trailing space. Whether the daemon manages it is the service's answer.
 */
export function validateInterfaceName(name: unknown): string {
  if (typeof name !== 'string') throw badRequest('interface must be a string', { field: 'interface' });
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes < 1 || bytes > MAX_INTERFACE_BYTES || !isWellFormed(name)) {
    throw badRequest(`interface must be 1 to ${MAX_INTERFACE_BYTES} bytes of UTF-8`, { field: 'interface' });
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f/]/.test(name) || name.trim() !== name || name === '.' || name === '..') {
    throw badRequest(`interface ${JSON.stringify(name)} is not a valid interface name`, { field: 'interface' });
  }
  return name;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The body of POST /v1/leases. Strict: unknown fields are refused, so a misspelt
 * `persistant` cannot silently make a connection-bound lease.
 */
export function parseLeaseRequest(body: unknown): LeaseRequest {
  const { fields, persistent } = strictBody(body, ['label', 'interface', 'persistent']);
  return { label: validateLabel(fields.label), interface: validateInterfaceName(fields.interface), persistent };
}

/** A JSON object with none but these fields, and its `persistent` (false when absent). */
function strictBody(body: unknown, allowed: readonly string[]): { fields: Record<string, unknown>; persistent: boolean } {
  if (!isPlainObject(body)) throw badRequest('the body must be a JSON object');
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw badRequest(`unknown field ${JSON.stringify(key)} (${allowed.join(', ')})`, { field: key });
  }
  const persistent = body.persistent ?? false;
  if (typeof persistent !== 'boolean') throw badRequest('persistent must be true or false', { field: 'persistent' });
  return { fields: body, persistent };
}

/**
 * The body of POST /v1/leases/batch, as strict as a single lease's. The whole batch is refused
 * when any label is invalid or repeated (`details.index` says which), so a typo cannot make
 * half a batch.
 */
export function parseLeaseBatchRequest(body: unknown): LeaseBatchRequest {
  const { fields, persistent } = strictBody(body, ['labels', 'interface', 'persistent']);
  const iface = validateInterfaceName(fields.interface);
  const { labels } = fields;
  if (!Array.isArray(labels) || labels.length === 0 || labels.length > MAX_BATCH_LABELS) {
    throw badRequest(`labels must be an array of 1 to ${MAX_BATCH_LABELS} labels`, { field: 'labels' });
  }
  const seen = new Set<string>();
  const valid = labels.map((label: unknown, index) => {
    let checked: string;
    try {
      checked = validateLabel(label);
    } catch (error) {
      throw badRequest(`labels[${index}]: ${(error as Error).message}`, { field: 'labels', index });
    }
    if (seen.has(checked)) throw badRequest(`labels[${index}]: ${JSON.stringify(checked)} is in the batch twice`, { field: 'labels', index });
    seen.add(checked);
    return checked;
  });
  return { interface: iface, labels: valid, persistent };
}

/** Parses request body bytes as JSON; an empty body is `undefined`. */
export function parseJsonBody(bytes: Buffer): unknown {
  if (bytes.length === 0) return undefined;
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  try {
    return JSON.parse(text.decode(bytes)) as unknown;
  } catch (cause) {
    throw new Stable6Error('ERR_API_BAD_REQUEST', 'the body is not UTF-8 JSON', { cause });
  }
}

/** The API paths, decoded. Pure: the server maps a request line to one of these. */
export type Route =
  | { type: 'lease' }
  | { type: 'lease-batch' }
  | { type: 'list-leases' }
  | { type: 'release'; key: LeaseKey }
  | { type: 'status' }
  | { type: 'events' };

export function leasePath(key: LeaseKey): string {
  return `${API_PREFIX}/leases/${encodeURIComponent(key.interface)}/${encodeURIComponent(key.label)}`;
}

/**
 * Maps method and request target to a route, or throws ERR_API_NOT_FOUND / ERR_API_METHOD
 * (with `details.allow`) / ERR_API_BAD_REQUEST. The query string is ignored.
 */
export function parseRoute(method: string, target: string): Route {
  const path = target.split('?', 1)[0] ?? '';
  const allow = (methods: string[]): void => {
    if (!methods.includes(method)) {
      throw new Stable6Error('ERR_API_METHOD', `${method} is not allowed on ${path} (${methods.join(', ')})`, {
        details: { allow: methods },
      });
    }
  };
  if (path === `${API_PREFIX}/leases`) {
    allow(['GET', 'POST']);
    return method === 'POST' ? { type: 'lease' } : { type: 'list-leases' };
  }
  if (path === `${API_PREFIX}/leases/batch`) {
    allow(['POST']);
    return { type: 'lease-batch' };
  }
  if (path === `${API_PREFIX}/status`) {
    allow(['GET']);
    return { type: 'status' };
  }
  if (path === `${API_PREFIX}/events`) {
    allow(['GET']);
    return { type: 'events' };
  }
  const match = /^\/v1\/leases\/([^/]+)\/([^/]+)$/.exec(path);
  if (match) {
    allow(['DELETE']);
    let iface: string;
    let label: string;
    try {
      iface = decodeURIComponent(match[1] ?? '');
      label = decodeURIComponent(match[2] ?? '');
    } catch (cause) {
      throw new Stable6Error('ERR_API_BAD_REQUEST', 'the lease path is not valid percent-encoded UTF-8', { cause });
    }
    return { type: 'release', key: { interface: validateInterfaceName(iface), label: validateLabel(label) } };
  }
  throw new Stable6Error('ERR_API_NOT_FOUND', `no API path ${JSON.stringify(path)}`);
}

/** Lines of GET /v1/events: one JSON object per line (application/x-ndjson). */
export function formatEventLine(event: ApiEvent): string {
  return `${JSON.stringify(event)}\n`;
}
