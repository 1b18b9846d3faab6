import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ipv6Address } from '../../src/core/address.js';
import { checkPio, nextPreferredLifetime, nextValidLifetime, TWO_HOURS_SEC, INFINITE_LIFETIME_SEC } from '../../src/core/prefix-policy.js';

const pio = (prefix: string, prefixLength = 64, extra: Partial<Parameters<typeof checkPio>[0]> = {}) => ({
  prefix: Ipv6Address.parse(prefix),
  prefixLength,
  autonomous: true,
  validLifetimeSec: 3600,
  preferredLifetimeSec: 1800,
  ...extra,
});

test('RFC 4862 §5.5.3 a) to d): what forms an address', () => {
  assert.deepEqual(checkPio(pio('2001:db8::', 64, { autonomous: false }), false), { ok: false, reason: 'not-autonomous' });
  assert.deepEqual(checkPio(pio('fe80::'), false), { ok: false, reason: 'link-local' });
  assert.deepEqual(checkPio(pio('2001:db8::', 64, { preferredLifetimeSec: 3601 }), false), { ok: false, reason: 'preferred-exceeds-valid' });
  for (const length of [0, 48, 63, 65, 80, 128, 129, 255]) assert.deepEqual(checkPio(pio('2001:db8::', length), false), { ok: false, reason: 'prefix-length' });
  assert.deepEqual(checkPio(pio('ff02::'), false), { ok: false, reason: 'not-unicast' });
  assert.deepEqual(checkPio(pio('::'), false), { ok: false, reason: 'not-unicast' });
  assert.deepEqual(checkPio(pio('2001:db8::', 64, { validLifetimeSec: 0, preferredLifetimeSec: 0 }), false), { ok: false, reason: 'unknown-prefix-zero-lifetime' });
  const known = checkPio(pio('2001:db8::', 64, { validLifetimeSec: 0, preferredLifetimeSec: 0 }), true);
  assert.equal(known.ok, true, 'a zero lifetime for a prefix in use is processed (§5.5.3 e)');
  const masked = checkPio(pio('2001:db8:0:1:ffff::1'), false);
  assert.ok(masked.ok && masked.prefix.toString() === '2001:db8:0:1::/64', 'bits after the length are ignored (RFC 4861 §4.6.2)');
});

test('RFC 4862 §5.5.3 e): the two-hour rule', () => {
  const H = 3600;
  // 1. more than 2 hours, or more than what is left: taken as advertised.
  assert.equal(nextValidLifetime(3 * H, 10 * H), 3 * H);
  assert.equal(nextValidLifetime(H, H / 2), H);
  assert.equal(nextValidLifetime(INFINITE_LIFETIME_SEC, H), INFINITE_LIFETIME_SEC);
  // 2. at most 2 hours left: the advertised valid lifetime is ignored.
  assert.equal(nextValidLifetime(60, 2 * H), 2 * H);
  assert.equal(nextValidLifetime(0, 100), 100);
  // 3. otherwise: 2 hours.
  assert.equal(nextValidLifetime(60, 5 * H), TWO_HOURS_SEC);
  assert.equal(nextValidLifetime(0, INFINITE_LIFETIME_SEC), TWO_HOURS_SEC);
  assert.equal(nextPreferredLifetime(30, 7200), 30);
  assert.equal(nextPreferredLifetime(9000, 7200), 7200);
  assert.equal(nextPreferredLifetime(INFINITE_LIFETIME_SEC, 7200), 7200);
  assert.equal(nextPreferredLifetime(INFINITE_LIFETIME_SEC, INFINITE_LIFETIME_SEC), INFINITE_LIFETIME_SEC);
});

test('the two-hour rule never lets a PIO shorten a lifetime below min(remaining, 2 hours)', () => {
  const sec = fc.oneof(fc.integer({ min: 0, max: 10 * 86400 }), fc.constant(INFINITE_LIFETIME_SEC));
  fc.assert(
    fc.property(sec, sec, (received, remaining) => {
      const next = nextValidLifetime(received, remaining);
      const asNumber = (x: number) => (x === INFINITE_LIFETIME_SEC ? Infinity : x);
      assert.ok(asNumber(next) >= Math.min(asNumber(remaining), TWO_HOURS_SEC) || asNumber(next) === asNumber(received));
      assert.ok(asNumber(next) >= Math.min(asNumber(remaining), TWO_HOURS_SEC));
    }),
  );
});
