import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLimits, checkMayLease, compilePolicy, labelAllowed, maySee, parseIdFile, policyFromSettings, userAllowed } from '../../src/api/policy.js';
import { RateLimiter } from '../../src/api/rate-limit.js';
import { resolveGroup } from '../../src/api/id-database.js';
import type { Caller } from '../../src/api/service.js';
import { isStable6Error } from '../../src/errors.js';

const caller = (uid: number, gid = uid, groups: number[] = []): Caller => ({ uid, gid, groups, pid: 1, connectionId: 'c1' });
const ids = {
  users: parseIdFile('root:x:0:0::/root:/bin/sh\n# comment\nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/:/bin/sh\nbroken\n'),
  groups: parseIdFile('root:x:0:\nstable6:x:990:alice\n'),
};

test('parseIdFile reads passwd and group lines', () => {
  assert.deepEqual([...ids.users], [['root', 0], ['alice', 1000], ['bob', 1001]]);
  assert.equal(resolveGroup('stable6', ids), 990);
  assert.equal(resolveGroup('42', ids), 42);
  assert.throws(() => resolveGroup('nope', ids), (e) => isStable6Error(e, 'ERR_API_CONFIG'));
});

test('no users or groups configured: anyone who can open the socket may lease', () => {
  const open = compilePolicy({});
  assert.ok(userAllowed(open, caller(1234)));
  const listed = compilePolicy({ users: ['alice'], groups: ['stable6'] }, ids);
  assert.ok(userAllowed(listed, caller(1000)));
  assert.ok(userAllowed(listed, caller(2000, 990)));
  assert.ok(userAllowed(listed, caller(2000, 2000, [5, 990])));
  assert.ok(!userAllowed(listed, caller(1001)));
  assert.ok(userAllowed(listed, caller(0)));
  assert.throws(() => compilePolicy({ users: ['mallory'] }, ids), (e) => isStable6Error(e, 'ERR_API_CONFIG'));
  assert.throws(() => compilePolicy({ maxLeasesPerUser: -1 }), (e) => isStable6Error(e, 'ERR_API_CONFIG'));
});

test('label patterns: globs with {user} and {uid}; regular expression; root unrestricted', () => {
  const p = compilePolicy({ labels: ['{user}-*', 'app?', 'u{uid}.*'] }, ids);
  assert.ok(labelAllowed(p, caller(1000), 'alice-web'));
  assert.ok(!labelAllowed(p, caller(1001), 'alice-web'));
  assert.ok(labelAllowed(p, caller(1001), 'app1'));
  assert.ok(!labelAllowed(p, caller(1001), 'app12'));
  assert.ok(labelAllowed(p, caller(4321), 'u4321.x'));
  assert.ok(!labelAllowed(p, caller(4321), 'u4321x'), 'the dot is literal');
  assert.ok(labelAllowed(p, caller(0), 'anything'));
  const re = compilePolicy({ labelRegExp: '^[a-z]+$' });
  assert.ok(labelAllowed(re, caller(5), 'web'));
  assert.ok(!labelAllowed(re, caller(5), 'Web'));
  assert.throws(() => compilePolicy({ labelRegExp: '(' }), (e) => isStable6Error(e, 'ERR_API_CONFIG'));
  assert.throws(() => checkMayLease(re, caller(5), 'Web'), (e) => isStable6Error(e, 'ERR_API_FORBIDDEN'));
});

test('policyFromSettings maps the daemon [api] table: empty lists mean open', () => {
  const open = policyFromSettings({ allowedUsers: [], allowedGroups: [], labelPattern: '^[a-z0-9][a-z0-9._-]{0,62}$', maxLeasesPerUser: 3 });
  assert.ok(userAllowed(open, caller(77)));
  assert.ok(!labelAllowed(open, caller(77), 'UPPER'));
  assert.equal(open.maxLeasesPerUser, 3);
  const closed = policyFromSettings({ allowedUsers: [], allowedGroups: ['stable6'], maxLeasesPerUser: 3 }, ids);
  assert.ok(!userAllowed(closed, caller(77)));
  assert.ok(userAllowed(closed, caller(77, 77, [990])));
});

test('limits and visibility', () => {
  const p = compilePolicy({ maxLeasesPerUser: 2, maxLeases: 5 });
  checkLimits(p, caller(1), 1, 4);
  assert.throws(() => checkLimits(p, caller(1), 2, 2), (e) => isStable6Error(e, 'ERR_API_LIMIT'));
  checkLimits(p, caller(0), 50, 4);
  assert.throws(() => checkLimits(p, caller(0), 0, 5), (e) => isStable6Error(e, 'ERR_API_LIMIT'));
  assert.ok(maySee(caller(1), 1));
  assert.ok(maySee(caller(1), undefined));
  assert.ok(!maySee(caller(1), 2));
  assert.ok(maySee(caller(0), 2));
});

test('token bucket: burst, refill with the injected clock, retry hint, bounded table', () => {
  let now = 1000;
  const limiter = new RateLimiter({ burst: 2, perSecond: 4, now: () => now, maxKeys: 3 });
  assert.equal(limiter.take(1), 0);
  assert.equal(limiter.take(1), 0);
  assert.equal(limiter.take(1), 250);
  now += 125;
  assert.equal(limiter.take(1), 125);
  now += 125;
  assert.equal(limiter.take(1), 0);
  now += 10_000;
  assert.equal(limiter.take(1), 0);
  assert.equal(limiter.take(1), 0);
  assert.equal(limiter.take(1), 250, 'never more than the burst');
  for (let uid = 10; uid < 20; uid++) limiter.take(uid);
  assert.ok(limiter.size <= 3);
});
