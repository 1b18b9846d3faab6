import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../src/cli/main.js';
import { formatStatus } from '../../src/cli/commands/status.js';
import type { StatusReport } from '../../src/api/protocol.js';
import type { CliIo } from '../../src/cli/cli-io.js';
import { startHarness } from '../api/helpers.js';

function captureIo(env: Record<string, string> = {}): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { stdout: (t) => (out += t), stderr: (t) => (err += t), readStdin: () => Promise.resolve(''), env, out: () => out, err: () => err };
}

const REPORT: StatusReport = {
  secretFingerprint: 'sha256:0f1e2d3c',
  interfaces: [
    {
      name: 'eth0',
      prefixes: [
        { prefix: '2001:db8:1:2::/64', source: 'ra', validLifetimeSec: 2_592_000, preferredLifetimeSec: 604_800, lastSeen: '2024-05-01T10:00:00.000Z' },
        { prefix: 'fd00:1::/64', source: 'static', validLifetimeSec: 0xffffffff, preferredLifetimeSec: 0xffffffff, lastSeen: null },
      ],
      addresses: [
        {
          address: '2001:db8:1:2:1111:2222:3333:4444',
          prefix: '2001:db8:1:2::/64',
          label: '',
          algorithm: 'stable6-v1',
          dadCounter: 0,
          state: 'preferred',
          validLifetimeSec: 2_592_000,
          preferredLifetimeSec: 604_800,
        },
        {
          address: '2001:db8:1:2:aaaa:bbbb:cccc:dddd',
          prefix: '2001:db8:1:2::/64',
          label: 'web',
          algorithm: 'stable6-v1',
          dadCounter: 1,
          state: 'tentative',
          validLifetimeSec: 3600,
          preferredLifetimeSec: 0,
          owner: 1000,
        },
      ],
    },
    { name: 'wlan0', prefixes: [], addresses: [] },
  ],
};

test('formatStatus: one readable block per interface', () => {
  assert.equal(
    formatStatus(REPORT),
    `secret fingerprint: sha256:0f1e2d3c

eth0
  PREFIX             SOURCE  VALID    PREFERRED  LAST SEEN
  2001:db8:1:2::/64  ra      30d      7d         2024-05-01T10:00:00.000Z
  fd00:1::/64        static  forever  forever    -
  ADDRESS                           LABEL  STATE      DAD  VALID  PREFERRED  ALGORITHM
  2001:db8:1:2:1111:2222:3333:4444  -      preferred  0    30d    7d         stable6-v1
  2001:db8:1:2:aaaa:bbbb:cccc:dddd  web    tentative  1    1h     0s         stable6-v1

wlan0
  no prefixes
  no addresses
`,
  );
  assert.equal(formatStatus({ secretFingerprint: 'x', interfaces: [] }), 'secret fingerprint: x\nno managed interfaces\n');
});

test('stable6 status over the socket: human and --json; never the secret', async () => {
  const secret = new Uint8Array(32).fill(0x77);
  const h = await startHarness({}, { secret, secretFingerprint: 'fp-test' });
  try {
    h.as(0);
    const io = captureIo({ STABLE6_SOCKET: h.socketPath });
    assert.equal(await runCli(['status'], io), 0);
    assert.match(io.out(), /^secret fingerprint: fp-test\n\neth0\n {2}PREFIX/);
    assert.match(io.out(), /\nempty\n {2}no prefixes\n {2}no addresses\n/);
    const json = captureIo();
    assert.equal(await runCli(['status', '--json', '--socket', h.socketPath], json), 0);
    const report = JSON.parse(json.out()) as StatusReport;
    assert.equal(report.secretFingerprint, 'fp-test');
    assert.deepEqual(report.interfaces.map((i) => i.name), ['eth0', 'eth1', 'empty']);
    for (const text of [io.out(), json.out()]) assert.ok(!text.includes(Buffer.from(secret).toString('hex')));
  } finally {
    await h.close();
  }
});

test('stable6 status: no daemon is exit 1 with ERR_API_UNAVAILABLE; a stray argument is usage', async () => {
  const io = captureIo();
  assert.equal(await runCli(['status', '--socket', '/nonexistent/stable6.sock'], io), 1);
  assert.match(io.err(), /^stable6: ERR_API_UNAVAILABLE: /);
  const usage = captureIo();
  assert.equal(await runCli(['status', 'eth0'], usage), 2);
  assert.match(usage.err(), /^stable6: ERR_CLI_USAGE: /);
});
