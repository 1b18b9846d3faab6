// SIDs, TOKEN_USER / TOKEN_GROUPS blocks and the SID → uid mapping of the named-pipe API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compilePolicy } from '../../../src/api/policy.js';
import {
  SID_UID_BASE,
  SE_GROUP_USE_FOR_DENY_ONLY,
  SidIdRegistry,
  canonicalSid,
  decodeTokenGroups,
  decodeTokenUser,
  encodeTokenGroups,
  encodeTokenUser,
  formatSid,
  identityFromToken,
  parseSid,
  sidIdDatabase,
  uidForSid,
} from '../../../src/platform/windows/pipe-sid.js';
import { ALICE, BOB, MALLORY, codeOf, pipeRequest, startPipeHarness } from './pipe-helpers.js';
import { fakeUserToken } from '../../../src/platform/windows/pipe-fake.js';

// S-1-5-21-1-2-3-1001 as Windows stores it (winnt.h SID).
const SID_BYTES = Uint8Array.from([
  0x01, // Revision
  0x05, // SubAuthorityCount
  0x00, 0x00, 0x00, 0x00, 0x00, 0x05, // IdentifierAuthority: SECURITY_NT_AUTHORITY, big-endian
  0x15, 0x00, 0x00, 0x00, // 21 (SECURITY_NT_NON_UNIQUE), little-endian
  0x01, 0x00, 0x00, 0x00, // 1
  0x02, 0x00, 0x00, 0x00, // 2
  0x03, 0x00, 0x00, 0x00, // 3
  0xe9, 0x03, 0x00, 0x00, // 1001: the RID
]);

test('a SID, golden bytes both ways', () => {
  assert.equal(formatSid(SID_BYTES), 'S-1-5-21-1-2-3-1001');
  assert.deepEqual(parseSid('S-1-5-21-1-2-3-1001'), SID_BYTES);
  // Well-known SIDs with no and one sub-authority; an authority past 2^32 is hex, as ConvertSidToStringSid writes it.
  assert.deepEqual(parseSid('S-1-1-0'), Uint8Array.from([1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]));
  assert.deepEqual(parseSid('S-1-5'), Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 5]));
  assert.equal(formatSid(Uint8Array.from([1, 0, 0x12, 0x34, 0, 0, 0, 1])), 'S-1-0x123400000001');
  assert.equal(canonicalSid('s-1-5-32-544'), 'S-1-5-32-544');
});

test('bad SIDs are ERR_WIN32_PIPE_IDENTITY', () => {
  for (const text of ['', 'S-2-5', 'S-1-5-4294967296', 'S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16', 'S-1-5-x']) {
    assert.throws(() => parseSid(text), { code: 'ERR_WIN32_PIPE_IDENTITY' }, text);
  }
  assert.throws(() => formatSid(SID_BYTES.subarray(0, 10)), { code: 'ERR_WIN32_PIPE_IDENTITY' });
  assert.throws(() => formatSid(Uint8Array.from([2, 0, 0, 0, 0, 0, 0, 5])), { code: 'ERR_WIN32_PIPE_IDENTITY' });
});

const sidArbitrary = fc
  .tuple(fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.bigInt({ min: 1n << 32n, max: (1n << 48n) - 1n })), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }))
  .map(([authority, subs]) => {
    const a = typeof authority === 'bigint' ? `0x${authority.toString(16).padStart(12, '0')}` : String(authority);
    return ['S-1', a, ...subs.map(String)].join('-');
  });

test('property: parseSid and formatSid round-trip', () => {
  fc.assert(
    fc.property(sidArbitrary, (sid) => {
      assert.equal(formatSid(parseSid(sid)), sid);
    }),
  );
});

test('TOKEN_USER and TOKEN_GROUPS: golden block both ways (x64: pointers into the block itself)', () => {
  const base = 0x1000n;
  const user = encodeTokenUser({ sid: 'S-1-5-21-1-2-3-1001', attributes: 0 }, base);
  const golden = Uint8Array.from([
    0x10, 0x10, 0, 0, 0, 0, 0, 0, // User.Sid = base + 16
    0, 0, 0, 0, // User.Attributes
    0, 0, 0, 0, // padding to 16 (SID_AND_ATTRIBUTES is 16 bytes on x64)
    ...SID_BYTES,
  ]);
  assert.deepEqual(user, golden);
  assert.deepEqual(decodeTokenUser(golden, base), { sid: 'S-1-5-21-1-2-3-1001', attributes: 0 });

  const groups = [
    { sid: 'S-1-1-0', attributes: 7 },
    { sid: 'S-1-5-32-544', attributes: SE_GROUP_USE_FOR_DENY_ONLY },
  ];
  const block = encodeTokenGroups(groups, 0x7ff0_0000_0000n);
  const view = new DataView(block.buffer);
  assert.equal(view.getUint32(0, true), 2); // GroupCount
  assert.equal(view.getBigUint64(8, true), 0x7ff0_0000_0000n + 40n); // Groups[0].Sid: after the 8-byte header and 2 × 16
  assert.equal(view.getUint32(16, true), 7); // Groups[0].Attributes
  assert.equal(view.getBigUint64(24, true), 0x7ff0_0000_0000n + 40n + 12n); // Groups[1].Sid after S-1-1-0 (12 bytes)
  assert.deepEqual(decodeTokenGroups(block, 0x7ff0_0000_0000n), groups);
});

test('token blocks whose pointers leave the block, or that claim too many groups, are refused', () => {
  const block = encodeTokenGroups([{ sid: 'S-1-1-0', attributes: 7 }], 0x1000n);
  assert.throws(() => decodeTokenGroups(block, 0x2000n), { code: 'ERR_WIN32_PIPE_IDENTITY' });
  const lying = Uint8Array.from(block);
  new DataView(lying.buffer).setUint32(0, 1000, true);
  assert.throws(() => decodeTokenGroups(lying, 0x1000n), { code: 'ERR_WIN32_PIPE_IDENTITY' });
  assert.throws(() => decodeTokenUser(new Uint8Array(8), 0n), { code: 'ERR_WIN32_PIPE_IDENTITY' });
});

test('property: token groups round-trip at any base', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ sid: sidArbitrary, attributes: fc.integer({ min: 0, max: 0xffffffff }) }), { maxLength: 20 }),
      fc.bigInt({ min: 0n, max: (1n << 47n) - 1n }),
      (records, base) => {
        const groups = records.map((g) => ({ sid: g.sid, attributes: g.attributes }));
        assert.deepEqual(decodeTokenGroups(encodeTokenGroups(groups, base), base), groups);
      },
    ),
  );
});

test('uids from SIDs: stable, above 2^31, never 0 or 0xffffffff, different for the same RID in two domains', () => {
  assert.equal(uidForSid(ALICE), uidForSid(ALICE.toLowerCase()));
  assert.notEqual(uidForSid(ALICE), uidForSid(MALLORY));
  // A pinned value: the mapping must never change, or persisted leases would change owner.
  assert.equal(uidForSid('S-1-5-21-1-2-3-1001'), 3244944358);
  fc.assert(
    fc.property(sidArbitrary, (sid) => {
      const uid = uidForSid(sid);
      assert.ok(uid >= SID_UID_BASE && uid < 0xffffffff);
    }),
  );
});

test('SidIdRegistry refuses a second SID on a taken uid instead of merging two people', async () => {
  const registry = new SidIdRegistry([ALICE, BOB]);
  assert.equal(registry.idFor(ALICE), uidForSid(ALICE));
  assert.equal(registry.sidOf(uidForSid(BOB)), BOB);
  assert.deepEqual(registry.knownSids().sort(), [ALICE, BOB].sort());

  // A mapping where BOB lands on ALICE's uid: the first keeps it, the second is refused.
  const colliding = new SidIdRegistry([ALICE], (sid) => (sid === BOB ? uidForSid(ALICE) : uidForSid(sid)));
  assert.equal(colliding.idFor(ALICE), uidForSid(ALICE));
  assert.throws(() => colliding.idFor(BOB), (error: unknown) => {
    assert.ok(error instanceof Error && 'code' in error && error.code === 'ERR_WIN32_PIPE_IDENTITY');
    assert.match(error.message, /map to the same uid/);
    return true;
  });
  // Over the pipe: the second person is refused at the door, and never sees the first's lease.
  const h = await startPipeHarness({ listener: { registry: colliding } });
  try {
    const first = await pipeRequest(h.kernel, fakeUserToken(ALICE), 'POST', '/v1/leases', { label: 'a', interface: 'eth0', persistent: true });
    assert.equal(first.status, 201, first.text);
    await assert.rejects(pipeRequest(h.kernel, fakeUserToken(BOB), 'GET', '/v1/leases'), { code: 'ECONNRESET' });
    assert.ok(h.logs.some((l) => l.includes('map to the same uid')));
  } finally {
    await h.close();
  }
});

test('identityFromToken: deny-only groups do not count; SYSTEM and enabled Administrators are root; anonymous is refused', () => {
  const registry = new SidIdRegistry();
  const filtered = fakeUserToken(ALICE, { admin: true, elevated: false });
  const plain = identityFromToken({ sid: filtered.user, attributes: 0 }, filtered.groups, 10, registry);
  assert.equal(plain.uid, uidForSid(ALICE));
  assert.equal(plain.gid, plain.uid);
  assert.ok(!plain.groupSids.includes('S-1-5-32-544'));
  assert.deepEqual(plain.groups, plain.groupSids.map(uidForSid));
  assert.equal(plain.pid, 10);

  const elevated = fakeUserToken(ALICE, { admin: true, elevated: true });
  assert.equal(identityFromToken({ sid: elevated.user, attributes: 0 }, elevated.groups, 10, registry).uid, 0);
  assert.equal(identityFromToken({ sid: 'S-1-5-18', attributes: 0 }, [], 4, registry).uid, 0);
  assert.throws(() => identityFromToken({ sid: 'S-1-5-7', attributes: 0 }, [], 4, registry), { code: 'ERR_WIN32_PIPE_IDENTITY' });
});

test('a policy written with SIDs: allowed_groups by group SID, allowed_users by user SID, over the pipe', async () => {
  const registry = new SidIdRegistry();
  const GROUP = 'S-1-5-21-1004336348-1177238915-682003330-3001';
  const ids = sidIdDatabase({ users: [BOB], groups: [GROUP] }, registry);
  const policy = compilePolicy({ users: [BOB], groups: [GROUP] }, ids);
  // An account name cannot be resolved without LookupAccountNameW: the policy refuses to load.
  assert.throws(() => compilePolicy({ users: ['alice'] }, sidIdDatabase({ users: ['alice'], groups: [] }, registry)), { code: 'ERR_API_CONFIG' });

  const h = await startPipeHarness({ listener: { registry }, server: { policy } });
  try {
    const inGroup = { ...fakeUserToken(ALICE), groups: [...fakeUserToken(ALICE).groups, { sid: GROUP, attributes: 7 }] };
    const member = await pipeRequest(h.kernel, inGroup, 'POST', '/v1/leases', { label: 'a', interface: 'eth0' });
    assert.equal(member.status, 201, member.text);
    const listed = await pipeRequest(h.kernel, fakeUserToken(BOB), 'POST', '/v1/leases', { label: 'b', interface: 'eth0' });
    assert.equal(listed.status, 201, listed.text);
    const outsider = await pipeRequest(h.kernel, fakeUserToken(MALLORY), 'POST', '/v1/leases', { label: 'c', interface: 'eth0' });
    assert.equal(codeOf(outsider), 'ERR_API_FORBIDDEN');
    // A group present only for deny (like a filtered token's) does not let one in.
    const denyOnly = { ...fakeUserToken(MALLORY), groups: [...fakeUserToken(MALLORY).groups, { sid: GROUP, attributes: SE_GROUP_USE_FOR_DENY_ONLY }] };
    const refused = await pipeRequest(h.kernel, denyOnly, 'POST', '/v1/leases', { label: 'd', interface: 'eth0' });
    assert.equal(codeOf(refused), 'ERR_API_FORBIDDEN');
  } finally {
    await h.close();
  }
});

test('SidIdRegistry.onNew hears each SID once, when it is first given a uid (the seeds are not new)', () => {
  const registry = new SidIdRegistry([ALICE]);
  const heard: string[] = [];
  registry.onNew((sid) => heard.push(sid));
  registry.idFor(ALICE);
  registry.idFor(BOB);
  registry.idFor(BOB.toLowerCase());
  assert.deepEqual(heard, [BOB]);
});
