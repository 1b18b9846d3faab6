/**
 * Issue 5, against the real daemon: a user cannot see or release another user's lease (here
 * root's). The daemon knows who asks by SO_PEERCRED on the real socket, the user runs the
 * real CLI and client inside the host namespace, and the kernel is checked afterwards: root's
 * address is still there, untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lease, listLeases, releaseLease } from '../../src/api/client.js';
import { requirePrivileged } from '../helpers/netns.js';
import { IFACE, leaseLabWithUser } from './lease-harness.js';

const fixture = leaseLabWithUser();

test("a user can neither list nor release root's lease; root's address stays in the kernel", async (t) => {
  if (!requirePrivileged(t, ['setpriv', 'radvd', 'useradd'])) return;
  const l = fixture.lab;
  const rootLease = await lease({ label: 'root-app', interface: IFACE, persistent: true, socketPath: l.socketPath });
  assert.equal(rootLease.lease.uid, 0);
  const rootAddress = rootLease.addresses[0]!;
  assert.equal(rootAddress, l.expectedAddress('root-app'));

  const child = l.runAs(
    fixture.user,
    `print({
       own: await attempt(async () => (await client.lease({ label: 'mine', interface: ${JSON.stringify(IFACE)}, persistent: true, socketPath })).lease),
       list: await attempt(() => client.listLeases({ socketPath })),
       release: await attempt(() => client.releaseLease({ label: 'root-app', interface: ${JSON.stringify(IFACE)}, socketPath })),
       take: await attempt(() => client.lease({ label: 'root-app', interface: ${JSON.stringify(IFACE)}, persistent: true, socketPath })),
       status: await attempt(() => client.status({ socketPath })),
     });`,
  );
  child.closeStdin();
  const r = await child.json<{
    own: { ok: { uid: number; addresses: { address: string }[] } };
    list: { ok: { label: string; uid: number }[] };
    release: { code: string };
    take: { code: string };
    status: { ok: { interfaces: { addresses: { address: string; label: string }[] }[] } };
  }>(0, 60_000);
  assert.equal(r.own.ok.uid, fixture.user.uid, JSON.stringify(r.own));
  assert.deepEqual(r.list.ok.map((x) => [x.label, x.uid]), [['mine', fixture.user.uid]], 'only its own lease is listed');
  assert.equal(r.release.code, 'ERR_API_NOT_FOUND', "root's lease does not exist for this user");
  assert.equal(r.take.code, 'ERR_API_LABEL_TAKEN', 'the label decides the address: one owner');
  const seen = r.status.ok.interfaces.flatMap((i) => i.addresses.map((a) => a.address));
  assert.ok(!seen.includes(rootAddress), 'status does not show root\'s lease address');
  assert.ok(seen.includes(r.own.ok.addresses[0]!.address));

  // The CLI says the same, with a stable code and exit 2 (refused input).
  const cliRelease = await l.cliAs(fixture.user, 'lease', 'release', 'root-app', '--iface', IFACE);
  assert.equal(cliRelease.code, 2, cliRelease.stderr);
  assert.match(cliRelease.stderr, /^stable6: ERR_API_NOT_FOUND: /);
  const cliList = await l.cliAs(fixture.user, 'lease', 'list', '--json');
  assert.equal(cliList.code, 0, cliList.stderr);
  assert.deepEqual((JSON.parse(cliList.stdout) as { label: string }[]).map((x) => x.label), ['mine']);

  // Nothing happened to root's lease: the daemon has it, the kernel has its address.
  assert.deepEqual((await listLeases({ socketPath: l.socketPath })).map((x) => [x.label, x.uid]).sort(), [['mine', fixture.user.uid], ['root-app', 0]]);
  const inKernel = await l.kernelAddress(rootAddress);
  assert.ok(inKernel && !inKernel.tentative, `root's address is in the kernel: ${JSON.stringify(await l.kernelAddresses())}`);

  // Root may release the user's lease (and its address goes).
  const mine = r.own.ok.addresses[0]!.address;
  const released = await releaseLease({ label: 'mine', interface: IFACE, socketPath: l.socketPath });
  assert.equal(released.uid, fixture.user.uid);
  assert.equal(await l.kernelAddress(mine), undefined, 'released: its address left the kernel before the answer');
});
