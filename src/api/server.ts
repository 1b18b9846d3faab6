/**
 * The local API server: HTTP/1.1 + JSON on a Unix socket (node:http), over a LeaseService.
 *
 * This file owns the I/O: identity from the kernel (SO_PEERCRED, once per connection), the
 * abuse bounds (connections, body size, slow clients, request rate), and turning results and
 * Stable6Errors into responses. What the paths mean and how bodies are checked is in
 * protocol.ts; who may do what is in policy.ts; the work is the service's.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Stable6Error, isStable6Error } from '../errors.js';
import { readPeerCredentials, type PeerCredentials } from '../platform/linux/peercred.js';
import { checkLimits, checkMayLease, isRoot, maySee, OPEN_POLICY, type ApiPolicy } from './policy.js';
import {
  API_VERSION,
  errorBody,
  formatEventLine,
  httpStatusFor,
  parseJsonBody,
  parseLeaseBatchRequest,
  parseLeaseRequest,
  parseRoute,
  type ApiEvent,
  type Lease,
  type LeaseBatchResult,
  type LeaseKey,
  type LeaseRequest,
  type StatusReport,
} from './protocol.js';
import { RateLimiter } from './rate-limit.js';
import type { Caller, LeaseService } from './service.js';
import { claimSocketPath, publishSocket, removeSocketFile, temporarySocketPath } from './socket-file.js';

export interface ApiLimits {
  /** Open connections in total; more are answered ERR_API_BUSY and closed. */
  maxConnections: number;
  /** Open connections per non-root uid (event streams and connection-bound leases count). */
  maxConnectionsPerUser: number;
  maxBodyBytes: number;
  /** The body of POST /v1/leases/batch: room for MAX_BATCH_LABELS labels of the longest kind. */
  maxBatchBodyBytes: number;
  /** node:http maxHeaderSize. */
  maxHeaderBytes: number;
  /** A client must send its headers within this (slowloris). */
  headersTimeoutMs: number;
  /** ... and its whole request within this. */
  requestTimeoutMs: number;
  /** How often node:http checks the two timeouts above. */
  connectionsCheckingIntervalMs: number;
  /** An idle connection holding nothing (no request, stream or connection-bound lease) is closed after this. */
  idleTimeoutMs: number;
  /** Token bucket per non-root uid: this many requests at once ... */
  rateBurst: number;
  /** ... then this many per second. */
  ratePerSecond: number;
  /** An event stream whose reader lags by more than this is closed (the client re-reads the state). */
  maxEventBufferBytes: number;
}

export const DEFAULT_LIMITS: ApiLimits = {
  maxConnections: 256,
  maxConnectionsPerUser: 32,
  maxBodyBytes: 16 * 1024,
  maxBatchBodyBytes: 320 * 1024,
  maxHeaderBytes: 8 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  connectionsCheckingIntervalMs: 1_000,
  idleTimeoutMs: 60_000,
  rateBurst: 50,
  ratePerSecond: 20,
  maxEventBufferBytes: 1 << 20,
};

export interface ApiServerOptions {
  socketPath: string;
  service: LeaseService;
  policy?: ApiPolicy;
  /** The socket file's mode (default 0o660: owner and group). */
  socketMode?: number;
  /** The socket file's group (a gid); the daemon's own group by default. */
  socketGid?: number;
  limits?: Partial<ApiLimits>;
  /** Who is at the other end; SO_PEERCRED by default (a ConnectionSource's identify for serve()). Tests inject it to play other users. */
  identify?: (socket: Socket) => CallerIdentity;
  /** Monotonic milliseconds, for the rate limit. */
  now?: () => number;
  /** One line per notable event (refusals, errors); never secrets. */
  log?: (line: string) => void;
}

/** What identify() answers: the kernel's credentials, and on Windows the SIDs they stand for. */
export type CallerIdentity = PeerCredentials & Pick<Caller, 'sid' | 'groupSids'>;

/**
 * Where connections come from when the server does not listen on a Unix socket path: the
 * Windows named pipe (src/platform/windows/pipe-listener.ts), whose connections Node's own
 * net.Server cannot identify. Each connection is a Duplex fed to node:http as a socket.
 */
export interface ConnectionSource {
  /** What to call it in logs and ApiServer.socketPath, e.g. `\\.\pipe\stable6`. */
  readonly address: string;
  /** Starts accepting; every connection, its caller already known, goes to `accept`. */
  start(accept: (connection: Duplex) => void): Promise<void>;
  /** Who is at the other end of a connection this source handed over (throws if it does not know). */
  identify(connection: Duplex): CallerIdentity;
  /** Stops accepting; resolves when every connection it made is closed and its resources freed. */
  close(): Promise<void>;
}

/** ApiServer.serve(): the options of listen() without the socket file, plus the source. */
export type ApiServeOptions = Omit<ApiServerOptions, 'socketPath' | 'socketMode' | 'socketGid'> & { source: ConnectionSource };

interface Connection {
  id: string;
  caller: Caller;
  /** Requests being answered. */
  active: number;
  /** Open event streams. */
  streams: number;
  /** Connection-bound leases made on this connection, by key. */
  bound: Set<string>;
  /** It asked for a lease at least once: the service hears when it closes. */
  leased: boolean;
}

function keyText(key: LeaseKey): string {
  return `${key.interface}\u0000${key.label}`;
}

function rawErrorResponse(status: number, reason: string, code: string, message: string): string {
  const body = JSON.stringify(errorBody(code, message));
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\n\r\n${body}`
  );
}

export class ApiServer {
  readonly socketPath: string;
  readonly #options: ApiServerOptions;
  readonly #limits: ApiLimits;
  readonly #policy: ApiPolicy;
  readonly #server: http.Server;
  readonly #limiter: RateLimiter;
  readonly #connections = new Map<Socket, Connection>();
  readonly #streams = new Set<http.ServerResponse>();
  readonly #log: (line: string) => void;
  #sequence = 0;
  /** Lease requests waiting for the service, by key. */
  readonly #inflight = new Map<string, { key: LeaseKey; uid: number; count: number }>();
  /** How many keys of #inflight each uid holds (a batch of 1,000 would otherwise count them 1,000 times). */
  readonly #inflightByUid = new Map<number, number>();
  #ino = -1;
  #closed = false;
  /** serve(): the source connections come from; there is no socket file then. */
  #source: ConnectionSource | undefined;

  private constructor(options: ApiServerOptions) {
    this.socketPath = options.socketPath;
    this.#options = options;
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#policy = options.policy ?? OPEN_POLICY;
    this.#log = options.log ?? (() => undefined);
    this.#limiter = new RateLimiter({
      burst: this.#limits.rateBurst,
      perSecond: this.#limits.ratePerSecond,
      now: options.now ?? (() => performance.now()),
    });
    this.#server = http.createServer({
      maxHeaderSize: this.#limits.maxHeaderBytes,
      headersTimeout: this.#limits.headersTimeoutMs,
      requestTimeout: this.#limits.requestTimeoutMs,
      connectionsCheckingInterval: this.#limits.connectionsCheckingIntervalMs,
    });
    // Idle connections: node:http arms the socket timeout with server.timeout at accept and
    // keepAliveTimeout between requests; with a 'timeout' listener the choice is ours (#onTimeout).
    this.#server.timeout = this.#limits.idleTimeoutMs;
    this.#server.keepAliveTimeout = this.#limits.idleTimeoutMs;
    // A hard backstop above our own count, so even refused connections are bounded.
    this.#server.maxConnections = this.#limits.maxConnections * 2;
    this.#server.on('connection', (socket: Socket) => this.#onConnection(socket));
    this.#server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => void this.#onRequest(req, res));
    this.#server.on('timeout', (socket: Socket) => this.#onTimeout(socket));
    this.#server.on('clientError', (error: Error & { code?: string }, socket: Socket) => this.#onClientError(error, socket));
  }

  /** Claims the socket path (refusing non-sockets and live servers), listens, sets mode and group. */
  static async listen(options: ApiServerOptions): Promise<ApiServer> {
    const server = new ApiServer(options);
    await claimSocketPath(options.socketPath);
    const temporary = temporarySocketPath(options.socketPath);
    await claimSocketPath(temporary);
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void =>
        reject(new Stable6Error('ERR_API_SOCKET', `cannot listen on ${options.socketPath}`, { cause: error }));
      server.#server.once('error', onError);
      server.#server.listen(temporary, () => {
        server.#server.off('error', onError);
        resolve();
      });
    });
    try {
      server.#ino = await publishSocket(temporary, options.socketPath, options.socketMode ?? 0o660, options.socketGid);
    } catch (error) {
      server.#server.close();
      throw error;
    }
    return server;
  }

  /**
   * Serves connections from `source` instead of a Unix socket path (the Windows named pipe).
   * Identity comes from `options.identify`, else from the source. Everything else (policy,
   * visibility, limits, errors) is the same server.
   */
  static async serve(options: ApiServeOptions): Promise<ApiServer> {
    const { source } = options;
    const server = new ApiServer({ ...options, socketPath: source.address, identify: options.identify ?? ((socket) => source.identify(socket)) });
    server.#source = source;
    await source.start((connection) => server.#server.emit('connection', connection));
    return server;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Stops accepting, ends streams and connections (connection-bound leases go), removes the socket file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const res of this.#streams) res.end();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    for (const socket of this.#connections.keys()) socket.destroy();
    await closed;
    if (this.#source) await this.#source.close();
    else await removeSocketFile(this.socketPath, this.#ino);
  }

  #onConnection(socket: Socket): void {
    let credentials: CallerIdentity;
    try {
      credentials = (this.#options.identify ?? readPeerCredentials)(socket);
    } catch (error) {
      this.#log(`api: refused a connection: no peer credentials (${(error as Error).message})`);
      socket.destroy();
      return;
    }
    const caller: Caller = { ...credentials, connectionId: `c${++this.#sequence}` };
    let refusal: string | undefined;
    if (this.#connections.size >= this.#limits.maxConnections) refusal = 'too many connections to the API';
    else if (!isRoot(caller) && this.#countFor(caller.uid) >= this.#limits.maxConnectionsPerUser) {
      refusal = `too many connections from uid ${caller.uid}`;
    }
    if (refusal !== undefined) {
      this.#log(`api: refused a connection from uid ${caller.uid} pid ${caller.pid}: ${refusal}`);
      // Answer before the client asks: it reads a normal HTTP error, whatever it sends.
      socket.end(rawErrorResponse(503, 'Service Unavailable', 'ERR_API_BUSY', refusal));
      socket.once('error', () => undefined);
      return;
    }
    const connection: Connection = { id: caller.connectionId, caller, active: 0, streams: 0, bound: new Set(), leased: false };
    this.#connections.set(socket, connection);
    socket.once('close', () => {
      this.#connections.delete(socket);
      if (connection.leased) {
        try {
          this.#options.service.connectionClosed(connection.id);
        } catch (error) {
          this.#log(`api: connectionClosed failed: ${(error as Error).message}`);
        }
      }
    });
  }

  #countFor(uid: number): number {
    let count = 0;
    for (const c of this.#connections.values()) if (c.caller.uid === uid) count++;
    return count;
  }

  #onTimeout(socket: Socket): void {
    const connection = this.#connections.get(socket);
    // Waiting for DAD, streaming events, or holding a connection-bound lease: idle on purpose.
    if (connection && (connection.active > 0 || connection.streams > 0 || connection.bound.size > 0)) return;
    socket.destroy();
  }

  #onClientError(error: Error & { code?: string }, socket: Socket): void {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const response =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? rawErrorResponse(431, 'Request Header Fields Too Large', 'ERR_API_TOO_LARGE', 'the request headers are too large')
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? rawErrorResponse(408, 'Request Timeout', 'ERR_API_BAD_REQUEST', 'the request did not arrive in time')
          : rawErrorResponse(400, 'Bad Request', 'ERR_API_BAD_REQUEST', 'the request is not valid HTTP/1.1');
    socket.end(response);
    socket.destroySoon();
  }

  async #onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const connection = this.#connections.get(req.socket);
    if (connection === undefined) {
      req.socket.destroy();
      return;
    }
    connection.active++;
    res.once('close', () => connection.active--);
    const { caller } = connection;
    try {
      if (!isRoot(caller)) {
        const waitMs = this.#limiter.take(caller.uid);
        if (waitMs > 0) {
          res.setHeader('Retry-After', String(Math.ceil(waitMs / 1000)));
          throw new Stable6Error('ERR_API_RATE_LIMITED', `uid ${caller.uid} sends requests too fast; retry in ${waitMs} ms`, {
            details: { retryAfterMs: waitMs },
          });
        }
      }
      const route = parseRoute(req.method ?? '', req.url ?? '');
      const body = await this.#readBody(req, res, route.type === 'lease-batch' ? this.#limits.maxBatchBodyBytes : this.#limits.maxBodyBytes);
      if (route.type !== 'lease' && route.type !== 'lease-batch' && body.length > 0) {
        throw new Stable6Error('ERR_API_BAD_REQUEST', `${req.method} ${route.type} takes no body`);
      }
      switch (route.type) {
        case 'lease': {
          const { lease, created } = await this.#lease(connection, parseLeaseRequest(parseJsonBody(body)));
          this.#send(res, created ? 201 : 200, { lease });
          return;
        }
        case 'lease-batch':
          this.#send(res, 200, { results: await this.#leaseBatch(connection, parseJsonBody(body)) });
          return;
        case 'list-leases':
          this.#send(res, 200, { leases: this.#options.service.list().filter((l) => maySee(caller, l.uid)) });
          return;
        case 'release':
          this.#send(res, 200, { lease: await this.#release(connection, route.key) });
          return;
        case 'status':
          this.#send(res, 200, { status: this.#filterStatus(caller, await this.#options.service.status()) });
          return;
        case 'events':
          this.#stream(connection, res);
          return;
        default: {
          const never: never = route;
          throw new Error(`unhandled route ${JSON.stringify(never)}`);
        }
      }
    } catch (error) {
      this.#sendError(res, error, caller);
    }
  }

  /** Reads the body up to `max` bytes; larger is ERR_API_TOO_LARGE and the connection is closed after the answer. */
  #readBody(req: http.IncomingMessage, res: http.ServerResponse, max: number): Promise<Buffer> {
    const tooLarge = (): Stable6Error => {
      // The rest of the body is not read: this connection cannot carry another request.
      res.setHeader('Connection', 'close');
      return new Stable6Error('ERR_API_TOO_LARGE', `the request body is larger than ${max} bytes`, { details: { limit: max } });
    };
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) return Promise.reject(tooLarge());
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > max) {
          req.off('data', onData);
          req.pause();
          reject(tooLarge());
          return;
        }
        chunks.push(chunk);
      };
      req.on('data', onData);
      req.once('end', () => resolve(Buffer.concat(chunks)));
      req.once('error', reject);
    });
  }

  /**
   * Each label of the batch goes through #lease, all at once: the checks of each run before the
   * next label's (so the per-user limit counts the earlier labels of the same batch), and the
   * service gets every request together, which the engine steps as one run (one netlink batch of
   * adds, one state write). A non-root batch costs a token per label and may hold at most the
   * rate burst: a batch is not a way around the rate limit.
   */
  async #leaseBatch(connection: Connection, body: unknown): Promise<LeaseBatchResult[]> {
    const { caller } = connection;
    const batch = parseLeaseBatchRequest(body);
    if (!isRoot(caller)) {
      const extra = batch.labels.length - 1; // the request itself took one token
      if (batch.labels.length > this.#limits.rateBurst) {
        throw new Stable6Error('ERR_API_LIMIT', `a batch from uid ${caller.uid} holds at most ${this.#limits.rateBurst} labels, got ${batch.labels.length}`, {
          details: { limit: this.#limits.rateBurst },
        });
      }
      const waitMs = extra > 0 ? this.#limiter.take(caller.uid, extra) : 0;
      if (waitMs > 0) {
        throw new Stable6Error('ERR_API_RATE_LIMITED', `uid ${caller.uid} sends requests too fast; retry in ${waitMs} ms`, { details: { retryAfterMs: waitMs } });
      }
    }
    const outcomes = await Promise.allSettled(
      batch.labels.map((label) => this.#lease(connection, { label, interface: batch.interface, persistent: batch.persistent }, false)),
    );
    let failed = 0;
    const results = outcomes.map((outcome, i): LeaseBatchResult => {
      const label = batch.labels[i]!;
      if (outcome.status === 'fulfilled') return { label, ...outcome.value };
      failed++;
      return { label, error: this.#publicError(outcome.reason, caller) };
    });
    this.#log(
      `api: uid ${caller.uid} pid ${caller.pid} leased ${batch.labels.length - failed} of ${batch.labels.length} labels on ${batch.interface} in a batch${batch.persistent ? ' (persistent)' : ''}`,
    );
    return results;
  }

  async #lease(connection: Connection, request: LeaseRequest, log = true): Promise<{ lease: Lease; created: boolean }> {
    const { caller } = connection;
    checkMayLease(this.#policy, caller, request.label);
    const key = keyText(request);
    const existingUid = this.#ownerOf(request);
    const holder = existingUid ?? this.#inflight.get(key)?.uid;
    if (holder !== undefined && holder !== caller.uid) {
      // The label enters the hash: the same label is the same address, so it has one owner.
      throw new Stable6Error('ERR_API_LABEL_TAKEN', `label ${JSON.stringify(request.label)} on ${request.interface} is held by another user`);
    }
    if (existingUid === undefined) {
      // A lease in flight may or may not be listed by the service yet: count keys, not calls.
      this.#checkLimits(caller);
    }
    connection.leased = true;
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = { key: { interface: request.interface, label: request.label }, uid: caller.uid, count: 0 };
      this.#inflight.set(key, pending);
      this.#inflightByUid.set(caller.uid, (this.#inflightByUid.get(caller.uid) ?? 0) + 1);
    }
    pending.count++;
    let lease: Lease;
    try {
      lease = await this.#options.service.lease(caller, request);
    } finally {
      if (--pending.count === 0 && this.#inflight.get(key) === pending) {
        this.#inflight.delete(key);
        const left = (this.#inflightByUid.get(pending.uid) ?? 1) - 1;
        if (left > 0) this.#inflightByUid.set(pending.uid, left);
        else this.#inflightByUid.delete(pending.uid);
      }
    }
    if (lease.uid !== caller.uid) throw new Stable6Error('ERR_API_INTERNAL', 'the service returned a lease of another user');
    if (!lease.persistent) connection.bound.add(keyText(lease));
    if (log) this.#log(`api: uid ${caller.uid} pid ${caller.pid} leased ${JSON.stringify(lease.label)} on ${lease.interface}${lease.persistent ? ' (persistent)' : ''}`);
    return { lease, created: existingUid === undefined };
  }

  /** The owner of the service's lease with this key (cheaply when the service can). */
  #ownerOf(key: LeaseKey): number | undefined {
    const { service } = this.#options;
    if (service.ownerOf) return service.ownerOf(key);
    return service.list().find((l) => l.interface === key.interface && l.label === key.label)?.uid;
  }

  /**
   * checkLimits with the counts below. Each key in flight adds at most one lease, and one of the
   * caller's only if the caller asked for it: when even those bounds are under the limits, the
   * exact counts are too, and no key in flight needs looking up (with hundreds in flight that
   * was most of a request's cost).
   */
  #checkLimits(caller: Caller): void {
    const { service } = this.#options;
    if (service.leaseCounts && service.ownerOf) {
      const listed = service.leaseCounts(caller.uid);
      const mine = this.#inflightByUid.get(caller.uid) ?? 0;
      const totalBound = listed.total + this.#inflight.size;
      const ownedBound = listed.owned + mine;
      if (totalBound < this.#policy.maxLeases && (isRoot(caller) || ownedBound < this.#policy.maxLeasesPerUser)) return;
    }
    const { owned, total } = this.#counts(caller.uid);
    checkLimits(this.#policy, caller, owned, total);
  }

  /**
   * The caller's leases and all leases, listed or in flight, each key once with the in-flight
   * request's uid over the listed one: what a map of list() overlaid with #inflight counts.
   */
  #counts(uid: number): { owned: number; total: number } {
    const { service } = this.#options;
    if (!service.leaseCounts || !service.ownerOf) {
      const all = new Map<string, number>(service.list().map((l) => [keyText(l), l.uid]));
      for (const [k, pending] of this.#inflight) all.set(k, pending.uid);
      return { owned: [...all.values()].filter((u) => u === uid).length, total: all.size };
    }
    let { owned, total } = service.leaseCounts(uid);
    for (const pending of this.#inflight.values()) {
      const listed = service.ownerOf(pending.key);
      if (listed === undefined) total++;
      else if (listed === uid) owned--;
      if (pending.uid === uid) owned++;
    }
    return { owned, total };
  }

  async #release(connection: Connection, key: LeaseKey): Promise<Lease> {
    const { caller } = connection;
    const { service } = this.#options;
    const lease = service.find ? service.find(key) : service.list().find((l) => l.interface === key.interface && l.label === key.label);
    // Another user's lease is "not found", not "forbidden": its existence is not the caller's business.
    if (lease === undefined || !maySee(caller, lease.uid)) {
      throw new Stable6Error('ERR_API_NOT_FOUND', `no lease ${JSON.stringify(key.label)} on ${key.interface}`);
    }
    const released = await this.#options.service.release(caller, key, lease.uid);
    connection.bound.delete(keyText(key));
    this.#log(`api: uid ${caller.uid} released ${JSON.stringify(key.label)} on ${key.interface} (owner uid ${lease.uid})`);
    return released;
  }

  #filterStatus(caller: Caller, status: StatusReport): StatusReport {
    return {
      ...status,
      interfaces: status.interfaces.map((i) => ({ ...i, addresses: i.addresses.filter((a) => maySee(caller, a.owner)) })),
    };
  }

  #visible(caller: Caller, event: ApiEvent): boolean {
    switch (event.type) {
      case 'subscribed':
        return true;
      case 'lease-changed':
      case 'lease-released':
        return maySee(caller, event.lease.uid);
      case 'address-changed':
      case 'address-removed':
        return maySee(caller, event.address.owner);
      default: {
        const never: never = event;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
  }

  #stream(connection: Connection, res: http.ServerResponse): void {
    const { caller } = connection;
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
    connection.streams++;
    this.#streams.add(res);
    const write = (event: ApiEvent): void => {
      if (res.writableEnded || res.destroyed) return;
      if (res.writableLength > this.#limits.maxEventBufferBytes) {
        this.#log(`api: closed the event stream of uid ${caller.uid}: it does not read`);
        res.destroy();
        return;
      }
      res.write(formatEventLine(event));
    };
    const unsubscribe = this.#options.service.subscribe((event) => {
      try {
        if (this.#visible(caller, event)) write(event);
      } catch (error) {
        this.#log(`api: event stream: ${(error as Error).message}`);
      }
    });
    res.once('close', () => {
      unsubscribe();
      connection.streams--;
      this.#streams.delete(res);
    });
    write({ type: 'subscribed', version: API_VERSION });
  }

  #send(res: http.ServerResponse, status: number, value: unknown): void {
    if (res.headersSent || res.destroyed) return;
    const body = JSON.stringify(value);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  /**
   * What a client may read of an error: a Stable6Error's code and message; anything else is not
   * one of ours, its text may hold anything, so the client gets a generic line and the log the
   * detail. Server-side failures and rate limiting are logged.
   */
  #publicError(error: unknown, caller: Caller): { code: string; message: string } {
    const { code, message } = isStable6Error(error) ? error : { code: 'ERR_API_INTERNAL', message: 'the daemon failed while answering; see its log' };
    if (httpStatusFor(code) >= 500 || code === 'ERR_API_RATE_LIMITED') {
      this.#log(`api: uid ${caller.uid}: ${code}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return { code, message };
  }

  #sendError(res: http.ServerResponse, error: unknown, caller: Caller): void {
    const { code, message } = this.#publicError(error, caller);
    if (isStable6Error(error) && code === 'ERR_API_METHOD') res.setHeader('Allow', ((error.details.allow as string[] | undefined) ?? []).join(', '));
    const status = httpStatusFor(code);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.#send(res, status, errorBody(code, message));
  }
}
