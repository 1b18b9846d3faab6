import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli } from '../../src/cli/main.js';
import { makeLeaseCommand, formatLifetime } from '../../src/cli/commands/lease.js';
import { compilePolicy } from '../../src/api/policy.js';
import type { CliIo } from '../../src/cli/cli-io.js';
import type { Lease } from '../../src/api/protocol.js';
import { startHarness, until } from '../api/helpers.js';

function captureIo(env: Record<string, string> = {}): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    readStdin: () => Promise.resolve(''),
    env,
    out: () => out,
    err: () => err,
  };
}

test('lease add --persistent prints the usable addresses; --json prints the lease', async () => {
  const h = await startHarness();
  try {
    h.as(1000);
    const io = captureIo();
    assert.equal(await runCli(['lease', 'add', 'web', '--iface', 'eth0', '--persistent', '--socket', h.socketPath], io), 0);
    const lease = h.service.list()[0];
    assert.ok(lease);
    assert.match(io.out(), /^web on eth0 \(uid 1000, persistent\)\n/);
    for (const a of lease.addresses) assert.ok(io.out().includes(a.address));
    assert.match(io.out(), /preferred/);

    const json = captureIo({ STABLE6_SOCKET: h.socketPath });
    assert.equal(await runCli(['lease', 'add', 'web', '--iface', 'eth0', '--persistent', '--json'], json), 0);
    assert.deepEqual(JSON.parse(json.out()) as Lease, lease);
  } finally {
    await h.close();
  }
});

test('lease add without --persistent holds the lease while the command runs, then releases it', async () => {
  const h = await startHarness();
  try {
    h.as(1000);
    let seen: string[] = [];
    const command = makeLeaseCommand({
      waitForStop: () => {
        seen = h.service.list().map((l) => l.label);
        return Promise.resolve('stopped');
      },
    });
    const io = captureIo();
    assert.equal(await command.run(['add', 'tmp', '--iface', 'eth1', '--socket', h.socketPath], io), 0);
    assert.deepEqual(seen, ['tmp']);
    assert.match(io.out(), /while connected/);
    assert.match(io.err(), /interrupt/);
    assert.equal(h.service.list().length, 0);
  } finally {
    await h.close();
  }
});

test('lease add: when the daemon drops the connection the command fails with exit 1', async () => {
  const h = await startHarness();
  try {
    const command = makeLeaseCommand({
      waitForStop: async (handle) => {
        await h.server.close();
        await handle.closed;
        return 'connection-closed';
      },
    });
    const io = captureIo();
    assert.equal(await command.run(['add', 'tmp', '--iface', 'eth1', '--socket', h.socketPath], io), 1);
    assert.match(io.err(), /^stable6: ERR_API_UNAVAILABLE: /m);
  } finally {
    await h.close();
  }
});

test('lease list shows the caller\'s leases, human and --json', async () => {
  const h = await startHarness();
  try {
    h.as(1000);
    const empty = captureIo();
    assert.equal(await runCli(['lease', 'list', '--socket', h.socketPath], empty), 0);
    assert.equal(empty.out(), 'no leases\n');
    await runCli(['lease', 'add', 'a', '--iface', 'eth0', '--persistent', '--socket', h.socketPath], captureIo());
    h.as(1001);
    await runCli(['lease', 'add', 'b', '--iface', 'eth1', '--persistent', '--socket', h.socketPath], captureIo());
    const io = captureIo();
    assert.equal(await runCli(['lease', 'list', '--json', '--socket', h.socketPath], io), 0);
    assert.deepEqual((JSON.parse(io.out()) as Lease[]).map((l) => l.label), ['b']);
    h.as(0);
    const root = captureIo();
    assert.equal(await runCli(['lease', 'list', '--socket', h.socketPath], root), 0);
    assert.match(root.out(), /^a on eth0 \(uid 1000, persistent\)$/m);
    assert.match(root.out(), /^b on eth1 \(uid 1001, persistent\)$/m);
  } finally {
    await h.close();
  }
});

test('lease release finds the interface itself; another user\'s lease is not found (exit 2)', async () => {
  const h = await startHarness();
  try {
    h.as(1000);
    await runCli(['lease', 'add', 'a', '--iface', 'eth0', '--persistent', '--socket', h.socketPath], captureIo());
    await runCli(['lease', 'add', 'a', '--iface', 'eth1', '--persistent', '--socket', h.socketPath], captureIo());
    await runCli(['lease', 'add', 'solo', '--iface', 'eth1', '--persistent', '--socket', h.socketPath], captureIo());
    h.as(1001);
    const other = captureIo();
    assert.equal(await runCli(['lease', 'release', 'solo', '--iface', 'eth1', '--socket', h.socketPath], other), 2);
    assert.match(other.err(), /^stable6: ERR_API_NOT_FOUND: /);
    assert.equal(h.service.list().length, 3);
    h.as(1000);
    const ambiguous = captureIo();
    assert.equal(await runCli(['lease', 'release', 'a', '--socket', h.socketPath], ambiguous), 2);
    assert.match(ambiguous.err(), /ERR_CLI_USAGE: .*eth0, eth1; add --iface/);
    const io = captureIo();
    assert.equal(await runCli(['lease', 'release', 'solo', '--socket', h.socketPath], io), 0);
    assert.equal(io.out(), 'released solo on eth1\n');
    const json = captureIo();
    assert.equal(await runCli(['lease', 'release', 'a', '--iface', 'eth0', '--json', '--socket', h.socketPath], json), 0);
    assert.equal((JSON.parse(json.out()) as Lease).interface, 'eth0');
    assert.deepEqual(h.service.list().map((l) => `${l.label}@${l.interface}`), ['a@eth1']);
  } finally {
    await h.close();
  }
});

test('refusals exit 2 and failures exit 1, each with one line naming the code', async () => {
  const h = await startHarness({ policy: compilePolicy({ users: [1000] }) });
  try {
    h.as(1001);
    const forbidden = captureIo();
    assert.equal(await runCli(['lease', 'add', 'x', '--iface', 'eth0', '--persistent', '--socket', h.socketPath], forbidden), 2);
    assert.match(forbidden.err(), /^stable6: ERR_API_FORBIDDEN: [^\n]*\n$/);
    const badLabel = captureIo();
    assert.equal(await runCli(['lease', 'add', 'a b', '--iface', 'eth0', '--persistent', '--socket', h.socketPath], badLabel), 2);
    assert.match(badLabel.err(), /^stable6: ERR_API_BAD_REQUEST: /);
    h.as(1000);
    const unknown = captureIo();
    assert.equal(await runCli(['lease', 'add', 'x', '--iface', 'nope', '--persistent', '--socket', h.socketPath], unknown), 2);
    assert.match(unknown.err(), /ERR_API_UNKNOWN_INTERFACE/);
    const failed = captureIo();
    assert.equal(await runCli(['lease', 'add', 'x', '--iface', 'empty', '--persistent', '--socket', h.socketPath], failed), 1);
    assert.match(failed.err(), /^stable6: ERR_API_LEASE_FAILED: /);
    const noDaemon = captureIo();
    assert.equal(await runCli(['lease', 'list', '--socket', path.join(h.dir, 'none.sock')], noDaemon), 1);
    assert.match(noDaemon.err(), /^stable6: ERR_API_UNAVAILABLE: no stable6 daemon answers on /);
    for (const argv of [['lease'], ['lease', 'add', 'x'], ['lease', 'add', '--iface', 'eth0'], ['lease', 'frob'], ['lease', 'list', 'x'], ['lease', 'add', 'x', '--iface', 'eth0', '--bogus']]) {
      const io = captureIo();
      assert.equal(await runCli(argv, io), 2, argv.join(' '));
      assert.match(io.err(), /^stable6: ERR_CLI_USAGE: /, argv.join(' '));
    }
  } finally {
    await h.close();
  }
});

test('formatLifetime: forever, and the two largest units', () => {
  assert.equal(formatLifetime(0xffffffff), 'forever');
  assert.equal(formatLifetime(0), '0s');
  assert.equal(formatLifetime(59), '59s');
  assert.equal(formatLifetime(3600), '1h');
  assert.equal(formatLifetime(2_592_000), '30d');
  assert.equal(formatLifetime(90_061), '1d1h');
  assert.equal(formatLifetime(3_661), '1h1m');
});

test('lease add with several labels sends one batch: each label printed, exit 0 only if all were leased', async () => {
  const h = await startHarness();
  try {
    h.as(1001);
    await runCli(['lease', 'add', 'taken', '--iface', 'eth0', '--persistent', '--socket', h.socketPath], captureIo());
    h.as(1000);
    const io = captureIo();
    assert.equal(await runCli(['lease', 'add', 'a', 'b', '--iface', 'eth0', '--persistent', '--socket', h.socketPath], io), 0);
    assert.match(io.out(), /^a on eth0 \(uid 1000, persistent\)\n/);
    assert.match(io.out(), /\nb on eth0 \(uid 1000, persistent\)\n/);
    assert.ok(h.service.calls.some((c) => c.method === 'lease'), 'the service made them');

    const mixed = captureIo();
    assert.equal(await runCli(['lease', 'add', 'c', 'taken', '--iface', 'eth0', '--persistent', '--json', '--socket', h.socketPath], mixed), 2, 'refused input for one label: exit 2');
    const results = JSON.parse(mixed.out()) as { label: string; lease?: Lease; error?: { code: string } }[];
    assert.deepEqual(results.map((r) => [r.label, r.lease?.uid ?? r.error?.code]), [['c', 1000], ['taken', 'ERR_API_LABEL_TAKEN']]);
    assert.match(mixed.err(), /^stable6: taken: ERR_API_LABEL_TAKEN: /m);

    // Connection-bound: held while the command runs, all released after.
    let held: string[] = [];
    const command = makeLeaseCommand({
      waitForStop: () => {
        held = h.service.list().filter((l) => !l.persistent).map((l) => l.label).sort();
        return Promise.resolve('stopped');
      },
    });
    const bound = captureIo();
    // "a" is held as persistent already: a connection-bound request never downgrades it, and
    // ending the command must not release it.
    assert.equal(await command.run(['add', 'x', 'y', 'a', '--iface', 'eth0', '--socket', h.socketPath], bound), 0);
    assert.deepEqual(held, ['x', 'y']);
    assert.match(bound.err(), /holding 2 leases/);
    await until(() => h.service.list().filter((l) => !l.persistent).length === 0);
    assert.ok(h.service.list().some((l) => l.label === 'a' && l.persistent), 'the persistent lease stays');
    // A repeated label refuses the whole batch before anything is made.
    const twice = captureIo();
    assert.equal(await runCli(['lease', 'add', 'z', 'z', '--iface', 'eth0', '--socket', h.socketPath], twice), 2);
    assert.match(twice.err(), /ERR_API_BAD_REQUEST: labels\[1\]: "z" is in the batch twice/);
  } finally {
    await h.close();
  }
});
