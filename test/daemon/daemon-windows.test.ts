// The daemon wired for Windows, run on Linux: the real Daemon over the real WindowsPlatform
// (driven by FakeIpHelper) with the API served on the named pipe (NamedPipeListener over
// FakePipeKernel). Only the DLL calls are replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ipv6Address } from '../../src/core/address.js';
import { Ipv6Prefix } from '../../src/core/prefix.js';
import { generateStable6V1 } from '../../src/core/stable6-v1.js';
import { parseConfigText } from '../../src/daemon/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { Logger } from '../../src/daemon/logger.js';
import { writeSecretFile } from '../../src/daemon/secret-file.js';
import { decodeWindowsOwned, encodeWindowsOwned, loadWindowsOwned, WINDOWS_OWNED_FILE } from '../../src/daemon/windows-owned.js';
import { INFINITE_LIFETIME } from '../../src/platform/platform.js';
import { FakeIpHelper } from '../../src/platform/windows/fake-ip-helper.js';
import { FakePipeKernel } from '../../src/platform/windows/pipe-fake.js';
import { canonicalSid } from '../../src/platform/windows/pipe-sid.js';
import { DEFAULT_PIPE_NAME } from '../../src/platform/windows/pipe-listener.js';
import { WindowsPlatform } from '../../src/platform/windows/windows-platform.js';
import { alice, pipeRequest, until } from '../platform/windows/pipe-helpers.js';

const SECRET = Uint8Array.from(Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex'));
const IFINDEX = 12;

function expected(prefix: string): string {
  return generateStable6V1({ secret: SECRET, prefix: Ipv6Prefix.parse(prefix), netIface: 'Ethernet', label: '', dadCounter: 0 }).address.toString();
}

function capturingLogger(): { logger: Logger; lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

test('daemon on the Windows platform (fake IP Helper, fake pipe): RA -> stable6-v1 address, status over the pipe, stack reset re-applies', async (t) => {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 's6t-daemon-win-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  await writeSecretFile(path.join(dir, 'secret'), SECRET, false);
  // api.socket is a Unix path here: on Windows the daemon serves the default pipe name then.
  const config = parseConfigText(
    `secret_file = "${dir}/secret"\nstate_dir = "${dir}/state"\n[api]\nsocket = "${dir}/api.sock"\n[[interface]]\nname = "Ethernet"\n`,
    'test.toml',
  );

  const ip = new FakeIpHelper();
  ip.addInterface({ index: IFINDEX, alias: 'Ethernet' });
  const platformErrors: unknown[] = [];
  const platform = new WindowsPlatform({ ipHelper: ip, onError: (error) => platformErrors.push(error) });
  const kernel = new FakePipeKernel();
  const { logger, lines } = capturingLogger();
  const daemon = await Daemon.start(config, { platform, pipeApi: kernel, logger });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await daemon.stop();
    await platform.close().catch(() => undefined);
  });
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) {
      await ip.flush();
      await platform.whenIdle();
      await daemon.idle();
    }
  };
  await settle();

  // (1) Turning Windows' SLAAC off is refused (one switch with RA processing): reported once, not retried in a loop.
  const slaacErrors = () => lines.filter((l) => l.level === 'error' && l.message.includes("could not turn the kernel's SLAAC off"));
  assert.equal(slaacErrors().length, 1);
  assert.match(slaacErrors()[0]?.message ?? '', /ERR_WIN32_UNSUPPORTED/);
  assert.equal(ip.interfaceRow(IFINDEX)?.routerDiscoveryBehavior !== 0, true, 'RA processing stays on');
  assert.equal(
    ip.calls.filter((c) => c.fn === 'SetIpInterfaceEntry').length,
    0,
    'the refused setting never reached SetIpInterfaceEntry',
  );

  // An RA with a prefix: the stack learns it, the platform reports it, the daemon adds its address.
  ip.receiveRouterAdvertisement({
    index: IFINDEX,
    router: Ipv6Address.parse('fe80::1'),
    prefix: Ipv6Address.parse('2001:db8:1:2::'),
    prefixLength: 64,
    validLifetimeSec: 86400,
    preferredLifetimeSec: 14400,
  });
  const want = expected('2001:db8:1:2::/64');
  const present = () => ip.addressRows().some((r) => r.interfaceIndex === IFINDEX && r.address.kind === 'inet6' && r.address.address.toString() === want);
  await until(() => {
    void settle();
    return present();
  });
  await settle();
  const row = ip.addressRows().find((r) => r.address.kind === 'inet6' && r.address.address.toString() === want);
  assert.ok(row);
  assert.equal(row.validLifetimeSec, 86400);
  assert.ok(platform.ownedState().addresses.some((a) => a.address.toString() === want), 'the platform owns it');

  // Status over the named pipe, as an ordinary user.
  await until(() => {
    void settle();
    return daemon.status().interfaces[0]?.addresses.some((a) => a.address === want && a.state === 'preferred') ?? false;
  });
  const reply = await pipeRequest(kernel, alice, 'GET', '/v1/status', undefined, { name: DEFAULT_PIPE_NAME });
  assert.equal(reply.status, 200, reply.text);
  const status = (reply.body as { status: unknown }).status as { secretFingerprint: string; interfaces: { name: string; addresses: { address: string; algorithm: string }[] }[] };
  assert.match(status.secretFingerprint, /^s6fp-/);
  assert.equal(status.interfaces[0]?.name, 'Ethernet');
  assert.ok(status.interfaces[0]?.addresses.some((a) => a.address === want && a.algorithm === 'stable6-v1'));
  assert.ok(!reply.text.includes(Buffer.from(SECRET).toString('hex')), 'the secret is never in the status');

  // A stack reset removes everything; the interface comes back and our address is applied again.
  ip.resetInterface(IFINDEX);
  await until(() => {
    void settle();
    return present();
  });
  await settle();
  assert.ok(present(), 'the stable6-v1 address is back after the stack reset');
  assert.deepEqual(platformErrors, []);

  await daemon.stop();
  stopped = true;
  assert.equal(kernel.openHandles().length, 0, 'the pipe is closed with the daemon');
  assert.equal(kernel.pendingOperations, 0);

  // The owned state was persisted: a platform started with it adopts the address as ours.
  const text = await fs.readFile(path.join(dir, 'state', WINDOWS_OWNED_FILE), 'utf8');
  assert.ok(text.includes(want));
  assert.ok(!text.includes(Buffer.from(SECRET).toString('hex')));
  const owned = await loadWindowsOwned(path.join(dir, 'state'), 5_000);
  const adopted = owned.addresses.find((a) => a.address.toString() === want);
  assert.ok(adopted, 'the address is in windows-owned.json');
  assert.ok(adopted.validLifetimeSec <= 86400 && adopted.validLifetimeSec > 86000);
  assert.equal(adopted.givenAtMs, 5_000);
  // Alice's SID (she asked for the status over the pipe) was kept, to seed the next run's uids.
  assert.ok(owned.sids?.includes(canonicalSid(alice.user)), `alice's SID is in windows-owned.json: ${JSON.stringify(owned.sids)}`);
  const next = new WindowsPlatform({ ipHelper: ip, owned });
  t.after(() => next.close().catch(() => undefined));
  assert.ok(
    (await next.listAddresses(IFINDEX)).some((a) => a.address.toString() === want && a.owned),
    'a restarted platform reports it as owned',
  );
});

test('windows-owned.json: lifetimes count down across the restart, ended ones are dropped, damage adopts nothing', () => {
  const luid = 6n << 48n;
  const state = {
    addresses: [
      { luid, address: Ipv6Address.parse('2001:db8::1'), prefixLength: 64, validLifetimeSec: 3600, preferredLifetimeSec: 1800, givenAtMs: 1_000, skipAsSource: false },
      { luid, address: Ipv6Address.parse('2001:db8::2'), prefixLength: 64, validLifetimeSec: 100, preferredLifetimeSec: 50, givenAtMs: 1_000, skipAsSource: true },
      { luid, address: Ipv6Address.parse('2001:db8::3'), prefixLength: 64, validLifetimeSec: INFINITE_LIFETIME, preferredLifetimeSec: INFINITE_LIFETIME, givenAtMs: 0, skipAsSource: false },
    ],
    routes: [{ luid, gateway: Ipv6Address.parse('fe80::1'), metric: 256 }],
  };
  // Written 10 s after the first two were given; read 200 s of wall time later.
  const text = encodeWindowsOwned(state, 11_000, 1_700_000_000_000);
  const back = decodeWindowsOwned(text, 42, 1_700_000_200_000);
  assert.deepEqual(
    back.addresses.map((a) => [a.address.toString(), a.validLifetimeSec, a.preferredLifetimeSec, a.givenAtMs, a.skipAsSource, a.luid]),
    [
      ['2001:db8::1', 3390, 1590, 42, false, luid],
      ['2001:db8::3', INFINITE_LIFETIME, INFINITE_LIFETIME, 42, false, luid],
    ],
  );
  assert.deepEqual(back.routes.map((r) => [r.luid, r.gateway.toString(), r.metric]), [[luid, 'fe80::1', 256]]);
  assert.deepEqual(back.sids, [], 'no SIDs written, none read');
  // SIDs round-trip in canonical form; one that is not a SID is dropped, the rest kept.
  const withSids = decodeWindowsOwned(encodeWindowsOwned({ ...state, sids: ['s-1-5-21-1-2-3-1001', 'S-1-5-32-544'] }, 11_000, 0), 0, 0);
  assert.deepEqual(withSids.sids, ['S-1-5-21-1-2-3-1001', 'S-1-5-32-544']);
  assert.deepEqual(decodeWindowsOwned('{"version":1,"sids":["S-1-5-18","not a sid",7]}', 0, 0).sids, ['S-1-5-18']);
  assert.deepEqual(decodeWindowsOwned('{"version":2}', 0, 0), { addresses: [], routes: [] });
  assert.deepEqual(decodeWindowsOwned('{"version":1,"addresses":[{"luid":"x","address":"nope","prefixLength":64,"validLifetimeSec":1,"preferredLifetimeSec":1}]}', 0, 0), {
    addresses: [],
    routes: [],
    sids: [],
  });
});

test('daemon on the Windows platform: an account name in allowed_users is refused at start (SIDs only)', async (t) => {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 's6t-daemon-win-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  await writeSecretFile(path.join(dir, 'secret'), SECRET, false);
  const config = parseConfigText(
    `secret_file = "${dir}/secret"\nstate_dir = "${dir}/state"\n[api]\nsocket = "${dir}/api.sock"\nallowed_users = ["alice"]\n[[interface]]\nname = "Ethernet"\n`,
    'test.toml',
  );
  const ip = new FakeIpHelper();
  ip.addInterface({ index: IFINDEX, alias: 'Ethernet' });
  const platform = new WindowsPlatform({ ipHelper: ip });
  t.after(() => platform.close().catch(() => undefined));
  const kernel = new FakePipeKernel();
  const { logger } = capturingLogger();
  await assert.rejects(Daemon.start(config, { platform, pipeApi: kernel, logger }), (error: { code?: string }) => error.code === 'ERR_API_CONFIG');
  assert.equal(kernel.openHandles().length, 0, 'no pipe was created');
  assert.equal(ip.calls.filter((c) => /^(Create|Set|Delete)/.test(c.fn)).length, 0, 'nothing changed on the host');
});
