import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { emptyPersistedState, type PersistedState } from '../../src/engine/persisted-state.js';
import { loadState, prepareStateDir, StateWriter } from '../../src/daemon/state-store.js';
import { isStable6Error } from '../../src/errors.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 's6t-state-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

function stateWith(counter: number): PersistedState {
  return {
    ...emptyPersistedState(),
    counters: [{ algorithm: 'stable6-v1', prefix: '2001:db8::/64', netIface: 'eth0', networkId: '', label: '', dadCounter: counter }],
  };
}

test('state: none yet is empty; saves are atomic, coalesced, and load back', async (t) => {
  const dir = path.join(await tempDir(t), 'state');
  await prepareStateDir(dir);
  assert.equal((await fs.stat(dir)).mode & 0o777, 0o700);
  assert.deepEqual(await loadState(dir), emptyPersistedState());
  const writer = new StateWriter(dir);
  const saves = [1, 2, 3, 4, 5].map((n) => writer.save(stateWith(n)));
  await Promise.all(saves);
  await writer.flush();
  assert.equal((await loadState(dir)).counters[0]?.dadCounter, 5, 'the newest state wins');
  assert.deepEqual((await fs.readdir(dir)).sort(), ['state.json']);
  assert.equal((await fs.stat(path.join(dir, 'state.json'))).mode & 0o777, 0o600);
});

test('state: a damaged file is refused with the file named, and left as it was', async (t) => {
  const dir = await tempDir(t);
  for (const text of ['{not json', '{"version": 99, "counters": [], "leases": [], "savedSettings": []}', '[]']) {
    await fs.writeFile(path.join(dir, 'state.json'), text);
    await assert.rejects(loadState(dir), (e) => isStable6Error(e, 'ERR_DAEMON_STATE') && e.message.startsWith(path.join(dir, 'state.json')), text);
    assert.equal(await fs.readFile(path.join(dir, 'state.json'), 'utf8'), text);
  }
});

test('state: an unwritable state directory is refused before anything else', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'a-file');
  await fs.writeFile(file, '');
  await assert.rejects(prepareStateDir(path.join(file, 'sub')), (e) => isStable6Error(e, 'ERR_DAEMON_STATE_DIR') && e.message.includes('a-file'));
});
