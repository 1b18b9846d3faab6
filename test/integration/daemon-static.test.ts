// Issue 4, point 2: static prefixes from the configuration file (no router on the link): a /64,
// a routed /48 with subnet "auto" (the spec's derivation), one with configured lifetimes; and a
// static default gateway kept in place (deleted by hand, it comes back).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipv6Prefix } from '../../src/core/prefix.js';
import { INFINITE_LIFETIME } from '../../src/platform/platform.js';
import { requirePrivileged } from '../helpers/netns.js';
import { Lab, autoSubnet, expectedAddress, globalAddresses, waitFor } from './daemon-harness.js';

const GATEWAY = 'fe80::1';

const CONFIG = `
idgen_delay_ms = 100

[[interface]]
name = "host0"
ra = false
gateway = "${GATEWAY}"

  [[interface.static_prefix]]
  prefix = "2001:db8:5::/64"

  [[interface.static_prefix]]
  prefix = "2001:db8:4700::/48"
  subnet = "auto"
  valid_lifetime = "infinite"
  preferred_lifetime = "infinite"

  [[interface.static_prefix]]
  prefix = "fd12:3456:789a:1::/64"
  valid_lifetime = 86400
  preferred_lifetime = 14400
`;

interface Route {
  dst: string;
  gateway?: string;
  dev: string;
  protocol?: string | number;
}

async function defaultRoutes(lab: Lab): Promise<Route[]> {
  return lab.host.ipJson<Route[]>('-6', 'route', 'show', 'default', 'dev', 'host0');
}

test('daemon: static prefixes (a /64, a routed /48 with subnet "auto", finite lifetimes) and a static gateway kept in place', async (t) => {
  if (!requirePrivileged(t, [])) return;
  const lab = await Lab.create();
  try {
    const config = lab.file('stable6.toml', CONFIG);
    const daemon = await lab.startDaemon(['daemon', '--config', config, '--secret-file', lab.secretFile, '--state-dir', lab.stateDir(), '--socket', lab.socket()]);

    const p48 = autoSubnet(lab.secret, '2001:db8:4700::/48');
    assert.ok(Ipv6Prefix.parse('2001:db8:4700::/48').contains(Ipv6Prefix.parse(p48).address), `${p48} inside the /48`);
    assert.notEqual(p48, '2001:db8:4700::/64', 'the auto subnet is never 0');
    const a64 = expectedAddress(lab.secret, '2001:db8:5::/64');
    const a48 = expectedAddress(lab.secret, p48);
    const aUla = expectedAddress(lab.secret, 'fd12:3456:789a:1::/64');

    const all = await waitFor(
      'three static addresses out of DAD',
      async () => {
        const list = await globalAddresses(lab.host);
        return [a64, a48, aUla].every((x) => list.some((a) => a.local === x && !a.tentative)) ? list : undefined;
      },
      20_000,
    );
    const by = (x: string) => all.find((a) => a.local === x)!;
    assert.equal(by(a64).valid_life_time, INFINITE_LIFETIME);
    assert.equal(by(a64).preferred_life_time, INFINITE_LIFETIME);
    assert.equal(by(a48).valid_life_time, INFINITE_LIFETIME);
    assert.equal(by(a48).preferred_life_time, INFINITE_LIFETIME);
    assert.ok(by(aUla).valid_life_time <= 86400 && by(aUla).valid_life_time > 86300, `valid ${by(aUla).valid_life_time}`);
    assert.ok(by(aUla).preferred_life_time <= 14400 && by(aUla).preferred_life_time > 14300, `preferred ${by(aUla).preferred_life_time}`);
    assert.equal(all.length, 3);
    // A static prefix is on-link: the kernel's prefix route comes with the address.
    const routes = await lab.host.ipJson<Route[]>('-6', 'route', 'show', 'dev', 'host0');
    assert.ok(routes.some((r) => r.dst === '2001:db8:5::/64'));
    assert.ok(routes.some((r) => r.dst === p48));

    const status = await lab.status();
    const prefixes = status.interfaces[0]!.prefixes;
    assert.deepEqual(prefixes.map((p) => [p.prefix, p.source]).sort(), [
      ['2001:db8:5::/64', 'static'],
      [p48, 'static'],
      ['fd12:3456:789a:1::/64', 'static'],
    ].sort());

    // The gateway: present, tagged as ours; deleted by hand, back.
    const gw = await waitFor('the static default route', async () => (await defaultRoutes(lab)).find((r) => r.gateway === GATEWAY), 10_000);
    assert.equal(String(gw.protocol), '115');
    for (let round = 1; round <= 2; round++) {
      await lab.host.ip('-6', 'route', 'del', 'default', 'via', GATEWAY, 'dev', 'host0');
      await waitFor(`the default route back (round ${round})`, async () => (await defaultRoutes(lab)).find((r) => r.gateway === GATEWAY), 10_000);
    }
    assert.match(daemon.stderr, /default gateway fe80::1 on host0: present -> missing/);

    // A static address deleted by hand is back too, still forever.
    await lab.host.ip('-6', 'addr', 'del', `${a48}/64`, 'dev', 'host0');
    const back = await waitFor(`${a48} back`, async () => (await globalAddresses(lab.host)).find((a) => a.local === a48), 10_000);
    assert.equal(back.valid_life_time, INFINITE_LIFETIME);
  } finally {
    await lab.destroy();
  }
});
