// The named-pipe client identity chain, over a fake kernel32/advapi32 function table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStable6Error } from '../../../src/errors.js';
import { WIN32_STATUS } from '../../../src/codec/win32/constants.js';
import {
  PROCESS_QUERY_LIMITED_INFORMATION,
  TOKEN_QUERY,
  TOKEN_USER_CLASS,
  loadPipeIdentityApi,
  pipeClientSid,
  type PipeIdentityApi,
} from '../../../src/platform/windows/pipe-identity.js';

// S-1-5-21-1-2-3-1001 as Windows stores it: revision 1, 5 sub-authorities, authority 5 (NT).
const SID_BYTES = Uint8Array.from([
  1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xe9, 0x03, 0, 0,
]);

interface FakeState {
  open: Set<string>;
  calls: string[];
}

function fakeApi(overrides: Partial<PipeIdentityApi> = {}): { api: PipeIdentityApi; state: FakeState } {
  const state: FakeState = { open: new Set(), calls: [] };
  const api: PipeIdentityApi = {
    GetNamedPipeClientProcessId: (pipe) => {
      state.calls.push('GetNamedPipeClientProcessId');
      return pipe === 'pipe' ? { ok: true, pid: 4242, lastError: 0 } : { ok: false, pid: 0, lastError: WIN32_STATUS.ERROR_INVALID_HANDLE };
    },
    OpenProcess: (access, inherit, pid) => {
      state.calls.push('OpenProcess');
      assert.equal(access, PROCESS_QUERY_LIMITED_INFORMATION);
      assert.equal(inherit, false);
      assert.equal(pid, 4242);
      state.open.add('process');
      return { handle: 'process', lastError: 0 };
    },
    OpenProcessToken: (process, access) => {
      state.calls.push('OpenProcessToken');
      assert.equal(process, 'process');
      assert.equal(access, TOKEN_QUERY);
      state.open.add('token');
      return { token: 'token', lastError: 0 };
    },
    GetTokenInformation: (token, infoClass, length) => {
      state.calls.push(`GetTokenInformation(${length})`);
      assert.equal(token, 'token');
      assert.equal(infoClass, TOKEN_USER_CLASS);
      if (length < 16 + SID_BYTES.length) return { ok: false, returnLength: 16 + SID_BYTES.length, lastError: WIN32_STATUS.ERROR_INSUFFICIENT_BUFFER };
      return { ok: true, returnLength: 16 + SID_BYTES.length, lastError: 0, sid: SID_BYTES };
    },
    ConvertSidToStringSidW: (sid) => {
      state.calls.push('ConvertSidToStringSidW');
      assert.deepEqual(sid, SID_BYTES);
      return { ok: true, sid: 'S-1-5-21-1-2-3-1001', lastError: 0 };
    },
    CloseHandle: (handle) => {
      state.calls.push(`CloseHandle(${String(handle)})`);
      assert.ok(state.open.delete(String(handle)), `closing ${String(handle)} twice or never opened`);
    },
    ...overrides,
  };
  return { api, state };
}

test('the client of a pipe: pid, then its token user, as a string SID; every handle closed', () => {
  const { api, state } = fakeApi();
  assert.deepEqual(pipeClientSid('pipe', api), { pid: 4242, sid: 'S-1-5-21-1-2-3-1001' });
  assert.deepEqual(state.calls, [
    'GetNamedPipeClientProcessId',
    'OpenProcess',
    'OpenProcessToken',
    'GetTokenInformation(0)',
    'GetTokenInformation(44)',
    'ConvertSidToStringSidW',
    'CloseHandle(token)',
    'CloseHandle(process)',
  ]);
  assert.equal(state.open.size, 0);
});

function rejects(run: () => unknown, fn: string, status: string): void {
  assert.throws(run, (error) => {
    assert.ok(isStable6Error(error, 'ERR_WIN32_PIPE_IDENTITY'));
    assert.equal(error.details.function, fn);
    assert.equal(error.details.status, status);
    return true;
  });
}

test('no client on the pipe: GetNamedPipeClientProcessId named', () => {
  const { api, state } = fakeApi();
  rejects(() => pipeClientSid('closed-pipe', api), 'GetNamedPipeClientProcessId', 'ERROR_INVALID_HANDLE');
  assert.equal(state.open.size, 0);
});

test('a process we may not open (it exited, or is protected): OpenProcess named', () => {
  const { api } = fakeApi({ OpenProcess: () => ({ handle: null, lastError: WIN32_STATUS.ERROR_ACCESS_DENIED }) });
  rejects(() => pipeClientSid('pipe', api), 'OpenProcess', 'ERROR_ACCESS_DENIED');
});

test('a token we may not open: the process handle is still closed', () => {
  const { api, state } = fakeApi({ OpenProcessToken: () => ({ token: null, lastError: WIN32_STATUS.ERROR_ACCESS_DENIED }) });
  rejects(() => pipeClientSid('pipe', api), 'OpenProcessToken', 'ERROR_ACCESS_DENIED');
  assert.equal(state.open.size, 0);
  assert.ok(state.calls.includes('CloseHandle(process)'));
});

test('GetTokenInformation failing at either step, and an unreadable SID: both handles closed', () => {
  for (const override of [
    { GetTokenInformation: () => ({ ok: false, returnLength: 0, lastError: WIN32_STATUS.ERROR_NO_TOKEN }) },
    { GetTokenInformation: () => ({ ok: true, returnLength: 4, lastError: 0 }) },
  ]) {
    const { api, state } = fakeApi(override);
    assert.throws(() => pipeClientSid('pipe', api), (error) => isStable6Error(error, 'ERR_WIN32_PIPE_IDENTITY') && error.details.function === 'GetTokenInformation');
    assert.equal(state.open.size, 0);
  }
  const base = fakeApi();
  const { api, state } = fakeApi({
    GetTokenInformation: (token, infoClass, length) =>
      length === 0 ? base.api.GetTokenInformation(token, infoClass, 0) : { ok: false, returnLength: 0, lastError: WIN32_STATUS.ERROR_NOT_ENOUGH_MEMORY },
  });
  rejects(() => pipeClientSid('pipe', api), 'GetTokenInformation', 'ERROR_NOT_ENOUGH_MEMORY');
  assert.equal(state.open.size, 0);
  const garbled = fakeApi({ ConvertSidToStringSidW: () => ({ ok: true, sid: 'not a sid', lastError: 0 }) });
  rejects(() => pipeClientSid('pipe', garbled.api), 'ConvertSidToStringSidW', 'ERROR_INVALID_SID');
  assert.equal(garbled.state.open.size, 0);
});

test('the real bindings refuse to load off Windows', { skip: process.platform === 'win32' }, () => {
  assert.throws(() => loadPipeIdentityApi(), (error) => isStable6Error(error, 'ERR_WIN32_UNAVAILABLE'));
});
