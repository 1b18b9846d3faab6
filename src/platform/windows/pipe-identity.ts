/**
 * Who is at the other end of a named pipe: the Windows counterpart of SO_PEERCRED for the
 * local API (issue 5 serves the same HTTP API over `\\.\pipe\stable6` on Windows).
 *
 *   GetNamedPipeClientProcessId(pipe) -> pid
 *   OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, pid) -> process
 *   OpenProcessToken(process, TOKEN_QUERY) -> token
 *   GetTokenInformation(token, TokenUser) -> TOKEN_USER (its first field points at the SID)
 *   ConvertSidToStringSidW(sid) -> "S-1-5-21-..."
 *
 * The identity is the OS's, never the client's word. Limits, said plainly:
 * - The PID is read when asked: if the client exits and its PID is reused before
 *   OpenProcess, we would name the new process's user. Ask right after accepting, and
 *   prefer ImpersonateNamedPipeClient + OpenThreadToken (not done here) if that window matters.
 * - Node's net.Server does not expose the pipe HANDLE of an accepted connection on Windows
 *   (`socket._handle.fd` is -1 there: libuv's GetFD returns an fd only for pipes opened from
 *   one). The API server must therefore own the pipe (CreateNamedPipeW/ConnectNamedPipe
 *   through koffi) and hand each connection to the HTTP server; see docs/windows.md.
 *
 * The logic runs over a small function table so that it is tested on any OS with a fake;
 * loadPipeIdentityApi() binds the real one (kernel32 + advapi32), lazily. NOT RUN ON WINDOWS.
 */
import { createRequire } from 'node:module';
import { Stable6Error } from '../../errors.js';
import { WIN32_STATUS, win32StatusName } from '../../codec/win32/constants.js';

/** A Win32 HANDLE as the binding represents it (a koffi pointer). */
export type Win32Handle = unknown;

export interface PipeIdentityApi {
  GetNamedPipeClientProcessId(pipe: Win32Handle): { ok: boolean; pid: number; lastError: number };
  OpenProcess(desiredAccess: number, inheritHandle: boolean, pid: number): { handle: Win32Handle | null; lastError: number };
  OpenProcessToken(process: Win32Handle, desiredAccess: number): { token: Win32Handle | null; lastError: number };
  /**
   * TokenUser. With `length` 0: the size needed (ERROR_INSUFFICIENT_BUFFER is the expected
   * answer). Otherwise `sid` holds a copy of the SID that TOKEN_USER.User.Sid points at: that
   * pointer is only valid inside the native block, which the binding frees before returning.
   */
  GetTokenInformation(
    token: Win32Handle,
    infoClass: number,
    length: number,
  ): { ok: boolean; returnLength: number; lastError: number; sid?: Uint8Array };
  /** A SID's bytes as text (the binding frees Windows' string with LocalFree). */
  ConvertSidToStringSidW(sid: Uint8Array): { ok: boolean; sid: string; lastError: number };
  CloseHandle(handle: Win32Handle): void;
}

export const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
export const TOKEN_QUERY = 0x0008;
/** TOKEN_INFORMATION_CLASS TokenUser. */
export const TOKEN_USER_CLASS = 1;

export interface PipeClient {
  pid: number;
  /** The client's user, as a string SID (S-1-5-21-...-1001). */
  sid: string;
}

function fail(fn: string, lastError: number, what: string, details: Record<string, unknown> = {}): Stable6Error {
  const status = win32StatusName(lastError);
  return new Stable6Error('ERR_WIN32_PIPE_IDENTITY', `${fn} failed with ${status} (${lastError}): ${what}`, {
    details: { ...details, function: fn, status, win32Status: lastError },
  });
}

/** The process and user of the client connected to `pipe`; ERR_WIN32_PIPE_IDENTITY otherwise. */
export function pipeClientSid(pipe: Win32Handle, api: PipeIdentityApi = loadPipeIdentityApi()): PipeClient {
  const client = api.GetNamedPipeClientProcessId(pipe);
  if (!client.ok) throw fail('GetNamedPipeClientProcessId', client.lastError, 'no client process on this pipe');
  const pid = client.pid;
  const process = api.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, false, pid);
  if (process.handle === null) throw fail('OpenProcess', process.lastError, `cannot open client process ${pid}`, { pid });
  try {
    const opened = api.OpenProcessToken(process.handle, TOKEN_QUERY);
    if (opened.token === null) throw fail('OpenProcessToken', opened.lastError, `cannot open the token of process ${pid}`, { pid });
    try {
      const size = api.GetTokenInformation(opened.token, TOKEN_USER_CLASS, 0);
      if (size.ok || size.lastError !== WIN32_STATUS.ERROR_INSUFFICIENT_BUFFER || size.returnLength <= 0) {
        throw fail('GetTokenInformation', size.ok ? WIN32_STATUS.ERROR_INVALID_PARAMETER : size.lastError, 'cannot size TOKEN_USER', { pid });
      }
      const info = api.GetTokenInformation(opened.token, TOKEN_USER_CLASS, size.returnLength);
      if (!info.ok || !info.sid) {
        throw fail('GetTokenInformation', info.ok ? WIN32_STATUS.ERROR_INVALID_SID : info.lastError, `cannot read the user of process ${pid}`, { pid });
      }
      const text = api.ConvertSidToStringSidW(info.sid);
      if (!text.ok || !/^S-1-\d+(-\d+)*$/.test(text.sid)) {
        throw fail('ConvertSidToStringSidW', text.ok ? WIN32_STATUS.ERROR_INVALID_SID : text.lastError, 'the token has no readable user SID', { pid });
      }
      return { pid, sid: text.sid };
    } finally {
      api.CloseHandle(opened.token);
    }
  } finally {
    api.CloseHandle(process.handle);
  }
}

let cachedApi: PipeIdentityApi | undefined;

/** Binds kernel32.dll and advapi32.dll (Windows only; ERR_WIN32_UNAVAILABLE elsewhere). */
export function loadPipeIdentityApi(): PipeIdentityApi {
  if (cachedApi) return cachedApi;
  /* eslint-disable @typescript-eslint/no-explicit-any -- koffi's function objects are untyped */
  let koffi: any;
  let kernel32: any;
  let advapi32: any;
  try {
    koffi = createRequire(import.meta.url)('koffi');
    kernel32 = koffi.load('kernel32.dll');
    advapi32 = koffi.load('advapi32.dll');
  } catch (cause) {
    throw new Stable6Error('ERR_WIN32_UNAVAILABLE', 'cannot load koffi, kernel32.dll or advapi32.dll (Windows only)', { cause });
  }
  // BOOL is a 32-bit int; ULONG/DWORD are uint32_t (never koffi's long: 64-bit on Linux).
  const getClientPid = kernel32.func('int __stdcall GetNamedPipeClientProcessId(void *Pipe, _Out_ uint32_t *ClientProcessId)');
  const openProcess = kernel32.func('void * __stdcall OpenProcess(uint32_t dwDesiredAccess, int bInheritHandle, uint32_t dwProcessId)');
  const closeHandle = kernel32.func('int __stdcall CloseHandle(void *hObject)');
  const localFree = kernel32.func('void * __stdcall LocalFree(void *hMem)');
  const getLastError = kernel32.func('uint32_t __stdcall GetLastError()');
  const openProcessToken = advapi32.func('int __stdcall OpenProcessToken(void *ProcessHandle, uint32_t DesiredAccess, _Out_ void **TokenHandle)');
  const getTokenInformation = advapi32.func(
    'int __stdcall GetTokenInformation(void *TokenHandle, int TokenInformationClass, void *TokenInformation, uint32_t TokenInformationLength, _Out_ uint32_t *ReturnLength)',
  );
  const convertSid = advapi32.func('int __stdcall ConvertSidToStringSidW(void *Sid, _Out_ void **StringSid)');
  // GetLastError is read right after the failing call, before any other JS runs.
  cachedApi = {
    GetNamedPipeClientProcessId: (pipe) => {
      const pid = [0];
      const ok = getClientPid(pipe, pid) !== 0;
      return { ok, pid: pid[0] ?? 0, lastError: ok ? 0 : getLastError() };
    },
    OpenProcess: (access, inherit, pid) => {
      const handle = openProcess(access, inherit ? 1 : 0, pid);
      return { handle: handle ?? null, lastError: handle ? 0 : getLastError() };
    },
    OpenProcessToken: (process, access) => {
      const token = [null];
      const ok = openProcessToken(process, access, token) !== 0;
      return { token: ok ? token[0] : null, lastError: ok ? 0 : getLastError() };
    },
    GetTokenInformation: (token, infoClass, length) => {
      const returned = [0];
      if (length === 0) {
        const ok = getTokenInformation(token, infoClass, null, 0, returned) !== 0;
        return { ok, returnLength: returned[0] ?? 0, lastError: ok ? 0 : getLastError() };
      }
      // Native memory, so that the SID pointer inside TOKEN_USER points at something real.
      const block = koffi.alloc('uint8_t', length);
      try {
        const ok = getTokenInformation(token, infoClass, block, length, returned) !== 0;
        if (!ok) return { ok, returnLength: returned[0] ?? 0, lastError: getLastError() };
        const sidPointer = koffi.decode(block, 'void *');
        // SID: Revision, SubAuthorityCount, IdentifierAuthority[6], SubAuthority[count] (DWORDs).
        const count = koffi.decode(sidPointer, 1, 'uint8_t') as number;
        const sid = new Uint8Array(koffi.view(sidPointer, 8 + 4 * count)).slice();
        return { ok, returnLength: returned[0] ?? 0, lastError: 0, sid };
      } finally {
        koffi.free(block);
      }
    },
    ConvertSidToStringSidW: (sid) => {
      const out = [null];
      const ok = convertSid(Buffer.from(sid), out) !== 0;
      if (!ok) return { ok, sid: '', lastError: getLastError() };
      try {
        return { ok, sid: koffi.decode(out[0], 'char16_t *') as string, lastError: 0 };
      } finally {
        localFree(out[0]);
      }
    },
    CloseHandle: (handle) => void closeHandle(handle),
  };
  return cachedApi;
}
