import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { lstatSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compilePolicy } from '../../src/api/policy.js';
import { ApiServer } from '../../src/api/server.js';
import { LeaseAgent } from '../../src/api/client.js';
import { MemoryLeaseService } from '../../src/api/memory-lease-service.js';
import type { Lease, StatusReport } from '../../src/api/protocol.js';
import { Stable6Error } from '../../src/errors.js';
import { errorCode, request, startHarness, until } from './helpers.js';

const leaseOf = (body: unknown): Lease => (body as { lease: Lease }).lease;
const leasesOf = (body: unknown): Lease[] => (body as { leases: Lease[] }).leases;

test('POST /v1/leases answers with one usable address per prefix, owned by the connecting uid', async () => {
  const h = await startHarness();
  try {
    h.as(1000);
    const first = await request(h.socketPath, 'POST', '/v1/leases', { label: 'web', interface: 'eth0', persistent: true });
    assert.equal(first.status, 201);
    const lease = leaseOf(first.body);
    assert.equal(lease.uid, 1000);
    assert.equal(lease.persistent, true);
    assert.deepEqual(lease.addresses.map((a) => a.prefix), ['2001:db8:1:2::/64', '2001:db8:9:9::/64']);
    assert.ok(lease.addresses.every((a) => a.state === 'preferred'));
    assert.ok(lease.addresses[0]?.address.startsWith('2001:db8:1:2:'));
    // The same request again is the same lease, not a new one.
    const again = await request(h.socketPath, 'POST', '/v1/leases', { label: 'web', interface: 'eth0', persistent: true });
    assert.equal(again.status, 200);
    assert.deepEqual(leaseOf(again.body), lease);
    // The identity passed to the service is the kernel's, with a connection id.
    const call = h.service.calls.find((c) => c.method === 'lease');
    assert.equal(call?.caller?.uid, 1000);
    assert.match(call?.caller?.connectionId ?? '', /^c\d+$/);
  } finally {
    await h.close();
  }
});

test('identity never comes from the body: a uid field is refused', async () => {
  const h = await startHarness();
  try {
    const reply = await request(h.socketPath, 'POST', '/v1/leases', { label: 'web', interface: 'eth0', uid: 0 });
    assert.equal(reply.status, 400);
    assert.equal(errorCode(reply), 'ERR_API_BAD_REQUEST');
    assert.equal(h.service.list().length, 0);
  } finally {
    await h.close();
  }
});

test('a user lists and releases only their own leases; root sees and releases all', async () => {
  const h = await startHarness();
  try {
    h.as(1000);
    await request(h.socketPath, 'POST', '/v1/leases', { label: 'a', interface: 'eth0', persistent: true });
    h.as(1001);
    await request(h.socketPath, 'POST', '/v1/leases', { label: 'b', interface: 'eth1', persistent: true });

    const mine = await request(h.socketPath, 'GET', '/v1/leases');
    assert.deepEqual(leasesOf(mine.body).map((l) => l.label), ['b']);

    // 1001 cannot release 1000's lease, and is told it does not exist.
    const denied = await request(h.socketPath, 'DELETE', '/v1/leases/eth0/a');
    assert.equal(denied.status, 404);
    assert.equal(errorCode(denied), 'ERR_API_NOT_FOUND');
    assert.equal(h.service.list().length, 2);

    h.as(0);
    const all = await request(h.socketPath, 'GET', '/v1/leases');
    assert.deepEqual(leasesOf(all.body).map((l) => l.label).sort(), ['a', 'b']);
    const released = await request(h.socketPath, 'DELETE', '/v1/leases/eth0/a');
    assert.equal(released.status, 200);
    assert.equal(leaseOf(released.body).uid, 1000);
    assert.deepEqual(h.service.calls.at(-1)?.arg, { interface: 'eth0', label: 'a', ownerUid: 1000 });

    h.as(1001);
    const own = await request(h.socketPath, 'DELETE', '/v1/leases/eth1/b');
    assert.equal(own.status, 200);
    assert.equal(h.service.list().length, 0);
    const gone = await request(h.socketPath, 'DELETE', '/v1/leases/eth1/b');
    assert.equal(errorCode(gone), 'ERR_API_NOT_FOUND');
  } finally {
    await h.close();
  }
});

test('a label another user holds is ERR_API_LABEL_TAKEN (same label, same address)', async () => {
  const h = await startHarness();
  try {
    h.as(1000);
    await request(h.socketPath, 'POST', '/v1/leases', { label: 'db', interface: 'eth0', persistent: true });
    h.as(1001);
    const reply = await request(h.socketPath, 'POST', '/v1/leases', { label: 'db', interface: 'eth0', persistent: true });
    assert.equal(reply.status, 409);
    assert.equal(errorCode(reply), 'ERR_API_LABEL_TAKEN');
    // On another interface the same label is a different address: allowed.
    const other = await request(h.socketPath, 'POST', '/v1/leases', { label: 'db', interface: 'eth1', persistent: true });
    assert.equal(other.status, 201);
  } finally {
    await h.close();
  }
});

test('GET /v1/status: the fingerprint, never the secret; other users\' lease addresses hidden', async () => {
  const secret = new Uint8Array(32).fill(0xab);
  const h = await startHarness({}, { secret, secretFingerprint: 'fp-1234' });
  try {
    h.as(1000);
    await request(h.socketPath, 'POST', '/v1/leases', { label: 'web', interface: 'eth1', persistent: true });
    h.as(1001);
    const reply = await request(h.socketPath, 'GET', '/v1/status');
    assert.equal(reply.status, 200);
    const status = (reply.body as { status: StatusReport }).status;
    assert.equal(status.secretFingerprint, 'fp-1234');
    assert.ok(!reply.text.includes(Buffer.from(secret).toString('hex')));
    assert.ok(!reply.text.includes('secret"'));
    const eth1 = status.interfaces.find((i) => i.name === 'eth1');
    assert.deepEqual(eth1?.addresses.map((a) => a.label), ['']);
    assert.equal(eth1?.prefixes[0]?.source, 'static');
    h.as(0);
    const root = (await request(h.socketPath, 'GET', '/v1/status')).body as { status: StatusReport };
    const rootEth1 = root.status.interfaces.find((i) => i.name === 'eth1');
    assert.deepEqual(rootEth1?.addresses.map((a) => [a.label, a.owner]), [['', undefined], ['web', 1000]]);
  } finally {
    await h.close();
  }
});

test('GET /v1/events streams the caller\'s own changes as newline-delimited JSON', async () => {
  const h = await startHarness();
  try {
    h.as(1000);
    const lines: { type: string; lease?: Lease }[] = [];
    let buffered = '';
    const req = http.get({ socketPath: h.socketPath, path: '/v1/events', agent: false }, (res) => {
      assert.equal(res.headers['content-type'], 'application/x-ndjson');
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let at;
        while ((at = buffered.indexOf('\n')) >= 0) {
          lines.push(JSON.parse(buffered.slice(0, at)) as { type: string });
          buffered = buffered.slice(at + 1);
        }
      });
    });
    req.on('error', () => undefined);
    await until(() => lines.length === 1);
    assert.deepEqual(lines[0], { type: 'subscribed', version: 1 });
    h.as(1001);
    await request(h.socketPath, 'POST', '/v1/leases', { label: 'theirs', interface: 'eth0', persistent: true });
    h.as(1000);
    await request(h.socketPath, 'POST', '/v1/leases', { label: 'mine', interface: 'eth0', persistent: true });
    await request(h.socketPath, 'DELETE', '/v1/leases/eth0/mine');
    await until(() => lines.some((l) => l.type === 'lease-released'));
    assert.deepEqual(
      lines.slice(1).map((l) => [l.type, l.lease?.label, l.lease?.addresses[0]?.state]),
      [
        ['lease-changed', 'mine', 'tentative'],
        ['lease-changed', 'mine', 'preferred'],
        ['lease-released', 'mine', 'preferred'],
      ],
    );
    req.destroy();
    await until(() => h.service.listenerCount === 0);
  } finally {
    await h.close();
  }
});

test('errors carry stable codes and HTTP statuses', async () => {
  let fail = false;
  const h = await startHarness({}, { dad: () => Promise.resolve(!fail) });
  try {
    const cases: [string, string, unknown, number, string][] = [
      ['GET', '/v1/nothing', undefined, 404, 'ERR_API_NOT_FOUND'],
      ['GET', '/v2/leases', undefined, 404, 'ERR_API_NOT_FOUND'],
      ['PUT', '/v1/leases', undefined, 405, 'ERR_API_METHOD'],
      ['POST', '/v1/status', undefined, 405, 'ERR_API_METHOD'],
      ['POST', '/v1/leases', [1, 2], 400, 'ERR_API_BAD_REQUEST'],
      ['POST', '/v1/leases', { label: 'x' }, 400, 'ERR_API_BAD_REQUEST'],
      ['POST', '/v1/leases', { label: '-x', interface: 'eth0' }, 400, 'ERR_API_BAD_REQUEST'],
      ['POST', '/v1/leases', { label: 'a b', interface: 'eth0' }, 400, 'ERR_API_BAD_REQUEST'],
      ['POST', '/v1/leases', { label: 'x'.repeat(256), interface: 'eth0' }, 400, 'ERR_API_BAD_REQUEST'],
      ['POST', '/v1/leases', { label: 'x', interface: 'eth0', persistent: 'yes' }, 400, 'ERR_API_BAD_REQUEST'],
      ['POST', '/v1/leases', { label: 'x', interface: 'nope0' }, 404, 'ERR_API_UNKNOWN_INTERFACE'],
      ['POST', '/v1/leases', { label: 'x', interface: 'empty' }, 503, 'ERR_API_LEASE_FAILED'],
      ['DELETE', '/v1/leases/eth0/%ZZ', undefined, 400, 'ERR_API_BAD_REQUEST'],
      ['DELETE', '/v1/leases/eth0/no-such', undefined, 404, 'ERR_API_NOT_FOUND'],
    ];
    for (const [method, url, body, status, code] of cases) {
      const reply = await request(h.socketPath, method, url, body);
      assert.equal(reply.status, status, `${method} ${url} ${JSON.stringify(body)}`);
      assert.equal(errorCode(reply), code, `${method} ${url}`);
      assert.equal(typeof (reply.body as { error: { message: string } }).error.message, 'string');
    }
    const method = await request(h.socketPath, 'PUT', '/v1/leases');
    assert.equal(method.headers.allow, 'GET, POST');
    const notJson = await request(h.socketPath, 'POST', '/v1/leases', undefined, { raw: '{"label":' });
    assert.equal(errorCode(notJson), 'ERR_API_BAD_REQUEST');
    const bodyOnGet = await request(h.socketPath, 'GET', '/v1/leases', undefined, { raw: '{}' });
    assert.equal(errorCode(bodyOnGet), 'ERR_API_BAD_REQUEST');
    fail = true;
    const dadFailed = await request(h.socketPath, 'POST', '/v1/leases', { label: 'dup', interface: 'eth0' });
    assert.equal(dadFailed.status, 503);
    assert.equal(errorCode(dadFailed), 'ERR_API_LEASE_FAILED');
    assert.equal(h.service.list().length, 0);
  } finally {
    await h.close();
  }
});

test('a failure that is not a Stable6Error is ERR_API_INTERNAL with a generic message', async () => {
  const h = await startHarness();
  try {
    h.service.status = () => {
      throw new Error('secret detail: /etc/stable6/secret');
    };
    const reply = await request(h.socketPath, 'GET', '/v1/status');
    assert.equal(reply.status, 500);
    assert.equal(errorCode(reply), 'ERR_API_INTERNAL');
    assert.ok(!reply.text.includes('secret detail'));
  } finally {
    await h.close();
  }
});

test('policy: users, groups (primary or supplementary) and label patterns', async () => {
  const policy = compilePolicy(
    { users: ['alice'], groups: [2000], labels: ['{user}-*', 'shared-{uid}'] },
    { users: new Map([['alice', 1000], ['bob', 1001], ['carol', 1002]]), groups: new Map() },
  );
  const h = await startHarness({ policy });
  try {
    const lease = (label: string) => request(h.socketPath, 'POST', '/v1/leases', { label, interface: 'eth0', persistent: true });
    h.as(1000);
    assert.equal((await lease('alice-web')).status, 201);
    assert.equal((await lease('shared-1000')).status, 201);
    const wrongLabel = await lease('bob-web');
    assert.equal(wrongLabel.status, 403);
    assert.equal(errorCode(wrongLabel), 'ERR_API_FORBIDDEN');
    h.as(1001);
    const bob = await lease('bob-web');
    assert.equal(errorCode(bob), 'ERR_API_FORBIDDEN');
    h.as(1001, 1001, [2000]);
    assert.equal((await lease('bob-web')).status, 201);
    h.as(1002, 2000);
    assert.equal((await lease('carol-x')).status, 201);
    h.as(1003, 1003, [2000]);
    // A uid with no name cannot match {user}, but {uid} works.
    assert.equal(errorCode(await lease('1003-x')), 'ERR_API_FORBIDDEN');
    assert.equal((await lease('shared-1003')).status, 201);
    h.as(0);
    assert.equal((await lease('anything')).status, 201);
  } finally {
    await h.close();
  }
});

test('the per-user lease limit holds, counting requests still waiting for DAD; root is exempt', async () => {
  const pending: (() => void)[] = [];
  const h = await startHarness(
    { policy: compilePolicy({ maxLeasesPerUser: 2 }) },
    { dad: () => new Promise<boolean>((resolve) => pending.push(() => resolve(true))) },
  );
  try {
    h.as(1000);
    const a = request(h.socketPath, 'POST', '/v1/leases', { label: 'a', interface: 'eth1', persistent: true });
    const b = request(h.socketPath, 'POST', '/v1/leases', { label: 'b', interface: 'eth1', persistent: true });
    await until(() => pending.length === 2);
    const c = await request(h.socketPath, 'POST', '/v1/leases', { label: 'c', interface: 'eth1', persistent: true });
    assert.equal(c.status, 403);
    assert.equal(errorCode(c), 'ERR_API_LIMIT');
    for (const resolve of pending.splice(0)) resolve();
    assert.equal((await a).status, 201);
    assert.equal((await b).status, 201);
    assert.equal(errorCode(await request(h.socketPath, 'POST', '/v1/leases', { label: 'c', interface: 'eth1', persistent: true })), 'ERR_API_LIMIT');
    // Asking again for one it holds is not a new lease.
    const again = request(h.socketPath, 'POST', '/v1/leases', { label: 'a', interface: 'eth1', persistent: true });
    assert.equal((await again).status, 200);
    h.as(1001);
    const other = request(h.socketPath, 'POST', '/v1/leases', { label: 'z', interface: 'eth1', persistent: true });
    await until(() => pending.length === 1);
    pending.shift()?.();
    assert.equal((await other).status, 201);
    h.as(0);
    for (const label of ['r1', 'r2', 'r3']) {
      const reply = request(h.socketPath, 'POST', '/v1/leases', { label, interface: 'eth1', persistent: true });
      await until(() => pending.length === 1);
      pending.shift()?.();
      assert.equal((await reply).status, 201);
    }
  } finally {
    await h.close();
  }
});

test('the total lease limit binds root too', async () => {
  const h = await startHarness({ policy: compilePolicy({ maxLeases: 1 }) });
  try {
    h.as(0);
    assert.equal((await request(h.socketPath, 'POST', '/v1/leases', { label: 'a', interface: 'eth1', persistent: true })).status, 201);
    assert.equal(errorCode(await request(h.socketPath, 'POST', '/v1/leases', { label: 'b', interface: 'eth1', persistent: true })), 'ERR_API_LIMIT');
  } finally {
    await h.close();
  }
});

test('a body over the limit is ERR_API_TOO_LARGE (declared or streamed), and the connection closes', async () => {
  const h = await startHarness({ limits: { maxBodyBytes: 1024 } });
  try {
    const big = JSON.stringify({ label: 'x', interface: 'eth0', pad: 'y'.repeat(2000) });
    const declared = await request(h.socketPath, 'POST', '/v1/leases', undefined, { raw: big });
    assert.equal(declared.status, 413);
    assert.equal(errorCode(declared), 'ERR_API_TOO_LARGE');
    assert.equal(declared.headers.connection, 'close');
    const chunked = await request(h.socketPath, 'POST', '/v1/leases', undefined, { raw: big, headers: { 'transfer-encoding': 'chunked' } });
    assert.equal(chunked.status, 413);
    assert.equal(errorCode(chunked), 'ERR_API_TOO_LARGE');
    // Headers over maxHeaderSize get a JSON error too.
    const headers = await request(h.socketPath, 'GET', '/v1/leases', undefined, { headers: { 'x-pad': 'z'.repeat(20_000) } });
    assert.equal(headers.status, 431);
    assert.equal(errorCode(headers), 'ERR_API_TOO_LARGE');
  } finally {
    await h.close();
  }
});

function openRaw(socketPath: string): Promise<{ socket: net.Socket; received: () => string }> {
  return new Promise((resolve, reject) => {
    let data = '';
    const socket = net.connect(socketPath, () => resolve({ socket, received: () => data }));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', reject);
  });
}

test('too many connections, in total or from one uid, are answered ERR_API_BUSY', async () => {
  const h = await startHarness({ limits: { maxConnections: 3, maxConnectionsPerUser: 2 } });
  const sockets: net.Socket[] = [];
  try {
    h.as(1000);
    for (let i = 0; i < 2; i++) sockets.push((await openRaw(h.socketPath)).socket);
    await until(() => h.server.connectionCount === 2);
    const perUser = await request(h.socketPath, 'GET', '/v1/leases');
    assert.equal(perUser.status, 503);
    assert.equal(errorCode(perUser), 'ERR_API_BUSY');
    h.as(1001);
    sockets.push((await openRaw(h.socketPath)).socket);
    await until(() => h.server.connectionCount === 3);
    h.as(1002);
    const total = await request(h.socketPath, 'GET', '/v1/leases');
    assert.equal(errorCode(total), 'ERR_API_BUSY');
    for (const s of sockets.splice(0)) s.destroy();
    await until(() => h.server.connectionCount === 0);
    assert.equal((await request(h.socketPath, 'GET', '/v1/leases')).status, 200);
  } finally {
    for (const s of sockets) s.destroy();
    await h.close();
  }
});

test('a connection-bound lease is released when its connection closes; a persistent one stays', async () => {
  const h = await startHarness();
  try {
    h.as(1000);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const bound = await request(h.socketPath, 'POST', '/v1/leases', { label: 'bound', interface: 'eth0' }, { agent });
    assert.equal(leaseOf(bound.body).persistent, false);
    await request(h.socketPath, 'POST', '/v1/leases', { label: 'kept', interface: 'eth0', persistent: true });
    assert.deepEqual(h.service.list().map((l) => l.label).sort(), ['bound', 'kept']);
    agent.destroy();
    await until(() => h.service.list().length === 1);
    assert.deepEqual(h.service.list().map((l) => l.label), ['kept']);
  } finally {
    await h.close();
  }
});

test('a connection that closes while its lease waits for DAD does not leave the lease behind', async () => {
  let finish: (() => void) | undefined;
  const h = await startHarness({}, { dad: () => new Promise<boolean>((resolve) => (finish = () => resolve(true))) });
  try {
    const req = http.request({ socketPath: h.socketPath, method: 'POST', path: '/v1/leases', agent: false });
    req.on('error', () => undefined);
    req.end(JSON.stringify({ label: 'early', interface: 'eth1' }));
    await until(() => finish !== undefined);
    req.destroy();
    await until(() => h.service.calls.some((c) => c.method === 'connectionClosed'));
    finish?.();
    await until(() => h.service.list().length === 0);
  } finally {
    await h.close();
  }
});

test('the per-uid rate limit refuses bursts with ERR_API_RATE_LIMITED and Retry-After; time refills it', async () => {
  let now = 0;
  const h = await startHarness({ now: () => now, limits: { rateBurst: 3, ratePerSecond: 1 } });
  try {
    h.as(1000);
    for (let i = 0; i < 3; i++) assert.equal((await request(h.socketPath, 'GET', '/v1/leases')).status, 200);
    const limited = await request(h.socketPath, 'GET', '/v1/leases');
    assert.equal(limited.status, 429);
    assert.equal(errorCode(limited), 'ERR_API_RATE_LIMITED');
    assert.equal(limited.headers['retry-after'], '1');
    // Another user has a bucket of their own; root has none.
    h.as(1001);
    assert.equal((await request(h.socketPath, 'GET', '/v1/leases')).status, 200);
    h.as(0);
    for (let i = 0; i < 5; i++) assert.equal((await request(h.socketPath, 'GET', '/v1/leases')).status, 200);
    h.as(1000);
    now += 1000;
    assert.equal((await request(h.socketPath, 'GET', '/v1/leases')).status, 200);
    assert.equal((await request(h.socketPath, 'GET', '/v1/leases')).status, 429);
  } finally {
    await h.close();
  }
});

test('a client too slow to send its headers is cut off (headersTimeout)', async () => {
  const h = await startHarness({ limits: { headersTimeoutMs: 200, requestTimeoutMs: 300, connectionsCheckingIntervalMs: 50 } });
  try {
    const { socket, received } = await openRaw(h.socketPath);
    socket.write('GET /v1/leases HTTP/1.1\r\nHost: x\r\n');
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    assert.match(received(), /^HTTP\/1\.1 408/);
    assert.match(received(), /ERR_API_BAD_REQUEST/);
  } finally {
    await h.close();
  }
});

test('an idle connection is closed unless it holds a connection-bound lease', async () => {
  const h = await startHarness({ limits: { idleTimeoutMs: 100 } });
  try {
    h.as(1000);
    const agent = new LeaseAgent();
    await request(h.socketPath, 'POST', '/v1/leases', { label: 'held', interface: 'eth0' }, { agent });
    const { socket, received } = await openRaw(h.socketPath);
    socket.write('GET /v1/leases HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    assert.match(received(), /^HTTP\/1\.1 200/);
    // The idle one is gone; the one holding a lease outlived its idle time.
    await until(() => h.server.connectionCount === 1);
    assert.deepEqual(h.service.list().map((l) => l.label), ['held']);
    agent.destroy();
    await until(() => h.service.list().length === 0);
  } finally {
    await h.close();
  }
});

test('the socket file: its mode, a stale socket replaced, a non-socket or a live server refused, removed on close', async () => {
  const h = await startHarness({ socketMode: 0o600 });
  try {
    const stats = lstatSync(h.socketPath);
    assert.ok(stats.isSocket());
    assert.equal(stats.mode & 0o777, 0o600);
    const service = new MemoryLeaseService({ interfaces: {} });
    await assert.rejects(ApiServer.listen({ socketPath: h.socketPath, service }), (e: Stable6Error) => e.code === 'ERR_API_SOCKET');

    const file = path.join(h.dir, 'plain');
    writeFileSync(file, 'data');
    await assert.rejects(ApiServer.listen({ socketPath: file, service }), (e: Stable6Error) => e.code === 'ERR_API_SOCKET');

    // A stale socket: bound, then its server gone without removing the file.
    const stalePath = path.join(h.dir, 'stale.sock');
    const stale = net.createServer();
    await new Promise<void>((resolve) => stale.listen(stalePath, resolve));
    const fd = (stale as unknown as { _handle: { fd: number } })._handle.fd;
    assert.ok(fd >= 0);
    // Closing would unlink; instead leave the file: move it aside, close, move it back.
    const aside = path.join(h.dir, 'aside.sock');
    const { renameSync } = await import('node:fs');
    renameSync(stalePath, aside);
    await new Promise<void>((resolve) => stale.close(() => resolve()));
    renameSync(aside, stalePath);
    assert.ok(lstatSync(stalePath).isSocket());
    const taken = await ApiServer.listen({ socketPath: stalePath, service });
    assert.equal((await request(stalePath, 'GET', '/v1/leases')).status, 200);
    await taken.close();
    assert.throws(() => lstatSync(stalePath), { code: 'ENOENT' });
  } finally {
    await h.close();
  }
  assert.throws(() => lstatSync(h.socketPath), { code: 'ENOENT' });
});
