// NetlinkClient's off-loop paths over a scripted transport: requests split into datagrams and
// handed over in one sendManyAsync; a partial failure fails only the requests not sent; a raw
// dump keeps its parts as bytes and fails like a decoded one on a bad datagram.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NLM_F_CAPPED,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  RTM_GETADDR,
  RTM_NEWADDR,
  decodeNetlinkMessages,
  encodeNetlinkMessages,
  scanNetlinkMessages,
  type NetlinkMessage,
} from '../../../src/codec/netlink/index.js';
import { Stable6Error, isStable6Error } from '../../../src/errors.js';
import { NetlinkClient, type NetlinkRequest } from '../../../src/platform/linux/index.js';
import type { NetlinkTransport, NetlinkTransportHandler } from '../../../src/platform/linux/netlink-transport.js';

const ack = (m: NetlinkMessage): NetlinkMessage => ({
  header: { type: NLMSG_ERROR, flags: NLM_F_CAPPED, seq: m.header.seq, pid: 1 },
  body: { kind: 'error', error: 0, request: { length: 16, ...m.header }, requestPayload: new Uint8Array(), attributes: [] },
});

/** A transport that ACKs every request it is given; `failAfter` datagrams, sendManyAsync fails. */
function scripted(options: { failAfter?: number } = {}) {
  const calls: { kind: 'send' | 'many'; datagrams: Uint8Array[] }[] = [];
  let handler: NetlinkTransportHandler | undefined;
  const answer = (datagram: Uint8Array) => {
    const replies = decodeNetlinkMessages(datagram).map(ack);
    const bytes = encodeNetlinkMessages(replies);
    setImmediate(() => handler?.datagram(bytes));
  };
  const transport: NetlinkTransport = {
    send: (d) => {
      calls.push({ kind: 'send', datagrams: [d] });
      answer(d);
    },
    sendManyAsync: async (ds) => {
      calls.push({ kind: 'many', datagrams: [...ds] });
      const ok = options.failAfter === undefined ? ds.length : Math.min(options.failAfter, ds.length);
      for (const d of ds.slice(0, ok)) answer(d);
      if (ok < ds.length) throw new Stable6Error('ERR_NETLINK_SOCKET', 'netlink sendmmsg failed: ENOBUFS', { details: { errno: 'ENOBUFS', sentDatagrams: ok } });
    },
    close: () => undefined,
  };
  return {
    calls,
    dial: (_o: unknown, h: NetlinkTransportHandler) => {
      handler = h;
      return transport;
    },
  };
}

const request = (i: number): NetlinkRequest => ({
  type: RTM_NEWADDR,
  flags: 0,
  body: { kind: 'address', family: 10, prefixLength: 64, flags: 0, scope: 0, index: 2, attributes: [{ kind: 'address', value: Uint8Array.of(0x20, 1, 0xd, 0xb8, 0, i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1) }] },
});

test('an off-loop batch goes as datagrams of perDatagram requests in one sendManyAsync, one outcome each', async () => {
  const t = scripted();
  const client = new NetlinkClient(t.dial);
  try {
    const outcomes = await client.batch('add address', Array.from({ length: 10 }, (_, i) => request(i)), true, 4);
    assert.equal(outcomes.length, 10);
    assert.ok(outcomes.every((o) => o.ok));
    assert.equal(t.calls.length, 1);
    assert.equal(t.calls[0]?.kind, 'many');
    assert.deepEqual(
      t.calls[0]?.datagrams.map((d) => decodeNetlinkMessages(d).length),
      [4, 4, 2],
    );
    const seqs = t.calls[0]?.datagrams.flatMap((d) => decodeNetlinkMessages(d).map((m) => m.header.seq)) ?? [];
    assert.equal(new Set(seqs).size, 10, 'each request has its own sequence number');
  } finally {
    client.close();
  }
});

test('when sendManyAsync fails part way, only the requests of unsent datagrams fail, with the error', async () => {
  const t = scripted({ failAfter: 2 });
  const client = new NetlinkClient(t.dial);
  try {
    const outcomes = await client.batch('add address', Array.from({ length: 10 }, (_, i) => request(i)), true, 4);
    assert.deepEqual(
      outcomes.map((o) => o.ok),
      [true, true, true, true, true, true, true, true, false, false],
    );
    const failed = outcomes[9];
    assert.ok(failed && !failed.ok && isStable6Error(failed.error, 'ERR_NETLINK_SOCKET'));
  } finally {
    client.close();
  }
});

test('a batch that is not off-loop stays one datagram, sent at once', async () => {
  const t = scripted();
  const client = new NetlinkClient(t.dial);
  try {
    const outcomes = await client.batch('add address', [request(1), request(2), request(3)], false, 1);
    assert.ok(outcomes.every((o) => o.ok));
    assert.deepEqual(
      t.calls.map((c) => [c.kind, c.datagrams.length, decodeNetlinkMessages(c.datagrams[0] ?? new Uint8Array()).length]),
      [['send', 1, 3]],
    );
  } finally {
    client.close();
  }
});

/** A transport whose dumps answer with `parts` address messages, in datagrams of 3, then DONE. */
function dumping(parts: number, corrupt = false) {
  let handler: NetlinkTransportHandler | undefined;
  const transport: NetlinkTransport = {
    send: (d) => {
      const [req] = decodeNetlinkMessages(d);
      if (!req) return;
      const seq = req.header.seq;
      const messages: NetlinkMessage[] = Array.from({ length: parts }, (_, i) => ({
        header: { type: RTM_NEWADDR, flags: NLM_F_MULTI, seq, pid: 1 },
        body: request(i).body,
      }));
      const datagrams: Uint8Array[] = [];
      for (let i = 0; i < messages.length; i += 3) datagrams.push(encodeNetlinkMessages(messages.slice(i, i + 3)));
      datagrams.push(encodeNetlinkMessages([{ header: { type: NLMSG_DONE, flags: NLM_F_MULTI, seq, pid: 1 }, body: { kind: 'done', status: 0, rest: new Uint8Array() } }]));
      if (corrupt && datagrams[0]) datagrams[0][24] = 0xff; // the first attribute's length now overruns the message
      setImmediate(() => {
        for (const bytes of datagrams) handler?.datagram(bytes);
      });
    },
    close: () => undefined,
  };
  return (_o: unknown, h: NetlinkTransportHandler) => {
    handler = h;
    return transport;
  };
}

test('dumpRaw keeps the parts as bytes that decode to the same messages as dump', async () => {
  const client = new NetlinkClient(dumping(7));
  try {
    const body = { kind: 'address' as const, family: 10, prefixLength: 0, flags: 0, scope: 0, index: 0, attributes: [] };
    const decoded = await client.dump('list addresses', RTM_GETADDR, body);
    const raw = await client.dumpRaw('list addresses', RTM_GETADDR, body);
    const fromRaw: NetlinkMessage[] = [];
    for (const d of raw.datagrams) {
      scanNetlinkMessages(d, (type, _flags, seq, _pid, start) => {
        if (seq === raw.seq && type === RTM_NEWADDR) fromRaw.push(...decodeNetlinkMessages(d.subarray(start - 16)).slice(0, 1));
      });
    }
    assert.equal(fromRaw.length, 7);
    assert.deepEqual(
      fromRaw.map((m) => m.body),
      decoded.map((m) => m.body),
    );
  } finally {
    client.close();
  }
});

test('a raw dump part that would not decode fails the dump with ERR_NETLINK_DECODE, as a decoded dump does', async () => {
  for (const raw of [true, false]) {
    const client = new NetlinkClient(dumping(5, true));
    try {
      const body = { kind: 'address' as const, family: 10, prefixLength: 0, flags: 0, scope: 0, index: 0, attributes: [] };
      await assert.rejects(raw ? client.dumpRaw('list addresses', RTM_GETADDR, body) : client.dump('list addresses', RTM_GETADDR, body), (e: unknown) =>
        isStable6Error(e, 'ERR_NETLINK_DECODE'),
      );
    } finally {
      client.close();
    }
  }
});

test('addAddressPayload writes the payload the generic encoder makes of addAddressRequest, and refuses what it refuses', async () => {
  const { addAddressPayload, addAddressRequest } = await import('../../../src/platform/linux/linux-platform.js');
  const { Ipv6Address } = await import('../../../src/core/address.js');
  const { encodeNetlinkMessage } = await import('../../../src/codec/netlink/index.js');
  const fc = (await import('fast-check')).default;
  const lifetime = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(-1, 1.5, 0x100000000, NaN));
  fc.assert(
    fc.property(
      fc.record({
        ifindex: fc.integer({ min: 0, max: 0xffffffff }),
        address: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Ipv6Address.fromBytes(b)),
        prefixLength: fc.integer({ min: 0, max: 128 }),
        validLifetimeSec: lifetime,
        preferredLifetimeSec: lifetime,
        noDad: fc.boolean(),
        optimistic: fc.boolean(),
        noPrefixRoute: fc.boolean(),
      }),
      (r) => {
        let expected: Uint8Array | string;
        try {
          const request = addAddressRequest(r);
          expected = encodeNetlinkMessage({ header: { type: request.type, flags: request.flags, seq: 0, pid: 0 }, body: request.body }).subarray(16);
        } catch (error) {
          expected = String(error);
        }
        let actual: Uint8Array | string;
        try {
          actual = addAddressPayload(r);
        } catch (error) {
          actual = String(error);
        }
        assert.deepEqual(typeof actual === 'string' ? actual : Buffer.from(actual), typeof expected === 'string' ? expected : Buffer.from(expected));
      },
    ),
    { numRuns: 2000 },
  );
});
