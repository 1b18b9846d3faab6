/**
 * Issue 5, against the real daemon: the `[api]` policy of its configuration file holds for
 * real users identified by SO_PEERCRED. A user not allowed, and a label outside the pattern,
 * are refused with ERR_API_FORBIDDEN; the per-user limit is ERR_API_LIMIT. Each refusal is a
 * stable code (client and CLI) and leaves nothing in the kernel.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrivileged } from '../helpers/netns.js';
import { createUser, IFACE, LeaseLab, NOBODY, removeUser, type TestUser } from './lease-harness.js';

let lab: LeaseLab | undefined;
let user: TestUser | undefined;

before(async () => {
  if (process.getuid?.() !== 0) return;
  user = await createUser();
  // By name: the daemon resolves it from /etc/passwd at start.
  lab = await LeaseLab.create({ allowedUsers: [user.name], labelPattern: '^app-[a-z]+$', maxLeasesPerUser: 2 });
  await lab.startDaemon();
});

after(async () => {
  await lab?.destroy();
  await removeUser(user);
});

/** Every global address on host0 other than the interface's own. */
async function leaseAddresses(l: LeaseLab): Promise<string[]> {
  const own = l.expectedAddress('');
  return (await l.kernelAddresses()).map((a) => a.local).filter((a) => a !== own).sort();
}

test('a user outside allowed_users is refused with ERR_API_FORBIDDEN, and nothing reaches the kernel', async (t) => {
  if (!requirePrivileged(t, ['setpriv', 'radvd', 'useradd'])) return;
  const l = lab!;
  const child = l.runAs(NOBODY, `print(await attempt(() => client.lease({ label: 'app-x', interface: ${JSON.stringify(IFACE)}, socketPath })));`);
  child.closeStdin();
  assert.equal((await child.json<{ code: string }>(0, 60_000)).code, 'ERR_API_FORBIDDEN');

  const cli = await l.cliAs(NOBODY, 'lease', 'add', 'app-x', '--iface', IFACE, '--persistent');
  assert.equal(cli.code, 2, cli.stderr);
  assert.match(cli.stderr, /^stable6: ERR_API_FORBIDDEN: /);
  assert.deepEqual(await leaseAddresses(l), []);
  assert.equal(await l.kernelAddress(l.expectedAddress('app-x')), undefined);
});

test('a label outside label_pattern is refused with ERR_API_FORBIDDEN', async (t) => {
  if (!requirePrivileged(t, ['setpriv', 'radvd', 'useradd'])) return;
  const l = lab!;
  const cli = await l.cliAs(user!, 'lease', 'add', 'web', '--iface', IFACE, '--persistent');
  assert.equal(cli.code, 2, cli.stderr);
  assert.match(cli.stderr, /^stable6: ERR_API_FORBIDDEN: /);
  assert.deepEqual(await leaseAddresses(l), []);
});

test('max_leases_per_user holds: the third lease is ERR_API_LIMIT until one is released', async (t) => {
  if (!requirePrivileged(t, ['setpriv', 'radvd', 'useradd'])) return;
  const l = lab!;
  const add = (label: string) => l.cliAs(user!, 'lease', 'add', label, '--iface', IFACE, '--persistent', '--json');
  const a = await add('app-a');
  assert.equal(a.code, 0, a.stderr);
  const b = await add('app-b');
  assert.equal(b.code, 0, b.stderr);
  const c = await add('app-c');
  assert.equal(c.code, 2, c.stderr);
  assert.match(c.stderr, /^stable6: ERR_API_LIMIT: /);
  assert.deepEqual(await leaseAddresses(l), [l.expectedAddress('app-a'), l.expectedAddress('app-b')].sort());

  // Asking again for a lease it holds is not a new lease: no limit.
  const again = await add('app-a');
  assert.equal(again.code, 0, again.stderr);

  const released = await l.cliAs(user!, 'lease', 'release', 'app-a');
  assert.equal(released.code, 0, released.stderr);
  const c2 = await add('app-c');
  assert.equal(c2.code, 0, c2.stderr);
  assert.deepEqual(await leaseAddresses(l), [l.expectedAddress('app-b'), l.expectedAddress('app-c')].sort());
});
