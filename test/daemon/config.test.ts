import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, parseConfigText } from '../../src/daemon/config.js';
import { isStable6Error } from '../../src/errors.js';
import { INFINITE_LIFETIME } from '../../src/platform/platform.js';

test('the shipped example configuration is valid and means what its comments say', async () => {
  const config = await loadConfig('examples/stable6.toml');
  assert.equal(config.idgenRetries, 3);
  assert.equal(config.idgenDelayMs, 1000);
  assert.equal(config.metricsListen, '127.0.0.1:9716');
  assert.equal(config.api.socketMode, 0o660);
  assert.deepEqual(config.api.allowedGroups, ['stable6']);
  const [eth0, eth1] = config.interfaces;
  assert.equal(eth0?.netIface, 'lan');
  assert.equal(eth0?.staticPrefixes[0]?.prefix.toString(), '2001:db8:2700::/48');
  assert.deepEqual(eth0?.staticPrefixes[0]?.subnet, { kind: 'auto' });
  assert.equal(eth0?.staticPrefixes[0]?.validLifetimeSec, INFINITE_LIFETIME);
  assert.equal(eth1?.gateway?.toString(), 'fe80::1');
  assert.equal(eth1?.ra, false);
  assert.equal(eth1?.staticPrefixes[0]?.preferredLifetimeSec, 14400);
});

test('defaults, and flags override the file', () => {
  const config = parseConfigText('state_dir = "/srv/s6"\n[[interface]]\nname = "eth0"\n', 'x.toml', { interfaces: ['eth0', 'wlan0'], stateDir: '/tmp/s', socket: '/tmp/s.sock' });
  assert.equal(config.stateDir, '/tmp/s');
  assert.equal(config.api.socket, '/tmp/s.sock');
  assert.equal(config.secretFile, '/var/lib/stable6/secret');
  assert.deepEqual(config.interfaces.map((i) => i.name), ['eth0', 'wlan0']);
  assert.equal(config.interfaces[1]?.netIface, 'wlan0');
  assert.equal(config.interfaces[1]?.algorithm, 'stable6-v1');
});

test('bad configuration: the file, the key path and the problem are named', () => {
  const cases: [string, string, RegExp][] = [
    ['idgen_retries = "3"', 'ERR_CONFIG_INVALID', /x\.toml: idgen_retries: must be an integer/],
    ['idgen_retrys = 3', 'ERR_CONFIG_INVALID', /x\.toml: idgen_retrys: unknown key/],
    ['log_level = "loud"', 'ERR_CONFIG_INVALID', /log_level/],
    ['[metrics]\nlisten = "0.0.0.0"', 'ERR_CONFIG_INVALID', /metrics\.listen/],
    ['[api]\nsocket_mode = "999"', 'ERR_CONFIG_INVALID', /api\.socket_mode/],
    ['[api]\nlabel_pattern = "("', 'ERR_CONFIG_INVALID', /api\.label_pattern: is not a valid regular expression/],
    ['[[interface]]\nnet_iface = "x"', 'ERR_CONFIG_INVALID', /interface\[0\]\.name: is required/],
    ['[[interface]]\nname = "a/b"', 'ERR_CONFIG_INVALID', /interface\[0\]\.name/],
    ['[[interface]]\nname = "eth0"\n[[interface]]\nname = "eth0"', 'ERR_CONFIG_INVALID', /interface\[1\]\.name: eth0 is configured twice/],
    ['[[interface]]\nname = "eth0"\ngateway = "ff02::1"', 'ERR_CONFIG_INVALID', /gateway: must be a unicast/],
    ['[[interface]]\nname = "eth0"\n[[interface.static_prefix]]\nprefix = "2001:db8::1/64"', 'ERR_CONFIG_INVALID', /static_prefix\[0\]\.prefix: .*host bits/],
    ['[[interface]]\nname = "eth0"\n[[interface.static_prefix]]\nprefix = "2001:db8::/48"', 'ERR_CONFIG_INVALID', /static_prefix\[0\]\.subnet: .*shorter than \/64/],
    ['[[interface]]\nname = "eth0"\n[[interface.static_prefix]]\nprefix = "2001:db8::/56"\nsubnet = 256', 'ERR_CONFIG_INVALID', /subnet: does not fit in the 8 bits/],
    ['[[interface]]\nname = "eth0"\n[[interface.static_prefix]]\nprefix = "fe80::/64"', 'ERR_CONFIG_INVALID', /link-local/],
    ['[[interface]]\nname = "eth0"\n[[interface.static_prefix]]\nprefix = "2001:db8::/64"\nvalid_lifetime = 10\npreferred_lifetime = 20', 'ERR_CONFIG_INVALID', /preferred_lifetime: must not exceed/],
    ['[[interface]]\nname = "eth0"\n[[interface.static_prefix]]\nprefix = "2001:db8::/64"\nvalid_lifetime = -1', 'ERR_CONFIG_INVALID', /valid_lifetime/],
    ['[[interface]]\nname = "eth0"\n[[interface.static_prefix]]\nprefix = "2001:db8::/64"\nvalid_lifetime = 0', 'ERR_CONFIG_INVALID', /static_prefix\[0\]\.valid_lifetime: must be "infinite" or whole seconds from 1/],
    ['interface = 3', 'ERR_CONFIG_INVALID', /interface: must be an array/],
    ['[[interface]\nname = "x"', 'ERR_CONFIG_SYNTAX', /^x\.toml:1:\d+: /],
    ['a = = 1', 'ERR_CONFIG_SYNTAX', /^x\.toml:1:/],
  ];
  for (const [text, code, pattern] of cases) {
    assert.throws(() => parseConfigText(text, 'x.toml'), (e) => isStable6Error(e) && e.code === code && pattern.test(e.message), text);
  }
  assert.throws(() => parseConfigText('', 'x.toml', { interfaces: ['bad name'] }), (e) => isStable6Error(e, 'ERR_CONFIG_INVALID') && /--interface/.test(e.message));
});

test('an unreadable configuration file is named', async () => {
  const missing = path.join(tmpdir(), `s6t-none-${process.pid}.toml`);
  await assert.rejects(loadConfig(missing), (e) => isStable6Error(e, 'ERR_CONFIG_IO') && e.message.startsWith(missing) && e.message.includes('ENOENT'));
  await fs.rm(missing, { force: true });
});

test('a static prefix may be deprecated from the start (preferred_lifetime = 0), and stays so', () => {
  const config = parseConfigText('[[interface]]\nname = "eth0"\n[[interface.static_prefix]]\nprefix = "2001:db8::/64"\nvalid_lifetime = 600\npreferred_lifetime = 0', 'test.toml');
  const prefix = config.interfaces[0]?.staticPrefixes[0];
  assert.equal(prefix?.validLifetimeSec, 600);
  assert.equal(prefix?.preferredLifetimeSec, 0);
});
