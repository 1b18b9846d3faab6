/**
 * The Node client of the local API: lease an address of one's own and listen on it.
 *
 *   const { address, handle } = await listenStable(server, { label: 'web', interface: 'eth0', port: 8080 });
 *
 * Every failure is a Stable6Error: the daemon's own code when it answered with an error,
 * ERR_API_UNAVAILABLE when nothing answers on the socket, ERR_API_TIMEOUT, ERR_API_PROTOCOL
 * when the reply is not API v1, ERR_API_BIND when the leased address cannot be bound.
 */
import http from 'node:http';
import type net from 'node:net';
import readline from 'node:readline';
import { Stable6Error, type ErrorCode } from '../errors.js';
import {
  API_PREFIX,
  DEFAULT_SOCKET_PATH,
  leasePath,
  type ApiEvent,
  type Lease,
  type LeaseBatchResult,
  type LeaseKey,
  type StatusReport,
} from './protocol.js';

export interface ClientOptions {
  /** Default: $STABLE6_SOCKET, else /run/stable6/api.sock. */
  socketPath?: string;
  /** Default 30 s; a lease waits up to 120 s (DAD and its retries). */
  timeoutMs?: number;
}

export function resolveSocketPath(socketPath?: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  return socketPath ?? (env.STABLE6_SOCKET || DEFAULT_SOCKET_PATH);
}

/**
 * An agent that keeps its one connection open for as long as the lease it carries: the
 * stock agent closes idle sockets when the server's Keep-Alive hint runs out, which would end
 * a connection-bound lease. The socket is unref'd: it does not keep the process alive by
 * itself, and when the process ends the daemon releases the lease.
 */
export class LeaseAgent extends http.Agent {
  constructor() {
    super({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
  }

  override keepSocketAlive(socket: net.Socket): boolean {
    socket.setKeepAlive(true, 10_000);
    socket.setTimeout(0);
    socket.unref();
    return true;
  }
}

const CODE_PATTERN = /^ERR_[A-Z0-9]+_[A-Z0-9_]+$/;

function connectError(error: NodeJS.ErrnoException, socketPath: string): Stable6Error {
  const details = { socketPath, errno: error.code };
  if (error.code === 'EACCES' || error.code === 'EPERM') {
    return new Stable6Error('ERR_API_UNAVAILABLE', `permission denied on ${socketPath}: ask to be in the socket's group`, { cause: error, details });
  }
  return new Stable6Error('ERR_API_UNAVAILABLE', `no stable6 daemon answers on ${socketPath} (${error.code ?? error.message})`, {
    cause: error,
    details,
  });
}

interface CallOptions extends ClientOptions {
  agent?: http.Agent;
  onSocket?: (socket: net.Socket) => void;
}

/** One request; resolves with the JSON body of a 2xx reply, rejects with the daemon's error code otherwise. */
async function call(method: string, path: string, body: unknown, options: CallOptions = {}): Promise<unknown> {
  const socketPath = resolveSocketPath(options.socketPath);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath,
        method,
        path,
        agent: options.agent ?? false,
        headers: payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          // A reply is small; this bounds what a broken or hostile peer can make us hold.
          if (size > 64 << 20) req.destroy(new Stable6Error('ERR_API_PROTOCOL', 'the reply is too large'));
          else chunks.push(chunk);
        });
        res.on('error', (error) => reject(error));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch (cause) {
            reject(new Stable6Error('ERR_API_PROTOCOL', `the daemon's reply to ${method} ${path} is not JSON (HTTP ${res.statusCode})`, { cause }));
            return;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve(parsed);
            return;
          }
          const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
          if (typeof error?.code !== 'string' || !CODE_PATTERN.test(error.code) || typeof error.message !== 'string') {
            reject(new Stable6Error('ERR_API_PROTOCOL', `HTTP ${status} from the daemon without an API error body`));
            return;
          }
          // A newer daemon may send a code this client does not list; it is kept as sent.
          reject(new Stable6Error(error.code as ErrorCode, error.message, { details: { httpStatus: status, retryAfter: res.headers['retry-after'] } }));
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Stable6Error('ERR_API_TIMEOUT', `no answer to ${method} ${path} within ${timeoutMs} ms`)));
    req.on('socket', (socket) => options.onSocket?.(socket));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error instanceof Stable6Error) reject(error);
      else if (error.syscall === 'connect') reject(connectError(error, socketPath));
      else reject(new Stable6Error('ERR_API_UNAVAILABLE', `the connection to ${socketPath} failed: ${error.message}`, { cause: error }));
    });
    req.end(payload);
  });
}

function field<T>(value: unknown, name: string, check: (v: unknown) => boolean): T {
  const inner = (value as Record<string, unknown> | null)?.[name];
  if (!check(inner)) throw new Stable6Error('ERR_API_PROTOCOL', `the daemon's reply has no valid "${name}"`);
  return inner as T;
}

function isLease(value: unknown): boolean {
  const l = value as Lease | null;
  return typeof l === 'object' && l !== null && typeof l.label === 'string' && typeof l.interface === 'string' && Array.isArray(l.addresses);
}

export interface LeaseOptions extends ClientOptions {
  label: string;
  interface: string;
  /**
   * false (default): the lease lives as long as this process holds its connection (closed by
   * handle.close(), release(), or the process ending). true: until released, across restarts.
   */
  persistent?: boolean;
}

export interface LeaseHandle {
  readonly lease: Lease;
  /**
   * The usable addresses (preferred, deprecated, or optimistic: RFC 4429 lets one be bound while
   * DAD runs), not tentative or failed; one per current prefix, in the daemon's order.
   */
  readonly addresses: string[];
  /** Releases the lease (its addresses are removed) and closes the connection. */
  release(): Promise<void>;
  /** Drops the connection: a connection-bound lease ends, a persistent one stays. */
  close(): void;
  /** Settles when the connection holding a connection-bound lease closes, for whatever reason. */
  readonly closed: Promise<void>;
}

const USABLE_STATES = new Set<string>(['preferred', 'deprecated', 'optimistic']);

/**
 * POST of a lease request. Connection-bound (not `persistent`): on a connection of its own that
 * stays open after the answer (LeaseAgent), `closed` settling when it closes.
 */
async function postLeaseRequest<T>(
  path: string,
  body: Record<string, unknown>,
  persistent: boolean,
  options: ClientOptions,
  read: (reply: unknown) => T,
): Promise<{ value: T; agent: LeaseAgent | undefined; closed: Promise<void> }> {
  const agent = persistent ? undefined : new LeaseAgent();
  let held: net.Socket | undefined;
  let value: T;
  try {
    // `read` throws ERR_API_PROTOCOL for a reply that is not API v1: the connection goes too.
    value = read(await call('POST', path, { ...body, persistent }, { ...options, timeoutMs: options.timeoutMs ?? 120_000, agent, onSocket: (s) => (held = s) }));
  } catch (error) {
    agent?.destroy();
    throw error;
  }
  const closed =
    held === undefined || held.destroyed ? Promise.resolve() : new Promise<void>((resolve) => held?.once('close', () => resolve()));
  return { value, agent, closed };
}

/** Leases `label` on `interface`; resolves once the addresses passed DAD (or, with optimistic DAD, are optimistic). */
export async function lease(options: LeaseOptions): Promise<LeaseHandle> {
  const { value: result, agent, closed } = await postLeaseRequest(
    `${API_PREFIX}/leases`,
    { label: options.label, interface: options.interface },
    options.persistent ?? false,
    options,
    (reply) => field<Lease>(reply, 'lease', isLease),
  );
  const key: LeaseKey = { label: result.label, interface: result.interface };
  return {
    lease: result,
    addresses: result.addresses.filter((a) => USABLE_STATES.has(a.state)).map((a) => a.address),
    closed,
    close: () => agent?.destroy(),
    release: async () => {
      try {
        await call('DELETE', leasePath(key), undefined, { ...options, agent });
      } finally {
        agent?.destroy();
      }
    },
  };
}

export interface LeaseBatchOptions extends ClientOptions {
  /** 1 to 1,024 labels (MAX_BATCH_LABELS), none twice; a non-root caller at most its rate burst (50 by default). */
  labels: readonly string[];
  interface: string;
  /** As in lease(): false binds every lease of the batch to this one connection. */
  persistent?: boolean;
}

export interface LeaseBatchHandle {
  /** One per label, in the order asked: the lease, or the daemon's error for that label. */
  readonly results: LeaseBatchResult[];
  /** The leases that were made (or were held already), in the order asked. */
  readonly leases: Lease[];
  /**
   * Releases every lease of `leases`, persistent ones too (one DELETE each: a non-root caller's
   * rate limit applies), and closes the connection; rejects with the first failure. To end only
   * the connection-bound leases of the batch, close() is enough.
   */
  release(): Promise<void>;
  /** Drops the connection: connection-bound leases end, persistent ones stay. */
  close(): void;
  /** Settles when the connection holding connection-bound leases closes. */
  readonly closed: Promise<void>;
}

function isBatchResult(value: unknown): boolean {
  const r = value as Record<string, unknown> | null;
  if (typeof r !== 'object' || r === null || typeof r.label !== 'string') return false;
  if ('lease' in r) return isLease(r.lease) && typeof r.created === 'boolean';
  const error = r.error as Record<string, unknown> | null | undefined;
  return typeof error === 'object' && error !== null && typeof error.code === 'string' && typeof error.message === 'string';
}

/**
 * Many leases on one interface in one request (POST /v1/leases/batch), like `ip -batch` for
 * addresses: resolves once every label has its answer, each lease usable or failed on its own.
 * The request itself fails (bad label, over the limits) as a whole, before any lease is made.
 */
export async function leaseBatch(options: LeaseBatchOptions): Promise<LeaseBatchHandle> {
  const { value: results, agent, closed } = await postLeaseRequest(
    `${API_PREFIX}/leases/batch`,
    { labels: options.labels, interface: options.interface },
    options.persistent ?? false,
    options,
    (reply) => field<LeaseBatchResult[]>(reply, 'results', (v) => Array.isArray(v) && v.length === options.labels.length && v.every(isBatchResult)),
  );
  const leases = results.flatMap((r) => ('lease' in r ? [r.lease] : []));
  return {
    results,
    leases,
    closed,
    close: () => agent?.destroy(),
    release: async () => {
      try {
        for (const l of leases) await call('DELETE', leasePath({ label: l.label, interface: l.interface }), undefined, { ...options, agent });
      } finally {
        agent?.destroy();
      }
    },
  };
}

export async function releaseLease(options: LeaseKey & ClientOptions): Promise<Lease> {
  return field<Lease>(await call('DELETE', leasePath(options), undefined, options), 'lease', isLease);
}

export async function listLeases(options: ClientOptions = {}): Promise<Lease[]> {
  return field<Lease[]>(await call('GET', `${API_PREFIX}/leases`, undefined, options), 'leases', (v) => Array.isArray(v) && v.every(isLease));
}

export async function status(options: ClientOptions = {}): Promise<StatusReport> {
  return field<StatusReport>(await call('GET', `${API_PREFIX}/status`, undefined, options), 'status', (v) =>
    Array.isArray((v as StatusReport | null)?.interfaces),
  );
}

export interface EventStream extends AsyncIterable<ApiEvent> {
  close(): void;
}

/**
 * The daemon's event stream: `subscribed` first, then lease and address changes the caller
 * may see. Ends when close() is called or the daemon goes away.
 */
export async function events(options: ClientOptions = {}): Promise<EventStream> {
  const socketPath = resolveSocketPath(options.socketPath);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.get({ socketPath, path: `${API_PREFIX}/events`, agent: false }, resolve);
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.syscall === 'connect' ? connectError(error, socketPath) : new Stable6Error('ERR_API_UNAVAILABLE', error.message, { cause: error })),
    );
  });
  if (res.statusCode !== 200) {
    res.resume();
    throw new Stable6Error('ERR_API_PROTOCOL', `GET ${API_PREFIX}/events answered HTTP ${res.statusCode}`);
  }
  const lines = readline.createInterface({ input: res, crlfDelay: Infinity });
  async function* iterate(): AsyncGenerator<ApiEvent> {
    try {
      for await (const line of lines) {
        if (line.trim() === '') continue;
        let event: unknown;
        try {
          event = JSON.parse(line);
        } catch (cause) {
          throw new Stable6Error('ERR_API_PROTOCOL', 'an event line is not JSON', { cause });
        }
        if (typeof (event as { type?: unknown } | null)?.type !== 'string') throw new Stable6Error('ERR_API_PROTOCOL', 'an event has no type');
        yield event as ApiEvent;
      }
    } catch (error) {
      // close() destroys the response; that is the end of the stream, not an error.
      if (!res.destroyed || error instanceof Stable6Error) throw error;
    }
  }
  const iterator = iterate();
  return {
    [Symbol.asyncIterator]: () => iterator,
    close: () => {
      lines.close();
      res.destroy();
    },
  };
}

export interface ListenStableOptions extends LeaseOptions {
  port: number;
  /** Passed to server.listen (default 511). */
  backlog?: number;
}

export interface ListenStableResult {
  /** The address the server listens on: the lease's first usable one. */
  address: string;
  port: number;
  handle: LeaseHandle;
}

/**
 * Leases an address and makes `server` (a net.Server, http.Server, https.Server ...) listen on
 * it. One server binds one address: the first usable one, i.e. the first current prefix in the
 * daemon's order. With several prefixes, the others are in `handle.addresses`: create a server
 * per address to serve on all of them. Closing the server drops a connection-bound lease.
 */
export async function listenStable(server: net.Server, options: ListenStableOptions): Promise<ListenStableResult> {
  const handle = await lease(options);
  const address = handle.addresses[0];
  if (address === undefined) {
    handle.close();
    throw new Stable6Error('ERR_API_LEASE_FAILED', `the lease ${JSON.stringify(options.label)} on ${options.interface} has no usable address`);
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        server.off('listening', onListening);
        reject(error);
      };
      const onListening = (): void => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen({ host: address, port: options.port, ipv6Only: true, backlog: options.backlog });
    });
  } catch (cause) {
    handle.close();
    throw new Stable6Error('ERR_API_BIND', `cannot listen on [${address}]:${options.port}: ${(cause as Error).message}`, { cause, details: { address } });
  }
  server.once('close', () => handle.close());
  const bound = server.address();
  return { address, port: typeof bound === 'object' && bound !== null ? bound.port : options.port, handle };
}
