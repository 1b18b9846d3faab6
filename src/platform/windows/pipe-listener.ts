/**
 * The local API's named-pipe server on Windows: a ConnectionSource (src/api/server.ts) whose
 * connections are Node Duplex streams over pipe instances this process creates itself, each
 * with its caller's identity taken from the OS before a byte reaches the HTTP parser.
 *
 * Why not net.Server on `\\.\pipe\...`: Node does not expose the pipe HANDLE of an accepted
 * connection (`socket._handle.fd` is -1), so nothing could ask Windows who the client is.
 *
 * How (all of it NOT RUN ON WINDOWS; tested on Linux over FakePipeKernel):
 *
 * - Instances are created OVERLAPPED and associated with one I/O completion port. One call,
 *   GetQueuedCompletionStatusEx, waits for every instance's packets on a single libuv pool
 *   thread (koffi .async); the JS thread never blocks. Blocking ReadFile/WriteFile on pool
 *   threads was the other option and does not work: a synchronous handle serializes its I/O
 *   (a pending ReadFile holds back the WriteFile of the answer: HTTP keep-alive and event
 *   streams deadlock), and every idle client would pin one of libuv's 4 pool threads.
 * - One instance waits in ConnectNamedPipe at a time; when a client arrives, the next one is
 *   created. The first is created with FILE_FLAG_FIRST_PIPE_INSTANCE, so a process that made
 *   the name first (a squatter, or a second daemon) makes us fail (ERR_WIN32_PIPE_IN_USE)
 *   instead of sharing the name. PIPE_REJECT_REMOTE_CLIENTS and the SDDL keep it local.
 * - Identity: after the first bytes arrive (Windows allows impersonation only once something
 *   was read), ImpersonateNamedPipeClient + OpenThreadToken + RevertToSelf on the JS thread,
 *   then TokenUser and TokenGroups. The token is the one the client opened the pipe with,
 *   held by the pipe: no PID-reuse race, unlike GetNamedPipeClientProcessId + OpenProcess
 *   (pipeClientSid), whose PID is used here only for logs. A failed RevertToSelf is fatal.
 * - A pipe has no half-close: ending our side (end(), destroySoon()) closes the handle once
 *   every write completed, without DisconnectNamedPipe, so the client still reads the answer
 *   and then EOF. destroy() before that disconnects (the unread data is discarded, like a
 *   TCP reset). Every close cancels the instance's pending I/O (CancelIoEx) and frees its
 *   memory only after the cancelled operations' packets arrived.
 */
import { Duplex } from 'node:stream';
import { Stable6Error, isStable6Error } from '../../errors.js';
import {
  FILE_FLAG_FIRST_PIPE_INSTANCE,
  FILE_FLAG_OVERLAPPED,
  PIPE_ACCESS_DUPLEX,
  PIPE_READMODE_BYTE,
  PIPE_REJECT_REMOTE_CLIENTS,
  PIPE_STATUS,
  PIPE_TYPE_BYTE,
  PIPE_UNLIMITED_INSTANCES,
  PIPE_WAIT,
  TOKEN_GROUPS_CLASS,
  TOKEN_QUERY,
  TOKEN_USER_CLASS,
  pipeError,
  type IoBlock,
  type PipeServerApi,
  type Win32Handle,
  type Win32Result,
} from './pipe-server-api.js';
import { SidIdRegistry, decodeTokenGroups, decodeTokenUser, identityFromToken, type PipeCallerIdentity } from './pipe-sid.js';

export const DEFAULT_PIPE_NAME = '\\\\.\\pipe\\stable6';
/**
 * Deny network logons, full control for SYSTEM and Administrators, read and write for
 * Authenticated Users. GW includes FILE_CREATE_PIPE_INSTANCE: see docs/windows.md (instance
 * squatting) for what that allows and why Node clients need it.
 */
export const DEFAULT_PIPE_SDDL = 'D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;GRGW;;;AU)';

/** The completion key of the packet close() posts to wake the loop; instances count from 1. */
const WAKE_KEY = 0;
const MAX_ENTRIES = 64;

export interface NamedPipeListenerOptions {
  /** Default `\\.\pipe\stable6`. */
  name?: string;
  /** Who may open the pipe, as SDDL. Default DEFAULT_PIPE_SDDL. */
  sddl?: string;
  /** The Win32 calls; the koffi binding (loadPipeServerApi) by default. */
  api: PipeServerApi;
  /** SID → uid, shared with the policy (sidIdDatabase) so both agree. */
  registry?: SidIdRegistry;
  /** Bytes per ReadFile/WriteFile and the pipe's buffer sizes (default 64 KiB). */
  bufferBytes?: number;
  /** After failing to create the next instance, try again after this long (default 1 s). */
  retryMs?: number;
  log?: (line: string) => void;
  /**
   * RevertToSelf failed: this thread may still run as the client. The default throws on the
   * next tick, which ends the process; a daemon that overrides it must stop just as surely.
   */
  onFatal?: (error: Stable6Error) => void;
}

type OpKind = 'connect' | 'read' | 'write';

interface WriteJob {
  data: Uint8Array;
  offset: number;
  callback: (error?: Error | null) => void;
}

interface Instance {
  readonly id: number;
  readonly handle: Win32Handle;
  readonly readIo: IoBlock;
  readonly writeIo: IoBlock;
  readonly pending: Map<IoBlock, OpKind>;
  state: 'listening' | 'identifying' | 'open';
  connection: PipeConnection | undefined;
  write: WriteJob | undefined;
  closing: boolean;
  /** Disconnect before closing (abortive close of a connected instance). */
  abort: boolean;
  closed: boolean;
  onClosed: (() => void) | undefined;
}

const connections = new WeakMap<Duplex, PipeConnection>();

/** One client on one pipe instance, as a Duplex node:http can serve. */
export class PipeConnection extends Duplex {
  /** The caller, from the client's token. */
  readonly identity: PipeCallerIdentity;
  readonly #listener: NamedPipeListener;
  readonly #instance: Instance;
  #timeoutMs = 0;
  #timer: NodeJS.Timeout | undefined;

  /** @internal Made by NamedPipeListener. */
  constructor(listener: NamedPipeListener, instance: Instance, identity: PipeCallerIdentity) {
    // A pipe has no half-close: when the client's side ends, ours ends too.
    super({ allowHalfOpen: false });
    this.#listener = listener;
    this.#instance = instance;
    this.identity = identity;
    connections.set(this, this);
  }

  /** Like net.Socket#setTimeout: 'timeout' after `ms` without reading or writing (0: never). node:http arms it. */
  setTimeout(ms: number, callback?: () => void): this {
    this.#timeoutMs = ms;
    if (callback) {
      if (ms === 0) this.off('timeout', callback);
      else this.once('timeout', callback);
    }
    this.activity();
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  /** net.Socket's: end, and close once written. Ending a pipe closes it anyway (see _final). */
  destroySoon(): void {
    if (this.writable) this.end();
    else if (this.writableFinished) this.destroy();
  }

  /** @internal Data or EOF read from the pipe. */
  activity(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#timeoutMs > 0 && !this.destroyed) {
      this.#timer = setTimeout(() => this.emit('timeout'), this.#timeoutMs);
      this.#timer.unref();
    }
  }

  override _read(): void {
    this.#listener._read(this.#instance);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.activity();
    this.#listener._write(this.#instance, { data: chunk, offset: 0, callback });
  }

  override _final(callback: (error?: Error | null) => void): void {
    callback();
    // Every write completed: the data is in the pipe. Closing (not disconnecting) now lets the
    // client read it and then see EOF; keeping the handle would only wait for the client.
    process.nextTick(() => this.destroy());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listener._close(this.#instance, !this.writableFinished, () => callback(error));
  }
}

export class NamedPipeListener {
  readonly address: string;
  readonly #api: PipeServerApi;
  readonly #sddl: string;
  readonly #registry: SidIdRegistry;
  readonly #bufferBytes: number;
  readonly #retryMs: number;
  readonly #log: (line: string) => void;
  readonly #onFatal: (error: Stable6Error) => void;
  readonly #instances = new Map<number, Instance>();
  #state: 'new' | 'running' | 'closing' | 'closed' = 'new';
  #port: Win32Handle | null = null;
  #descriptor: Win32Handle | null = null;
  #accept: ((connection: Duplex) => void) | undefined;
  #nextId = WAKE_KEY + 1;
  #first = true;
  #pendingOps = 0;
  #loop: Promise<void> | undefined;
  #loopFailed = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: NamedPipeListenerOptions) {
    this.address = options.name ?? DEFAULT_PIPE_NAME;
    this.#api = options.api;
    this.#sddl = options.sddl ?? DEFAULT_PIPE_SDDL;
    this.#registry = options.registry ?? new SidIdRegistry();
    this.#bufferBytes = options.bufferBytes ?? 64 * 1024;
    this.#retryMs = options.retryMs ?? 1000;
    this.#log = options.log ?? (() => undefined);
    this.#onFatal =
      options.onFatal ??
      ((error) =>
        process.nextTick(() => {
          throw error;
        }));
  }

  /** Operations Windows still owns memory for (0 once closed). */
  get pendingOperations(): number {
    return this.#pendingOps;
  }

  /** Pipe instances open (listening or connected). */
  get instanceCount(): number {
    return this.#instances.size;
  }

  /** The caller of a connection this listener made (ConnectionSource.identify). */
  identify(connection: Duplex): PipeCallerIdentity {
    const pipe = connections.get(connection);
    if (!pipe) throw new Stable6Error('ERR_WIN32_PIPE_IDENTITY', 'not a connection of this named-pipe listener');
    return pipe.identity;
  }

  /**
   * Creates the security descriptor, the completion port and the first instance, and starts
   * waiting for clients. ERR_WIN32_PIPE_IN_USE when another process has the name.
   */
  async start(accept: (connection: Duplex) => void): Promise<void> {
    if (this.#state !== 'new') throw new Stable6Error('ERR_WIN32_PIPE', `the listener on ${this.address} was started before`);
    const api = this.#api;
    const sd = api.ConvertStringSecurityDescriptorToSecurityDescriptorW(this.#sddl);
    if (sd.descriptor === null) {
      throw pipeError('ERR_WIN32_PIPE_SECURITY', 'ConvertStringSecurityDescriptorToSecurityDescriptorW', sd.lastError, `cannot use the SDDL ${this.#sddl}`);
    }
    this.#descriptor = sd.descriptor;
    const port = api.CreateIoCompletionPort(null, null, WAKE_KEY);
    if (port.handle === null) {
      this.#freeDescriptor();
      throw pipeError('ERR_WIN32_PIPE', 'CreateIoCompletionPort', port.lastError, 'cannot create the completion port');
    }
    this.#port = port.handle;
    this.#accept = accept;
    try {
      this.#listenNext();
    } catch (error) {
      api.CloseHandle(this.#port);
      this.#port = null;
      this.#freeDescriptor();
      this.#state = 'closed';
      throw error;
    }
    this.#state = 'running';
    this.#loop = this.#run();
    this.#log(`api: listening on ${this.address}`);
  }

  /**
   * Stops accepting, closes every connection (abortively: ApiServer ended what it meant to end
   * before), waits until Windows returned every pending operation, then frees everything.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closing = this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#state === 'new' || this.#state === 'closed') {
      this.#state = 'closed';
      return;
    }
    this.#state = 'closing';
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    for (const instance of [...this.#instances.values()]) {
      if (instance.connection && !instance.connection.destroyed) instance.connection.destroy();
      else this.#closeInstance(instance, true);
    }
    if (this.#port !== null) {
      // The loop may be waiting with nothing pending: give it a packet to wake up to.
      const woken = this.#api.PostQueuedCompletionStatus(this.#port, WAKE_KEY);
      if (!woken.ok) this.#log(`api: ${pipeError('ERR_WIN32_PIPE', 'PostQueuedCompletionStatus', woken.lastError, 'cannot wake the pipe loop').message}`);
    }
    await this.#loop;
    if (this.#port !== null && !this.#loopFailed) {
      this.#api.CloseHandle(this.#port);
      this.#port = null;
    }
    this.#freeDescriptor();
    this.#state = 'closed';
  }

  #freeDescriptor(): void {
    if (this.#descriptor !== null) this.#api.LocalFree(this.#descriptor);
    this.#descriptor = null;
  }

  /** The completion loop: one pool thread waits for every instance's packets. */
  async #run(): Promise<void> {
    const api = this.#api;
    const port = this.#port;
    if (port === null) return;
    for (;;) {
      const batch = await api.GetQueuedCompletionStatusEx(port, MAX_ENTRIES);
      if (!batch.ok) {
        // Without the loop no pending operation can finish: keep their memory (never free
        // what Windows may still write) and say so loudly.
        this.#loopFailed = true;
        this.#log(
          `api: ${pipeError('ERR_WIN32_PIPE', 'GetQueuedCompletionStatusEx', batch.lastError, `the pipe loop on ${this.address} stopped with ${this.#pendingOps} operations pending`).message}`,
        );
        return;
      }
      for (const entry of batch.entries) {
        if (entry.key === WAKE_KEY || entry.io === null) continue;
        const instance = this.#instances.get(entry.key);
        if (instance) this.#completed(instance, entry.io);
      }
      if (this.#state === 'closing' && this.#pendingOps === 0) return;
    }
  }

  #started(instance: Instance, io: IoBlock, kind: OpKind): void {
    instance.pending.set(io, kind);
    this.#pendingOps++;
  }

  /** A packet for one of ours: its result, then what it means. */
  #completed(instance: Instance, io: IoBlock): void {
    const kind = instance.pending.get(io);
    if (kind === undefined) return;
    instance.pending.delete(io);
    this.#pendingOps--;
    const result = this.#api.GetOverlappedResult(instance.handle, io);
    try {
      if (kind === 'connect') this.#onConnect(instance, result);
      else if (kind === 'read') this.#onRead(instance, result);
      else this.#onWrite(instance, result);
    } catch (error) {
      this.#log(`api: pipe instance ${instance.id}: ${(error as Error).message}`);
      this.#closeInstance(instance, true);
    }
    if (instance.closing && instance.pending.size === 0) this.#finishClose(instance);
  }

  /** Creates the next instance and waits for a client on it (one at a time). */
  #listenNext(): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    let instance: Instance;
    try {
      instance = this.#createInstance();
    } catch (error) {
      if (this.#first) throw error;
      this.#log(`api: ${(error as Error).message}; trying again in ${this.#retryMs} ms`);
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#listenNext();
      }, this.#retryMs);
      this.#retryTimer.unref();
      return;
    }
    const connected = this.#api.ConnectNamedPipe(instance.handle, instance.readIo);
    if (connected.ok || connected.lastError === PIPE_STATUS.ERROR_IO_PENDING) {
      this.#started(instance, instance.readIo, 'connect');
    } else if (connected.lastError === PIPE_STATUS.ERROR_PIPE_CONNECTED) {
      // A client came between CreateNamedPipeW and ConnectNamedPipe: no packet will come.
      queueMicrotask(() => {
        if (!instance.closing) this.#connected(instance);
      });
    } else {
      // ERROR_NO_DATA: a client came and left already. Anything else: this instance is unusable.
      if (connected.lastError !== PIPE_STATUS.ERROR_NO_DATA) {
        this.#log(`api: ${pipeError('ERR_WIN32_PIPE', 'ConnectNamedPipe', connected.lastError, `on ${this.address}`).message}`);
      }
      this.#closeInstance(instance, true);
      queueMicrotask(() => this.#listenNext());
    }
  }

  #createInstance(): Instance {
    const api = this.#api;
    const openMode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (this.#first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0);
    const pipeMode = PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS;
    const created = api.CreateNamedPipeW(
      this.address,
      openMode,
      pipeMode,
      PIPE_UNLIMITED_INSTANCES,
      this.#bufferBytes,
      this.#bufferBytes,
      0,
      this.#descriptor,
    );
    if (created.handle === null) {
      if (this.#first && created.lastError === PIPE_STATUS.ERROR_ACCESS_DENIED) {
        throw pipeError('ERR_WIN32_PIPE_IN_USE', 'CreateNamedPipeW', created.lastError, `another process already has the pipe ${this.address}`);
      }
      throw pipeError('ERR_WIN32_PIPE', 'CreateNamedPipeW', created.lastError, `cannot create an instance of ${this.address}`);
    }
    const id = this.#nextId++;
    const port = this.#port;
    const associated = port === null ? { handle: null, lastError: PIPE_STATUS.ERROR_INVALID_HANDLE } : api.CreateIoCompletionPort(created.handle, port, id);
    if (associated.handle === null) {
      api.CloseHandle(created.handle);
      throw pipeError('ERR_WIN32_PIPE', 'CreateIoCompletionPort', associated.lastError, `cannot attach an instance of ${this.address} to the completion port`);
    }
    this.#first = false;
    const instance: Instance = {
      id,
      handle: created.handle,
      readIo: api.allocIo(this.#bufferBytes),
      writeIo: api.allocIo(this.#bufferBytes),
      pending: new Map(),
      state: 'listening',
      connection: undefined,
      write: undefined,
      closing: false,
      abort: false,
      closed: false,
      onClosed: undefined,
    };
    this.#instances.set(id, instance);
    return instance;
  }

  #onConnect(instance: Instance, result: Win32Result): void {
    if (instance.closing) return;
    if (!result.ok) {
      if (result.lastError !== PIPE_STATUS.ERROR_OPERATION_ABORTED) {
        this.#log(`api: ${pipeError('ERR_WIN32_PIPE', 'ConnectNamedPipe', result.lastError, `on ${this.address}`).message}`);
      }
      this.#closeInstance(instance, true);
      this.#listenNext();
      return;
    }
    this.#connected(instance);
  }

  /** A client is on `instance`: the next instance listens, and this one reads the first bytes. */
  #connected(instance: Instance): void {
    instance.state = 'identifying';
    this.#listenNext();
    this.#issueRead(instance);
  }

  #issueRead(instance: Instance): void {
    if (instance.closing || instance.pending.has(instance.readIo)) return;
    const read = this.#api.ReadFile(instance.handle, instance.readIo, instance.readIo.capacity);
    // On a port-associated handle even a read that completed at once queues its packet.
    if (read.ok || read.lastError === PIPE_STATUS.ERROR_IO_PENDING) this.#started(instance, instance.readIo, 'read');
    else this.#onRead(instance, { ok: false, bytes: 0, lastError: read.lastError });
  }

  #onRead(instance: Instance, result: Win32Result & { bytes: number }): void {
    if (instance.closing) return;
    const ended = !result.ok && (result.lastError === PIPE_STATUS.ERROR_BROKEN_PIPE || result.lastError === PIPE_STATUS.ERROR_PIPE_NOT_CONNECTED);
    if (instance.state === 'identifying') {
      // A client that leaves (or fails) before saying anything never reaches the API.
      if (!result.ok) {
        if (!ended) this.#log(`api: ${pipeError('ERR_WIN32_PIPE', 'ReadFile', result.lastError, `first read on ${this.address}`).message}`);
        this.#closeInstance(instance, true);
        return;
      }
      if (result.bytes === 0) {
        this.#issueRead(instance);
        return;
      }
      const data = Buffer.from(this.#api.ioData(instance.readIo, result.bytes));
      let identity: PipeCallerIdentity;
      try {
        identity = this.#identify(instance);
      } catch (error) {
        if (isStable6Error(error) && error.code === 'ERR_WIN32_PIPE_IMPERSONATION') throw error;
        this.#log(`api: refused a pipe client: ${(error as Error).message}`);
        this.#closeInstance(instance, true);
        return;
      }
      const connection = new PipeConnection(this, instance, identity);
      instance.connection = connection;
      instance.state = 'open';
      this.#accept?.(connection);
      if (!connection.destroyed) {
        connection.activity();
        connection.push(data);
      }
      return;
    }
    const connection = instance.connection;
    if (!connection) return;
    if (!result.ok) {
      if (ended) connection.push(null);
      else if (result.lastError !== PIPE_STATUS.ERROR_OPERATION_ABORTED) {
        connection.destroy(pipeError('ERR_WIN32_PIPE', 'ReadFile', result.lastError, `on ${this.address}`));
      }
      return;
    }
    connection.activity();
    if (result.bytes === 0) {
      this.#issueRead(instance);
      return;
    }
    // The next read is issued when the stream asks for more (_read): backpressure.
    connection.push(Buffer.from(this.#api.ioData(instance.readIo, result.bytes)));
  }

  /** Who the client is, from the token it opened the pipe with (see the top of this file). */
  #identify(instance: Instance): PipeCallerIdentity {
    const api = this.#api;
    const handle = instance.handle;
    // For logs only: a PID can be reused, the token cannot be swapped.
    const client = api.GetNamedPipeClientProcessId(handle);
    const pid = client.ok ? client.pid : 0;
    const impersonated = api.ImpersonateNamedPipeClient(handle);
    if (!impersonated.ok) {
      throw pipeError('ERR_WIN32_PIPE_IDENTITY', 'ImpersonateNamedPipeClient', impersonated.lastError, `cannot take the identity of pipe client ${pid}`, { pid });
    }
    let opened: { token: Win32Handle | null; lastError: number };
    try {
      // OpenAsSelf: the access check uses the daemon's own token, which works at any
      // impersonation level the client allowed (SecurityIdentification included).
      opened = api.OpenThreadToken(TOKEN_QUERY, true);
    } finally {
      const reverted = api.RevertToSelf();
      if (!reverted.ok) {
        const fatal = pipeError('ERR_WIN32_PIPE_IMPERSONATION', 'RevertToSelf', reverted.lastError, 'the daemon may still run as a pipe client');
        this.#onFatal(fatal);
        // eslint-disable-next-line no-unsafe-finally -- nothing may continue as the client
        throw fatal;
      }
    }
    if (opened.token === null) {
      // ERROR_CANT_OPEN_ANONYMOUS: the client opened the pipe with SecurityAnonymous.
      throw pipeError('ERR_WIN32_PIPE_IDENTITY', 'OpenThreadToken', opened.lastError, `cannot read the token of pipe client ${pid}`, { pid });
    }
    try {
      const user = this.#tokenBlock(opened.token, TOKEN_USER_CLASS, 'TokenUser', pid);
      const groups = this.#tokenBlock(opened.token, TOKEN_GROUPS_CLASS, 'TokenGroups', pid);
      return identityFromToken(decodeTokenUser(user.block, user.base), decodeTokenGroups(groups.block, groups.base), pid, this.#registry);
    } finally {
      api.CloseHandle(opened.token);
    }
  }

  #tokenBlock(token: Win32Handle, infoClass: number, name: string, pid: number): { block: Uint8Array; base: bigint } {
    const size = this.#api.GetTokenInformation(token, infoClass, 0);
    if (size.ok || size.lastError !== PIPE_STATUS.ERROR_INSUFFICIENT_BUFFER || size.returnLength <= 0) {
      const status = size.ok ? PIPE_STATUS.ERROR_INVALID_PARAMETER : size.lastError;
      throw pipeError('ERR_WIN32_PIPE_IDENTITY', 'GetTokenInformation', status, `cannot size ${name} of pipe client ${pid}`, { pid });
    }
    const info = this.#api.GetTokenInformation(token, infoClass, size.returnLength);
    if (!info.ok || info.block === undefined || info.base === undefined) {
      const status = info.ok ? PIPE_STATUS.ERROR_INVALID_PARAMETER : info.lastError;
      throw pipeError('ERR_WIN32_PIPE_IDENTITY', 'GetTokenInformation', status, `cannot read ${name} of pipe client ${pid}`, { pid });
    }
    return { block: info.block, base: info.base };
  }

  /** @internal PipeConnection#_read. */
  _read(instance: Instance): void {
    if (instance.state === 'open') this.#issueRead(instance);
  }

  /** @internal PipeConnection#_write: one WriteFile at a time, large chunks in pieces. */
  _write(instance: Instance, job: WriteJob): void {
    if (instance.closing) {
      job.callback(pipeError('ERR_WIN32_PIPE', 'WriteFile', PIPE_STATUS.ERROR_NO_DATA, `the pipe connection on ${this.address} is closing`));
      return;
    }
    instance.write = job;
    this.#issueWrite(instance);
  }

  #issueWrite(instance: Instance): void {
    const job = instance.write;
    if (!job) return;
    const piece = job.data.subarray(job.offset, job.offset + instance.writeIo.capacity);
    const written = this.#api.WriteFile(instance.handle, instance.writeIo, piece);
    if (written.ok || written.lastError === PIPE_STATUS.ERROR_IO_PENDING) this.#started(instance, instance.writeIo, 'write');
    else this.#onWrite(instance, { ok: false, bytes: 0, lastError: written.lastError });
  }

  #onWrite(instance: Instance, result: Win32Result & { bytes: number }): void {
    const job = instance.write;
    if (!job) return;
    if (!result.ok) {
      instance.write = undefined;
      // ERROR_NO_DATA / ERROR_BROKEN_PIPE: the client is gone (EPIPE).
      job.callback(pipeError('ERR_WIN32_PIPE', 'WriteFile', result.lastError, `on ${this.address}`));
      return;
    }
    instance.connection?.activity();
    job.offset += result.bytes;
    if (job.offset < job.data.length && !instance.closing) {
      this.#issueWrite(instance);
      return;
    }
    instance.write = undefined;
    job.callback();
  }

  /** @internal PipeConnection#_destroy: close, after Windows handed back every pending operation. */
  _close(instance: Instance, abort: boolean, done: () => void): void {
    if (instance.closed) {
      done();
      return;
    }
    const previous = instance.onClosed;
    instance.onClosed = () => {
      previous?.();
      done();
    };
    this.#closeInstance(instance, abort);
  }

  #closeInstance(instance: Instance, abort: boolean): void {
    if (instance.closing) {
      instance.abort ||= abort;
      return;
    }
    instance.closing = true;
    instance.abort = abort;
    if (instance.pending.size === 0) {
      this.#finishClose(instance);
      return;
    }
    // Every pending operation completes (ERROR_OPERATION_ABORTED) with a packet; the instance
    // closes when the last one arrived (#completed).
    const cancelled = this.#api.CancelIoEx(instance.handle, null);
    if (!cancelled.ok && cancelled.lastError !== PIPE_STATUS.ERROR_NOT_FOUND) {
      this.#log(`api: ${pipeError('ERR_WIN32_PIPE', 'CancelIoEx', cancelled.lastError, `pipe instance ${instance.id}`).message}`);
    }
  }

  #finishClose(instance: Instance): void {
    if (instance.closed) return;
    instance.closed = true;
    const api = this.#api;
    if (instance.abort && instance.state !== 'listening') {
      const disconnected = api.DisconnectNamedPipe(instance.handle);
      if (!disconnected.ok && disconnected.lastError !== PIPE_STATUS.ERROR_PIPE_NOT_CONNECTED) {
        this.#log(`api: ${pipeError('ERR_WIN32_PIPE', 'DisconnectNamedPipe', disconnected.lastError, `pipe instance ${instance.id}`).message}`);
      }
    }
    api.CloseHandle(instance.handle);
    api.freeIo(instance.readIo);
    api.freeIo(instance.writeIo);
    this.#instances.delete(instance.id);
    const job = instance.write;
    instance.write = undefined;
    job?.callback(pipeError('ERR_WIN32_PIPE', 'WriteFile', PIPE_STATUS.ERROR_OPERATION_ABORTED, `the pipe connection on ${this.address} closed`));
    const onClosed = instance.onClosed;
    instance.onClosed = undefined;
    onClosed?.();
  }
}
