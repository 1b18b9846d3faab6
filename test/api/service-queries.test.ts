import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compilePolicy } from '../../src/api/policy.js';
import { ApiServer } from '../../src/api/server.js';
import { MemoryLeaseService } from '../../src/api/memory-lease-service.js';
import type { LeaseService } from '../../src/api/service.js';
import type { PeerCredentials } from '../../src/platform/linux/peercred.js';
import { errorCode, PREFIXES, request, until } from './helpers.js';

/** A service with only the required methods: the server answers from list(). */
function listOnly(s: MemoryLeaseService): LeaseService {
  return {
    lease: (caller, request) => s.lease(caller, request),
    list: () => s.list(),
    release: (caller, key, ownerUid) => s.release(caller, key, ownerUid),
    status: () => s.status(),
    subscribe: (listener) => s.subscribe(listener),
    connectionClosed: (id) => s.connectionClosed(id),
  };
}

/**
 * Ownership and limits with requests in flight (DAD held back), the same script against a
 * service with the cheap queries and one without: the same answers, in the same order.
 */
async function script(wrap: (s: MemoryLeaseService) => LeaseService): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 's6api-q-'));
  const socketPath = path.join(dir, 'api.sock');
  const pending: (() => void)[] = [];
  const memory = new MemoryLeaseService({ interfaces: PREFIXES, dad: () => new Promise<boolean>((resolve) => pending.push(() => resolve(true))) });
  let next: PeerCredentials = { pid: 1, uid: 1000, gid: 1000, groups: [] };
  const server = await ApiServer.listen({
    socketPath,
    service: wrap(memory),
    policy: compilePolicy({ maxLeasesPerUser: 2, maxLeases: 4 }),
    identify: () => ({ ...next, groups: [] }),
  });
  const as = (uid: number): void => {
    next = { pid: 1, uid, gid: uid, groups: [] };
  };
  const out: string[] = [];
  const note = (what: string, reply: Awaited<ReturnType<typeof request>>): void => {
    out.push(`${what}: ${reply.status} ${errorCode(reply) ?? ''}`);
  };
  const post = (label: string) => request(socketPath, 'POST', '/v1/leases', { label, interface: 'eth1', persistent: true });
  try {
    as(1000);
    const a = post('a');
    const b = post('b');
    await until(() => pending.length === 2);
    note('1000 c over its limit, two in flight', await post('c'));
    as(1001);
    note('1001 takes a label in flight', await post('a'));
    const again = (as(1000), post('a'));
    await until(() => memory.calls.filter((c) => c.method === 'lease').length === 3);
    as(1001);
    const z = post('z');
    await until(() => pending.length === 3);
    as(0);
    const r = post('r');
    await until(() => pending.length === 4);
    note('root over the total limit', await post('s'));
    for (const resolve of pending.splice(0)) resolve();
    note('1000 a', await a);
    note('1000 b', await b);
    note('1000 a again', await again);
    note('1001 z', await z);
    note('root r', await r);
    as(1001);
    note('1001 releases a of 1000', await request(socketPath, 'DELETE', '/v1/leases/eth1/a'));
    note('1001 takes a', await post('a'));
    as(0);
    note('root releases a of 1000', await request(socketPath, 'DELETE', '/v1/leases/eth1/a'));
    as(1001);
    const y = post('a');
    await until(() => pending.length === 1);
    pending.shift()!();
    note('1001 takes a once free', await y);
    note('1001 over its limit', await post('y'));
    as(1000);
    note('1000 lists', await request(socketPath, 'GET', '/v1/leases'));
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

test('the server\'s ownership and limit checks answer the same with the service\'s cheap queries as from list()', async () => {
  const withQueries = await script((s) => s);
  const fromList = await script(listOnly);
  assert.deepEqual(withQueries, fromList);
  assert.deepEqual(withQueries, [
    '1000 c over its limit, two in flight: 403 ERR_API_LIMIT',
    '1001 takes a label in flight: 409 ERR_API_LABEL_TAKEN',
    'root over the total limit: 403 ERR_API_LIMIT',
    '1000 a: 201 ',
    '1000 b: 201 ',
    '1000 a again: 200 ',
    '1001 z: 201 ',
    'root r: 201 ',
    '1001 releases a of 1000: 404 ERR_API_NOT_FOUND',
    '1001 takes a: 409 ERR_API_LABEL_TAKEN',
    'root releases a of 1000: 200 ',
    '1001 takes a once free: 201 ',
    '1001 over its limit: 403 ERR_API_LIMIT',
    '1000 lists: 200 ',
  ]);
});
