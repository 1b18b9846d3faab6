import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  leasePath,
  parseJsonBody,
  parseLeaseRequest,
  parseRoute,
  validateInterfaceName,
  validateLabel,
  httpStatusFor,
} from '../../src/api/protocol.js';
import { ERROR_CODES, isStable6Error, type ErrorCode } from '../../src/errors.js';

const refused = (fn: () => unknown, code: ErrorCode = 'ERR_API_BAD_REQUEST') => assert.throws(fn, (e) => isStable6Error(e, code));

test('labels: letters and digits of any script and . _ - + : @, NFC, 1 to 255 bytes', () => {
  for (const ok of ['web', 'a', 'Web-1.2_x+y:z@h', 'café', 'Ünïcode', 'サービス', '0', 'x'.repeat(255), 'é'.repeat(127)]) {
    assert.equal(validateLabel(ok), ok);
  }
  const nfd = 'cafe\u0301';
  for (const bad of ['', '-web', '.hidden', '_x', 'a b', 'a/b', 'a%2f', 'a\u0000', 'tab\t', 'x'.repeat(256), 'é'.repeat(128), nfd, '\ud800', 'a\u200bb', 'quote"', "it's", 'a\nb']) {
    refused(() => validateLabel(bad));
  }
  refused(() => validateLabel(42));
});

test('interface names: 1 to 255 bytes, no control characters, no slash, no outer spaces', () => {
  for (const ok of ['eth0', 'enp0s31f6', 'wlan0.100', 'Ethernet 2', 'br-lan']) assert.equal(validateInterfaceName(ok), ok);
  for (const bad of ['', '/', 'a/b', ' eth0', 'eth0 ', '.', '..', 'e\u0000', 'x'.repeat(256), 7]) refused(() => validateInterfaceName(bad));
});

test('POST body: strict fields, persistent defaults to false', () => {
  assert.deepEqual(parseLeaseRequest({ label: 'a', interface: 'eth0' }), { label: 'a', interface: 'eth0', persistent: false });
  assert.deepEqual(parseLeaseRequest({ label: 'a', interface: 'eth0', persistent: true }), { label: 'a', interface: 'eth0', persistent: true });
  for (const bad of [undefined, null, [], 'x', { label: 'a' }, { interface: 'eth0' }, { label: 'a', interface: 'eth0', persistant: true }, { label: 'a', interface: 'eth0', persistent: 1 }]) {
    refused(() => parseLeaseRequest(bad));
  }
  assert.equal(parseJsonBody(Buffer.alloc(0)), undefined);
  assert.deepEqual(parseJsonBody(Buffer.from('{"a":1}')), { a: 1 });
  refused(() => parseJsonBody(Buffer.from([0x7b, 0xff, 0x7d])));
  refused(() => parseJsonBody(Buffer.from('{')));
});

test('routes: paths and methods of v1', () => {
  assert.deepEqual(parseRoute('POST', '/v1/leases'), { type: 'lease' });
  assert.deepEqual(parseRoute('GET', '/v1/leases?x=1'), { type: 'list-leases' });
  assert.deepEqual(parseRoute('GET', '/v1/status'), { type: 'status' });
  assert.deepEqual(parseRoute('GET', '/v1/events'), { type: 'events' });
  assert.deepEqual(parseRoute('DELETE', '/v1/leases/eth0/web'), { type: 'release', key: { interface: 'eth0', label: 'web' } });
  assert.deepEqual(parseRoute('DELETE', '/v1/leases/Ethernet%202/caf%C3%A9'), { type: 'release', key: { interface: 'Ethernet 2', label: 'café' } });
  refused(() => parseRoute('GET', '/v1/leases/eth0/web'), 'ERR_API_METHOD');
  refused(() => parseRoute('DELETE', '/v1/leases'), 'ERR_API_METHOD');
  refused(() => parseRoute('GET', '/'), 'ERR_API_NOT_FOUND');
  refused(() => parseRoute('GET', '/v1/leases/eth0'), 'ERR_API_NOT_FOUND');
  refused(() => parseRoute('DELETE', '/v1/leases/eth0/a/b'), 'ERR_API_NOT_FOUND');
  refused(() => parseRoute('DELETE', '/v1/leases/eth0/a%2Fb'));
  refused(() => parseRoute('DELETE', '/v1/leases/eth0/%E0%A4'));
});

test('property: every valid key survives leasePath → parseRoute', () => {
  const labelChar = fc.constantFrom(...'abcXYZ019._-+:@éßサ'.split(''));
  const label = fc
    .tuple(fc.constantFrom('a', 'Z', '5', 'é', 'サ'), fc.array(labelChar, { maxLength: 40 }))
    .map(([first, rest]) => first + rest.join(''));
  const iface = fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9 .:_-]{0,14}[a-zA-Z0-9]$/);
  fc.assert(
    fc.property(label, iface, (l, i) => {
      assert.deepEqual(parseRoute('DELETE', leasePath({ label: l, interface: i })), { type: 'release', key: { label: l, interface: i } });
    }),
  );
});

test('every API code the server sends has an HTTP status; unknown codes are 500', () => {
  for (const code of Object.keys(ERROR_CODES).filter((c) => c.startsWith('ERR_API_'))) {
    const status = httpStatusFor(code);
    assert.ok(status >= 400 && status < 600, code);
  }
  assert.equal(httpStatusFor('ERR_API_FORBIDDEN'), 403);
  assert.equal(httpStatusFor('ERR_API_RATE_LIMITED'), 429);
  assert.equal(httpStatusFor('ERR_WHATEVER'), 500);
});
