/**
 * FakePipeKernel: the named-pipe part of kernel32/advapi32 in memory, so that the pipe server
 * (pipe-listener.ts) runs unchanged on any OS. Shipped for applications' own tests too.
 *
 * It pairs each server instance with a client Duplex (`connect()`), queues completion packets
 * the way an I/O completion port does (a read or write that completes at once still queues
 * one), hands out tokens for impersonation (only after the server read something, as
 * Windows requires), checks clients against the pipe's SDDL (allow and deny ACEs, the common
 * aliases), and counts what is open, so tests can assert that nothing leaks: handles, native
 * I/O blocks, pending operations and waits, impersonation.
 *
 * Where it is simpler than Windows: data the server writes is handed to the client stream at
 * once (so DisconnectNamedPipe cannot discard unread data), and buffers are unbounded.
 */
import { Duplex } from 'node:stream';
import { encodeTokenGroups, encodeTokenUser, canonicalSid, SE_GROUP_ENABLED, SE_GROUP_ENABLED_BY_DEFAULT, SE_GROUP_MANDATORY, SE_GROUP_USE_FOR_DENY_ONLY, WELL_KNOWN_SID, type SidAndAttributes } from './pipe-sid.js';
import {
  FILE_CREATE_PIPE_INSTANCE,
  FILE_FLAG_FIRST_PIPE_INSTANCE,
  FILE_FLAG_OVERLAPPED,
  PIPE_REJECT_REMOTE_CLIENTS,
  PIPE_STATUS,
  TOKEN_GROUPS_CLASS,
  TOKEN_QUERY,
  TOKEN_USER_CLASS,
  type CompletionEntry,
  type IoBlock,
  type PipeServerApi,
  type Win32Handle,
  type Win32Result,
} from './pipe-server-api.js';

/** A client's access token, as the fake hands it to ImpersonateNamedPipeClient. */
export interface FakeToken {
  user: string;
  groups: SidAndAttributes[];
  /** SECURITY_IMPERSONATION_LEVEL the client allowed (default 'impersonation'). */
  level?: 'anonymous' | 'identification' | 'impersonation';
}

const ON = SE_GROUP_MANDATORY | SE_GROUP_ENABLED_BY_DEFAULT | SE_GROUP_ENABLED;

/**
 * A typical interactive user's token: Everyone, Users, INTERACTIVE, Authenticated Users; an
 * `admin` has Administrators enabled when `elevated`, deny-only (UAC's filtered token) when not.
 */
export function fakeUserToken(user: string, options: { admin?: boolean; elevated?: boolean; network?: boolean } = {}): FakeToken {
  const groups: SidAndAttributes[] = [
    { sid: 'S-1-1-0', attributes: ON },
    { sid: WELL_KNOWN_SID.BUILTIN_USERS, attributes: ON },
    { sid: options.network ? WELL_KNOWN_SID.NETWORK : 'S-1-5-4', attributes: ON },
    { sid: WELL_KNOWN_SID.AUTHENTICATED_USERS, attributes: ON },
  ];
  if (options.admin) {
    groups.push({ sid: WELL_KNOWN_SID.BUILTIN_ADMINISTRATORS, attributes: options.elevated ? ON : SE_GROUP_USE_FOR_DENY_ONLY });
  }
  return { user, groups };
}

// Generic rights as the file/pipe generic mapping turns them into specific ones (winnt.h).
const FILE_GENERIC_READ = 0x120089;
const FILE_GENERIC_WRITE = 0x120116;
const FILE_ALL_ACCESS = 0x1f01ff;
const RIGHTS: Record<string, number> = {
  GA: FILE_ALL_ACCESS,
  GR: FILE_GENERIC_READ,
  GW: FILE_GENERIC_WRITE,
  GX: 0x1200a0,
  FA: FILE_ALL_ACCESS,
  FR: FILE_GENERIC_READ,
  FW: FILE_GENERIC_WRITE,
};
const ALIASES: Record<string, string> = {
  SY: WELL_KNOWN_SID.LOCAL_SYSTEM,
  BA: WELL_KNOWN_SID.BUILTIN_ADMINISTRATORS,
  BU: WELL_KNOWN_SID.BUILTIN_USERS,
  AU: WELL_KNOWN_SID.AUTHENTICATED_USERS,
  WD: 'S-1-1-0',
  NU: WELL_KNOWN_SID.NETWORK,
  IU: 'S-1-5-4',
  AN: WELL_KNOWN_SID.ANONYMOUS,
  LS: WELL_KNOWN_SID.LOCAL_SERVICE,
  NS: WELL_KNOWN_SID.NETWORK_SERVICE,
};

interface Ace {
  allow: boolean;
  mask: number;
  sid: string;
}

/** The DACL part of an SDDL string, as far as the fake needs it; undefined when not valid. */
export function parseFakeSddl(sddl: string): Ace[] | undefined {
  const match = /^D:P?((?:\([^)]*\))*)$/.exec(sddl);
  if (!match) return undefined;
  const aces: Ace[] = [];
  for (const [, body] of (match[1] ?? '').matchAll(/\(([^)]*)\)/g)) {
    const parts = (body ?? '').split(';');
    if (parts.length !== 6) return undefined;
    const [type, , rightsText, , , trustee] = parts as [string, string, string, string, string, string];
    if (type !== 'A' && type !== 'D') return undefined;
    let mask = 0;
    if (/^0x[0-9a-f]+$/i.test(rightsText)) mask = Number(rightsText);
    else {
      for (let i = 0; i < rightsText.length; i += 2) {
        const right = RIGHTS[rightsText.slice(i, i + 2)];
        if (right === undefined) return undefined;
        mask |= right;
      }
    }
    const sid = ALIASES[trustee] ?? (/^S-1-/.test(trustee) ? canonicalSid(trustee) : undefined);
    if (sid === undefined) return undefined;
    aces.push({ allow: type === 'A', mask, sid });
  }
  return aces;
}

/** Access check as Windows does it for a DACL of simple ACEs: deny ACEs match deny-only groups too. */
function accessAllowed(aces: readonly Ace[], token: FakeToken, desired: number): boolean {
  const enabled = new Set([canonicalSid(token.user), ...token.groups.filter((g) => (g.attributes & SE_GROUP_ENABLED) !== 0 && (g.attributes & SE_GROUP_USE_FOR_DENY_ONLY) === 0).map((g) => canonicalSid(g.sid))]);
  const forDeny = new Set([...enabled, ...token.groups.map((g) => canonicalSid(g.sid))]);
  let granted = 0;
  for (const ace of aces) {
    if (!ace.allow && forDeny.has(ace.sid) && (ace.mask & desired & ~granted) !== 0) return false;
    if (ace.allow && enabled.has(ace.sid)) granted |= ace.mask;
  }
  return (granted & desired) === desired;
}

interface FakeHandle {
  readonly kind: 'pipe' | 'port' | 'token' | 'descriptor';
  readonly id: number;
}

class FakeIo implements IoBlock {
  readonly data: Buffer;
  result: (Win32Result & { bytes: number }) | undefined;
  freed = false;
  constructor(readonly capacity: number) {
    this.data = Buffer.alloc(capacity);
  }
}

interface Op {
  kind: 'connect' | 'read' | 'write';
  io: FakeIo;
  length: number;
}

interface Port {
  queue: CompletionEntry[];
  waiters: { max: number; resolve: (value: Win32Result & { entries: CompletionEntry[] }) => void }[];
}

interface Pipe {
  aces: Ace[];
  pipeMode: number;
  instances: Set<FakeInstance>;
}

interface FakeInstance {
  handle: FakeHandle;
  name: string;
  pipe: Pipe;
  state: 'created' | 'listening' | 'connected' | 'client-gone' | 'disconnected';
  port: FakeHandle | undefined;
  key: number;
  /** Bytes the client wrote that the server has not read. */
  inbound: Buffer[];
  serverRead: boolean;
  pending: Op[];
  client: FakeClientEnd | undefined;
}

/** The client's end of a pipe instance, as a Duplex. */
class FakeClientEnd extends Duplex {
  instance: FakeInstance | undefined;
  constructor(
    readonly kernel: FakePipeKernel,
    readonly token: FakeToken,
    readonly pid: number,
  ) {
    super({ allowHalfOpen: false });
  }
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.instance || this.instance.state !== 'connected') {
      callback(Object.assign(new Error('the pipe is being closed (ERROR_NO_DATA)'), { code: 'EPIPE' }));
      return;
    }
    this.kernel.clientWrote(this.instance, chunk);
    callback();
  }
  override _final(callback: (error?: Error | null) => void): void {
    callback();
    process.nextTick(() => this.destroy());
  }
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.instance) this.kernel.clientClosed(this.instance);
    callback(error);
  }
}

export interface FakePipeKernelOptions {
  /** The daemon's own token: creating the second and later instances needs FILE_CREATE_PIPE_INSTANCE for it. */
  serverToken?: FakeToken;
}

export type FakePipeFunction = keyof PipeServerApi;

export class FakePipeKernel implements PipeServerApi {
  readonly #pipes = new Map<string, Pipe>();
  readonly #instances = new Map<FakeHandle, FakeInstance>();
  readonly #ports = new Map<FakeHandle, Port>();
  readonly #tokens = new Map<FakeHandle, FakeToken>();
  readonly #descriptors = new Map<FakeHandle, Ace[]>();
  readonly #open = new Set<FakeHandle>();
  readonly #io = new Set<FakeIo>();
  readonly #failures = new Map<string, number[]>();
  readonly #serverToken: FakeToken;
  #nextHandle = 1;
  #nextBase = 0x7ff6_0000_0000n;
  #impersonating: FakeToken | undefined;
  /** Problems a real Windows would punish (use after free, closing with I/O pending, ...). */
  readonly violations: string[] = [];
  /** Every call by name, in order. */
  readonly calls: string[] = [];
  /** The arguments of each CreateNamedPipeW. */
  readonly created: { name: string; openMode: number; pipeMode: number; maxInstances: number }[] = [];

  constructor(options: FakePipeKernelOptions = {}) {
    this.#serverToken = options.serverToken ?? { user: 'S-1-5-80-1-2-3-4-5', groups: [{ sid: WELL_KNOWN_SID.AUTHENTICATED_USERS, attributes: ON }] };
  }

  /** The next `times` calls of `fn` fail with `lastError`. */
  fail(fn: FakePipeFunction, lastError: number, times = 1): void {
    const queue = this.#failures.get(fn) ?? [];
    for (let i = 0; i < times; i++) queue.push(lastError);
    this.#failures.set(fn, queue);
  }

  #injected(fn: FakePipeFunction): number | undefined {
    this.calls.push(fn);
    return this.#failures.get(fn)?.shift();
  }

  /** Handles not closed, by kind. */
  openHandles(): string[] {
    return [...this.#open].map((h) => `${h.kind}#${h.id}`);
  }

  /** Native I/O blocks not freed. */
  get liveIoBlocks(): number {
    return this.#io.size;
  }

  /** Operations Windows would still be working on. */
  get pendingOperations(): number {
    let n = 0;
    for (const instance of this.#instances.values()) n += instance.pending.length;
    return n;
  }

  /** GetQueuedCompletionStatusEx calls still waiting (a pool thread each). */
  get pendingWaits(): number {
    let n = 0;
    for (const port of this.#ports.values()) n += port.waiters.length;
    return n;
  }

  get impersonating(): boolean {
    return this.#impersonating !== undefined;
  }

  /** Instances of a pipe name by state, e.g. { listening: 1, connected: 2 }. */
  instanceStates(name: string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const instance of this.#pipes.get(name.toLowerCase())?.instances ?? []) counts[instance.state] = (counts[instance.state] ?? 0) + 1;
    return counts;
  }

  #handle(kind: FakeHandle['kind']): FakeHandle {
    const handle: FakeHandle = { kind, id: this.#nextHandle++ };
    this.#open.add(handle);
    return handle;
  }

  #isOpen(handle: unknown, kind: FakeHandle['kind']): handle is FakeHandle {
    return this.#open.has(handle as FakeHandle) && (handle as FakeHandle).kind === kind;
  }

  // ---- the client side -------------------------------------------------------------------

  /**
   * CreateFileW on the pipe by a client with `token`: a Duplex, or an Error whose `code` is
   * the Win32 status name (ERROR_FILE_NOT_FOUND, ERROR_PIPE_BUSY, ERROR_ACCESS_DENIED).
   */
  connect(name: string, token: FakeToken, options: { pid?: number; remote?: boolean } = {}): Duplex {
    const refuse = (status: keyof typeof PIPE_STATUS): never => {
      throw Object.assign(new Error(`CreateFileW(${name}): ${status}`), { code: status, win32Status: PIPE_STATUS[status] });
    };
    const pipe = this.#pipes.get(name.toLowerCase());
    if (!pipe) return refuse('ERROR_FILE_NOT_FOUND');
    if (options.remote && (pipe.pipeMode & PIPE_REJECT_REMOTE_CLIENTS) !== 0) return refuse('ERROR_ACCESS_DENIED');
    // A client opens with GENERIC_READ | GENERIC_WRITE (what libuv asks first).
    if (!accessAllowed(pipe.aces, token, FILE_GENERIC_READ | FILE_GENERIC_WRITE)) return refuse('ERROR_ACCESS_DENIED');
    const free = [...pipe.instances].find((i) => i.state === 'listening') ?? [...pipe.instances].find((i) => i.state === 'created');
    if (!free) return refuse('ERROR_PIPE_BUSY');
    const client = new FakeClientEnd(this, token, options.pid ?? 4000 + this.#nextHandle);
    client.instance = free;
    free.client = client;
    const wasListening = free.state === 'listening';
    free.state = 'connected';
    if (wasListening) {
      const op = free.pending.find((o) => o.kind === 'connect');
      if (op) this.#complete(free, op, { ok: true, bytes: 0, lastError: 0 });
    }
    return client;
  }

  /**
   * connect(), waiting while every instance is busy (what a client does with WaitNamedPipeW):
   * after a client took the listening instance, the server makes the next one a moment later.
   */
  async connectWhenFree(name: string, token: FakeToken, options: { pid?: number; remote?: boolean; timeoutMs?: number } = {}): Promise<Duplex> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      try {
        return this.connect(name, token, options);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ERROR_PIPE_BUSY' || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
  }

  /** @internal */
  clientWrote(instance: FakeInstance, chunk: Buffer): void {
    instance.inbound.push(Buffer.from(chunk));
    this.#satisfyRead(instance);
  }

  /** @internal */
  clientClosed(instance: FakeInstance): void {
    if (instance.state === 'connected') instance.state = 'client-gone';
    // A read waiting for data that will not come: the pipe is broken (after what was sent).
    this.#satisfyRead(instance);
  }

  #satisfyRead(instance: FakeInstance): void {
    const op = instance.pending.find((o) => o.kind === 'read');
    if (!op) return;
    if (instance.inbound.length > 0) {
      const bytes = this.#take(instance, op);
      this.#complete(instance, op, { ok: true, bytes, lastError: 0 });
    } else if (instance.state === 'client-gone') {
      this.#complete(instance, op, { ok: false, bytes: 0, lastError: PIPE_STATUS.ERROR_BROKEN_PIPE });
    }
  }

  #take(instance: FakeInstance, op: Op): number {
    let bytes = 0;
    while (bytes < op.length && instance.inbound.length > 0) {
      const head = instance.inbound[0] as Buffer;
      const n = Math.min(head.length, op.length - bytes);
      head.copy(op.io.data, bytes, 0, n);
      bytes += n;
      if (n === head.length) instance.inbound.shift();
      else instance.inbound[0] = head.subarray(n);
    }
    instance.serverRead = true;
    return bytes;
  }

  #complete(instance: FakeInstance, op: Op, result: Win32Result & { bytes: number }): void {
    instance.pending.splice(instance.pending.indexOf(op), 1);
    op.io.result = result;
    if (instance.port) this.#post(instance.port, { key: instance.key, io: op.io, bytes: result.bytes });
  }

  #post(portHandle: FakeHandle, entry: CompletionEntry): void {
    const port = this.#ports.get(portHandle);
    if (!port) return;
    port.queue.push(entry);
    this.#wake(port);
  }

  #wake(port: Port): void {
    const waiter = port.waiters[0];
    if (!waiter || port.queue.length === 0) return;
    port.waiters.shift();
    const entries = port.queue.splice(0, waiter.max);
    // The waiting pool thread hands the batch back to the JS thread: a macrotask later.
    setImmediate(() => waiter.resolve({ ok: true, lastError: 0, entries }));
  }

  // ---- the server side: PipeServerApi --------------------------------------------------------

  ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl: string): { descriptor: Win32Handle | null; lastError: number } {
    const failed = this.#injected('ConvertStringSecurityDescriptorToSecurityDescriptorW');
    if (failed !== undefined) return { descriptor: null, lastError: failed };
    const aces = parseFakeSddl(sddl);
    if (!aces) return { descriptor: null, lastError: PIPE_STATUS.ERROR_INVALID_PARAMETER };
    const handle = this.#handle('descriptor');
    this.#descriptors.set(handle, aces);
    return { descriptor: handle, lastError: 0 };
  }

  LocalFree(memory: Win32Handle): void {
    this.calls.push('LocalFree');
    if (!this.#isOpen(memory, 'descriptor')) {
      this.violations.push('LocalFree of memory not allocated');
      return;
    }
    this.#descriptors.delete(memory);
    this.#open.delete(memory);
  }

  CreateNamedPipeW(
    name: string,
    openMode: number,
    pipeMode: number,
    maxInstances: number,
    _outBufferSize: number,
    _inBufferSize: number,
    _defaultTimeoutMs: number,
    securityDescriptor: Win32Handle | null,
  ): { handle: Win32Handle | null; lastError: number } {
    const failed = this.#injected('CreateNamedPipeW');
    if (failed !== undefined) return { handle: null, lastError: failed };
    this.created.push({ name, openMode, pipeMode, maxInstances });
    if (!/^\\\\\.\\pipe\\[^\\]+$/i.test(name)) return { handle: null, lastError: PIPE_STATUS.ERROR_INVALID_PARAMETER };
    if ((openMode & FILE_FLAG_OVERLAPPED) === 0) this.violations.push('a pipe instance without FILE_FLAG_OVERLAPPED: its I/O would be serialized');
    const key = name.toLowerCase();
    let pipe = this.#pipes.get(key);
    if (pipe) {
      if ((openMode & FILE_FLAG_FIRST_PIPE_INSTANCE) !== 0) return { handle: null, lastError: PIPE_STATUS.ERROR_ACCESS_DENIED };
      if (!accessAllowed(pipe.aces, this.#serverToken, FILE_CREATE_PIPE_INSTANCE)) return { handle: null, lastError: PIPE_STATUS.ERROR_ACCESS_DENIED };
      if (pipe.instances.size >= maxInstances) return { handle: null, lastError: PIPE_STATUS.ERROR_PIPE_BUSY };
    } else {
      const aces = securityDescriptor === null ? parseFakeSddl('D:(A;;GA;;;SY)(A;;GA;;;BA)(A;;GR;;;WD)') : this.#descriptors.get(securityDescriptor as FakeHandle);
      if (!aces) return { handle: null, lastError: PIPE_STATUS.ERROR_INVALID_PARAMETER };
      pipe = { aces, pipeMode, instances: new Set() };
      this.#pipes.set(key, pipe);
    }
    const handle = this.#handle('pipe');
    const instance: FakeInstance = {
      handle,
      name: key,
      pipe,
      state: 'created',
      port: undefined,
      key: 0,
      inbound: [],
      serverRead: false,
      pending: [],
      client: undefined,
    };
    pipe.instances.add(instance);
    this.#instances.set(handle, instance);
    return { handle, lastError: 0 };
  }

  /** Another process (a squatter, a second daemon) makes the pipe name first. Returns its close(). */
  squat(name: string, sddl = 'D:(A;;GA;;;WD)'): () => void {
    const sd = this.ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl);
    const made = this.CreateNamedPipeW(name, 3 | FILE_FLAG_OVERLAPPED, 0, 255, 0, 0, 0, sd.descriptor);
    if (sd.descriptor) this.LocalFree(sd.descriptor);
    return () => {
      if (made.handle) this.CloseHandle(made.handle);
    };
  }

  CreateIoCompletionPort(file: Win32Handle | null, port: Win32Handle | null, key: number): { handle: Win32Handle | null; lastError: number } {
    const failed = this.#injected('CreateIoCompletionPort');
    if (failed !== undefined) return { handle: null, lastError: failed };
    if (file === null) {
      const handle = this.#handle('port');
      this.#ports.set(handle, { queue: [], waiters: [] });
      return { handle, lastError: 0 };
    }
    const instance = this.#instances.get(file as FakeHandle);
    if (!instance || !this.#isOpen(port, 'port')) return { handle: null, lastError: PIPE_STATUS.ERROR_INVALID_HANDLE };
    if (instance.port) return { handle: null, lastError: PIPE_STATUS.ERROR_INVALID_PARAMETER };
    instance.port = port;
    instance.key = key;
    return { handle: port, lastError: 0 };
  }

  GetQueuedCompletionStatusEx(portHandle: Win32Handle, max: number): Promise<Win32Result & { entries: CompletionEntry[] }> {
    const failed = this.#injected('GetQueuedCompletionStatusEx');
    if (failed !== undefined) return Promise.resolve({ ok: false, lastError: failed, entries: [] });
    const port = this.#ports.get(portHandle as FakeHandle);
    if (!port || !this.#isOpen(portHandle, 'port')) return Promise.resolve({ ok: false, lastError: PIPE_STATUS.ERROR_INVALID_HANDLE, entries: [] });
    return new Promise((resolve) => {
      port.waiters.push({ max, resolve });
      this.#wake(port);
    });
  }

  PostQueuedCompletionStatus(port: Win32Handle, key: number): Win32Result {
    const failed = this.#injected('PostQueuedCompletionStatus');
    if (failed !== undefined) return { ok: false, lastError: failed };
    if (!this.#isOpen(port, 'port')) return { ok: false, lastError: PIPE_STATUS.ERROR_INVALID_HANDLE };
    this.#post(port, { key, io: null, bytes: 0 });
    return { ok: true, lastError: 0 };
  }

  #instanceFor(pipe: Win32Handle): FakeInstance | undefined {
    return this.#isOpen(pipe, 'pipe') ? this.#instances.get(pipe) : undefined;
  }

  #checkIo(io: IoBlock, what: string): FakeIo | undefined {
    const block = io as FakeIo;
    if (!this.#io.has(block)) {
      this.violations.push(`${what} with an I/O block that is not allocated`);
      return undefined;
    }
    if ([...this.#instances.values()].some((i) => i.pending.some((o) => o.io === block))) {
      this.violations.push(`${what} with an I/O block already in use`);
      return undefined;
    }
    block.result = undefined;
    return block;
  }

  ConnectNamedPipe(pipe: Win32Handle, io: IoBlock): Win32Result {
    const failed = this.#injected('ConnectNamedPipe');
    if (failed !== undefined) return { ok: false, lastError: failed };
    const instance = this.#instanceFor(pipe);
    const block = this.#checkIo(io, 'ConnectNamedPipe');
    if (!instance || !block) return { ok: false, lastError: PIPE_STATUS.ERROR_INVALID_HANDLE };
    if (instance.state === 'connected') return { ok: false, lastError: PIPE_STATUS.ERROR_PIPE_CONNECTED };
    if (instance.state === 'client-gone') return { ok: false, lastError: PIPE_STATUS.ERROR_NO_DATA };
    instance.state = 'listening';
    instance.pending.push({ kind: 'connect', io: block, length: 0 });
    return { ok: false, lastError: PIPE_STATUS.ERROR_IO_PENDING };
  }

  ReadFile(pipe: Win32Handle, io: IoBlock, length: number): Win32Result {
    const failed = this.#injected('ReadFile');
    if (failed !== undefined) return { ok: false, lastError: failed };
    const instance = this.#instanceFor(pipe);
    const block = this.#checkIo(io, 'ReadFile');
    if (!instance || !block) return { ok: false, lastError: PIPE_STATUS.ERROR_INVALID_HANDLE };
    if (instance.state === 'listening' || instance.state === 'created') return { ok: false, lastError: PIPE_STATUS.ERROR_PIPE_LISTENING };
    if (instance.state === 'disconnected') return { ok: false, lastError: PIPE_STATUS.ERROR_PIPE_NOT_CONNECTED };
    const op: Op = { kind: 'read', io: block, length: Math.min(length, block.capacity) };
    if (instance.inbound.length > 0) {
      instance.pending.push(op);
      const bytes = this.#take(instance, op);
      this.#complete(instance, op, { ok: true, bytes, lastError: 0 });
      return { ok: true, lastError: 0 };
    }
    if (instance.state === 'client-gone') return { ok: false, lastError: PIPE_STATUS.ERROR_BROKEN_PIPE };
    instance.pending.push(op);
    return { ok: false, lastError: PIPE_STATUS.ERROR_IO_PENDING };
  }

  WriteFile(pipe: Win32Handle, io: IoBlock, data: Uint8Array): Win32Result {
    const failed = this.#injected('WriteFile');
    if (failed !== undefined) return { ok: false, lastError: failed };
    const instance = this.#instanceFor(pipe);
    const block = this.#checkIo(io, 'WriteFile');
    if (!instance || !block) return { ok: false, lastError: PIPE_STATUS.ERROR_INVALID_HANDLE };
    if (data.length > block.capacity) this.violations.push('WriteFile of more than the I/O block holds');
    if (instance.state !== 'connected' || !instance.client) return { ok: false, lastError: PIPE_STATUS.ERROR_NO_DATA };
    const copy = Buffer.from(data);
    instance.client.push(copy);
    const op: Op = { kind: 'write', io: block, length: copy.length };
    instance.pending.push(op);
    this.#complete(instance, op, { ok: true, bytes: copy.length, lastError: 0 });
    return { ok: true, lastError: 0 };
  }

  GetOverlappedResult(pipe: Win32Handle, io: IoBlock): Win32Result & { bytes: number } {
    const failed = this.#injected('GetOverlappedResult');
    if (failed !== undefined) return { ok: false, bytes: 0, lastError: failed };
    const block = io as FakeIo;
    if (!this.#instanceFor(pipe)) return { ok: false, bytes: 0, lastError: PIPE_STATUS.ERROR_INVALID_HANDLE };
    if (!block.result) return { ok: false, bytes: 0, lastError: 996 /* ERROR_IO_INCOMPLETE */ };
    return block.result;
  }

  CancelIoEx(pipe: Win32Handle, io: IoBlock | null): Win32Result {
    const failed = this.#injected('CancelIoEx');
    if (failed !== undefined) return { ok: false, lastError: failed };
    const instance = this.#instanceFor(pipe);
    if (!instance) return { ok: false, lastError: PIPE_STATUS.ERROR_INVALID_HANDLE };
    const ops = instance.pending.filter((o) => io === null || o.io === io);
    if (ops.length === 0) return { ok: false, lastError: PIPE_STATUS.ERROR_NOT_FOUND };
    for (const op of ops) this.#complete(instance, op, { ok: false, bytes: 0, lastError: PIPE_STATUS.ERROR_OPERATION_ABORTED });
    return { ok: true, lastError: 0 };
  }

  DisconnectNamedPipe(pipe: Win32Handle): Win32Result {
    const failed = this.#injected('DisconnectNamedPipe');
    if (failed !== undefined) return { ok: false, lastError: failed };
    const instance = this.#instanceFor(pipe);
    if (!instance) return { ok: false, lastError: PIPE_STATUS.ERROR_INVALID_HANDLE };
    if (instance.state !== 'connected' && instance.state !== 'client-gone') return { ok: false, lastError: PIPE_STATUS.ERROR_PIPE_NOT_CONNECTED };
    for (const op of [...instance.pending]) this.#complete(instance, op, { ok: false, bytes: 0, lastError: PIPE_STATUS.ERROR_PIPE_NOT_CONNECTED });
    const client = instance.client;
    instance.state = 'disconnected';
    instance.inbound = [];
    instance.client = undefined;
    if (client && !client.destroyed) {
      client.instance = undefined;
      client.destroy(Object.assign(new Error('the pipe was disconnected (ERROR_PIPE_NOT_CONNECTED)'), { code: 'ECONNRESET' }));
    }
    return { ok: true, lastError: 0 };
  }

  GetNamedPipeClientProcessId(pipe: Win32Handle): Win32Result & { pid: number } {
    const failed = this.#injected('GetNamedPipeClientProcessId');
    if (failed !== undefined) return { ok: false, pid: 0, lastError: failed };
    const instance = this.#instanceFor(pipe);
    if (!instance?.client) return { ok: false, pid: 0, lastError: PIPE_STATUS.ERROR_PIPE_NOT_CONNECTED };
    return { ok: true, pid: instance.client.pid, lastError: 0 };
  }

  ImpersonateNamedPipeClient(pipe: Win32Handle): Win32Result {
    const failed = this.#injected('ImpersonateNamedPipeClient');
    if (failed !== undefined) return { ok: false, lastError: failed };
    const instance = this.#instanceFor(pipe);
    if (!instance?.client) return { ok: false, lastError: PIPE_STATUS.ERROR_PIPE_NOT_CONNECTED };
    // "Unable to impersonate using a named pipe until data has been read from that pipe."
    if (!instance.serverRead) return { ok: false, lastError: PIPE_STATUS.ERROR_CANNOT_IMPERSONATE };
    this.#impersonating = instance.client.token;
    return { ok: true, lastError: 0 };
  }

  OpenThreadToken(desiredAccess: number, openAsSelf: boolean): { token: Win32Handle | null; lastError: number } {
    const failed = this.#injected('OpenThreadToken');
    if (failed !== undefined) return { token: null, lastError: failed };
    const token = this.#impersonating;
    if (!token) return { token: null, lastError: PIPE_STATUS.ERROR_NO_TOKEN };
    if (token.level === 'anonymous') return { token: null, lastError: PIPE_STATUS.ERROR_CANT_OPEN_ANONYMOUS };
    if (token.level === 'identification' && !openAsSelf) return { token: null, lastError: PIPE_STATUS.ERROR_BAD_IMPERSONATION_LEVEL };
    if ((desiredAccess & TOKEN_QUERY) === 0) this.violations.push('OpenThreadToken without TOKEN_QUERY');
    const handle = this.#handle('token');
    this.#tokens.set(handle, token);
    return { token: handle, lastError: 0 };
  }

  RevertToSelf(): Win32Result {
    const failed = this.#injected('RevertToSelf');
    if (failed !== undefined) return { ok: false, lastError: failed };
    this.#impersonating = undefined;
    return { ok: true, lastError: 0 };
  }

  GetTokenInformation(token: Win32Handle, infoClass: number, length: number): Win32Result & { returnLength: number; block?: Uint8Array; base?: bigint } {
    const failed = this.#injected('GetTokenInformation');
    if (failed !== undefined) return { ok: false, returnLength: 0, lastError: failed };
    const fake = this.#isOpen(token, 'token') ? this.#tokens.get(token) : undefined;
    if (!fake) return { ok: false, returnLength: 0, lastError: PIPE_STATUS.ERROR_INVALID_HANDLE };
    const base = this.#nextBase;
    this.#nextBase += 0x1_0000n;
    let block: Uint8Array;
    if (infoClass === TOKEN_USER_CLASS) block = encodeTokenUser({ sid: fake.user, attributes: 0 }, base);
    else if (infoClass === TOKEN_GROUPS_CLASS) block = encodeTokenGroups(fake.groups, base);
    else return { ok: false, returnLength: 0, lastError: PIPE_STATUS.ERROR_INVALID_PARAMETER };
    if (length < block.length) return { ok: false, returnLength: block.length, lastError: PIPE_STATUS.ERROR_INSUFFICIENT_BUFFER };
    return { ok: true, returnLength: block.length, lastError: 0, block, base };
  }

  CloseHandle(handle: Win32Handle): void {
    this.calls.push('CloseHandle');
    const h = handle as FakeHandle;
    if (!this.#open.has(h)) {
      this.violations.push(`CloseHandle of a handle that is not open (${String(h?.kind)}#${String(h?.id)})`);
      return;
    }
    this.#open.delete(h);
    if (h.kind === 'pipe') {
      const instance = this.#instances.get(h);
      if (!instance) return;
      if (instance.pending.length > 0) {
        this.violations.push(`CloseHandle of a pipe instance with ${instance.pending.length} operations pending`);
        for (const op of [...instance.pending]) this.#complete(instance, op, { ok: false, bytes: 0, lastError: PIPE_STATUS.ERROR_OPERATION_ABORTED });
      }
      this.#instances.delete(h);
      instance.pipe.instances.delete(instance);
      if (instance.pipe.instances.size === 0) this.#pipes.delete(instance.name);
      // Closing without disconnecting: the client reads what was written, then EOF.
      const client = instance.client;
      instance.client = undefined;
      if (client && !client.destroyed) {
        client.instance = undefined;
        client.push(null);
      }
    } else if (h.kind === 'port') {
      const port = this.#ports.get(h);
      if (port && port.waiters.length > 0) {
        this.violations.push('CloseHandle of a completion port that a thread waits on');
        for (const waiter of port.waiters.splice(0)) setImmediate(() => waiter.resolve({ ok: false, lastError: PIPE_STATUS.ERROR_ABANDONED_WAIT_0, entries: [] }));
      }
      this.#ports.delete(h);
    } else if (h.kind === 'token') this.#tokens.delete(h);
  }

  allocIo(capacity: number): IoBlock {
    const block = new FakeIo(capacity);
    this.#io.add(block);
    return block;
  }

  ioData(io: IoBlock, length: number): Uint8Array {
    const block = io as FakeIo;
    if (!this.#io.has(block)) this.violations.push('ioData of a freed I/O block');
    return Uint8Array.from(block.data.subarray(0, length));
  }

  freeIo(io: IoBlock): void {
    const block = io as FakeIo;
    if (!this.#io.has(block)) {
      this.violations.push('freeIo of an I/O block that is not allocated');
      return;
    }
    if ([...this.#instances.values()].some((i) => i.pending.some((o) => o.io === block))) {
      this.violations.push('freeIo of an I/O block Windows still writes to');
    }
    this.#io.delete(block);
  }
}
