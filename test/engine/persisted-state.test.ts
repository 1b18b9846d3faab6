import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isStable6Error } from '../../src/errors.js';
import { Ipv6Prefix } from '../../src/core/prefix.js';
import {
  emptyPersistedState,
  formatPersistedState,
  parsePersistedState,
  validatePersistedState,
  type PersistedState,
} from '../../src/engine/persisted-state.js';
import { Engine } from '../../src/engine/engine.js';
import { SECRET } from './harness.js';

const sample: PersistedState = {
  version: 1,
  counters: [{ algorithm: 'stable6-v1', prefix: '2001:db8:1:2::/64', netIface: 'eth0', networkId: '', label: '', dadCounter: 1 }],
  leases: [
    { ifname: 'eth0', label: 'web', uid: 1000, binding: 'persistent' },
    { ifname: 'eth0', label: 'tmp', uid: 1000, binding: 'connection' },
  ],
  savedSettings: [{ ifname: 'eth0', autoconf: true, acceptRa: 1 }],
};

test('the state file format, byte for byte (version 1)', () => {
  const text = formatPersistedState(sample);
  assert.equal(
    text,
    `{
  "version": 1,
  "counters": [
    {
      "algorithm": "stable6-v1",
      "prefix": "2001:db8:1:2::/64",
      "netIface": "eth0",
      "networkId": "",
      "label": "",
      "dadCounter": 1
    }
  ],
  "leases": [
    {
      "ifname": "eth0",
      "label": "web",
      "uid": 1000,
      "binding": "persistent"
    },
    {
      "ifname": "eth0",
      "label": "tmp",
      "uid": 1000,
      "binding": "connection"
    }
  ],
  "savedSettings": [
    {
      "ifname": "eth0",
      "autoconf": true,
      "acceptRa": 1
    }
  ]
}
`,
  );
  assert.deepEqual(parsePersistedState(text), sample);
});

test('round trip: any valid state survives format and parse', () => {
  const label = fc.string({ minLength: 1, maxLength: 20 });
  const state = fc.record({
    version: fc.constant(1 as const),
    counters: fc.uniqueArray(
      fc.record({
        algorithm: fc.constantFrom('stable6-v1', 'linux'),
        prefix: fc.integer({ min: 0, max: 0xffff }).map((n) => Ipv6Prefix.parse(`2001:db8:${n.toString(16)}::/64`).toString()),
        netIface: fc.constantFrom('eth0', 'lan'),
        networkId: fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b).toString('hex')),
        label: fc.string({ maxLength: 20 }),
        dadCounter: fc.integer({ min: 1, max: 255 }),
      }),
      { selector: (c) => JSON.stringify([c.algorithm, c.prefix, c.netIface, c.networkId, c.label]), maxLength: 10 },
    ),
    leases: fc.array(fc.record({ ifname: fc.constantFrom('eth0', 'wlan0'), label, uid: fc.nat(), binding: fc.constantFrom('persistent' as const, 'connection' as const) }), { maxLength: 10 }),
    savedSettings: fc.array(fc.record({ ifname: fc.constantFrom('eth0'), autoconf: fc.boolean(), acceptRa: fc.integer({ min: 0, max: 2 }) }), { maxLength: 2 }),
  });
  const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
  fc.assert(fc.property(state, (s) => assert.deepEqual(plain(parsePersistedState(formatPersistedState(s))), plain(s))));
});

test('malformed state is refused with ERR_ENGINE_STATE and a message naming the field', () => {
  const bad: [unknown, RegExp][] = [
    [null, /must be an object/],
    [{ ...sample, version: 2 }, /version/],
    [{ ...sample, counters: [{ ...sample.counters[0], dadCounter: 0 }] }, /counters\[0\]\.dadCounter/],
    [{ ...sample, counters: [{ ...sample.counters[0], prefix: '2001:db8::/48' }] }, /counters\[0\]\.prefix/],
    [{ ...sample, counters: [sample.counters[0], sample.counters[0]] }, /twice/],
    [{ ...sample, leases: [{ ...sample.leases[0], label: '' }] }, /leases\[0\]\.label/],
    [{ ...sample, leases: [{ ...sample.leases[0], binding: 'forever' }] }, /binding/],
    [{ ...sample, secret: 'aa' }, /secret.*not a known field/],
    [{ ...sample, savedSettings: [{ ifname: 'eth0', autoconf: 'yes', acceptRa: 1 }] }, /autoconf/],
  ];
  for (const [value, message] of bad) {
    assert.throws(() => validatePersistedState(value), (e) => isStable6Error(e, 'ERR_ENGINE_STATE') && message.test(e.message), JSON.stringify(value));
  }
  assert.throws(() => parsePersistedState('{'), (e) => isStable6Error(e, 'ERR_ENGINE_STATE'));
  assert.throws(() => new Engine({ secret: SECRET }).initialState({ version: 9 }), (e) => isStable6Error(e, 'ERR_ENGINE_STATE'));
});

test('an empty state is valid', () => {
  assert.deepEqual(validatePersistedState(emptyPersistedState()), emptyPersistedState());
});
