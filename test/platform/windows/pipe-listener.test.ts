// The local API over a Windows named pipe: real HTTP through NamedPipeListener (the same
// TypeScript as on Windows) into the real ApiServer, over FakePipeKernel instead of kernel32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease } from '../../../src/api/protocol.js';
import { isStable6Error } from '../../../src/errors.js';
import {
  FILE_FLAG_FIRST_PIPE_INSTANCE,
  FILE_FLAG_OVERLAPPED,
  PIPE_ACCESS_DUPLEX,
  PIPE_REJECT_REMOTE_CLIENTS,
  PIPE_STATUS,
} from '../../../src/platform/windows/pipe-server-api.js';
import { FakePipeKernel, fakeUserToken } from '../../../src/platform/windows/pipe-fake.js';
import { NamedPipeListener } from '../../../src/platform/windows/pipe-listener.js';
import { uidForSid } from '../../../src/platform/windows/pipe-sid.js';
import {
  ALICE,
  BOB,
  PIPE,
  alice,
  assertClean,
  bob,
  closed,
  codeOf,
  elevatedAdmin,
  filteredAdmin,
  mallory,
  pipeRequest,
  rawClient,
  startPipeHarness,
  until,
} from './pipe-helpers.js';

const leaseOf = (body: unknown): Lease => (body as { lease: Lease }).lease;
const leasesOf = (body: unknown): Lease[] => (body as { leases: Lease[] }).leases;

test('a lease over the pipe belongs to the SID of the client token; another user neither sees nor releases it', async () => {
  const h = await startPipeHarness();
  try {
    const made = await pipeRequest(h.kernel, alice, 'POST', '/v1/leases', { label: 'web', interface: 'eth0', persistent: true });
    assert.equal(made.status, 201, made.text);
    assert.equal(leaseOf(made.body).uid, uidForSid(ALICE));
    // The service heard the caller with the SIDs the uid stands for.
    const call = h.service.calls.find((c) => c.method === 'lease');
    assert.equal(call?.caller?.sid, ALICE);
    assert.ok(call?.caller?.groupSids?.includes('S-1-5-11'));
    assert.equal(call?.caller?.pid, 777);

    const bobsView = await pipeRequest(h.kernel, bob, 'GET', '/v1/leases');
    assert.deepEqual(leasesOf(bobsView.body), []);
    const denied = await pipeRequest(h.kernel, bob, 'DELETE', '/v1/leases/eth0/web');
    assert.equal(denied.status, 404);
    assert.equal(codeOf(denied), 'ERR_API_NOT_FOUND');
    // Same RID (1001) as alice, another domain: another person, another uid.
    const sameRid = await pipeRequest(h.kernel, mallory, 'DELETE', '/v1/leases/eth0/web');
    assert.equal(codeOf(sameRid), 'ERR_API_NOT_FOUND');
    const taken = await pipeRequest(h.kernel, bob, 'POST', '/v1/leases', { label: 'web', interface: 'eth0' });
    assert.equal(codeOf(taken), 'ERR_API_LABEL_TAKEN');
    assert.equal(h.service.list().length, 1);

    const mine = await pipeRequest(h.kernel, alice, 'GET', '/v1/leases');
    assert.deepEqual(leasesOf(mine.body).map((l) => l.label), ['web']);
  } finally {
    await h.close();
  }
  assert.deepEqual(assertClean(h.kernel, h.listener), []);
});

test('an elevated administrator is root (sees and releases all); the same account unelevated is an ordinary user', async () => {
  const h = await startPipeHarness();
  try {
    await pipeRequest(h.kernel, alice, 'POST', '/v1/leases', { label: 'a', interface: 'eth0', persistent: true });
    await pipeRequest(h.kernel, bob, 'POST', '/v1/leases', { label: 'b', interface: 'eth1', persistent: true });

    const filtered = await pipeRequest(h.kernel, filteredAdmin, 'GET', '/v1/leases');
    assert.deepEqual(leasesOf(filtered.body), []);
    const refused = await pipeRequest(h.kernel, filteredAdmin, 'DELETE', '/v1/leases/eth0/a');
    assert.equal(codeOf(refused), 'ERR_API_NOT_FOUND');

    const all = await pipeRequest(h.kernel, elevatedAdmin, 'GET', '/v1/leases');
    assert.deepEqual(leasesOf(all.body).map((l) => l.label).sort(), ['a', 'b']);
    const released = await pipeRequest(h.kernel, elevatedAdmin, 'DELETE', '/v1/leases/eth0/a');
    assert.equal(released.status, 200, released.text);
    assert.equal(leaseOf(released.body).uid, uidForSid(ALICE));
    assert.deepEqual(h.service.list().map((l) => l.label), ['b']);

    // LocalSystem is root too.
    const system = await pipeRequest(h.kernel, { user: 'S-1-5-18', groups: [] }, 'DELETE', '/v1/leases/eth1/b');
    assert.equal(system.status, 200, system.text);
    assert.equal(h.service.list().length, 0);
  } finally {
    await h.close();
  }
  assert.deepEqual(assertClean(h.kernel, h.listener), []);
});

test('pipe instances: overlapped duplex, the first one exclusive, remote clients rejected, one listening at a time', async () => {
  const h = await startPipeHarness();
  try {
    const [first, ...rest] = h.kernel.created;
    assert.ok(first);
    assert.equal(first.name, PIPE);
    assert.equal(first.openMode, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE);
    assert.equal(first.pipeMode & PIPE_REJECT_REMOTE_CLIENTS, PIPE_REJECT_REMOTE_CLIENTS);
    assert.equal(rest.length, 0);
    assert.deepEqual(h.kernel.instanceStates(PIPE), { listening: 1 });

    // Two clients at once: each gets an instance; the next always listens.
    const a = await rawClient(h.kernel, alice);
    await until(() => h.kernel.instanceStates(PIPE).listening === 1 && h.kernel.instanceStates(PIPE).connected === 1);
    const b = await rawClient(h.kernel, bob);
    await until(() => h.kernel.instanceStates(PIPE).connected === 2 && h.kernel.instanceStates(PIPE).listening === 1);
    for (const later of h.kernel.created.slice(1)) assert.equal(later.openMode & FILE_FLAG_FIRST_PIPE_INSTANCE, 0);
    a.destroy();
    b.destroy();
    await until(() => h.kernel.instanceStates(PIPE).connected === undefined);

    assert.throws(() => h.kernel.connect(PIPE, alice, { remote: true }), { code: 'ERROR_ACCESS_DENIED' });
    // The default SDDL denies network logons and lets only authenticated users in.
    assert.throws(() => h.kernel.connect(PIPE, fakeUserToken(BOB, { network: true })), { code: 'ERROR_ACCESS_DENIED' });
    assert.throws(() => h.kernel.connect(PIPE, { user: 'S-1-5-7', groups: [{ sid: 'S-1-1-0', attributes: 7 }] }), { code: 'ERROR_ACCESS_DENIED' });
  } finally {
    await h.close();
  }
  assert.deepEqual(assertClean(h.kernel, h.listener), []);
});

test('a pipe name another process holds is ERR_WIN32_PIPE_IN_USE, and nothing is left open', async () => {
  const kernel = new FakePipeKernel();
  const release = kernel.squat(PIPE);
  const listener = new NamedPipeListener({ name: PIPE, api: kernel });
  await assert.rejects(listener.start(() => undefined), (error: unknown) => {
    assert.ok(isStable6Error(error));
    assert.equal(error.code, 'ERR_WIN32_PIPE_IN_USE');
    assert.equal(error.details.function, 'CreateNamedPipeW');
    assert.equal(error.details.status, 'ERROR_ACCESS_DENIED');
    assert.match(error.message, /ERROR_ACCESS_DENIED \(5\)/);
    return true;
  });
  release();
  assert.deepEqual(kernel.openHandles(), []);
  assert.equal(kernel.liveIoBlocks, 0);
  await listener.close();
});

test('start: an invalid SDDL is ERR_WIN32_PIPE_SECURITY; a failed completion port ERR_WIN32_PIPE with its status name', async () => {
  const kernel = new FakePipeKernel();
  const bad = new NamedPipeListener({ name: PIPE, api: kernel, sddl: 'D:(A;;GA;;;nobody)' });
  await assert.rejects(bad.start(() => undefined), { code: 'ERR_WIN32_PIPE_SECURITY' });
  kernel.fail('CreateIoCompletionPort', PIPE_STATUS.ERROR_NOT_ENOUGH_MEMORY);
  const noPort = new NamedPipeListener({ name: PIPE, api: kernel });
  await assert.rejects(noPort.start(() => undefined), (error: unknown) => {
    assert.ok(isStable6Error(error));
    assert.equal(error.code, 'ERR_WIN32_PIPE');
    assert.equal(error.details.status, 'ERROR_NOT_ENOUGH_MEMORY');
    return true;
  });
  assert.deepEqual(kernel.openHandles(), []);
});

test('identity: impersonation happens after the first read, reverts at once, and a failure refuses the client without answering', async () => {
  const h = await startPipeHarness();
  try {
    const ok = await pipeRequest(h.kernel, alice, 'GET', '/v1/status');
    assert.equal(ok.status, 200);
    const order = h.kernel.calls.filter((c) => ['ReadFile', 'ImpersonateNamedPipeClient', 'OpenThreadToken', 'RevertToSelf', 'GetTokenInformation'].includes(c));
    assert.deepEqual(order.slice(0, 5), ['ReadFile', 'ImpersonateNamedPipeClient', 'OpenThreadToken', 'RevertToSelf', 'GetTokenInformation']);
    assert.equal(h.kernel.impersonating, false);

    for (const [fn, status] of [
      ['ImpersonateNamedPipeClient', PIPE_STATUS.ERROR_CANNOT_IMPERSONATE],
      ['OpenThreadToken', PIPE_STATUS.ERROR_NO_TOKEN],
      ['GetTokenInformation', PIPE_STATUS.ERROR_ACCESS_DENIED],
    ] as const) {
      h.kernel.fail(fn, status);
      const before = h.service.calls.length;
      await assert.rejects(pipeRequest(h.kernel, alice, 'GET', '/v1/leases'), { code: 'ECONNRESET' });
      assert.equal(h.service.calls.length, before, `${fn}: the service heard nothing`);
      assert.ok(
        h.logs.some((l) => l.includes(`refused a pipe client: ${fn} failed with`) && l.includes('ERROR_')),
        `${fn}: logged with its status name`,
      );
      assert.equal(h.kernel.impersonating, false);
    }
    // A client that allowed only SecurityAnonymous cannot be told apart from anyone: refused.
    await assert.rejects(pipeRequest(h.kernel, { ...alice, level: 'anonymous' }, 'GET', '/v1/leases'), { code: 'ECONNRESET' });
    assert.ok(h.logs.some((l) => l.includes('ERROR_CANT_OPEN_ANONYMOUS')));
    // SecurityIdentification is enough to read the token (OpenAsSelf).
    const identified = await pipeRequest(h.kernel, { ...bob, level: 'identification' }, 'GET', '/v1/leases');
    assert.equal(identified.status, 200);
  } finally {
    await h.close();
  }
  assert.deepEqual(assertClean(h.kernel, h.listener), []);
});

test('a failed RevertToSelf is fatal: onFatal hears ERR_WIN32_PIPE_IMPERSONATION and the client gets nothing', async () => {
  const fatal: string[] = [];
  const h = await startPipeHarness({ listener: { onFatal: (error) => void fatal.push(`${error.code} ${String(error.details.status)}`) } });
  try {
    h.kernel.fail('RevertToSelf', PIPE_STATUS.ERROR_ACCESS_DENIED);
    await assert.rejects(pipeRequest(h.kernel, alice, 'GET', '/v1/leases'), { code: 'ECONNRESET' });
    assert.deepEqual(fatal, ['ERR_WIN32_PIPE_IMPERSONATION ERROR_ACCESS_DENIED']);
    assert.equal(h.service.calls.length, 0);
  } finally {
    await h.close();
  }
});

test('a connection-bound lease goes when the pipe client disconnects', async () => {
  const h = await startPipeHarness();
  try {
    const socket = await rawClient(h.kernel, alice);
    const body = JSON.stringify({ label: 'tmp', interface: 'eth0' });
    socket.write(`POST /v1/leases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    await until(() => answer.includes('"tmp"'));
    assert.match(answer, /^HTTP\/1\.1 201/);
    assert.equal(h.service.list().length, 1);
    socket.destroy();
    await until(() => h.service.list().length === 0);
    await until(() => h.server.connectionCount === 0);
  } finally {
    await h.close();
  }
  assert.deepEqual(assertClean(h.kernel, h.listener), []);
});

test('keep-alive and an event stream: the server writes while its read is pending (overlapped I/O)', async () => {
  const h = await startPipeHarness();
  try {
    const socket = await rawClient(h.kernel, alice);
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.write('GET /v1/leases HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => text.includes('"leases"'));
    socket.write('GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => text.includes('"subscribed"'));
    // Another client's lease is not alice's business; her own is.
    await pipeRequest(h.kernel, bob, 'POST', '/v1/leases', { label: 'bobs', interface: 'eth0', persistent: true });
    await pipeRequest(h.kernel, alice, 'POST', '/v1/leases', { label: 'alices', interface: 'eth0', persistent: true });
    await until(() => text.includes('"alices"'));
    assert.ok(!text.includes('"bobs"'));
  } finally {
    await h.close();
  }
  assert.deepEqual(assertClean(h.kernel, h.listener), []);
});

test('large bodies cross in pieces no larger than the I/O buffer, both ways', async () => {
  const h = await startPipeHarness({ listener: { bufferBytes: 64 } });
  try {
    const big = { label: 'x'.repeat(300), interface: 'eth0' };
    const reply = await pipeRequest(h.kernel, alice, 'POST', '/v1/leases', big);
    assert.equal(reply.status, 400);
    assert.equal(codeOf(reply), 'ERR_API_BAD_REQUEST');
    const ok = await pipeRequest(h.kernel, alice, 'POST', '/v1/leases', { label: 'web', interface: 'eth0', persistent: true });
    assert.equal(ok.status, 201);
    assert.ok(ok.text.length > 64);
  } finally {
    await h.close();
  }
  assert.deepEqual(assertClean(h.kernel, h.listener), []);
});

test('the per-user connection limit counts SIDs: a third connection from alice is ERR_API_BUSY, bob still gets in', async () => {
  const h = await startPipeHarness({ server: { limits: { maxConnectionsPerUser: 2 } } });
  try {
    const held = [await rawClient(h.kernel, alice), await rawClient(h.kernel, alice)];
    for (const s of held) s.write('GET /v1/leases HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => h.server.connectionCount === 2);
    const third = await pipeRequest(h.kernel, alice, 'GET', '/v1/leases');
    assert.equal(third.status, 503);
    assert.equal(codeOf(third), 'ERR_API_BUSY');
    const other = await pipeRequest(h.kernel, bob, 'GET', '/v1/leases');
    assert.equal(other.status, 200);
    for (const s of held) s.destroy();
    await Promise.all(held.map(closed));
  } finally {
    await h.close();
  }
  assert.deepEqual(assertClean(h.kernel, h.listener), []);
});

test('clean shutdown with clients connected, mid-request and idle: no pending I/O, no wait, every handle closed', async () => {
  const h = await startPipeHarness();
  const idle = await rawClient(h.kernel, alice);
  const streaming = await rawClient(h.kernel, bob);
  streaming.write('GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n');
  const half = await rawClient(h.kernel, alice);
  half.write('POST /v1/leases HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"la');
  await until(() => h.server.connectionCount === 2);
  assert.ok(h.listener.pendingOperations > 0);
  await h.close();
  assert.deepEqual(assertClean(h.kernel, h.listener), []);
  await Promise.all([idle, streaming, half].map(closed));
  // Closing twice is harmless.
  await h.close();
});

test('a client that leaves before sending anything never reaches the API; its instance is closed', async () => {
  const h = await startPipeHarness();
  try {
    const quiet = await rawClient(h.kernel, alice);
    await until(() => h.kernel.instanceStates(PIPE).connected === 1);
    quiet.destroy();
    await until(() => h.kernel.instanceStates(PIPE).connected === undefined && h.kernel.instanceStates(PIPE)['client-gone'] === undefined);
    assert.equal(h.server.connectionCount, 0);
    assert.equal(h.service.calls.length, 0);
  } finally {
    await h.close();
  }
  assert.deepEqual(assertClean(h.kernel, h.listener), []);
});

test('read and write failures carry the Win32 status name; the listener keeps serving others', async () => {
  const h = await startPipeHarness();
  try {
    // The next instance cannot be created once: logged, retried, the pipe keeps working.
    h.kernel.fail('CreateNamedPipeW', PIPE_STATUS.ERROR_NOT_ENOUGH_MEMORY);
    const first = await pipeRequest(h.kernel, alice, 'GET', '/v1/leases');
    assert.equal(first.status, 200);
    assert.ok(h.logs.some((l) => l.includes('CreateNamedPipeW failed with ERROR_NOT_ENOUGH_MEMORY (8)')));
    await until(() => h.kernel.instanceStates(PIPE).listening === 1, 15_000);

    h.kernel.fail('WriteFile', PIPE_STATUS.ERROR_NO_DATA);
    await assert.rejects(pipeRequest(h.kernel, alice, 'GET', '/v1/leases'));
    const after = await pipeRequest(h.kernel, bob, 'GET', '/v1/leases');
    assert.equal(after.status, 200);
  } finally {
    await h.close();
  }
  assert.deepEqual(assertClean(h.kernel, h.listener), []);
});

test("an SDDL that does not give the service FILE_CREATE_PIPE_INSTANCE: the first instance works, the next is refused and retried, logged by name", async () => {
  const h = await startPipeHarness({ listener: { sddl: 'D:P(A;;GA;;;SY)(A;;GA;;;BA)', retryMs: 20 } });
  try {
    const reply = await pipeRequest(h.kernel, elevatedAdmin, 'GET', '/v1/leases');
    assert.equal(reply.status, 200);
    await until(() => h.logs.some((l) => l.includes('CreateNamedPipeW failed with ERROR_ACCESS_DENIED (5)')));
    assert.equal(h.kernel.instanceStates(PIPE).listening, undefined);
    // Ordinary users are not let in by this SDDL at all.
    assert.throws(() => h.kernel.connect(PIPE, alice), { code: 'ERROR_ACCESS_DENIED' });
  } finally {
    await h.close();
  }
  assert.deepEqual(assertClean(h.kernel, h.listener), []);
});
