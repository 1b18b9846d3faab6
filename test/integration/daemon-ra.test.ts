// Issue 4, point 1: prefixes from Router Advertisements become stable6-v1 addresses in the real
// kernel, with the PIO's lifetimes, tagged as ours; the kernel's own SLAAC is off while the
// daemon runs and back after SIGTERM; PIOs RFC 4862 §5.5.3 rejects make nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { STABLE6_PROTOCOL } from '../../src/platform/platform.js';
import { requirePrivileged } from '../helpers/netns.js';
import { Lab, expectedAddress, globalAddresses, pio, platformAddresses, sysctlValue, waitFor } from './daemon-harness.js';

test('daemon: an advertised /64 gets its stable6-v1 address with the PIO lifetimes, tagged, out of DAD; kernel SLAAC off, then restored', async (t) => {
  if (!requirePrivileged(t, ['radvd'])) return;
  const lab = await Lab.create();
  try {
    const { host } = lab;
    assert.equal(await sysctlValue(host, 'net.ipv6.conf.host0.autoconf'), '1', 'the kernel default before the daemon');
    const daemon = await lab.startDaemon();
    assert.equal(await sysctlValue(host, 'net.ipv6.conf.host0.autoconf'), '0', 'kernel SLAAC is off while the daemon runs');
    assert.equal(await sysctlValue(host, 'net.ipv6.conf.host0.accept_ra'), '1', 'accept_ra stays on: default routes still come from RAs');

    await lab.radvd(pio('2001:db8:1::/64', 600, 300));
    const want = expectedAddress(lab.secret, '2001:db8:1::/64');
    const ours = await waitFor(
      `${want} out of DAD`,
      async () => (await globalAddresses(host)).find((a) => a.local === want && !a.tentative),
      20_000,
    );
    // The kernel counts the lifetimes down from when it was told them: a few seconds of slack.
    assert.ok(ours.valid_life_time <= 600 && ours.valid_life_time >= 590, `valid ${ours.valid_life_time}`);
    assert.ok(ours.preferred_life_time <= 300 && ours.preferred_life_time >= 290, `preferred ${ours.preferred_life_time}`);
    assert.equal(ours.prefixlen, 64);
    assert.ok(!ours.deprecated && !ours.dadfailed);

    // The default route still comes from the kernel's RA handling.
    const routes = await host.ipJson<{ dst: string; protocol?: string }[]>('-6', 'route', 'show', 'default', 'dev', 'host0');
    assert.ok(routes.some((r) => r.protocol === 'ra'), `an RA default route: ${JSON.stringify(routes)}`);

    // iproute2 6.1 does not print IFA_PROTO: ask the Linux platform, which reads it.
    const listed = await platformAddresses(host);
    const tagged = listed.find((a) => a.address === want);
    assert.equal(tagged?.protocol, STABLE6_PROTOCOL);
    assert.equal(tagged?.owned, true);

    // No kernel-made SLAAC address, ever: the only global address is ours. Another RA (3-4 s)
    // would have given the kernel its chance; wait for the prefix to be refreshed once more.
    await lab.nextRa('2001:db8:1::/64');
    assert.deepEqual((await globalAddresses(host)).map((a) => a.local), [want]);

    const status = await daemon.stop();
    assert.deepEqual(status, { code: 0, signal: null });
    assert.equal(await sysctlValue(host, 'net.ipv6.conf.host0.autoconf'), '1', 'SIGTERM restores the kernel setting');
    assert.ok((await globalAddresses(host)).some((a) => a.local === want), 'the address stays with its kernel lifetimes');
  } finally {
    await lab.destroy();
  }
});

test('daemon: PIOs without the A flag, of length /48, or link-local make no address (RFC 4862 §5.5.3)', async (t) => {
  if (!requirePrivileged(t, ['radvd'])) return;
  const lab = await Lab.create();
  try {
    const { host } = lab;
    await lab.startDaemon();
    await lab.radvd(
      [
        ' prefix 2001:db8:a::/64 { AdvOnLink on; AdvAutonomous off; AdvValidLifetime 600; AdvPreferredLifetime 300; };',
        pio('2001:db8:4800::/48', 600, 300),
        pio('fe80::/64', 600, 300),
        // A good one last, as the proof that the RA arrived and was processed.
        pio('2001:db8:c::/64', 600, 300),
      ].join('\n'),
    );
    const good = expectedAddress(lab.secret, '2001:db8:c::/64');
    await waitFor(`${good}`, async () => (await globalAddresses(host)).find((a) => a.local === good), 20_000);
    await lab.nextRa('2001:db8:c::/64');
    // Only the good prefix's address (the kernel's own SLAAC stays off for the others too).
    assert.deepEqual((await globalAddresses(host)).map((a) => a.local), [good]);
  } finally {
    await lab.destroy();
  }
});

test('daemon: its Router Solicitations at start bring the prefix (radvd answers only solicitations; one sent before the router is ready is sent again 4 s later)', async (t) => {
  if (!requirePrivileged(t, ['radvd', 'ss'])) return;
  const lab = await Lab.create();
  try {
    const { host } = lab;
    // The kernel solicits no more (its start-up solicitations are long done or off): only the daemon's RS can bring an RA.
    await host.sysctl('net.ipv6.conf.host0.router_solicitations', 0);
    await lab.radvd(pio('2001:db8:5a::/64', 600, 300), { min: 200, max: 300 }, ' UnicastOnly on;');
    await waitFor('radvd listening', async () => ((await lab.rtr.exec('ss', '-A', 'raw', '-a', '-n', '-p')).includes('radvd') ? true : undefined), 15_000);
    const want = expectedAddress(lab.secret, '2001:db8:5a::/64');
    assert.deepEqual(await globalAddresses(host), [], 'no RA reached the host before the daemon');
    const start = performance.now();
    const daemon = await lab.startDaemon();
    await waitFor(`${want}`, async () => (await globalAddresses(host)).find((a) => a.local === want), 15_000).catch((error: unknown) => {
      throw new Error(`${String(error)}; the daemon's log:\n${daemon.stderr}`);
    });
    t.diagnostic(`address present ≤ ${(performance.now() - start).toFixed(0)} ms after the daemon was started (node start-up included)`);
  } finally {
    await lab.destroy();
  }
});
