// Issue 4, point 6: restarts and crashes. After `kill -9` a new daemon adopts what the kernel
// has: no delete, no re-add (watched with `ip -6 monitor address`), and an open TCP connection
// on the address lives on. One daemon per state directory: a second one is refused and changes
// nothing. SIGTERM exits 0 and leaves the addresses; with --flush-on-exit they go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { requirePrivileged } from '../helpers/netns.js';
import { Lab, expectedAddress, globalAddresses, hostFingerprint, pio, sysctlValue, waitFor } from './daemon-harness.js';

const PREFIX = '2001:db8:f::/64';
const SERVER = '2001:db8:f::1';

const ECHO_SERVER = `
const net = require('node:net');
net.createServer((s) => s.pipe(s)).listen(7000, process.argv[1], () => console.log('listening'));`;

const CLIENT = `
const net = require('node:net');
const readline = require('node:readline');
const s = net.connect({ host: process.argv[1], port: 7000, localAddress: process.argv[2] }, () => console.log('connected ' + s.localAddress));
s.setEncoding('utf8');
s.on('data', (d) => process.stdout.write('echo ' + d));
s.on('error', (e) => console.log('error ' + e.code));
s.on('close', () => console.log('closed'));
readline.createInterface({ input: process.stdin }).on('line', (line) => s.write(line + '\\n'));`;

function lines(child: ChildProcess): string[] {
  const out: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => out.push(l));
  return out;
}

test('daemon: kill -9 and restart adopts the address: no Deleted event, and an open TCP connection lives on', async (t) => {
  if (!requirePrivileged(t, ['radvd'])) return;
  const lab = await Lab.create();
  try {
    const want = expectedAddress(lab.secret, PREFIX);
    const first = await lab.startDaemon();
    await lab.radvd(pio(PREFIX, 600, 300));
    await lab.rtr.ip('-6', 'addr', 'add', `${SERVER}/64`, 'dev', 'br0', 'nodad');
    await waitFor(`${want}`, async () => (await globalAddresses(lab.host)).find((a) => a.local === want && !a.tentative), 30_000);

    const server = lab.spawn(lab.rtr, process.execPath, ['-e', ECHO_SERVER, SERVER]);
    const serverOut = lines(server);
    await waitFor('the echo server', async () => serverOut.includes('listening') || undefined, 15_000);
    const client = lab.spawn(lab.host, process.execPath, ['-e', CLIENT, SERVER, want]);
    const clientOut = lines(client);
    await waitFor('the connection from our address', async () => clientOut.includes(`connected ${want}`) || undefined, 15_000);
    client.stdin!.write('before\n');
    await waitFor('an echo before the crash', async () => clientOut.includes('echo before') || undefined, 10_000);

    const monitor = lab.spawn(lab.host, 'ip', ['-6', 'monitor', 'address']);
    const events = lines(monitor);
    // The monitor is listening once it reports a change: poke it with a throw-away address on lo,
    // again (another lifetime, another notification) until it reports one: a change made before
    // `ip monitor` has subscribed is never reported.
    let poke = 0;
    await waitFor('ip monitor running', async () => {
      if (events.some((l) => l.includes('2001:db8:ffff::1'))) return true;
      await lab.host.ip('-6', 'addr', 'replace', '2001:db8:ffff::1/128', 'dev', 'lo', 'nodad', 'valid_lft', String(3600 + poke++), 'preferred_lft', '0');
      await new Promise((resolve) => setTimeout(resolve, 200));
      return undefined;
    }, 15_000);

    assert.equal((await first.kill9()).signal, 'SIGKILL');
    const second = await lab.startDaemon();
    await second.waitLog(new RegExp(`address ${want.replace(/\./g, '\\.')} .*none -> adopted`));
    // The new daemon sees the prefix advertised again and refreshes the lifetimes in place.
    await lab.nextRa(PREFIX);

    client.stdin!.write('after\n');
    await waitFor('an echo after the restart', async () => clientOut.includes('echo after') || undefined, 10_000);
    assert.ok(!clientOut.some((l) => l.startsWith('error') || l === 'closed'), clientOut.join('\n'));

    const deleted = events.filter((l) => l.startsWith('Deleted') && l.includes(want));
    assert.deepEqual(deleted, [], 'no delete of our address across the restart');
    assert.ok(!second.stderr.includes('tentative: added'), 'no re-add of an address already there');
    const entry = (await lab.status()).interfaces[0]!.addresses.find((a) => a.address === want);
    assert.equal(entry?.state, 'preferred');

    // The crash left autoconf=0; the settings saved by the first daemon are what SIGTERM restores.
    assert.equal(await sysctlValue(lab.host, 'net.ipv6.conf.host0.autoconf'), '0');
    assert.deepEqual(await second.stop(), { code: 0, signal: null });
    assert.equal(await sysctlValue(lab.host, 'net.ipv6.conf.host0.autoconf'), '1');
  } finally {
    await lab.destroy();
  }
});

test('daemon: a second daemon on the same state directory is refused (ERR_DAEMON_RUNNING, exit 2) and changes nothing', async (t) => {
  if (!requirePrivileged(t, ['radvd'])) return;
  const lab = await Lab.create();
  try {
    const want = expectedAddress(lab.secret, PREFIX);
    const first = await lab.startDaemon();
    await lab.radvd(pio(PREFIX, 600, 300));
    await waitFor(`${want}`, async () => (await globalAddresses(lab.host)).find((a) => a.local === want && !a.tentative), 30_000);
    const before = await hostFingerprint(lab.host);

    // The same state directory, another socket: only the lock can refuse it.
    const second = lab.spawnDaemon(['daemon', '--interface', 'host0', '--secret-file', lab.secretFile, '--state-dir', lab.stateDir(), '--socket', lab.socket('other')]);
    const status = await second.exited;
    assert.deepEqual(status, { code: 2, signal: null });
    const stderr = second.stderr.trim().split('\n');
    assert.equal(stderr.length, 1, second.stderr);
    assert.match(stderr[0]!, new RegExp(`^stable6: ERR_DAEMON_RUNNING: another stable6 daemon holds .*lock \\(pid ${first.pid}\\)$`));

    assert.equal(await hostFingerprint(lab.host), before);
    assert.ok(first.running);
    assert.equal((await lab.status()).interfaces[0]!.addresses[0]?.address, want, 'the first daemon still answers');
  } finally {
    await lab.destroy();
  }
});

test('daemon: SIGTERM with --flush-on-exit deletes our addresses, not others, and restores the settings', async (t) => {
  if (!requirePrivileged(t, ['radvd'])) return;
  const lab = await Lab.create();
  try {
    const want = expectedAddress(lab.secret, PREFIX);
    const daemon = await lab.startDaemon(lab.daemonArgs('d', ['--flush-on-exit']));
    await lab.radvd(pio(PREFIX, 600, 300));
    await waitFor(`${want}`, async () => (await globalAddresses(lab.host)).find((a) => a.local === want && !a.tentative), 30_000);
    await lab.host.ip('-6', 'addr', 'add', '2001:db8:f::99/64', 'dev', 'host0', 'nodad');
    // No RA after the exit: with autoconf back on, the kernel would make its own address.
    await lab.stopRadvd();

    assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
    assert.deepEqual((await globalAddresses(lab.host)).map((a) => a.local), ['2001:db8:f::99']);
    assert.equal(await sysctlValue(lab.host, 'net.ipv6.conf.host0.autoconf'), '1');
  } finally {
    await lab.destroy();
  }
});
