// Golden bytes both ways: each captured message decodes to the value written here by hand,
// and that value encodes back to the same bytes. Provenance: goldens.ts's header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeNetlinkMessage,
  decodeNetlinkMessages,
  encodeNetlinkMessage,
  encodeNetlinkMessages,
  type NetlinkMessage,
} from '../../../src/codec/netlink/index.js';
import * as G from './goldens.js';

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));
const ip6 = (text: string): Uint8Array => hex(text.padEnd(32, '0'));
const KERNEL_PID = 0xaf54d560; // the port id the kernel gave the capture script's socket

function both(name: string, bytes: string, value: NetlinkMessage): void {
  test(`golden ${name}: decodes to the value, and the value encodes to the bytes`, () => {
    assert.deepEqual(decodeNetlinkMessage(hex(bytes)), value);
    assert.equal(Buffer.from(encodeNetlinkMessage(value)).toString('hex'), bytes);
  });
}

const cacheinfo = (preferredSec: number, validSec: number, createdCs: number, updatedCs: number) =>
  ({ kind: 'cacheinfo', value: { preferredSec, validSec, createdCs, updatedCs } }) as const;

both('NEWADDR_REQUEST', G.NEWADDR_REQUEST, {
  header: { type: 20, flags: 0x505, seq: 1, pid: 0 }, // REQUEST|ACK|REPLACE|CREATE
  body: {
    kind: 'address',
    family: 10,
    prefixLength: 64,
    flags: 0,
    scope: 0,
    index: 2,
    attributes: [
      { kind: 'address', value: ip6('20010db8000500000000000000000001') },
      cacheinfo(1800, 3600, 0, 0),
      { kind: 'flags', value: 0x202 }, // NODAD | NOPREFIXROUTE
      { kind: 'proto', value: 115 },
    ],
  },
});

both('ACK', G.ACK, {
  header: { type: 2, flags: 0x100, seq: 1, pid: KERNEL_PID }, // NLM_F_CAPPED
  body: { kind: 'error', error: 0, request: { length: 80, type: 20, flags: 0x505, seq: 1, pid: 0 }, requestPayload: new Uint8Array(), attributes: [] },
});

both('EEXIST_ERROR', G.EEXIST_ERROR, {
  header: { type: 2, flags: 0x300, seq: 2, pid: KERNEL_PID }, // CAPPED | ACK_TLVS
  body: {
    kind: 'error',
    error: -17,
    request: { length: 80, type: 20, flags: 0x605, seq: 2, pid: 0 },
    requestPayload: new Uint8Array(),
    attributes: [{ kind: 'message', value: 'ipv6: address already assigned' }],
  },
});

both('NEWROUTE_REQUEST', G.NEWROUTE_REQUEST, {
  header: { type: 24, flags: 0x605, seq: 3, pid: 0 }, // REQUEST|ACK|EXCL|CREATE
  body: {
    kind: 'route',
    family: 10,
    dstLength: 0,
    srcLength: 0,
    tos: 0,
    table: 254,
    protocol: 115,
    scope: 0,
    routeType: 1,
    flags: 0,
    attributes: [
      { kind: 'gateway', value: hex('fe800000000000000000000000000001') },
      { kind: 'oif', value: 2 },
      { kind: 'priority', value: 1024 },
    ],
  },
});

both('GETADDR_DUMP_REQUEST', G.GETADDR_DUMP_REQUEST, {
  header: { type: 22, flags: 0x301, seq: 4, pid: 0 }, // REQUEST|DUMP
  body: { kind: 'address', family: 10, prefixLength: 0, flags: 0, scope: 0, index: 0, attributes: [] },
});

both('DUMP_DONE', G.DUMP_DONE, {
  header: { type: 3, flags: 0x2, seq: 4, pid: KERNEL_PID }, // NLM_F_MULTI
  body: { kind: 'done', status: 0, rest: new Uint8Array() },
});

both('GETLINK_REQUEST', G.GETLINK_REQUEST, {
  header: { type: 18, flags: 0x5, seq: 5, pid: 0 },
  body: { kind: 'link', family: 0, linkType: 0, index: 2, flags: 0, change: 0, attributes: [] },
});

test('golden LINK_REPLY: the fields stable6 reads, every other attribute kept, bytes back unchanged', () => {
  const message = decodeNetlinkMessage(hex(G.LINK_REPLY));
  assert.deepEqual(message.header, { type: 16, flags: 0, seq: 5, pid: KERNEL_PID });
  const body = message.body;
  assert.equal(body.kind, 'link');
  if (body.kind !== 'link') return;
  assert.equal(body.index, 2);
  assert.equal(body.linkType, 1); // ARPHRD_ETHER
  assert.equal(body.flags, 0x1003); // UP | BROADCAST | MULTICAST, not yet RUNNING (peer down)
  const known = body.attributes.filter((a) => a.kind !== 'unknown');
  assert.deepEqual(known, [
    { kind: 'ifname', value: 'host0' },
    { kind: 'operstate', value: 2 }, // IF_OPER_DOWN
    { kind: 'mtu', value: 1500 },
    { kind: 'address', value: hex('9e0ee262dd2b') },
    { kind: 'broadcast', value: hex('ffffffffffff') },
  ]);
  // IFLA_DEVLINK_PORT and IFLA_DPLL_PIN come with NLA_F_NESTED set and no value: kept as they are.
  const nested = body.attributes.filter((a) => a.kind === 'unknown' && (a.type & 0x8000) !== 0);
  assert.deepEqual(
    nested.map((a) => (a.kind === 'unknown' ? a.type : 0)),
    [0x803e, 0x8041],
  );
  assert.equal(Buffer.from(encodeNetlinkMessage(message)).toString('hex'), G.LINK_REPLY);
});

both('NEWADDR_EVENT', G.NEWADDR_EVENT, {
  header: { type: 20, flags: 0, seq: 0, pid: 0 },
  body: {
    kind: 'address',
    family: 10,
    prefixLength: 64,
    flags: 0x02, // the low byte of the flags only: NODAD
    scope: 0,
    index: 2,
    attributes: [
      { kind: 'address', value: ip6('20010db8000500000000000000000001') },
      cacheinfo(1800, 3600, 193068, 193068),
      { kind: 'flags', value: 0x202 },
      { kind: 'proto', value: 115 },
    ],
  },
});

both('DELADDR_EVENT', G.DELADDR_EVENT, {
  header: { type: 21, flags: 0, seq: 0, pid: 0 },
  body: {
    kind: 'address',
    family: 10,
    prefixLength: 64,
    flags: 0x02,
    scope: 0,
    index: 2,
    attributes: [
      { kind: 'address', value: ip6('20010db8000500000000000000000001') },
      cacheinfo(1799, 3599, 193068, 193068), // the time left when it went
      { kind: 'flags', value: 0x202 },
      { kind: 'proto', value: 115 },
    ],
  },
});

const zeroRouteCache = { clntref: 0, lastuse: 0, expires: 0, error: 0, used: 0, id: 0, ts: 0, tsage: 0 };

both('NEWROUTE_EVENT', G.NEWROUTE_EVENT, {
  header: { type: 24, flags: 0x600, seq: 3, pid: KERNEL_PID }, // the notification echoes our request's flags, seq and port
  body: {
    kind: 'route',
    family: 10,
    dstLength: 0,
    srcLength: 0,
    tos: 0,
    table: 254,
    protocol: 115,
    scope: 0,
    routeType: 1,
    flags: 0x10, // RTNH_F_LINKDOWN: host0 had no carrier yet (its peer was still down)
    attributes: [
      { kind: 'table', value: 254 },
      { kind: 'priority', value: 1024 },
      { kind: 'gateway', value: hex('fe800000000000000000000000000001') },
      { kind: 'oif', value: 2 },
      { kind: 'cacheinfo', value: zeroRouteCache },
      { kind: 'pref', value: 0 },
    ],
  },
});

both('RA_ROUTE_DUMP', G.RA_ROUTE_DUMP, {
  header: { type: 24, flags: 0x2, seq: 7, pid: KERNEL_PID },
  body: {
    kind: 'route',
    family: 10,
    dstLength: 0,
    srcLength: 0,
    tos: 0,
    table: 254,
    protocol: 9, // RTPROT_RA
    scope: 0,
    routeType: 1,
    flags: 0,
    attributes: [
      { kind: 'table', value: 254 },
      { kind: 'unknown', type: 8, bytes: hex('08000a0040000000') }, // RTA_METRICS (nested RTAX_HOPLIMIT 64): not read
      { kind: 'priority', value: 1024 },
      { kind: 'gateway', value: hex('fe800000000000006ca022fffe3bc5e5') },
      { kind: 'oif', value: 2 },
      { kind: 'cacheinfo', value: { ...zeroRouteCache, expires: 1200 } }, // 12 s in USER_HZ: radvd's 3 × MaxRtrAdvInterval
      { kind: 'pref', value: 0 },
    ],
  },
});

both('NEWPREFIX_EVENT', G.NEWPREFIX_EVENT, {
  header: { type: 52, flags: 0, seq: 0, pid: 0 },
  body: {
    kind: 'prefix',
    family: 10,
    index: 2,
    optionType: 3,
    prefixLength: 64,
    flags: 0xc0, // on-link 0x80 | autonomous 0x40: the RA's own flag byte
    attributes: [
      { kind: 'address', value: ip6('20010db80001') },
      { kind: 'cacheinfo', value: { preferredSec: 3600, validSec: 7200 } },
    ],
  },
});

both('NDUSEROPT_EVENT', G.NDUSEROPT_EVENT, {
  header: { type: 68, flags: 0, seq: 0, pid: 0 },
  body: {
    kind: 'nd-user-option',
    family: 10,
    index: 2,
    icmpType: 134, // Router Advertisement
    icmpCode: 0,
    // The PIO as on the wire: type 3, len 4, /64, L|A, valid 7200, preferred 3600, reserved, 2001:db8:1::
    options: hex('030440c000001c2000000e100000000020010db8000100000000000000000000'),
    attributes: [{ kind: 'source', value: hex('fe800000000000006ca022fffe3bc5e5') }],
  },
});

test('a datagram of several messages splits and joins again', () => {
  const datagram = hex(G.NEWADDR_EVENT + G.DELADDR_EVENT + G.DUMP_DONE);
  const messages = decodeNetlinkMessages(datagram);
  assert.deepEqual(
    messages.map((m) => m.body.kind),
    ['address', 'address', 'done'],
  );
  assert.deepEqual(encodeNetlinkMessages(messages), datagram);
});
