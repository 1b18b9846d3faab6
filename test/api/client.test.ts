import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { events, lease, listenStable, listLeases, releaseLease, resolveSocketPath, status } from '../../src/api/client.js';
import { DEFAULT_SOCKET_PATH, type ApiEvent, type Lease, type LeaseRequest } from '../../src/api/protocol.js';
import type { Caller } from '../../src/api/service.js';
import { isStable6Error, type Stable6Error } from '../../src/errors.js';
import { startHarness, until } from './helpers.js';

test('resolveSocketPath: option, then $STABLE6_SOCKET, then the default', () => {
  assert.equal(resolveSocketPath('/x.sock', { STABLE6_SOCKET: '/y.sock' }), '/x.sock');
  assert.equal(resolveSocketPath(undefined, { STABLE6_SOCKET: '/y.sock' }), '/y.sock');
  assert.equal(resolveSocketPath(undefined, {}), DEFAULT_SOCKET_PATH);
  assert.equal(DEFAULT_SOCKET_PATH, '/run/stable6/api.sock');
});

test('lease(): a connection-bound lease lives until close(); release() removes a persistent one', async () => {
  const h = await startHarness();
  try {
    h.as(1000);
    const handle = await lease({ label: 'app', interface: 'eth0', socketPath: h.socketPath });
    assert.equal(handle.addresses.length, 2);
    assert.deepEqual(handle.addresses, handle.lease.addresses.map((a) => a.address));
    assert.equal(handle.lease.persistent, false);
    assert.deepEqual((await listLeases({ socketPath: h.socketPath })).map((l) => l.label), ['app']);
    handle.close();
    await handle.closed;
    await until(() => h.service.list().length === 0);

    const kept = await lease({ label: 'kept', interface: 'eth1', persistent: true, socketPath: h.socketPath });
    kept.close();
    assert.deepEqual(h.service.list().map((l) => l.label), ['kept']);
    const again = await lease({ label: 'kept', interface: 'eth1', persistent: true, socketPath: h.socketPath });
    assert.deepEqual(again.addresses, kept.addresses, 'the same label is the same address');
    await again.release();
    assert.equal(h.service.list().length, 0);

    await lease({ label: 'x', interface: 'eth1', persistent: true, socketPath: h.socketPath });
    const released = await releaseLease({ label: 'x', interface: 'eth1', socketPath: h.socketPath });
    assert.equal(released.label, 'x');
    await assert.rejects(releaseLease({ label: 'x', interface: 'eth1', socketPath: h.socketPath }), (e: Stable6Error) => e.code === 'ERR_API_NOT_FOUND');
  } finally {
    await h.close();
  }
});

test('client errors: the daemon\'s code, no daemon, not the API, no answer in time', async () => {
  const h = await startHarness();
  try {
    await assert.rejects(lease({ label: '-bad', interface: 'eth0', socketPath: h.socketPath }), (e: Stable6Error) => {
      assert.equal(e.code, 'ERR_API_BAD_REQUEST');
      assert.equal(e.details.httpStatus, 400);
      return true;
    });
    await assert.rejects(status({ socketPath: path.join(h.dir, 'missing.sock') }), (e) => isStable6Error(e, 'ERR_API_UNAVAILABLE'));

    const html = path.join(h.dir, 'html.sock');
    const other = http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>no</h1>'));
    await new Promise<void>((resolve) => other.listen(html, resolve));
    await assert.rejects(listLeases({ socketPath: html }), (e) => isStable6Error(e, 'ERR_API_PROTOCOL'));
    other.close();

    const silent = path.join(h.dir, 'silent.sock');
    const sockets: net.Socket[] = [];
    const mute = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => mute.listen(silent, resolve));
    await assert.rejects(listLeases({ socketPath: silent, timeoutMs: 100 }), (e) => isStable6Error(e, 'ERR_API_TIMEOUT'));
    for (const s of sockets) s.destroy();
    mute.close();
  } finally {
    await h.close();
  }
});

test('events(): subscribed first, then the caller\'s lease changes', async () => {
  const h = await startHarness();
  try {
    h.as(1000);
    const stream = await events({ socketPath: h.socketPath });
    const seen: ApiEvent[] = [];
    const reading = (async () => {
      for await (const event of stream) seen.push(event);
    })();
    await until(() => seen.length === 1);
    await lease({ label: 'ev', interface: 'eth1', persistent: true, socketPath: h.socketPath });
    await until(() => seen.length === 3);
    assert.deepEqual(
      seen.map((e) => e.type),
      ['subscribed', 'lease-changed', 'lease-changed'],
    );
    stream.close();
    await reading;
    await until(() => h.service.listenerCount === 0);
  } finally {
    await h.close();
  }
});

test('listenStable binds the server on the lease\'s first usable address; closing the server ends the lease', async () => {
  const h = await startHarness();
  try {
    // The in-memory service's documentation prefixes are not on this host: answer with ::1.
    const inner = h.service.lease.bind(h.service);
    h.service.lease = async (caller: Caller, request: LeaseRequest): Promise<Lease> => {
      const l = await inner(caller, request);
      return { ...l, addresses: l.addresses.map((a, i) => ({ ...a, address: i === 0 ? '::1' : a.address })) };
    };
    const server = http.createServer((_req, res) => res.end('hello'));
    const { address, port, handle } = await listenStable(server, { label: 'web', interface: 'eth0', port: 0, socketPath: h.socketPath });
    assert.equal(address, '::1');
    assert.ok(port > 0);
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ host: '::1', port, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    assert.equal(body, 'hello');
    assert.equal(handle.lease.label, 'web');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await until(() => h.service.list().length === 0);
  } finally {
    await h.close();
  }
});

test('listenStable: an address the host does not have is ERR_API_BIND, and the lease is dropped', async () => {
  const h = await startHarness();
  try {
    const server = net.createServer();
    await assert.rejects(
      listenStable(server, { label: 'web', interface: 'eth1', port: 0, socketPath: h.socketPath }),
      (e: Stable6Error) => e.code === 'ERR_API_BIND' && String(e.details.address).startsWith('fd00:1:'),
    );
    await until(() => h.service.list().length === 0);
  } finally {
    await h.close();
  }
});
