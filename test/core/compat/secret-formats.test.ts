import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { isStable6Error } from '../../../src/errors.js';
import {
  formatDhcpcdSecret,
  formatLinuxStableSecret,
  networkdAppSpecificKey,
  nmHostId,
  parseDhcpcdSecret,
  parseLinuxStableSecret,
  parseMachineId,
  parseNetworkdTokenKey,
  parseSoiiKey,
} from '../../../src/core/compat/secret-formats.js';

const malformed = (e: unknown): boolean => isStable6Error(e, 'ERR_COMPAT_SECRET_MALFORMED');

test('linux stable_secret: the kernel\'s %pI6 text and any IPv6 text; round trip (property)', () => {
  const bytes = parseLinuxStableSecret('2001:0db8:0001:0002:0003:0004:0005:0006\n', '/proc/x');
  assert.equal(Buffer.from(bytes).toString('hex'), '20010db8000100020003000400050006');
  assert.deepEqual(parseLinuxStableSecret('2001:db8:1:2:3:4:5:6', 'x'), bytes);
  assert.equal(formatLinuxStableSecret(bytes), '2001:0db8:0001:0002:0003:0004:0005:0006');
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (s) => assert.deepEqual(parseLinuxStableSecret(formatLinuxStableSecret(s), 'x'), s)));
  assert.throws(() => parseLinuxStableSecret('', '/proc/sys/net/ipv6/conf/eth0/stable_secret'), (e) => malformed(e) && String((e as Error).message).includes('/proc/sys/net/ipv6/conf/eth0/stable_secret'));
  assert.throws(() => parseLinuxStableSecret('not-an-address', 'x'), malformed);
});

test('machine-id: 32 hex digits (or the UUID form); uninitialized, short and zero ids refused', () => {
  assert.equal(Buffer.from(parseMachineId('3d1219c7c4c5404aaa1f6d2a48adfda4\n', 'm')).toString('hex'), '3d1219c7c4c5404aaa1f6d2a48adfda4');
  assert.equal(Buffer.from(parseNetworkdTokenKey('86b123b9-69ba-4b7e-b8b3-d8605123525a', 't')).toString('hex'), '86b123b969ba4b7eb8b3d8605123525a');
  for (const bad of ['uninitialized\n', 'abc', '00000000000000000000000000000000', '3d1219c7c4c5404aaa1f6d2a48adfdzz']) {
    assert.throws(() => parseMachineId(bad, '/etc/machine-id'), malformed, bad);
  }
});

test('networkd app-specific key: HMAC-SHA256(machine id, app id), first 16 bytes, made a v4 UUID (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (machineId) => {
      const key = networkdAppSpecificKey(machineId);
      const h = createHmac('sha256', machineId).update(Buffer.from('13ac81a7d53f497892795d0c293abc7e', 'hex')).digest();
      assert.equal(key.length, 16);
      assert.equal((key[6] ?? 0) >> 4, 4);
      assert.equal((key[8] ?? 0) >> 6, 2);
      for (let i = 0; i < 16; i++) if (i !== 6 && i !== 8) assert.equal(key[i], h[i]);
      assert.equal((key[6] ?? 0) & 0x0f, (h[6] ?? 0) & 0x0f);
      assert.equal((key[8] ?? 0) & 0x3f, (h[8] ?? 0) & 0x3f);
    }),
    { numRuns: 50 },
  );
});

test('NetworkManager secret_key nm-v2: equals the shell recipe in NM\'s own source comment', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 's6-nm-'));
  try {
    const key = Buffer.concat([Buffer.from('nm-v2:'), Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff))]);
    const machineIdText = '3d1219c7c4c5404aaa1f6d2a48adfda4\n';
    writeFileSync(path.join(dir, 'secret_key'), key);
    writeFileSync(path.join(dir, 'machine-id'), machineIdText);
    // (stat -c '%s' secret_key; echo -n ' '; cat secret_key; cat machine-id | tr -d '\n' | sed -n 's/[a-f0-9-]/\0/pg') | sha256sum
    const oracle = execFileSync(
      'sh',
      ['-c', `cd "$1" && (printf '%s' "$(stat -c %s secret_key)"; printf ' '; cat secret_key; cat machine-id | tr -d '\\n') | sha256sum`, 'sh', dir],
      { encoding: 'utf8' },
    ).split(' ')[0];
    const ours = Buffer.from(nmHostId(key, parseMachineId(machineIdText, 'm'), 'secret_key')).toString('hex');
    assert.equal(ours, oracle);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('NetworkManager secret_key: a legacy key (≥ 16 bytes) is used raw; shorter keys are refused with the file named', () => {
  const legacy = Buffer.alloc(32, 7);
  assert.deepEqual(nmHostId(legacy, undefined, 'k'), Uint8Array.from(legacy));
  const shortV2 = Buffer.from('nm-v2:abc'); // too short for v2, but ≥ 9 bytes only: refused
  assert.throws(() => nmHostId(shortV2, undefined, '/var/lib/NetworkManager/secret_key'), (e) => malformed(e) && (e as Error).message.includes('/var/lib/NetworkManager/secret_key'));
});

test('dhcpcd secret: hwaddr_aton rules; round trip (property)', () => {
  assert.equal(Buffer.from(parseDhcpcdSecret('00:11:22:33\n', 's')).toString('hex'), '00112233');
  assert.equal(Buffer.from(parseDhcpcdSecret('00-11\n22:33', 's')).toString('hex'), '00112233');
  for (const bad of ['', '0', '00', '00:1', '00 11', '00:11\r\n', 'zz:11']) {
    assert.throws(() => parseDhcpcdSecret(bad, '/var/lib/dhcpcd/secret'), malformed, JSON.stringify(bad));
  }
  fc.assert(fc.property(fc.uint8Array({ minLength: 2, maxLength: 64 }), (s) => assert.deepEqual(parseDhcpcdSecret(formatDhcpcdSecret(s), 'x'), s)));
});

test('soii.key: 32 hex digits', () => {
  assert.equal(parseSoiiKey('000102030405060708090a0b0c0d0e0f\n', 'k').length, 16);
  assert.throws(() => parseSoiiKey('0001', '/etc/soii.key'), malformed);
});

test('no secret value ever appears in an error message', () => {
  const secretish = 'deadbeefcafe1234deadbeefcafe12zz';
  for (const parse of [parseMachineId, parseSoiiKey, parseDhcpcdSecret, parseLinuxStableSecret]) {
    try {
      parse(secretish, 'file');
      assert.fail('should refuse');
    } catch (e) {
      assert.ok(!(e as Error).message.includes('deadbeef'));
    }
  }
});
