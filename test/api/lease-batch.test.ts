/**
 * POST /v1/leases/batch: many leases on one interface in one request, each with its own outcome,
 * under the same policy, limits and identity rules as single leases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fc from 'fast-check';
import { compilePolicy } from '../../src/api/policy.js';
import { leaseBatch } from '../../src/api/client.js';
import { MAX_BATCH_LABELS, parseLeaseBatchRequest, parseRoute, type LeaseBatchResult } from '../../src/api/protocol.js';
import { RateLimiter } from '../../src/api/rate-limit.js';
import { isStable6Error } from '../../src/errors.js';
import { errorCode, request, startHarness, until } from './helpers.js';

const resultsOf = (body: unknown): LeaseBatchResult[] => (body as { results: LeaseBatchResult[] }).results;
const outcome = (r: LeaseBatchResult): string => ('lease' in r ? `${r.label}:${r.created ? 'created' : 'held'}` : `${r.label}:${r.error.code}`);

test('parseLeaseBatchRequest: the interface, 1 to 1,024 distinct valid labels, persistent; anything else is refused whole', () => {
  assert.deepEqual(parseLeaseBatchRequest({ interface: 'eth0', labels: ['a', 'b'] }), { interface: 'eth0', labels: ['a', 'b'], persistent: false });
  assert.deepEqual(parseLeaseBatchRequest({ interface: 'eth0', labels: ['a'], persistent: true }).persistent, true);
  const refused = (body: unknown, pattern: RegExp, index?: number): void => {
    assert.throws(
      () => parseLeaseBatchRequest(body),
      (error: unknown) => isStable6Error(error, 'ERR_API_BAD_REQUEST') && pattern.test(error.message) && error.details.index === index,
      JSON.stringify(body)?.slice(0, 80),
    );
  };
  refused(null, /JSON object/);
  refused([], /JSON object/);
  refused({ interface: 'eth0', labels: ['a'], label: 'b' }, /unknown field "label"/);
  refused({ interface: 'eth0', labels: 'a' }, /array of 1 to 1024/);
  refused({ interface: 'eth0', labels: [] }, /array of 1 to 1024/);
  refused({ interface: 'eth0', labels: Array.from({ length: MAX_BATCH_LABELS + 1 }, (_, i) => `l${i}`) }, /array of 1 to 1024/);
  refused({ interface: 'eth0', labels: ['ok', 'not ok'] }, /^labels\[1\]: label "not ok"/, 1);
  refused({ interface: 'eth0', labels: ['ok', 7] }, /^labels\[1\]: label must be a string/, 1);
  refused({ interface: 'eth0', labels: ['a', 'b', 'a'] }, /^labels\[2\]: "a" is in the batch twice/, 2);
  refused({ interface: 'eth0', labels: ['a'], persistent: 'yes' }, /persistent/);
  refused({ interface: 'a/b', labels: ['a'] }, /interface/);
  refused({ labels: ['a'] }, /interface must be a string/);
  // Exactly the maximum is fine.
  assert.equal(parseLeaseBatchRequest({ interface: 'eth0', labels: Array.from({ length: MAX_BATCH_LABELS }, (_, i) => `l${i}`) }).labels.length, MAX_BATCH_LABELS);
});

test('property: any list of distinct valid labels parses to itself, in order', () => {
  const label = fc.stringMatching(/^[a-z0-9][a-z0-9._+:@-]{0,20}$/);
  fc.assert(
    fc.property(fc.uniqueArray(label, { minLength: 1, maxLength: 50 }), fc.boolean(), (labels, persistent) => {
      assert.deepEqual(parseLeaseBatchRequest({ interface: 'eth0', labels, persistent }), { interface: 'eth0', labels, persistent });
    }),
  );
});

test('the batch path: POST only, and a DELETE path still needs interface and label', () => {
  assert.deepEqual(parseRoute('POST', '/v1/leases/batch'), { type: 'lease-batch' });
  assert.throws(() => parseRoute('GET', '/v1/leases/batch'), (e: unknown) => isStable6Error(e, 'ERR_API_METHOD') && (e.details.allow as string[]).join() === 'POST');
  assert.deepEqual(parseRoute('DELETE', '/v1/leases/batch/web'), { type: 'release', key: { interface: 'batch', label: 'web' } });
});

test('RateLimiter.take(key, n): all n tokens or none, never more than the burst', () => {
  let now = 0;
  const limiter = new RateLimiter({ burst: 5, perSecond: 1, now: () => now });
  assert.equal(limiter.take(1, 4), 0);
  assert.equal(limiter.take(1, 2), 1000, 'one token left, two asked: wait for one more');
  assert.equal(limiter.take(1, 1), 0, 'a refused take took nothing');
  now += 5000;
  assert.equal(limiter.take(1, 5), 0);
  assert.throws(() => limiter.take(1, 6), RangeError);
  assert.throws(() => limiter.take(1, 0), RangeError);
});

test('a batch answers every label in order: made, already held, or that label\'s own error', async () => {
  const h = await startHarness();
  try {
    h.as(1001);
    await request(h.socketPath, 'POST', '/v1/leases', { label: 'theirs', interface: 'eth0', persistent: true });
    h.as(1000);
    await request(h.socketPath, 'POST', '/v1/leases', { label: 'mine', interface: 'eth0', persistent: true });
    const reply = await request(h.socketPath, 'POST', '/v1/leases/batch', { interface: 'eth0', labels: ['web', 'mine', 'theirs', 'db'], persistent: true });
    assert.equal(reply.status, 200);
    const results = resultsOf(reply.body);
    assert.deepEqual(results.map(outcome), ['web:created', 'mine:held', 'theirs:ERR_API_LABEL_TAKEN', 'db:created']);
    for (const r of results) {
      if (!('lease' in r)) continue;
      assert.equal(r.lease.uid, 1000, 'identity from the kernel, not the body');
      assert.equal(r.lease.addresses.length, 2, 'one address per prefix of eth0');
    }
    // The same as four single requests would have made: the memory service saw each label once.
    assert.deepEqual(
      h.service.list().filter((l) => l.uid === 1000).map((l) => l.label).sort(),
      ['db', 'mine', 'web'],
    );
  } finally {
    await h.close();
  }
});

test('a batch on an interface the daemon does not manage fails per label with ERR_API_UNKNOWN_INTERFACE', async () => {
  const h = await startHarness();
  try {
    const reply = await request(h.socketPath, 'POST', '/v1/leases/batch', { interface: 'nope0', labels: ['a', 'b'], persistent: true });
    assert.equal(reply.status, 200);
    assert.deepEqual(resultsOf(reply.body).map(outcome), ['a:ERR_API_UNKNOWN_INTERFACE', 'b:ERR_API_UNKNOWN_INTERFACE']);
  } finally {
    await h.close();
  }
});

test('policy and limits apply label by label, in the batch\'s order: earlier labels count against later ones', async () => {
  const policy = compilePolicy({ labels: ['{uid}-*'], maxLeasesPerUser: 3 }, { users: new Map(), groups: new Map() });
  const h = await startHarness({ policy });
  try {
    h.as(1000);
    const reply = await request(h.socketPath, 'POST', '/v1/leases/batch', { interface: 'eth1', labels: ['1000-a', 'other', '1000-b', '1000-c', '1000-d'], persistent: true });
    assert.equal(reply.status, 200);
    assert.deepEqual(resultsOf(reply.body).map(outcome), ['1000-a:created', 'other:ERR_API_FORBIDDEN', '1000-b:created', '1000-c:created', '1000-d:ERR_API_LIMIT']);
    assert.equal(h.service.list().length, 3);
  } finally {
    await h.close();
  }
});

test('a non-root batch costs a token per label and holds at most the rate burst; root is exempt', async () => {
  let now = 0;
  const h = await startHarness({ now: () => now, limits: { rateBurst: 4, ratePerSecond: 1 } });
  try {
    h.as(1000);
    const tooBig = await request(h.socketPath, 'POST', '/v1/leases/batch', { interface: 'eth1', labels: ['a', 'b', 'c', 'd', 'e'], persistent: true });
    assert.equal(tooBig.status, 403);
    assert.equal(errorCode(tooBig), 'ERR_API_LIMIT');
    assert.match((tooBig.body as { error: { message: string } }).error.message, /at most 4 labels, got 5/);
    now += 10_000;
    const three = await request(h.socketPath, 'POST', '/v1/leases/batch', { interface: 'eth1', labels: ['a', 'b', 'c'], persistent: true });
    assert.equal(three.status, 200);
    const next = await request(h.socketPath, 'POST', '/v1/leases/batch', { interface: 'eth1', labels: ['d', 'e'], persistent: true });
    assert.equal(next.status, 429, 'one token left after three labels and this request');
    assert.equal(errorCode(next), 'ERR_API_RATE_LIMITED');
    assert.equal(h.service.list().length, 3, 'a refused batch made nothing');
    h.as(0);
    const root = await request(h.socketPath, 'POST', '/v1/leases/batch', { interface: 'eth1', labels: Array.from({ length: 100 }, (_, i) => `r${i}`), persistent: true });
    assert.equal(root.status, 200);
    assert.equal(resultsOf(root.body).filter((r) => 'lease' in r).length, 100);
  } finally {
    await h.close();
  }
});

test('a batch body has a limit of its own, larger than a single lease\'s; over it is ERR_API_TOO_LARGE', async () => {
  const h = await startHarness({ limits: { maxBodyBytes: 256, maxBatchBodyBytes: 2048 } });
  try {
    h.as(0);
    const labels = Array.from({ length: 40 }, (_, i) => `label-${i}`); // ~600 bytes: over a single lease's limit, under the batch's
    assert.equal((await request(h.socketPath, 'POST', '/v1/leases/batch', { interface: 'eth1', labels, persistent: true })).status, 200);
    const big = await request(h.socketPath, 'POST', '/v1/leases/batch', { interface: 'eth1', labels: Array.from({ length: 200 }, (_, i) => `label-${i}`), persistent: true });
    assert.equal(big.status, 413);
    assert.equal(errorCode(big), 'ERR_API_TOO_LARGE');
    const single = await request(h.socketPath, 'POST', '/v1/leases', { label: 'x'.repeat(250), interface: 'eth1' });
    assert.equal(errorCode(single), 'ERR_API_TOO_LARGE', 'the single-lease limit is unchanged');
  } finally {
    await h.close();
  }
});

test('a connection-bound batch ends with its connection; the client releases every lease it got', async () => {
  const h = await startHarness();
  try {
    h.as(1000);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const bound = await request(h.socketPath, 'POST', '/v1/leases/batch', { interface: 'eth0', labels: ['x', 'y'] }, { agent });
    assert.deepEqual(resultsOf(bound.body).map(outcome), ['x:created', 'y:created']);
    assert.equal(h.service.list().length, 2);
    agent.destroy();
    await until(() => h.service.list().length === 0);

    const handle = await leaseBatch({ labels: ['p', 'q', 'r'], interface: 'eth1', persistent: true, socketPath: h.socketPath });
    assert.deepEqual(handle.leases.map((l) => l.label), ['p', 'q', 'r']);
    assert.equal(h.service.list().length, 3);
    await handle.release();
    assert.equal(h.service.list().length, 0);
    // The whole request refused: the client rejects with the daemon's code.
    await assert.rejects(leaseBatch({ labels: ['p', 'p'], interface: 'eth1', socketPath: h.socketPath }), (e: unknown) => isStable6Error(e, 'ERR_API_BAD_REQUEST'));
  } finally {
    await h.close();
  }
});
