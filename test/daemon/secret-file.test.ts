import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  loadSecretFile,
  newSecret,
  parseSecretHex,
  secretFingerprint,
  writeSecretFile,
} from '../../src/daemon/secret-file.js';
import { isStable6Error, type ErrorCode } from '../../src/errors.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 's6t-secret-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

const HEX32 = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

function rejectsWith(code: ErrorCode, file: string) {
  return (e: unknown): boolean => isStable6Error(e, code) && e.message.startsWith(file) && !e.message.includes(HEX32);
}

test('written secrets are 32 CSPRNG bytes as hex, mode 0600, and load back', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'sub', 'secret');
  const secret = newSecret();
  assert.equal(secret.length, 32);
  const previous = process.umask(0); // a careless umask must not widen the mode
  try {
    await writeSecretFile(file, secret, false);
  } finally {
    process.umask(previous);
  }
  const stat = await fs.stat(file);
  assert.equal(stat.mode & 0o777, 0o600);
  assert.match(await fs.readFile(file, 'utf8'), /^[0-9a-f]{64}\n$/);
  assert.deepEqual(await loadSecretFile(file), secret);
  assert.deepEqual(await fs.readdir(path.dirname(file)), ['secret'], 'no temporary file left behind');
});

test('an existing secret is never replaced without force, and is replaced with it', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'secret');
  await fs.writeFile(file, `${HEX32}\n`, { mode: 0o600 });
  await assert.rejects(writeSecretFile(file, newSecret(), false), rejectsWith('ERR_SECRET_EXISTS', file));
  assert.equal(await fs.readFile(file, 'utf8'), `${HEX32}\n`, 'untouched');
  const replacement = newSecret();
  await writeSecretFile(file, replacement, true);
  assert.deepEqual(await loadSecretFile(file), replacement);
  assert.deepEqual(await fs.readdir(dir), ['secret']);
});

test('two writers without force: exactly one wins, the file is whole', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'secret');
  const secrets = Array.from({ length: 8 }, () => newSecret());
  const results = await Promise.allSettled(secrets.map((s) => writeSecretFile(file, s, false)));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  const winner = secrets[results.findIndex((r) => r.status === 'fulfilled')];
  assert.deepEqual(await loadSecretFile(file), winner);
  assert.deepEqual(await fs.readdir(dir), ['secret']);
});

test('a failed write leaves the old state and no temporary file', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'secret');
  await fs.mkdir(file); // renaming a file over a directory fails
  await assert.rejects(writeSecretFile(file, newSecret(), true), rejectsWith('ERR_SECRET_IO', file));
  assert.deepEqual(await fs.readdir(dir), ['secret']);
  assert.ok((await fs.stat(file)).isDirectory());
});

test('loading refuses group- or world-accessible modes, naming the file and the fix', async (t) => {
  const dir = await tempDir(t);
  for (const mode of [0o640, 0o604, 0o660, 0o644, 0o610, 0o601]) {
    const file = path.join(dir, `secret-${mode.toString(8)}`);
    await fs.writeFile(file, HEX32);
    await fs.chmod(file, mode);
    await assert.rejects(loadSecretFile(file), (e) => rejectsWith('ERR_SECRET_UNSAFE', file)(e) && (e as Error).message.includes('chmod 600'));
  }
  const ok = path.join(dir, 'secret-400');
  await fs.writeFile(ok, HEX32, { mode: 0o400 });
  assert.equal((await loadSecretFile(ok)).length, 32);
});

test('loading refuses a file owned by another user', async (t) => {
  if (process.getuid?.() !== 0) {
    if (process.env.CI === 'true') throw new Error('this test needs root to create a file owned by another user');
    t.skip('needs root to chown');
    return;
  }
  const dir = await tempDir(t);
  const file = path.join(dir, 'secret');
  await fs.writeFile(file, HEX32, { mode: 0o600 });
  await fs.chown(file, 65534, 65534);
  await assert.rejects(loadSecretFile(file), rejectsWith('ERR_SECRET_UNSAFE', file));
});

test('loading refuses a symbolic link and a missing file', async (t) => {
  const dir = await tempDir(t);
  const real = path.join(dir, 'real');
  await fs.writeFile(real, HEX32, { mode: 0o600 });
  const link = path.join(dir, 'link');
  await fs.symlink(real, link);
  await assert.rejects(loadSecretFile(link), rejectsWith('ERR_SECRET_UNSAFE', link));
  const missing = path.join(dir, 'missing');
  await assert.rejects(loadSecretFile(missing), (e) => rejectsWith('ERR_SECRET_MISSING', missing)(e) && (e as Error).message.includes('secret init'));
});

test('loading refuses short, long, odd and non-hex secrets', async (t) => {
  const dir = await tempDir(t);
  const cases: [string, string][] = [
    ['short', '00112233445566778899aabbccddee'], // 15 bytes
    ['long', 'ab'.repeat(65)],
    ['odd', `${HEX32}a`],
    ['nothex', HEX32.replace('00', 'zz')],
    ['base64', Buffer.alloc(32, 9).toString('base64')],
    ['empty', ''],
  ];
  for (const [name, content] of cases) {
    const file = path.join(dir, name);
    await fs.writeFile(file, content, { mode: 0o600 });
    await assert.rejects(loadSecretFile(file), rejectsWith('ERR_SECRET_MALFORMED', file), name);
  }
  const edge = path.join(dir, 'sixteen');
  await fs.writeFile(edge, `  ${'AB'.repeat(16)}\r\n`, { mode: 0o600 });
  assert.deepEqual(await loadSecretFile(edge), new Uint8Array(16).fill(0xab));
});

test('parse errors never echo the secret', () => {
  const almost = `${HEX32}q`;
  assert.throws(() => parseSecretHex(almost, 'stdin'), (e) => isStable6Error(e, 'ERR_SECRET_MALFORMED') && !(e as Error).message.includes(HEX32));
});

test('the fingerprint is a tagged hash: stable, short, and not a piece of the secret', () => {
  const secret = Buffer.from(HEX32, 'hex');
  const fp = secretFingerprint(secret);
  assert.match(fp, /^s6fp-[0-9a-f]{16}$/);
  assert.equal(secretFingerprint(Uint8Array.from(secret)), fp);
  assert.ok(!HEX32.includes(fp.slice(5, 13)));
  assert.notEqual(secretFingerprint(newSecret()), fp);
});
