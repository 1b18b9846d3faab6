import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { acquireDaemonLock } from '../../src/daemon/lock.js';
import { isStable6Error } from '../../src/errors.js';

const LOCK_MODULE = path.resolve('dist/src/daemon/lock.js');

test('one daemon per state directory; the kernel frees the lock when the holder dies', async (t) => {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 's6t-lock-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'lock');
  // Another process takes the lock and keeps it until killed with SIGKILL (no cleanup runs).
  const holder = spawn(process.execPath, ['--input-type=module', '-e', `import { acquireDaemonLock } from ${JSON.stringify(LOCK_MODULE)}; acquireDaemonLock(${JSON.stringify(file)}); console.log('locked'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => holder.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
  assert.throws(() => acquireDaemonLock(file), (e) => isStable6Error(e, 'ERR_DAEMON_RUNNING') && e.message.includes(`pid ${holder.pid}`));
  holder.kill('SIGKILL');
  await new Promise((resolve) => holder.once('exit', resolve));
  const lock = acquireDaemonLock(file);
  assert.equal((await fs.readFile(file, 'utf8')).trim(), String(process.pid));
  assert.throws(() => acquireDaemonLock(file), (e) => isStable6Error(e, 'ERR_DAEMON_RUNNING'), 'a second lock in the same process is refused too');
  lock.release();
  acquireDaemonLock(file).release();
});

test('an unusable lock path is named', () => {
  assert.throws(() => acquireDaemonLock('/nonexistent-dir-s6t/lock'), (e) => isStable6Error(e, 'ERR_DAEMON_STATE_DIR') && e.message.includes('/nonexistent-dir-s6t/lock'));
});
