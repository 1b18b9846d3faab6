/**
 * Issue 5 item 3, against the real daemon: a persistent lease outlives the daemon. The daemon
 * is stopped with SIGTERM and started again (same state directory, same secret), and the
 * lease is still the user's with the same address, which the kernel held the whole time: `ip
 * -6 monitor address` records no deletion of it across the restart (adopted, not re-added).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrivileged } from '../helpers/netns.js';
import { IFACE, leaseLabWithUser, monitorAddresses, type Child } from './lease-harness.js';

const fixture = leaseLabWithUser();
let monitor: Child | undefined;

after(async () => {
  await monitor?.stop('SIGKILL');
});

interface CliLease {
  label: string;
  uid: number;
  persistent: boolean;
  addresses: { address: string; state: string }[];
}

test('after a daemon restart a persistent lease keeps its address, which never left the kernel', async (t) => {
  if (!requirePrivileged(t, ['setpriv', 'radvd', 'useradd'])) return;
  const l = fixture.lab;
  const user = fixture.user;
  const added = await l.cliAs(user, 'lease', 'add', 'keep', '--iface', IFACE, '--persistent', '--json');
  assert.equal(added.code, 0, added.stderr);
  const before = JSON.parse(added.stdout) as CliLease;
  const address = before.addresses[0]!.address;
  assert.equal(address, l.expectedAddress('keep'));
  assert.ok(await l.kernelAddress(address));

  monitor = monitorAddresses(l.host);
  // Let the monitor subscribe before anything happens: a change it reports proves it listens.
  // A change made before `ip monitor` has subscribed is never reported: change it again (each
  // replace with another lifetime is a new notification) until one is.
  const m = monitor;
  for (let i = 0; !m.lines.some((line) => line.includes('2001:db8:5e::feed')); i++) {
    if (i === 60) throw new Error(`ip monitor reported none of 60 changes: ${m.lines.join('\n')}${m.stderr}`);
    await l.host.ip('addr', 'replace', '2001:db8:5e::feed/128', 'dev', IFACE, 'nodad', 'valid_lft', String(3600 + i), 'preferred_lft', '0');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }

  const stopped = await l.stopDaemon();
  assert.equal(stopped.code, 0, l.daemonLog);
  const during = await l.kernelAddress(address);
  assert.ok(during, 'the address stays in the kernel while the daemon is down');
  assert.equal(during.preferred_life_time, 0);

  await l.startDaemon();
  const listed = await l.cliAs(user, 'lease', 'list', '--json');
  assert.equal(listed.code, 0, listed.stderr);
  const leases = JSON.parse(listed.stdout) as CliLease[];
  assert.deepEqual(
    leases.map((x) => ({ label: x.label, uid: x.uid, persistent: x.persistent, addresses: x.addresses.map((a) => a.address) })),
    [{ label: 'keep', uid: user.uid, persistent: true, addresses: [address] }],
  );
  // Asking again gets the same lease (200, not a new one) with the same address.
  const again = await l.cliAs(user, 'lease', 'add', 'keep', '--iface', IFACE, '--persistent', '--json');
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as CliLease).addresses[0]!.address, address);

  // A change made now is reported after anything the restart caused: then read the record.
  await l.host.ip('addr', 'del', '2001:db8:5e::feed/128', 'dev', IFACE);
  await waitLine(monitor, 'Deleted');
  const record = monitor.lines.join('\n');
  const deletions = monitor.lines.filter((line) => line.startsWith('Deleted') && !line.includes('2001:db8:5e::feed'));
  assert.deepEqual(deletions, [], `no address was deleted across the restart:\n${record}`);
  const inKernel = await l.kernelAddress(address);
  assert.ok(inKernel && !inKernel.tentative);
  assert.equal(inKernel.preferred_life_time, 0);
});

function waitLine(child: Child, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = performance.now() + 30_000;
    const check = (): void => {
      if (child.lines.some((line) => line.includes(text))) resolve();
      else if (performance.now() > deadline || !child.running) reject(new Error(`no "${text}" from ip monitor: ${child.lines.join('\n')}${child.stderr}`));
      else setTimeout(check, 25);
    };
    check();
  });
}
