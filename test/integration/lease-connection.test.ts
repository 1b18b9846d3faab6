/**
 * Issue 5 item 3, against the real daemon: a lease that is not persistent lives as long as
 * the client's connection. The client process is killed (SIGKILL: no goodbye, the kernel
 * closes its socket) or exits normally without releasing; either way the daemon releases the
 * lease and its address leaves the kernel, while a persistent lease of the same user stays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listLeases } from '../../src/api/client.js';
import { requirePrivileged, waitFor } from '../helpers/netns.js';
import { IFACE, LeaseLab, leaseLabWithUser } from './lease-harness.js';

const fixture = leaseLabWithUser();

/** A client that leases `label` (connection-bound) and waits; prints the addresses. */
function holder(l: LeaseLab, label: string, exitOnStdinClose: boolean) {
  return l.runAs(
    fixture.user,
    `const h = await client.lease({ label: ${JSON.stringify(label)}, interface: ${JSON.stringify(IFACE)}, socketPath });
     print({ addresses: h.addresses, persistent: h.lease.persistent });
     ${exitOnStdinClose ? 'await stdinClosed; process.exit(0);' : 'setInterval(() => undefined, 1 << 30);'}`,
  );
}

async function waitGone(l: LeaseLab, address: string): Promise<void> {
  await waitFor(`${address} to leave the kernel`, async () => ((await l.kernelAddress(address)) === undefined ? true : undefined), 30_000);
}

test('a connection-bound lease is released when its client is killed: the address leaves the kernel', async (t) => {
  if (!requirePrivileged(t, ['setpriv', 'radvd', 'useradd'])) return;
  const l = fixture.lab;
  const persistent = await l.cliAs(fixture.user, 'lease', 'add', 'stays', '--iface', IFACE, '--persistent');
  assert.equal(persistent.code, 0, persistent.stderr);

  const child = holder(l, 'ephemeral', false);
  const { addresses, persistent: isPersistent } = await child.json<{ addresses: string[]; persistent: boolean }>(0, 60_000);
  assert.equal(isPersistent, false);
  assert.deepEqual(addresses, [l.expectedAddress('ephemeral')]);
  assert.ok(await l.kernelAddress(addresses[0]!), 'in the kernel while the client runs');

  const { signal } = await child.stop('SIGKILL');
  assert.equal(signal, 'SIGKILL');
  await waitGone(l, addresses[0]!);
  assert.deepEqual((await listLeases({ socketPath: l.socketPath })).map((x) => x.label), ['stays']);
  assert.ok(await l.kernelAddress(l.expectedAddress('stays')), 'the persistent lease is untouched');
});

test('a connection-bound lease is released when its client exits without releasing it', async (t) => {
  if (!requirePrivileged(t, ['setpriv', 'radvd', 'useradd'])) return;
  const l = fixture.lab;
  const child = holder(l, 'short', true);
  const { addresses } = await child.json<{ addresses: string[] }>(0, 60_000);
  assert.ok(await l.kernelAddress(addresses[0]!));
  child.closeStdin();
  assert.equal((await child.exited).code, 0, child.stderr);
  await waitGone(l, addresses[0]!);
  assert.deepEqual((await listLeases({ socketPath: l.socketPath })).map((x) => x.label), ['stays']);
});
