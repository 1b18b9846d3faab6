import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cli } from '../helpers/cli.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 's6t-secret-cli-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

test('secret init, fingerprint, export, import: the same secret moves between hosts', async (t) => {
  const dir = await tempDir(t);
  const a = path.join(dir, 'a', 'secret');
  const b = path.join(dir, 'b', 'secret');
  const init = await cli(['secret', 'init', '--secret-file', a, '--json']);
  assert.equal(init.status, 0, init.stderr);
  const { fingerprint } = JSON.parse(init.stdout) as { fingerprint: string };
  assert.match(fingerprint, /^s6fp-[0-9a-f]{16}$/);
  const hex = (await fs.readFile(a, 'utf8')).trim();
  assert.ok(!init.stdout.includes(hex), 'init never prints the secret');

  const fp = await cli(['secret', 'fingerprint', '--secret-file', a]);
  assert.deepEqual(fp, { status: 0, stdout: `${fingerprint}\n`, stderr: '' });

  const exported = await cli(['secret', 'export', '--secret-file', a]);
  assert.equal(exported.stdout, `${hex}\n`);
  const imported = await cli(['secret', 'import', '--secret-file', b], { stdin: exported.stdout });
  assert.equal(imported.status, 0, imported.stderr);
  assert.ok(!imported.stdout.includes(hex));
  assert.equal((await cli(['secret', 'fingerprint', '--secret-file', b])).stdout, `${fingerprint}\n`);
  assert.equal((await fs.stat(b)).mode & 0o777, 0o600);

  const gen = async (file: string): Promise<string> =>
    (await cli(['gen', '--prefix', '2001:db8::/64', '--iface', 'lan', '--secret-file', file])).stdout;
  assert.equal(await gen(a), await gen(b), 'the same secret gives the same address');
});

test('secret init never overwrites without --force; import refuses bad hex and keeps the old secret', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'secret');
  assert.equal((await cli(['secret', 'init', '--secret-file', file])).status, 0);
  const before = await fs.readFile(file, 'utf8');
  const again = await cli(['secret', 'init', '--secret-file', file]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /^stable6: ERR_SECRET_EXISTS: .*--force/);
  assert.equal(await fs.readFile(file, 'utf8'), before);
  const bad = await cli(['secret', 'import', '--secret-file', file, '--force'], { stdin: 'not hex at all' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^stable6: ERR_SECRET_MALFORMED: standard input: /);
  assert.equal(await fs.readFile(file, 'utf8'), before);
  const forced = await cli(['secret', 'init', '--secret-file', file, '--force']);
  assert.equal(forced.status, 0);
  assert.notEqual(await fs.readFile(file, 'utf8'), before);
});

test('secret: usage errors and the default path from STABLE6_SECRET_FILE', async (t) => {
  const dir = await tempDir(t);
  assert.match((await cli(['secret'])).stderr, /ERR_CLI_USAGE: secret: name an action/);
  assert.match((await cli(['secret', 'shred'])).stderr, /unknown action "shred"/);
  assert.equal((await cli(['secret', 'export', '--json'])).status, 2);
  const file = path.join(dir, 'env-secret');
  const r = await cli(['secret', 'init'], { env: { STABLE6_SECRET_FILE: file } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`wrote a new secret to ${file}`));
  const help = await cli(['secret', '--help']);
  assert.match(help.stdout, /\/var\/lib\/stable6\/secret/);
});
