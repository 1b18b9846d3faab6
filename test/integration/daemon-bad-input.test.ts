// Issue 4, point 8: bad input is refused with one clear line and a non-zero exit, before
// anything on the host changes (its addresses and IPv6 settings are compared before and after).
// A second daemon on the same state directory is in daemon-restart.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { requirePrivileged } from '../helpers/netns.js';
import { Lab, hostFingerprint } from './daemon-harness.js';

interface Case {
  name: string;
  code: string;
  /** The daemon's arguments, from the lab. */
  args(lab: Lab): string[];
  /** What the one line must say besides the code. */
  says: RegExp;
}

const CASES: Case[] = [
  {
    name: 'a TOML syntax error',
    code: 'ERR_CONFIG_SYNTAX',
    args: (lab) => ['daemon', '--config', lab.file('syntax.toml', '[[interface]]\nname = "host0\n'), '--secret-file', lab.secretFile, '--state-dir', lab.stateDir('x')],
    says: /syntax\.toml:2:\d+/,
  },
  {
    name: 'an unknown key',
    code: 'ERR_CONFIG_INVALID',
    args: (lab) => ['daemon', '--config', lab.file('typo.toml', 'idgen_retires = 3\n[[interface]]\nname = "host0"\n'), '--secret-file', lab.secretFile, '--state-dir', lab.stateDir('x')],
    says: /idgen_retires: unknown key/,
  },
  {
    name: 'a static prefix longer than /64',
    code: 'ERR_CONFIG_INVALID',
    args: (lab) => [
      'daemon',
      '--config',
      lab.file('long.toml', '[[interface]]\nname = "host0"\n[[interface.static_prefix]]\nprefix = "2001:db8:1::/80"\n'),
      '--secret-file',
      lab.secretFile,
      '--state-dir',
      lab.stateDir('x'),
    ],
    says: /is longer than \/64/,
  },
  {
    name: 'an unknown interface',
    code: 'ERR_DAEMON_INTERFACE',
    args: (lab) => ['daemon', '--interface', 'host0', '--interface', 'nope0', '--secret-file', lab.secretFile, '--state-dir', lab.stateDir('x'), '--socket', lab.socket('x')],
    says: /interface nope0 does not exist/,
  },
  {
    name: 'a missing secret file',
    code: 'ERR_SECRET_MISSING',
    args: (lab) => ['daemon', '--interface', 'host0', '--secret-file', `${lab.secretFile}.missing`, '--state-dir', lab.stateDir('x'), '--socket', lab.socket('x')],
    says: /secret\.missing: no secret file; create one with: stable6 secret init/,
  },
  {
    name: 'a secret file others can read',
    code: 'ERR_SECRET_UNSAFE',
    args: (lab) => {
      const file = lab.file('open-secret', readFileSync(lab.secretFile, 'utf8'), 0o644);
      return ['daemon', '--interface', 'host0', '--secret-file', file, '--state-dir', lab.stateDir('x'), '--socket', lab.socket('x')];
    },
    says: /mode 0644 lets others read it/,
  },
  {
    name: 'a state directory that cannot be written',
    code: 'ERR_DAEMON_STATE_DIR',
    // Root passes permission checks: a path under a regular file cannot be made by anyone.
    args: (lab) => ['daemon', '--interface', 'host0', '--secret-file', lab.secretFile, '--state-dir', `${lab.file('plain-file', 'x')}/state`, '--socket', lab.socket('x')],
    says: /the state directory cannot be written \(ENOTDIR\)/,
  },
];

test('daemon: bad input is one line, a non-zero exit, and no change on the host', async (t) => {
  if (!requirePrivileged(t, [])) return;
  const lab = await Lab.create();
  try {
    // Something on the host to keep: an address of the administrator's.
    await lab.host.ip('-6', 'addr', 'add', '2001:db8:bad::1/64', 'dev', 'host0', 'nodad');
    const secretHex = readFileSync(lab.secretFile, 'utf8').trim();
    for (const c of CASES) {
      await t.test(c.name, async () => {
        const before = await hostFingerprint(lab.host);
        const daemon = lab.spawnDaemon(c.args(lab));
        const status = await daemon.exited;
        assert.notEqual(status.code, 0, daemon.stderr);
        assert.equal(status.signal, null);
        const lines = daemon.stderr.trim().split('\n');
        assert.equal(lines.length, 1, `one line, got:\n${daemon.stderr}`);
        assert.ok(lines[0]!.startsWith(`stable6: ${c.code}: `), lines[0]);
        assert.match(lines[0]!, c.says);
        assert.ok(!daemon.stderr.includes(secretHex) && !daemon.stdout.includes(secretHex), 'never the secret');
        assert.equal(await hostFingerprint(lab.host), before);
      });
    }
  } finally {
    await lab.destroy();
  }
});
