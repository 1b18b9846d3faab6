/**
 * Issue 5 with optimistic DAD (RFC 4429), against the real daemon: with `optimistic = true`
 * in the configuration and `optimistic_dad=1` on the interface, a lease is answered while the
 * kernel still runs DAD on its address, and the client binds and serves on it at once. DAD is
 * made long here (12 probes 1 s apart) so that "at once" is a fact read from the kernel (the
 * address is still optimistic and tentative after the server listens and the router got its
 * reply), not a timing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { listLeases } from '../../src/api/client.js';
import { requirePrivileged, tcpReply, waitFor } from '../helpers/netns.js';
import { createUser, IFACE, LeaseLab, removeUser, type TestUser } from './lease-harness.js';

let lab: LeaseLab | undefined;
let user: TestUser | undefined;

before(async () => {
  if (process.getuid?.() !== 0) return;
  user = await createUser();
  lab = await LeaseLab.create({ allowedUsers: [user.name], optimistic: true });
  await lab.startDaemon();
  // Slow DAD from now on (the interface's own address is done already).
  await lab.host.sysctl(`net.ipv6.neigh.${IFACE}.retrans_time_ms`, 1000);
  await lab.host.sysctl(`net.ipv6.conf.${IFACE}.dad_transmits`, 12);
});

after(async () => {
  await lab?.destroy();
  await removeUser(user);
});

test('optimistic DAD: the client binds and serves on its leased address while the kernel still runs DAD', async (t) => {
  if (!requirePrivileged(t, ['setpriv', 'radvd', 'useradd'])) return;
  const l = lab!;
  const server = l.runAs(
    user!,
    `const s = net.createServer((c) => c.end('optimistic hello'));
     const { address, port, handle } = await client.listenStable(s, { label: 'fast', interface: ${JSON.stringify(IFACE)}, port: 0, socketPath });
     print({ address, port, states: handle.lease.addresses.map((a) => a.state) });
     await stdinClosed;
     s.close();`,
  );
  const served = await server.json<{ address: string; port: number; states: string[] }>(0, 60_000);
  assert.equal(served.address, l.expectedAddress('fast'));
  assert.deepEqual(served.states, ['optimistic'], 'the API calls it by its RFC 4429 name');

  const reply = await tcpReply(l.router, served.address, served.port);
  assert.equal(reply, 'optimistic hello');

  // Bound, served, and DAD is still running: the daemon did not wait for it.
  const during = await l.kernelAddress(served.address);
  assert.ok(during, 'in the kernel');
  assert.equal(during.optimistic, true, JSON.stringify(during));
  assert.equal(during.tentative, true, `DAD already over: the lease waited for it (${JSON.stringify(during)})`);
  assert.equal(during.preferred_life_time, 0, 'a lease address is deprecated from the start');

  // When DAD ends the address stays, and the daemon reports it as deprecated (usable, not a default source).
  await waitFor('DAD to end', async () => {
    const a = await l.kernelAddress(served.address);
    return a && !a.tentative ? a : undefined;
  }, 60_000);
  await waitFor('the daemon to see DAD end', async () => {
    const leases = await listLeases({ socketPath: l.socketPath });
    return leases.find((x) => x.label === 'fast')?.addresses[0]?.state === 'deprecated' ? true : undefined;
  }, 30_000);
  server.closeStdin();
  assert.equal((await server.exited).code, 0, server.stderr);
});
