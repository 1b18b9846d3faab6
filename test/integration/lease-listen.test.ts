/**
 * Issue 5 end to end, against the real daemon in namespaces: a user made by the test (not
 * root, not in any group of the daemon's) leases an address with listenStable from inside the
 * host namespace, a TCP server binds on it, and a client in the router namespace connects and
 * gets the reply. What is asserted comes from the kernel (`ip -j`), the wire, and the spec's
 * own derivation of the address; and that the leased address is not what the host uses as
 * source for unrelated traffic (issue 5 item 6: preferred lifetime 0, RFC 6724 rule 3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrivileged, tcpReply, waitFor } from '../helpers/netns.js';
import { type Child, IFACE, LeaseLab, leaseLabWithUser, PREFIX, ROUTER_ADDRESS } from './lease-harness.js';

const fixture = leaseLabWithUser();
let server: Child | undefined;
let served: { address: string; port: number; uid: number } | undefined;

test('a user made by the test leases through the daemon, listens with listenStable, and the router connects', async (t) => {
  if (!requirePrivileged(t, ['setpriv', 'radvd', 'useradd'])) return;
  const l = fixture.lab;
  server = l.runAs(
    fixture.user,
    `const s = net.createServer((c) => c.end('hello from uid ' + process.getuid()));
     const { address, port } = await client.listenStable(s, { label: 'web', interface: ${JSON.stringify(IFACE)}, port: 0, socketPath });
     print({ address, port, uid: process.getuid() });
     await stdinClosed;
     s.close();`,
  );
  served = await server.json<{ address: string; port: number; uid: number }>(0, 60_000);
  assert.equal(served.uid, fixture.user.uid);
  // The address is F(secret, prefix, netIface, label) of the spec, computed here without the daemon.
  assert.equal(served.address, l.expectedAddress('web'));

  // The kernel holds it on host0, DAD done, with preferred lifetime 0 (deprecated).
  const inKernel = await l.kernelAddress(served.address);
  assert.ok(inKernel, `not in the kernel: ${JSON.stringify(await l.kernelAddresses())}`);
  assert.equal(inKernel.prefixlen, 64);
  assert.equal(inKernel.tentative, undefined);
  assert.equal(inKernel.dadfailed, undefined);
  assert.equal(inKernel.preferred_life_time, 0);
  assert.ok(inKernel.valid_life_time > 0);

  // A client in the router namespace reaches it over the veth.
  const reply = await tcpReply(l.router, served.address, served.port);
  assert.equal(reply, `hello from uid ${fixture.user.uid}`);
});

test('the leased address is not the source of unrelated traffic (RFC 6724 rule 3: it is deprecated)', async (t) => {
  if (!requirePrivileged(t, ['setpriv', 'radvd', 'useradd'])) return;
  const l = fixture.lab;
  assert.ok(served, 'needs the lease of the test before');
  const own = (await l.kernelAddresses()).find((a) => a.local === l.expectedAddress(''));
  assert.ok(own, 'the interface has its own stable6-v1 address');
  assert.ok(own.preferred_life_time > 0, 'the interface address is preferred');

  // The kernel's choice for an on-link destination, and an off-link one via the router.
  const routes = await l.host.ipJson<{ prefsrc?: string }[]>('-6', 'route', 'get', ROUTER_ADDRESS);
  assert.equal(routes[0]?.prefsrc, own.local);
  const offLink = await l.host.ipJson<{ prefsrc?: string }[]>('-6', 'route', 'get', '2001:db8:ffff::1');
  assert.equal(offLink[0]?.prefsrc, own.local);

  // And a real socket: connect() picks the source by RFC 6724 in the kernel.
  const local = await l.host.exec(
    process.execPath,
    '-e',
    `const s = require('node:dgram').createSocket('udp6');
     s.connect(9, ${JSON.stringify(ROUTER_ADDRESS)}, () => { process.stdout.write(s.address().address); s.close(); });`,
  );
  assert.equal(local, own.local);
  assert.notEqual(local, served!.address);
  assert.ok(own.local.startsWith(PREFIX.slice(0, PREFIX.indexOf('::'))));
});

test('closing the server ends the connection-bound lease: the address leaves the kernel', async (t) => {
  if (!requirePrivileged(t, ['setpriv', 'radvd', 'useradd'])) return;
  const l = fixture.lab;
  assert.ok(server && served, 'needs the lease of the first test');
  server.closeStdin();
  const { code } = await server.exited;
  assert.equal(code, 0, server.stderr);
  await waitGone(l, served.address);
});

async function waitGone(l: LeaseLab, address: string): Promise<void> {
  await waitFor(`${address} to leave the kernel`, async () => ((await l.kernelAddress(address)) === undefined ? true : undefined), 30_000);
}
