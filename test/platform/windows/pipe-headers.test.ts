// The named-pipe server's constants and the layouts its binding reads by offset, checked by a C
// compiler against the mingw-w64 Windows headers (like test/codec/win32/layout-headers.test.ts).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as api from '../../../src/platform/windows/pipe-server-api.js';
import * as sid from '../../../src/platform/windows/pipe-sid.js';

const CC = 'x86_64-w64-mingw32-gcc';

function haveCompiler(t: TestContext): boolean {
  if (spawnSync(CC, ['--version'], { encoding: 'utf8' }).status === 0) return true;
  const reason = `${CC} not found (Debian: gcc-mingw-w64-x86-64 mingw-w64-x86-64-dev)`;
  if (process.env.CI === 'true') throw new Error(`pipe header test cannot run under CI=true: ${reason}`);
  t.skip(reason);
  return false;
}

function compile(source: string): { ok: boolean; stderr: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'stable6-pipe-h-'));
  try {
    const file = path.join(dir, 'pipe.c');
    writeFileSync(file, source);
    const result = spawnSync(CC, ['-fsyntax-only', '-std=c11', '-Wall', file], { encoding: 'utf8' });
    return { ok: result.status === 0, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** C expression → the value our TypeScript uses. */
function facts(): [string, number][] {
  const L = api.PIPE_LAYOUT;
  return [
    ...Object.entries(api.PIPE_STATUS).map(([name, value]): [string, number] => [name, value]),
    ['PIPE_ACCESS_DUPLEX', api.PIPE_ACCESS_DUPLEX],
    ['FILE_FLAG_FIRST_PIPE_INSTANCE', api.FILE_FLAG_FIRST_PIPE_INSTANCE],
    ['FILE_FLAG_OVERLAPPED', api.FILE_FLAG_OVERLAPPED],
    ['PIPE_TYPE_BYTE', api.PIPE_TYPE_BYTE],
    ['PIPE_READMODE_BYTE', api.PIPE_READMODE_BYTE],
    ['PIPE_WAIT', api.PIPE_WAIT],
    ['PIPE_REJECT_REMOTE_CLIENTS', api.PIPE_REJECT_REMOTE_CLIENTS],
    ['PIPE_UNLIMITED_INSTANCES', api.PIPE_UNLIMITED_INSTANCES],
    ['FILE_CREATE_PIPE_INSTANCE', api.FILE_CREATE_PIPE_INSTANCE],
    ['TOKEN_QUERY', api.TOKEN_QUERY],
    ['TokenUser', api.TOKEN_USER_CLASS],
    ['TokenGroups', api.TOKEN_GROUPS_CLASS],
    ['SDDL_REVISION_1', api.SDDL_REVISION_1],
    ['SE_GROUP_MANDATORY', sid.SE_GROUP_MANDATORY],
    ['SE_GROUP_ENABLED_BY_DEFAULT', sid.SE_GROUP_ENABLED_BY_DEFAULT],
    ['SE_GROUP_ENABLED', sid.SE_GROUP_ENABLED],
    ['SE_GROUP_USE_FOR_DENY_ONLY', sid.SE_GROUP_USE_FOR_DENY_ONLY],
    ['SE_GROUP_LOGON_ID', sid.SE_GROUP_LOGON_ID],
    ['SID_MAX_SUB_AUTHORITIES', sid.SID_MAX_SUB_AUTHORITIES],
    ['sizeof(SID_AND_ATTRIBUTES)', sid.SID_AND_ATTRIBUTES_SIZE],
    ['offsetof(SID_AND_ATTRIBUTES, Attributes)', 8],
    ['offsetof(TOKEN_GROUPS, Groups)', sid.TOKEN_GROUPS_GROUPS_OFFSET],
    ['sizeof(OVERLAPPED)', L.OVERLAPPED_SIZE],
    ['sizeof(OVERLAPPED_ENTRY)', L.OVERLAPPED_ENTRY_SIZE],
    ['offsetof(OVERLAPPED_ENTRY, lpOverlapped)', L.OVERLAPPED_ENTRY_LP_OVERLAPPED],
    ['offsetof(OVERLAPPED_ENTRY, dwNumberOfBytesTransferred)', L.OVERLAPPED_ENTRY_BYTES_TRANSFERRED],
    ['sizeof(SECURITY_ATTRIBUTES)', L.SECURITY_ATTRIBUTES_SIZE],
    ['offsetof(SECURITY_ATTRIBUTES, lpSecurityDescriptor)', L.SECURITY_ATTRIBUTES_DESCRIPTOR],
    ['offsetof(SECURITY_ATTRIBUTES, bInheritHandle)', L.SECURITY_ATTRIBUTES_INHERIT],
  ];
}

function source(list: [string, number][]): string {
  const lines = ['#include <windows.h>', '#include <sddl.h>', '#include <stddef.h>'];
  // Compare as unsigned 64-bit: SE_GROUP_LOGON_ID is 0xC0000000L in the header.
  for (const [expr, value] of list) lines.push(`_Static_assert((unsigned long long)(${expr}) == ${value}ULL, "${expr.replace(/"/g, '')} == ${value}");`);
  return `${lines.join('\n')}\n`;
}

test('the pipe server constants and layouts match the mingw-w64 Windows headers', (t) => {
  if (!haveCompiler(t)) return;
  const list = facts();
  assert.ok(list.length > 40);
  const result = compile(source(list));
  assert.ok(result.ok, result.stderr);
});

test('the pipe header check can fail', (t) => {
  if (!haveCompiler(t)) return;
  const result = compile(source([['sizeof(OVERLAPPED_ENTRY)', 24]]));
  assert.equal(result.ok, false);
  assert.match(result.stderr, /OVERLAPPED_ENTRY/);
});

test('the koffi binding is not loaded at import, and loading it off Windows is ERR_WIN32_UNAVAILABLE', async () => {
  const { loadPipeServerApi } = await import('../../../src/platform/windows/pipe-kernel32.js');
  if (process.platform === 'win32') return;
  assert.throws(() => loadPipeServerApi(), { code: 'ERR_WIN32_UNAVAILABLE' });
});
