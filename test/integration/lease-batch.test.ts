/**
 * Issue 5, against the real daemon in a namespace: POST /v1/leases/batch. A user's batch gives
 * each label its stable6-v1 address, past DAD in the kernel, with its own outcome per label (one
 * held by another user fails alone); the kernel, not the daemon's word, is checked.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrivileged } from '../helpers/netns.js';
import { createUser, IFACE, LeaseLab, removeUser, type TestUser } from './lease-harness.js';
import type { LeaseBatchResult } from '../../src/api/protocol.js';

let lab: LeaseLab | undefined;
let user: TestUser | undefined;

before(async () => {
  if (process.getuid?.() !== 0) return;
  user = await createUser();
  lab = await LeaseLab.create();
  await lab.startDaemon();
});

after(async () => {
  await lab?.destroy();
  await removeUser(user);
});

test('a batch as a non-root user: every label its address in the kernel, past DAD; a taken label fails alone', async (t) => {
  if (!requirePrivileged(t, ['setpriv', 'radvd', 'useradd'])) return;
  const l = lab!;
  // root holds "svc-taken" first.
  const root = await l.cliAs({ name: 'root', uid: 0, gid: 0 }, 'lease', 'add', 'svc-taken', '--iface', IFACE, '--persistent');
  assert.equal(root.code, 0, root.stderr);
  const labels = Array.from({ length: 12 }, (_, i) => `svc-${i}`);
  const cli = await l.cliAs(user!, 'lease', 'add', ...labels, 'svc-taken', '--iface', IFACE, '--persistent', '--json');
  assert.equal(cli.code, 2, `one label was refused: exit 2\n${cli.stderr}`);
  const results = JSON.parse(cli.stdout) as LeaseBatchResult[];
  assert.deepEqual(
    results.map((r) => r.label),
    [...labels, 'svc-taken'],
  );
  const taken = results.at(-1)!;
  assert.ok('error' in taken && taken.error.code === 'ERR_API_LABEL_TAKEN', JSON.stringify(taken));
  const inKernel = new Map((await l.kernelAddresses()).map((a) => [a.local, a]));
  for (const r of results.slice(0, -1)) {
    assert.ok('lease' in r, JSON.stringify(r));
    assert.equal(r.lease.uid, user!.uid, 'the owner is who the kernel says connected');
    const want = l.expectedAddress(r.label);
    assert.deepEqual(r.lease.addresses.map((a) => a.address), [want], r.label);
    const k = inKernel.get(want);
    assert.ok(k, `${want} (${r.label}) is in the kernel`);
    assert.ok(!k.tentative && !k.dadfailed, `${want} passed DAD`);
    assert.equal(k.preferred_life_time, 0, 'a lease address is deprecated: never the default source');
  }
  // The same batch again: the same addresses, nothing new.
  const again = await l.cliAs(user!, 'lease', 'add', ...labels.slice(0, 5), '--iface', IFACE, '--persistent', '--json');
  assert.equal(again.code, 0, again.stderr);
  const second = JSON.parse(again.stdout) as LeaseBatchResult[];
  assert.ok(second.every((r) => 'lease' in r && !r.created && r.lease.addresses[0]?.address === l.expectedAddress(r.label)));
  // The per-user limit (16 by default) counts the batch's own earlier labels: 4 more fit.
  const more = await l.cliAs(user!, 'lease', 'add', 'm-0', 'm-1', 'm-2', 'm-3', 'm-4', 'm-5', '--iface', IFACE, '--persistent', '--json');
  assert.equal(more.code, 2, more.stderr);
  const outcomes = (JSON.parse(more.stdout) as LeaseBatchResult[]).map((r) => ('lease' in r ? 'made' : r.error.code));
  assert.deepEqual(outcomes, ['made', 'made', 'made', 'made', 'ERR_API_LIMIT', 'ERR_API_LIMIT']);
  const kernel = new Set((await l.kernelAddresses()).map((a) => a.local));
  assert.ok(kernel.has(l.expectedAddress('m-3')) && !kernel.has(l.expectedAddress('m-4')), 'the refused labels have no address');
});

test('a non-root batch over the rate burst is refused whole, and nothing reaches the kernel', async (t) => {
  if (!requirePrivileged(t, ['setpriv', 'radvd', 'useradd'])) return;
  const l = lab!;
  const before = (await l.kernelAddresses()).length;
  const labels = Array.from({ length: 51 }, (_, i) => `big-${i}`);
  const cli = await l.cliAs(user!, 'lease', 'add', ...labels, '--iface', IFACE, '--persistent');
  assert.equal(cli.code, 2, cli.stderr);
  assert.match(cli.stderr, /^stable6: ERR_API_LIMIT: a batch from uid \d+ holds at most 50 labels, got 51/);
  assert.equal((await l.kernelAddresses()).length, before);
});
