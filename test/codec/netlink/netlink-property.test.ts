// Round-trip properties, one per message type: decode(encode(m)) equals m, and the bytes
// of encode(decode(bytes)) equal the bytes. Plus: arbitrary bytes never crash the decoder
// with anything but ERR_NETLINK_DECODE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  addressAttributes,
  decodeNetlinkMessage,
  decodeNetlinkMessages,
  encodeNetlinkMessage,
  errorAttributes,
  linkAttributes,
  ndUserOptionAttributes,
  prefixAttributes,
  routeAttributes,
  type AttributeSet,
  type NetlinkBody,
  type NetlinkMessage,
  type RouteAttribute,
} from '../../../src/codec/netlink/index.js';
import { isStable6Error } from '../../../src/errors.js';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const s32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const bytes = (maxLength = 40) => fc.uint8Array({ maxLength });
const addr16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const cstring = fc.string({ maxLength: 20 }).filter((s) => !s.includes('\0'));

function unknown(set: AttributeSet<never> | { knownTypes: ReadonlySet<number> }) {
  return fc.record({
    kind: fc.constant('unknown' as const),
    type: u16.filter((t) => !set.knownTypes.has(t)),
    bytes: bytes(),
  });
}

const header = (types: number[]) =>
  fc.record({ type: fc.constantFrom(...types), flags: u16, seq: u32, pid: u32 });

const linkAttribute = fc.oneof(
  fc.record({ kind: fc.constant('address' as const), value: bytes(8) }),
  fc.record({ kind: fc.constant('broadcast' as const), value: bytes(8) }),
  fc.record({ kind: fc.constant('ifname' as const), value: cstring }),
  fc.record({ kind: fc.constant('mtu' as const), value: u32 }),
  fc.record({ kind: fc.constant('operstate' as const), value: u8 }),
  fc.record({ kind: fc.constant('permAddress' as const), value: bytes(8) }),
  unknown(linkAttributes),
);

const addressAttribute = fc.oneof(
  fc.record({ kind: fc.constant('address' as const), value: addr16 }),
  fc.record({ kind: fc.constant('local' as const), value: addr16 }),
  fc.record({ kind: fc.constant('label' as const), value: cstring }),
  fc.record({
    kind: fc.constant('cacheinfo' as const),
    value: fc.record({ preferredSec: u32, validSec: u32, createdCs: u32, updatedCs: u32 }),
  }),
  fc.record({ kind: fc.constant('flags' as const), value: u32 }),
  fc.record({ kind: fc.constant('proto' as const), value: u8 }),
  unknown(addressAttributes),
);

const simpleRouteAttribute = fc.oneof(
  fc.record({ kind: fc.constantFrom('dst' as const, 'src' as const, 'gateway' as const, 'prefsrc' as const), value: addr16 }),
  fc.record({ kind: fc.constantFrom('iif' as const, 'oif' as const, 'priority' as const, 'table' as const, 'expires' as const), value: u32 }),
  fc.record({ kind: fc.constant('pref' as const), value: u8 }),
  fc.record({
    kind: fc.constant('cacheinfo' as const),
    value: fc.record({ clntref: u32, lastuse: u32, expires: u32, error: u32, used: u32, id: u32, ts: u32, tsage: u32 }),
  }),
  unknown(routeAttributes),
);
const routeAttribute: fc.Arbitrary<RouteAttribute> = fc.oneof(
  simpleRouteAttribute,
  fc.record({
    kind: fc.constant('multipath' as const),
    value: fc.array(fc.record({ flags: u8, hops: u8, ifindex: s32, attributes: fc.array(simpleRouteAttribute, { maxLength: 3 }) }), {
      minLength: 1,
      maxLength: 3,
    }),
  }),
);

const bodies: Record<string, fc.Arbitrary<NetlinkMessage>> = {
  link: fc.record({
    header: header([16, 17, 18, 19]),
    body: fc.record({
      kind: fc.constant('link' as const),
      family: u8,
      linkType: u16,
      index: s32,
      flags: u32,
      change: u32,
      attributes: fc.array(linkAttribute, { maxLength: 8 }),
    }),
  }),
  address: fc.record({
    header: header([20, 21, 22]),
    body: fc.record({
      kind: fc.constant('address' as const),
      family: u8,
      prefixLength: u8,
      flags: u8,
      scope: u8,
      index: u32,
      attributes: fc.array(addressAttribute, { maxLength: 8 }),
    }),
  }),
  route: fc.record({
    header: header([24, 25, 26]),
    body: fc.record({
      kind: fc.constant('route' as const),
      family: u8,
      dstLength: u8,
      srcLength: u8,
      tos: u8,
      table: u8,
      protocol: u8,
      scope: u8,
      routeType: u8,
      flags: u32,
      attributes: fc.array(routeAttribute, { maxLength: 8 }),
    }),
  }),
  prefix: fc.record({
    header: header([52]),
    body: fc.record({
      kind: fc.constant('prefix' as const),
      family: u8,
      index: s32,
      optionType: u8,
      prefixLength: u8,
      flags: u8,
      attributes: fc.array(
        fc.oneof(
          fc.record({ kind: fc.constant('address' as const), value: addr16 }),
          fc.record({ kind: fc.constant('cacheinfo' as const), value: fc.record({ preferredSec: u32, validSec: u32 }) }),
          unknown(prefixAttributes),
        ),
        { maxLength: 4 },
      ),
    }),
  }),
  'nd-user-option': fc.record({
    header: header([68]),
    body: fc.record({
      kind: fc.constant('nd-user-option' as const),
      family: u8,
      index: s32,
      icmpType: u8,
      icmpCode: u8,
      options: fc.integer({ min: 0, max: 5 }).chain((n) => fc.uint8Array({ minLength: n * 8, maxLength: n * 8 })),
      attributes: fc.array(
        fc.oneof(fc.record({ kind: fc.constant('source' as const), value: addr16 }), unknown(ndUserOptionAttributes)),
        { maxLength: 3 },
      ),
    }),
  }),
  error: fc
    .record({
      flags: u16,
      seq: u32,
      pid: u32,
      error: s32,
      request: fc.record({ type: u16, flags: u16, seq: u32, pid: u32 }),
      payload: bytes(),
      attributes: fc.array(
        fc.oneof(
          fc.record({ kind: fc.constant('message' as const), value: cstring }),
          fc.record({ kind: fc.constant('offset' as const), value: u32 }),
          unknown(errorAttributes),
        ),
        { maxLength: 3 },
      ),
    })
    .map(({ flags, seq, pid, error, request, payload, attributes }) => {
      const capped = (flags & 0x100) !== 0;
      const tlvs = (flags & 0x200) !== 0;
      const requestPayload = capped ? new Uint8Array() : payload;
      return {
        header: { type: 2, flags, seq, pid },
        body: {
          kind: 'error' as const,
          error,
          // The request's own length matches its payload, as when the kernel echoes it.
          request: { length: 16 + requestPayload.length, ...request },
          requestPayload,
          attributes: tlvs ? attributes : [],
        },
      };
    }),
  done: fc.record({
    header: header([3]),
    body: fc.record({ kind: fc.constant('done' as const), status: s32, rest: bytes() }),
  }),
  raw: fc.record({
    header: header([1, 4, 100, 0xffff]),
    body: fc.record({ kind: fc.constant('raw' as const), bytes: bytes() }),
  }),
};

for (const [kind, arbitrary] of Object.entries(bodies)) {
  test(`${kind} messages survive encode then decode, and their bytes decode then encode`, () => {
    fc.assert(
      fc.property(arbitrary, (message) => {
        const encoded = encodeNetlinkMessage(message);
        const decoded = decodeNetlinkMessage(encoded);
        assert.deepEqual(decoded, structuredClone(message)); // fc.record makes null-prototype objects
        assert.deepEqual(encodeNetlinkMessage(decoded), encoded);
      }),
      { numRuns: 300 },
    );
  });
}

test('arbitrary bytes decode, or fail with ERR_NETLINK_DECODE; what decodes re-encodes to what re-decodes the same', () => {
  const kinds = [16, 20, 24, 52, 68, 2, 3, 99];
  const datagram = fc
    .record({ type: fc.constantFrom(...kinds), flags: u16, payload: bytes(120) })
    .map(({ type, flags, payload }) => {
      const out = new Uint8Array(16 + payload.length);
      const dv = new DataView(out.buffer);
      dv.setUint32(0, out.length, true);
      dv.setUint16(4, type, true);
      dv.setUint16(6, flags, true);
      out.set(payload, 16);
      return out;
    });
  fc.assert(
    fc.property(fc.oneof(datagram, bytes(80)), (input) => {
      let messages: NetlinkMessage[];
      try {
        messages = decodeNetlinkMessages(input);
      } catch (error) {
        assert.ok(isStable6Error(error, 'ERR_NETLINK_DECODE'), String(error));
        return;
      }
      for (const message of messages) {
        const again = decodeNetlinkMessage(encodeNetlinkMessage(message));
        assert.deepEqual(again, message);
      }
    }),
    { numRuns: 2000 },
  );
});

test('an unknown attribute keeps its NLA_F_NESTED bit and its bytes', () => {
  const body: NetlinkBody = {
    kind: 'link',
    family: 0,
    linkType: 1,
    index: 3,
    flags: 0,
    change: 0,
    attributes: [{ kind: 'unknown', type: 0x8000 | 26, bytes: Uint8Array.of(1, 2, 3) }],
  };
  const message = { header: { type: 16, flags: 0, seq: 1, pid: 0 }, body };
  assert.deepEqual(decodeNetlinkMessage(encodeNetlinkMessage(message)), message);
});

test('a known attribute with the wrong length stays unknown instead of failing', () => {
  const message: NetlinkMessage = {
    header: { type: 20, flags: 0, seq: 0, pid: 0 },
    body: { kind: 'address', family: 10, prefixLength: 64, flags: 0, scope: 0, index: 1, attributes: [{ kind: 'unknown', type: 8, bytes: Uint8Array.of(1, 2) }] },
  };
  assert.deepEqual(decodeNetlinkMessage(encodeNetlinkMessage(message)), message);
});
