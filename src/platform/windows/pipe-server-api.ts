/**
 * The kernel32/advapi32 calls the named-pipe API server makes, as a function table: the real
 * one (pipe-kernel32.ts, koffi) on Windows, FakePipeKernel (pipe-fake.ts) everywhere else.
 * The server's logic (pipe-listener.ts) is the same TypeScript over either.
 *
 * Results carry `lastError` read right after a failing call. An `IoBlock` is an OVERLAPPED and
 * its data buffer in native memory: Windows writes into it after the call returned, so it must
 * stay put (and alive) until the completion packet for it has been dequeued.
 */
import { Stable6Error, type ErrorCode } from '../../errors.js';
import { win32StatusName } from '../../codec/win32/constants.js';
import type { Win32Handle } from './pipe-identity.js';

export type { Win32Handle };

/** An OVERLAPPED plus `capacity` bytes of buffer, owned by the binding. Opaque to the server. */
export interface IoBlock {
  readonly capacity: number;
}

/** One dequeued completion packet (OVERLAPPED_ENTRY). `io` is null for a packet we posted ourselves. */
export interface CompletionEntry {
  key: number;
  io: IoBlock | null;
  bytes: number;
}

export interface Win32Result {
  ok: boolean;
  lastError: number;
}

export interface PipeServerApi {
  /** SDDL to a self-relative security descriptor (freed with LocalFree). */
  ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl: string): { descriptor: Win32Handle | null; lastError: number };
  LocalFree(memory: Win32Handle): void;
  CreateNamedPipeW(
    name: string,
    openMode: number,
    pipeMode: number,
    maxInstances: number,
    outBufferSize: number,
    inBufferSize: number,
    defaultTimeoutMs: number,
    securityDescriptor: Win32Handle | null,
  ): { handle: Win32Handle | null; lastError: number };
  /** `file` null: create a port. Otherwise associate `file` with `port`, its packets tagged `key`. */
  CreateIoCompletionPort(file: Win32Handle | null, port: Win32Handle | null, key: number): { handle: Win32Handle | null; lastError: number };
  /** Waits without a timeout, on a libuv pool thread (koffi .async), for up to `max` packets. */
  GetQueuedCompletionStatusEx(port: Win32Handle, max: number): Promise<Win32Result & { entries: CompletionEntry[] }>;
  PostQueuedCompletionStatus(port: Win32Handle, key: number): Win32Result;
  ConnectNamedPipe(pipe: Win32Handle, io: IoBlock): Win32Result;
  ReadFile(pipe: Win32Handle, io: IoBlock, length: number): Win32Result;
  /** Copies `data` (at most io.capacity bytes) into the block's buffer, then writes from there. */
  WriteFile(pipe: Win32Handle, io: IoBlock, data: Uint8Array): Win32Result;
  /** bWait FALSE: only called for an operation whose packet was dequeued. */
  GetOverlappedResult(pipe: Win32Handle, io: IoBlock): Win32Result & { bytes: number };
  CancelIoEx(pipe: Win32Handle, io: IoBlock | null): Win32Result;
  DisconnectNamedPipe(pipe: Win32Handle): Win32Result;
  GetNamedPipeClientProcessId(pipe: Win32Handle): Win32Result & { pid: number };
  ImpersonateNamedPipeClient(pipe: Win32Handle): Win32Result;
  /** OpenThreadToken(GetCurrentThread(), access, openAsSelf). */
  OpenThreadToken(desiredAccess: number, openAsSelf: boolean): { token: Win32Handle | null; lastError: number };
  RevertToSelf(): Win32Result;
  /**
   * GetTokenInformation into a native block of `length` bytes (0: ask the size). The block holds
   * pointers into itself, so the copy comes with the address it had (`base`).
   */
  GetTokenInformation(
    token: Win32Handle,
    infoClass: number,
    length: number,
  ): Win32Result & { returnLength: number; block?: Uint8Array; base?: bigint };
  CloseHandle(handle: Win32Handle): void;
  allocIo(capacity: number): IoBlock;
  /** A copy of the first `length` bytes of the block's buffer (what a read brought). */
  ioData(io: IoBlock, length: number): Uint8Array;
  freeIo(io: IoBlock): void;
}

// winbase.h / winnt.h / namedpipeapi.h; checked against the mingw-w64 headers in
// test/platform/windows/pipe-headers.test.ts.
export const PIPE_ACCESS_DUPLEX = 0x00000003;
export const FILE_FLAG_FIRST_PIPE_INSTANCE = 0x00080000;
export const FILE_FLAG_OVERLAPPED = 0x40000000;
export const PIPE_TYPE_BYTE = 0x00000000;
export const PIPE_READMODE_BYTE = 0x00000000;
export const PIPE_WAIT = 0x00000000;
export const PIPE_REJECT_REMOTE_CLIENTS = 0x00000008;
export const PIPE_UNLIMITED_INSTANCES = 255;
export const TOKEN_QUERY = 0x0008;
export const TOKEN_USER_CLASS = 1;
export const TOKEN_GROUPS_CLASS = 2;
export const SDDL_REVISION_1 = 1;
/** FILE_APPEND_DATA, which for a pipe means "may create another instance of it". */
export const FILE_CREATE_PIPE_INSTANCE = 0x0004;

/** x64 layouts the binding writes and reads by offset (pipe-kernel32.ts). */
export const PIPE_LAYOUT = {
  /** OVERLAPPED: Internal, InternalHigh, Offset/OffsetHigh or Pointer, hEvent. */
  OVERLAPPED_SIZE: 32,
  OVERLAPPED_ENTRY_SIZE: 32,
  OVERLAPPED_ENTRY_LP_OVERLAPPED: 8,
  OVERLAPPED_ENTRY_BYTES_TRANSFERRED: 24,
  SECURITY_ATTRIBUTES_SIZE: 24,
  SECURITY_ATTRIBUTES_DESCRIPTOR: 8,
  SECURITY_ATTRIBUTES_INHERIT: 16,
} as const;

/** The Win32 statuses the pipe server meets, by name. */
export const PIPE_STATUS = {
  NO_ERROR: 0,
  ERROR_FILE_NOT_FOUND: 2,
  ERROR_ACCESS_DENIED: 5,
  ERROR_INVALID_HANDLE: 6,
  ERROR_NOT_ENOUGH_MEMORY: 8,
  ERROR_INVALID_PARAMETER: 87,
  ERROR_BROKEN_PIPE: 109,
  ERROR_INSUFFICIENT_BUFFER: 122,
  ERROR_PIPE_BUSY: 231,
  ERROR_NO_DATA: 232,
  ERROR_PIPE_NOT_CONNECTED: 233,
  ERROR_MORE_DATA: 234,
  ERROR_PIPE_CONNECTED: 535,
  ERROR_PIPE_LISTENING: 536,
  ERROR_ABANDONED_WAIT_0: 735,
  ERROR_OPERATION_ABORTED: 995,
  ERROR_IO_PENDING: 997,
  ERROR_NO_TOKEN: 1008,
  ERROR_NOT_FOUND: 1168,
  ERROR_INVALID_ACL: 1336,
  ERROR_INVALID_SID: 1337,
  ERROR_INVALID_SECURITY_DESCR: 1338,
  ERROR_BAD_IMPERSONATION_LEVEL: 1346,
  ERROR_CANT_OPEN_ANONYMOUS: 1347,
  ERROR_CANNOT_IMPERSONATE: 1368,
} as const;

const NAMES = new Map<number, string>(Object.entries(PIPE_STATUS).map(([name, value]) => [value, name]));

/** `ERROR_BROKEN_PIPE` for 109; the backend's names (win32StatusName) for the rest. */
export function pipeStatusName(status: number): string {
  return NAMES.get(status) ?? win32StatusName(status);
}

/** The Stable6Error for a failed pipe call: the function and the status name in message and details. */
export function pipeError(
  code: ErrorCode,
  fn: string,
  status: number,
  what: string,
  details: Readonly<Record<string, unknown>> = {},
): Stable6Error {
  const name = pipeStatusName(status);
  return new Stable6Error(code, `${fn} failed with ${name} (${status}): ${what}`, {
    details: { ...details, function: fn, status: name, win32Status: status },
  });
}
