/**
 * The API sees who really connects: a child process running as uid 65534 ('nobody', via
 * setpriv, with a supplementary group) talks to a server that uses the real SO_PEERCRED and
 * SO_PEERGROUPS, and can neither see nor release root's lease. No namespace is needed: the
 * socket lives in a temporary directory, and nothing touches the network.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lease } from '../../src/api/client.js';
import { MemoryLeaseService } from '../../src/api/memory-lease-service.js';
import { compilePolicy } from '../../src/api/policy.js';
import { ApiServer } from '../../src/api/server.js';
import { requirePrivileged } from '../helpers/netns.js';

const CLIENT = fileURLToPath(new URL('../../src/api/client.js', import.meta.url));
const NOBODY = 65534;
const GROUP = 4000 + (process.pid % 1000);

/** Runs `body` (an async function body using `client` and `socketPath`) as nobody; returns what it prints as JSON. */
function runAsNobody(socketPath: string, groups: number[], body: string): Promise<{ pid: number; result: unknown }> {
  const script = `
    const client = await import(${JSON.stringify(CLIENT)});
    const socketPath = ${JSON.stringify(socketPath)};
    const attempt = async (fn) => { try { return { ok: await fn() }; } catch (e) { return { code: e.code, message: e.message }; } };
    const result = await (async () => { ${body} })();
    process.stdout.write(JSON.stringify(result));
  `;
  const groupArgs = groups.length === 0 ? ['--clear-groups'] : ['--groups', groups.join(',')];
  const child = spawn('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), ...groupArgs, process.execPath, '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`child exited ${code}: ${err}`));
      else resolve({ pid: child.pid ?? -1, result: JSON.parse(out) as unknown });
    });
  });
}

test('SO_PEERCRED: a non-root client is seen as itself and cannot touch root\'s lease', async (t) => {
  if (!requirePrivileged(t, ['setpriv'])) return;
  const dir = mkdtempSync(path.join(tmpdir(), 's6t-api-'));
  chmodSync(dir, 0o755);
  const socketPath = path.join(dir, 'api.sock');
  const service = new MemoryLeaseService({ interfaces: { eth0: ['2001:db8:5::/64'] } });
  const server = await ApiServer.listen({ socketPath, service, socketMode: 0o666, policy: compilePolicy({ groups: [GROUP] }) });
  try {
    const rootLease = await lease({ label: 'root-app', interface: 'eth0', persistent: true, socketPath });
    assert.equal(rootLease.lease.uid, 0);

    const { pid, result } = await runAsNobody(
      socketPath,
      [GROUP],
      `return {
        lease: await attempt(async () => (await client.lease({ label: 'nobody-app', interface: 'eth0', persistent: true, socketPath })).lease),
        list: await attempt(() => client.listLeases({ socketPath })),
        releaseRoot: await attempt(() => client.releaseLease({ label: 'root-app', interface: 'eth0', socketPath })),
        status: await attempt(() => client.status({ socketPath })),
      };`,
    );
    const r = result as {
      lease: { ok: { uid: number } };
      list: { ok: { label: string }[] };
      releaseRoot: { code: string };
      status: { ok: { interfaces: { addresses: { label: string }[] }[] } };
    };
    assert.equal(r.lease.ok.uid, NOBODY);
    assert.deepEqual(r.list.ok.map((l) => l.label), ['nobody-app']);
    assert.equal(r.releaseRoot.code, 'ERR_API_NOT_FOUND');
    assert.deepEqual(r.status.ok.interfaces[0]?.addresses.map((a) => a.label), ['', 'nobody-app']);

    // What the kernel told the server, as the service received it.
    const call = service.calls.find((c) => c.method === 'lease' && c.caller?.uid === NOBODY);
    assert.equal(call?.caller?.gid, NOBODY);
    assert.equal(call?.caller?.pid, pid, 'setpriv execs node in place: the same pid');
    assert.ok(call?.caller?.groups.includes(GROUP), 'SO_PEERGROUPS carries the supplementary group');

    // Without the group the policy refuses; root's lease was never touched.
    const { result: refused } = await runAsNobody(socketPath, [], `return await attempt(() => client.lease({ label: 'other', interface: 'eth0', persistent: true, socketPath }));`);
    assert.equal((refused as { code: string }).code, 'ERR_API_FORBIDDEN');
    assert.deepEqual(service.list().map((l) => [l.label, l.uid]).sort(), [['nobody-app', NOBODY], ['root-app', 0]]);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
