/**
 * The koffi bindings behind PipeServerApi (kernel32.dll + advapi32.dll). Loaded on the first
 * call of loadPipeServerApi(), never at import.
 *
 * NOT RUN ON WINDOWS. The layouts it relies on (OVERLAPPED and OVERLAPPED_ENTRY 32 bytes,
 * SECURITY_ATTRIBUTES 24, TOKEN_GROUPS' array at 8) and the constants are checked against
 * the mingw-w64 headers (test/platform/windows/pipe-headers.test.ts); the calls themselves,
 * koffi's pointer handling and the .async wait are unverified.
 *
 * Memory: an IoBlock is two koffi.alloc blocks (the OVERLAPPED, the data buffer) that Windows
 * may write to after a call returned; they are freed only by freeIo, which the listener calls
 * after the operation's packet arrived. HANDLE is `void *`, except where INVALID_HANDLE_VALUE
 * must be passed (CreateIoCompletionPort's FileHandle), which takes the address as intptr_t.
 */
import { createRequire } from 'node:module';
import { Stable6Error } from '../../errors.js';
import { PIPE_LAYOUT, SDDL_REVISION_1, type CompletionEntry, type IoBlock, type PipeServerApi, type Win32Handle } from './pipe-server-api.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- koffi's function objects and pointers are untyped */
type Koffi = typeof import('koffi');

const { OVERLAPPED_SIZE, OVERLAPPED_ENTRY_SIZE, SECURITY_ATTRIBUTES_SIZE } = PIPE_LAYOUT;
const INFINITE = 0xffffffff;
const INVALID_HANDLE_VALUE = 0xffffffffffffffffn;
/** A failed wait's status: GetLastError belongs to the pool thread, not ours (named WIN32_STATUS_-1). */
const UNKNOWN_POOL_STATUS = -1;

interface RealIo extends IoBlock {
  readonly overlapped: unknown;
  readonly buffer: unknown;
  readonly address: bigint;
}

let cached: PipeServerApi | undefined;

/** Binds kernel32.dll and advapi32.dll once (Windows only; ERR_WIN32_UNAVAILABLE elsewhere). */
export function loadPipeServerApi(): PipeServerApi {
  if (cached) return cached;
  let koffi: Koffi;
  let kernel32: ReturnType<Koffi['load']>;
  let advapi32: ReturnType<Koffi['load']>;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
    kernel32 = koffi.load('kernel32.dll');
    advapi32 = koffi.load('advapi32.dll');
  } catch (cause) {
    throw new Stable6Error('ERR_WIN32_UNAVAILABLE', 'cannot load koffi, kernel32.dll or advapi32.dll (the named-pipe server runs only on Windows)', { cause });
  }
  cached = bind(koffi, kernel32, advapi32);
  return cached;
}

function bind(koffi: Koffi, kernel32: ReturnType<Koffi['load']>, advapi32: ReturnType<Koffi['load']>): PipeServerApi {
  const k = (decl: string): any => kernel32.func(decl);
  const a = (decl: string): any => advapi32.func(decl);
  // BOOL is int; DWORD uint32_t; ULONG_PTR uintptr_t. GetLastError right after each failing call.
  const getLastError = k('uint32_t __stdcall GetLastError()');
  const closeHandle = k('int __stdcall CloseHandle(void *hObject)');
  const localFree = k('void * __stdcall LocalFree(void *hMem)');
  const convertSddl = a(
    'int __stdcall ConvertStringSecurityDescriptorToSecurityDescriptorW(const char16_t *StringSecurityDescriptor, uint32_t StringSDRevision, _Out_ void **SecurityDescriptor, void *SecurityDescriptorSize)',
  );
  const createNamedPipe = k(
    'void * __stdcall CreateNamedPipeW(const char16_t *lpName, uint32_t dwOpenMode, uint32_t dwPipeMode, uint32_t nMaxInstances, uint32_t nOutBufferSize, uint32_t nInBufferSize, uint32_t nDefaultTimeOut, void *lpSecurityAttributes)',
  );
  const createPort = k(
    'void * __stdcall CreateIoCompletionPort(intptr_t FileHandle, intptr_t ExistingCompletionPort, uintptr_t CompletionKey, uint32_t NumberOfConcurrentThreads)',
  );
  const getQueued = k(
    'int __stdcall GetQueuedCompletionStatusEx(void *CompletionPort, void *lpCompletionPortEntries, uint32_t ulCount, _Out_ uint32_t *ulNumEntriesRemoved, uint32_t dwMilliseconds, int fAlertable)',
  );
  const postQueued = k('int __stdcall PostQueuedCompletionStatus(void *CompletionPort, uint32_t dwNumberOfBytesTransferred, uintptr_t dwCompletionKey, void *lpOverlapped)');
  const connectPipe = k('int __stdcall ConnectNamedPipe(void *hNamedPipe, void *lpOverlapped)');
  const readFile = k('int __stdcall ReadFile(void *hFile, void *lpBuffer, uint32_t nNumberOfBytesToRead, void *lpNumberOfBytesRead, void *lpOverlapped)');
  const writeFile = k('int __stdcall WriteFile(void *hFile, void *lpBuffer, uint32_t nNumberOfBytesToWrite, void *lpNumberOfBytesWritten, void *lpOverlapped)');
  const getOverlapped = k('int __stdcall GetOverlappedResult(void *hFile, void *lpOverlapped, _Out_ uint32_t *lpNumberOfBytesTransferred, int bWait)');
  const cancelIoEx = k('int __stdcall CancelIoEx(void *hFile, void *lpOverlapped)');
  const disconnectPipe = k('int __stdcall DisconnectNamedPipe(void *hNamedPipe)');
  const clientPid = k('int __stdcall GetNamedPipeClientProcessId(void *Pipe, _Out_ uint32_t *ClientProcessId)');
  const getCurrentThread = k('void * __stdcall GetCurrentThread()');
  const impersonate = a('int __stdcall ImpersonateNamedPipeClient(void *hNamedPipe)');
  const openThreadToken = a('int __stdcall OpenThreadToken(void *ThreadHandle, uint32_t DesiredAccess, int OpenAsSelf, _Out_ void **TokenHandle)');
  const revertToSelf = a('int __stdcall RevertToSelf()');
  const getTokenInformation = a(
    'int __stdcall GetTokenInformation(void *TokenHandle, int TokenInformationClass, void *TokenInformation, uint32_t TokenInformationLength, _Out_ uint32_t *ReturnLength)',
  );

  const address = (pointer: unknown): bigint => (pointer == null ? 0n : BigInt(koffi.address(pointer as any)));
  const bytes = (pointer: unknown, length: number): Uint8Array => new Uint8Array(koffi.view(pointer as any, length));
  const live = new Map<bigint, RealIo>();
  const result = (ok: boolean): { ok: boolean; lastError: number } => ({ ok, lastError: ok ? 0 : (getLastError() as number) });

  return {
    ConvertStringSecurityDescriptorToSecurityDescriptorW: (sddl) => {
      const out: unknown[] = [null];
      const ok = convertSddl(sddl, SDDL_REVISION_1, out, null) !== 0;
      return ok ? { descriptor: out[0] as Win32Handle, lastError: 0 } : { descriptor: null, lastError: getLastError() as number };
    },
    LocalFree: (memory) => void localFree(memory),
    CreateNamedPipeW: (name, openMode, pipeMode, maxInstances, outSize, inSize, timeout, descriptor) => {
      // SECURITY_ATTRIBUTES { DWORD nLength; LPVOID lpSecurityDescriptor (at 8); BOOL bInheritHandle (at 16) }.
      const attributes = Buffer.alloc(SECURITY_ATTRIBUTES_SIZE);
      attributes.writeUInt32LE(SECURITY_ATTRIBUTES_SIZE, 0);
      attributes.writeBigUInt64LE(address(descriptor), PIPE_LAYOUT.SECURITY_ATTRIBUTES_DESCRIPTOR);
      const handle = createNamedPipe(name, openMode, pipeMode, maxInstances, outSize, inSize, timeout, descriptor === null ? null : attributes);
      if (handle == null || address(handle) === INVALID_HANDLE_VALUE) return { handle: null, lastError: getLastError() as number };
      return { handle, lastError: 0 };
    },
    CreateIoCompletionPort: (file, port, key) => {
      const fileArg = file === null ? -1n : address(file);
      const handle = createPort(fileArg, port === null ? 0n : address(port), BigInt(key), file === null ? 1 : 0);
      return handle == null ? { handle: null, lastError: getLastError() as number } : { handle, lastError: 0 };
    },
    GetQueuedCompletionStatusEx: (port, max) =>
      new Promise((resolve) => {
        const entries = koffi.alloc('uint8_t', OVERLAPPED_ENTRY_SIZE * max);
        const removed = [0];
        // On a libuv pool thread: the JS thread never waits for I/O.
        getQueued.async(port, entries, max, removed, INFINITE, 0, (error: unknown, ok: number) => {
          try {
            if (error || ok === 0) {
              resolve({ ok: false, lastError: UNKNOWN_POOL_STATUS, entries: [] });
              return;
            }
            const count = removed[0] ?? 0;
            const view = Buffer.from(bytes(entries, OVERLAPPED_ENTRY_SIZE * count));
            const out: CompletionEntry[] = [];
            for (let i = 0; i < count; i++) {
              // OVERLAPPED_ENTRY { ULONG_PTR lpCompletionKey; LPOVERLAPPED lpOverlapped; ULONG_PTR Internal; DWORD dwNumberOfBytesTransferred; }
              const key = Number(view.readBigUInt64LE(i * OVERLAPPED_ENTRY_SIZE));
              const overlapped = view.readBigUInt64LE(i * OVERLAPPED_ENTRY_SIZE + PIPE_LAYOUT.OVERLAPPED_ENTRY_LP_OVERLAPPED);
              const transferred = view.readUInt32LE(i * OVERLAPPED_ENTRY_SIZE + PIPE_LAYOUT.OVERLAPPED_ENTRY_BYTES_TRANSFERRED);
              out.push({ key, io: live.get(overlapped) ?? null, bytes: transferred });
            }
            resolve({ ok: true, lastError: 0, entries: out });
          } finally {
            koffi.free(entries);
          }
        });
      }),
    PostQueuedCompletionStatus: (port, key) => result(postQueued(port, 0, BigInt(key), null) !== 0),
    ConnectNamedPipe: (pipe, io) => {
      const block = io as RealIo;
      bytes(block.overlapped, OVERLAPPED_SIZE).fill(0);
      return result(connectPipe(pipe, block.overlapped) !== 0);
    },
    ReadFile: (pipe, io, length) => {
      const block = io as RealIo;
      bytes(block.overlapped, OVERLAPPED_SIZE).fill(0);
      return result(readFile(pipe, block.buffer, Math.min(length, block.capacity), null, block.overlapped) !== 0);
    },
    WriteFile: (pipe, io, data) => {
      const block = io as RealIo;
      const n = Math.min(data.length, block.capacity);
      bytes(block.buffer, block.capacity).set(data.subarray(0, n));
      bytes(block.overlapped, OVERLAPPED_SIZE).fill(0);
      return result(writeFile(pipe, block.buffer, n, null, block.overlapped) !== 0);
    },
    GetOverlappedResult: (pipe, io) => {
      const transferred = [0];
      const ok = getOverlapped(pipe, (io as RealIo).overlapped, transferred, 0) !== 0;
      return { ok, bytes: transferred[0] ?? 0, lastError: ok ? 0 : (getLastError() as number) };
    },
    CancelIoEx: (pipe, io) => result(cancelIoEx(pipe, io === null ? null : (io as RealIo).overlapped) !== 0),
    DisconnectNamedPipe: (pipe) => result(disconnectPipe(pipe) !== 0),
    GetNamedPipeClientProcessId: (pipe) => {
      const pid = [0];
      const ok = clientPid(pipe, pid) !== 0;
      return { ok, pid: pid[0] ?? 0, lastError: ok ? 0 : (getLastError() as number) };
    },
    ImpersonateNamedPipeClient: (pipe) => result(impersonate(pipe) !== 0),
    OpenThreadToken: (access, openAsSelf) => {
      const token: unknown[] = [null];
      const ok = openThreadToken(getCurrentThread(), access, openAsSelf ? 1 : 0, token) !== 0;
      return ok ? { token: token[0] as Win32Handle, lastError: 0 } : { token: null, lastError: getLastError() as number };
    },
    RevertToSelf: () => result(revertToSelf() !== 0),
    GetTokenInformation: (token, infoClass, length) => {
      const returned = [0];
      if (length === 0) {
        const ok = getTokenInformation(token, infoClass, null, 0, returned) !== 0;
        return { ok, returnLength: returned[0] ?? 0, lastError: ok ? 0 : (getLastError() as number) };
      }
      // Native memory: the SID pointers inside point into it, and we decode them by its address.
      const block = koffi.alloc('uint8_t', length);
      try {
        const ok = getTokenInformation(token, infoClass, block, length, returned) !== 0;
        if (!ok) return { ok, returnLength: returned[0] ?? 0, lastError: getLastError() as number };
        return { ok, returnLength: returned[0] ?? 0, lastError: 0, block: bytes(block, length).slice(), base: address(block) };
      } finally {
        koffi.free(block);
      }
    },
    CloseHandle: (handle) => void closeHandle(handle),
    allocIo: (capacity) => {
      const overlapped = koffi.alloc('uint8_t', OVERLAPPED_SIZE);
      const buffer = koffi.alloc('uint8_t', capacity);
      const io: RealIo = { capacity, overlapped, buffer, address: address(overlapped) };
      live.set(io.address, io);
      return io;
    },
    ioData: (io, length) => bytes((io as RealIo).buffer, Math.min(length, io.capacity)).slice(),
    freeIo: (io) => {
      const block = io as RealIo;
      live.delete(block.address);
      koffi.free(block.overlapped as any);
      koffi.free(block.buffer as any);
    },
  };
}
