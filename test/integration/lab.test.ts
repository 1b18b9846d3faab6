import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { requirePrivileged } from '../helpers/netns.js';

const CLI = path.resolve('dist/src/cli/main.js');
const STEPS = ['network', 'router', 'daemon', 'address', 'lease', 'connect', 'heal', 'renumber', 'retired', 'cleanup'];

interface Step {
  step: string;
  text: string;
  [key: string]: unknown;
}

/** Set in the lab's environment: every process it starts inherits it, so they can be found afterwards. */
const TAG = `S6_LAB_TEST_TAG=${process.pid}-${Date.now()}`;

async function runLab(router: string): Promise<{ steps: Step[]; pid: number | undefined }> {
  const [name, value] = TAG.split('=') as [string, string];
  const child = execFile(process.execPath, [CLI, 'lab', '--json', '--router', router], { timeout: 120_000, env: { ...process.env, [name]: value } });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, `lab exited ${code}: ${err}`);
  return { steps: out.trim().split('\n').map((l) => JSON.parse(l) as Step), pid: child.pid };
}

/** Processes whose environment carries this run's tag: what this lab started (another lab's are not ours to judge). */
function taggedProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((f) => /^\d+$/.test(f))) {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (environ.includes(TAG)) found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')}`);
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return found;
}

function assertNothingLeft(pid: number | undefined, dir: string): void {
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(!namespaces.includes(`-${pid}-`), `no lab namespace left: ${namespaces}`);
  assert.deepEqual(taggedProcesses(), [], 'no lab process left');
  assert.ok(dir.startsWith(path.join(tmpdir(), 'stable6-lab-')), dir);
  assert.ok(!existsSync(dir), `no lab folder left: ${dir}`);
}

for (const router of ['radvd', 'builtin']) {
  test(`the lab (${router} router) shows every step and leaves nothing behind`, { timeout: 150_000 }, async (t) => {
    if (!requirePrivileged(t, router === 'radvd' ? ['radvd', 'setpriv'] : ['setpriv'])) return;
    const { steps, pid } = await runLab(router);
    assert.deepEqual(steps.map((s) => s.step), STEPS);
    const byName = new Map(steps.map((s) => [s.step, s]));
    assert.equal(byName.get('router')?.router, router);
    const first = byName.get('address')?.address as string;
    assert.match(first, /^2001:db8:1:2:/);
    assert.equal(byName.get('heal')?.address, first, 'the healed address is the same stable address');
    assert.equal(byName.get('renumber')?.old, first);
    assert.match(byName.get('renumber')?.address as string, /^2001:db8:1:3:/);
    assert.equal(byName.get('lease')?.uid, 65534, 'the application ran unprivileged');
    assert.match(byName.get('connect')?.reply as string, /^hello from lab-web \(uid 65534\) at 2001:db8:1:2:/);
    assertNothingLeft(pid, byName.get('network')?.dir as string);
  });
}

test('without root the lab says what is missing and how to run it, and changes nothing', async (t) => {
  if (!requirePrivileged(t, ['setpriv'])) return;
  const child = spawn('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, CLI, 'lab'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 2, stderr);
  assert.match(stderr, /^stable6: ERR_LAB_PREREQUISITE: .*root.*sudo/);
  assert.equal(stdout, '');
  // The lab names its namespaces after its pid (src/lab/netns.ts): none of them exists. (Not a
  // before/after listing of the machine: other tests make and remove namespaces meanwhile.)
  const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? '');
  assert.deepEqual(names.filter((n) => n.includes(`-${child.pid}-`)), []);
});
