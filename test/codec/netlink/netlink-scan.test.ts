// The fast paths next to the full decoder must agree with it exactly: scanNetlinkMessages sees
// the same headers, checkNetlinkBody refuses exactly what decoding refuses, the address read
// straight from the bytes equals the converted decoded body, and the in-place datagram encoder
// writes the same bytes as the per-message one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  checkNetlinkBody,
  decodeNetlinkMessages,
  encodeNetlinkMessage,
  encodeNetlinkMessages,
  scanNetlinkMessages,
  type AddressBody,
  type NetlinkMessage,
} from '../../../src/codec/netlink/index.js';
import { addressInfo, addressInfoAt } from '../../../src/platform/linux/convert.js';
import { isStable6Error } from '../../../src/errors.js';
import * as G from './goldens.js';

const hex = (t: string) => Uint8Array.from(Buffer.from(t, 'hex'));
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** What decoding throws (its message), or undefined. */
function decodeFailure(bytes: Uint8Array): string | undefined {
  try {
    decodeNetlinkMessages(bytes);
    return undefined;
  } catch (error) {
    assert.ok(isStable6Error(error, 'ERR_NETLINK_DECODE'), String(error));
    return error.message;
  }
}

function checkFailure(bytes: Uint8Array): string | undefined {
  try {
    scanNetlinkMessages(bytes, (type, flags, _seq, _pid, start, end) => checkNetlinkBody(type, flags, bytes, start, end));
    return undefined;
  } catch (error) {
    assert.ok(isStable6Error(error, 'ERR_NETLINK_DECODE'), String(error));
    return error.message;
  }
}

/** A netlink message with a random (often malformed) payload and a type from every body kind. */
const message = fc
  .record({
    type: fc.constantFrom(0, 1, 2, 3, 16, 17, 20, 21, 22, 24, 25, 44, 68, 99),
    flags: fc.constantFrom(0, 0x100, 0x200, 0x300, 0x2, 0x22),
    seq: u32,
    pid: u32,
    payload: fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      // A fixed part, then attribute-like records of random lengths (some broken).
      fc
        .tuple(fc.uint8Array({ minLength: 0, maxLength: 20 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), u16, fc.uint8Array({ maxLength: 36 })), { maxLength: 5 }))
        .map(([fixed, attrs]) => {
          const parts: number[] = [...fixed];
          for (const [length, type, value] of attrs) parts.push(length & 0xff, length >> 8, type & 0xff, type >> 8, ...value);
          return Uint8Array.from(parts);
        }),
    ),
  })
  .map(({ type, flags, seq, pid, payload }) => {
    const out = new Uint8Array(16 + payload.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, out.length, true);
    dv.setUint16(4, type, true);
    dv.setUint16(6, flags, true);
    dv.setUint32(8, seq, true);
    dv.setUint32(12, pid, true);
    out.set(payload, 16);
    return out;
  });

const datagram = fc.oneof(
  fc.array(message, { minLength: 1, maxLength: 4 }).map((ms) => {
    const total = ms.reduce((n, m) => n + ((m.length + 3) & ~3), 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const m of ms) {
      out.set(m, offset);
      offset += (m.length + 3) & ~3;
    }
    return out;
  }),
  fc.uint8Array({ maxLength: 120 }),
);

test('checkNetlinkBody over scanNetlinkMessages refuses exactly what decodeNetlinkMessages refuses, with the same error', () => {
  fc.assert(
    fc.property(datagram, (bytes) => {
      assert.equal(checkFailure(bytes), decodeFailure(bytes));
    }),
    { numRuns: 3000 },
  );
});

test('scanNetlinkMessages reports the headers and payload bounds the decoder uses', () => {
  for (const golden of [G.NEWADDR_REQUEST, G.ACK, G.EEXIST_ERROR]) {
    const bytes = hex(golden);
    const seen: { type: number; flags: number; seq: number; pid: number; length: number }[] = [];
    scanNetlinkMessages(bytes, (type, flags, seq, pid, start, end) => seen.push({ type, flags, seq, pid, length: end - start }));
    const decoded = decodeNetlinkMessages(bytes);
    assert.deepEqual(
      seen.map(({ type, flags, seq, pid }) => ({ type, flags, seq, pid })),
      decoded.map((m) => m.header),
    );
    assert.equal(seen[0]?.length, bytes.length - 16);
  }
});

/** Address attributes as the kernel might send them, and worse: wrong lengths, repeats, unknowns. */
const rawAttribute = fc.oneof(
  fc.tuple(fc.constantFrom(1, 2), fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 20 }))),
  fc.tuple(fc.constant(6), fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 20 }))),
  fc.tuple(fc.constant(8), fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ maxLength: 6 }))),
  fc.tuple(fc.constant(11), fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 1 }), fc.uint8Array({ maxLength: 3 }))),
  fc.tuple(fc.constantFrom(3, 4, 7, 9, 0x8001, 0x4008), fc.uint8Array({ maxLength: 12 })),
);

const addressMessage = fc
  .record({
    family: fc.constantFrom(10, 10, 10, 2, 0),
    prefixLength: u8,
    flags: u8,
    scope: u8,
    index: u32,
    attributes: fc.array(rawAttribute, { maxLength: 7 }),
    short: fc.boolean(),
  })
  .map(({ family, prefixLength, flags, scope, index, attributes, short }) => {
    const parts: number[] = [family, prefixLength, flags, scope, index & 0xff, (index >>> 8) & 0xff, (index >>> 16) & 0xff, index >>> 24];
    for (const [type, value] of attributes) {
      const length = 4 + value.length;
      parts.push(length & 0xff, length >> 8, type & 0xff, type >> 8, ...value);
      while (parts.length % 4 !== 0) parts.push(0);
    }
    const payload = short ? Uint8Array.from(parts.slice(0, 5)) : Uint8Array.from(parts);
    const out = new Uint8Array(16 + payload.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, out.length, true);
    dv.setUint16(4, 20, true); // RTM_NEWADDR
    out.set(payload, 16);
    return out;
  });

test('addressInfoAt equals addressInfo of the decoded body, for any address message that decodes', () => {
  fc.assert(
    fc.property(addressMessage, (bytes) => {
      const [m] = decodeNetlinkMessages(bytes);
      assert.ok(m);
      const expected = m.body.kind === 'address' ? addressInfo(m.body as AddressBody) : undefined;
      const actual = addressInfoAt(bytes, 16, bytes.length);
      assert.deepEqual(actual, expected);
      assert.equal(actual?.address.toString(), expected?.address.toString());
    }),
    { numRuns: 3000 },
  );
});

test('addressInfoAt on the captured RTM_NEWADDR request reads the address, lifetimes, flags and owner', () => {
  const bytes = hex(G.NEWADDR_REQUEST);
  const info = addressInfoAt(bytes, 16, bytes.length);
  assert.ok(info);
  assert.equal(info.address.toString(), '2001:db8:5::1');
  assert.equal(info.prefixLength, 64);
  assert.equal(info.ifindex, 2);
  assert.equal(info.validLifetimeSec, 3600);
  assert.equal(info.preferredLifetimeSec, 1800);
  assert.equal(info.flags.noDad, true);
  assert.equal(info.flags.noPrefixRoute, true);
  assert.equal(info.owned, true);
  assert.equal(info.protocol, 115);
  for (const golden of [G.NEWADDR_EVENT, G.DELADDR_EVENT]) {
    const event = hex(golden);
    const [m] = decodeNetlinkMessages(event);
    assert.ok(m?.body.kind === 'address');
    assert.deepEqual(addressInfoAt(event, 16, event.length), addressInfo(m.body));
  }
});

test('encodeNetlinkMessages writes the same bytes as each message encoded alone and padded', () => {
  const golden = decodeNetlinkMessages(hex(G.NEWADDR_REQUEST));
  const ack = decodeNetlinkMessages(hex(G.ACK));
  const error = decodeNetlinkMessages(hex(G.EEXIST_ERROR));
  fc.assert(
    fc.property(fc.array(fc.constantFrom<NetlinkMessage[]>(golden, ack, error), { minLength: 1, maxLength: 6 }), (groups) => {
      const messages = groups.flat();
      const alone = messages.map((m) => {
        const b = encodeNetlinkMessage(m);
        const padded = new Uint8Array((b.length + 3) & ~3);
        padded.set(b);
        return padded;
      });
      assert.deepEqual(Buffer.from(encodeNetlinkMessages(messages)), Buffer.concat(alone));
    }),
  );
  assert.deepEqual(Buffer.from(encodeNetlinkMessages(golden)), Buffer.from(hex(G.NEWADDR_REQUEST)));
});
