// The Linux platform driven by a fake at the message boundary: no kernel, no privileges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ipv6Address } from '../../../src/core/address.js';
import { isStable6Error } from '../../../src/errors.js';
import { decodeNetlinkMessage, type AddressBody, type NetlinkBody } from '../../../src/codec/netlink/index.js';
import { FakeNetlink, createLinuxPlatform, type LinuxPlatform } from '../../../src/platform/linux/index.js';
import { openPlatform } from '../../../src/platform/select-platform.js';
import { decodeRouterSolicitation, encodeRouterSolicitation } from '../../../src/codec/icmpv6/router-solicitation.js';
import type { PlatformEvent } from '../../../src/platform/platform.js';
import { waitFor } from '../../helpers/netns.js';
import * as G from '../../codec/netlink/goldens.js';

const hex = (t: string) => Uint8Array.from(Buffer.from(t, 'hex'));

function addressBody(text: string, ifindex = 2, validSec = 3600): AddressBody {
  return {
    kind: 'address',
    family: 10,
    prefixLength: 64,
    flags: 0,
    scope: 0,
    index: ifindex,
    attributes: [
      { kind: 'address', value: Ipv6Address.parse(text).toBytes() },
      { kind: 'cacheinfo', value: { preferredSec: validSec, validSec, createdCs: 0, updatedCs: 0 } },
      { kind: 'flags', value: 0 },
      { kind: 'proto', value: 115 },
    ],
  };
}

/** A tiny kernel: one link, an address table; the test may change the table behind the platform's back. */
function fakeKernel() {
  const table = new Map<string, AddressBody>();
  const link: NetlinkBody = { kind: 'link', family: 0, linkType: 1, index: 2, flags: 0x41, change: 0, attributes: [{ kind: 'ifname', value: 'eth0' }] };
  const fake = new FakeNetlink((request) => {
    const { body } = request;
    switch (request.header.type) {
      case 18:
        return { replies: [{ type: 16, body: link }] };
      case 22:
        return { replies: [...table.values()].map((b) => ({ type: 20, body: b })) };
      case 26:
        return { replies: [] };
      case 20: {
        if (body.kind !== 'address') return { error: -22 };
        if (body.index !== 2) return { error: -19, extAck: 'ipv6: Unable to find the interface' };
        const address = body.attributes.find((a) => a.kind === 'address');
        if (address?.kind !== 'address') return { error: -22 };
        table.set(Buffer.from(address.value).toString('hex'), body);
        return {};
      }
      default:
        return { error: -95 };
    }
  });
  return { fake, table };
}

/** A platform over `fake`, subscribed, its events collected, once its baseline listing is done. */
async function followed(fake: FakeNetlink): Promise<{ platform: LinuxPlatform; events: PlatformEvent[]; stop: () => void }> {
  const platform = createLinuxPlatform({ dial: fake.dial });
  const events: PlatformEvent[] = [];
  const stop = platform.subscribe((e) => events.push(e));
  await waitFor('the baseline dump', async () => (fake.requests.some((r) => r.header.type === 22) ? true : undefined));
  await new Promise((r) => setTimeout(r, 20));
  return { platform, events, stop };
}

test('addAddresses sends the request the kernel accepted in the capture, byte for byte', async () => {
  const { fake } = fakeKernel();
  const platform = createLinuxPlatform({ dial: fake.dial });
  try {
    const results = await platform.addAddresses([
      { ifindex: 2, address: Ipv6Address.parse('2001:db8:5::1'), prefixLength: 64, validLifetimeSec: 3600, preferredLifetimeSec: 1800, noDad: true, noPrefixRoute: true },
      { ifindex: 7, address: Ipv6Address.parse('2001:db8:5::2'), prefixLength: 64, validLifetimeSec: 3600, preferredLifetimeSec: 1800 },
    ]);
    assert.equal(results[0], undefined);
    const error = results[1];
    assert.ok(isStable6Error(error, 'ERR_NETLINK_REQUEST'));
    assert.equal(error.message, 'add address 2001:db8:5::2/64 on ifindex 7 failed: ENODEV: ipv6: Unable to find the interface');
    assert.equal(error.details.extAck, 'ipv6: Unable to find the interface');
    const golden = decodeNetlinkMessage(hex(G.NEWADDR_REQUEST));
    const sent = fake.requests[0];
    assert.ok(sent);
    assert.deepEqual({ ...sent, header: { ...sent.header, seq: 1 } }, golden);
    assert.notEqual(fake.requests[1]?.header.seq, sent.header.seq, 'each request has its own sequence number');
  } finally {
    await platform.close();
  }
});

test('an overrun re-lists and reports only the differences, then resynced', async () => {
  const { fake, table } = fakeKernel();
  table.set('kept', addressBody('2001:db8::1'));
  table.set('gone', addressBody('2001:db8::2'));
  const { platform, events, stop } = await followed(fake);
  try {
    // Changes whose notifications were "lost".
    table.delete('gone');
    table.set('new', addressBody('2001:db8::3'));
    fake.overrun();
    await waitFor('resynced', async () => (events.some((e) => e.type === 'resynced') ? true : undefined));
    assert.deepEqual(
      events.map((e) => (e.type === 'address-changed' || e.type === 'address-removed' ? `${e.type} ${e.address.address.toString()}` : e.type)),
      ['address-removed 2001:db8::2', 'address-changed 2001:db8::3', 'resynced'],
    );
    // Notifications still flow afterwards.
    fake.notify([{ type: 21, body: addressBody('2001:db8::1') }]);
    await waitFor('a removal', async () => (events.length === 4 ? true : undefined));
    assert.equal(events[3]?.type, 'address-removed');
  } finally {
    stop();
    await platform.close();
  }
  assert.equal(fake.eventSocketCount, 0, 'the event socket is closed');
});

test('regression: notifications still queued at an overrun are older than the re-listing, and are dropped (nothing comes back)', async () => {
  const { fake, table } = fakeKernel();
  const { platform, events, stop } = await followed(fake);
  try {
    // X is added and deleted again; "added" is still queued when the socket overflows, and
    // "deleted" was dropped with the overflow. The kernel reports ENOBUFS before the queued one.
    fake.notify([{ type: 20, body: addressBody('2001:db8::9') }]);
    fake.overrun();
    await waitFor('resynced', async () => (events.some((e) => e.type === 'resynced') ? true : undefined));
    await new Promise((r) => setTimeout(r, 20));
    const view = new Set<string>();
    for (const e of events) {
      if (e.type === 'address-changed') view.add(e.address.address.toString());
      if (e.type === 'address-removed') view.delete(e.address.address.toString());
    }
    assert.deepEqual([...view], [], 'the stale "added" brought back an address the kernel does not have');
    assert.equal(table.size, 0);
  } finally {
    stop();
    await platform.close();
  }
});

test('a listener that throws does not stop the others', async () => {
  const { fake } = fakeKernel();
  const errors: unknown[] = [];
  const platform = createLinuxPlatform({ dial: fake.dial, onListenerError: (e) => errors.push(e) });
  const seen: PlatformEvent[] = [];
  platform.subscribe(() => {
    throw new Error('boom');
  });
  platform.subscribe((e) => seen.push(e));
  try {
    await waitFor('the baseline dump', async () => (fake.requests.some((r) => r.header.type === 22) ? true : undefined));
    fake.notify([{ type: 20, body: addressBody('2001:db8::9') }]);
    await waitFor('the event', async () => (seen.length === 1 ? true : undefined));
    assert.equal(errors.length, 1);
  } finally {
    await platform.close();
  }
});

test('openPlatform picks linux, and refuses an OS without a backend', async () => {
  const { fake } = fakeKernel();
  const platform = await openPlatform({ os: 'linux', linux: { dial: fake.dial } });
  assert.equal(platform.kind, 'linux');
  await platform.close();
  await assert.rejects(openPlatform({ os: 'darwin' }), (e: unknown) => isStable6Error(e, 'ERR_PLATFORM_UNSUPPORTED') && /darwin/.test(e.message));
});

test('Router Solicitation golden both ways (RFC 4861 §4.1, §4.6.1)', () => {
  // type 133, code 0, checksum 0 (the kernel fills it), reserved; SLLAO type 1, length 1 (8 bytes), MAC
  const bytes = '85000000' + '00000000' + '0101' + '02aabbccddee';
  const value = { sourceLinkLayerAddress: hex('02aabbccddee') };
  assert.equal(Buffer.from(encodeRouterSolicitation(value)).toString('hex'), bytes);
  assert.deepEqual(decodeRouterSolicitation(hex(bytes)), value);
  assert.equal(Buffer.from(encodeRouterSolicitation({})).toString('hex'), '8500000000000000');
});

test('Router Solicitation round trip with any 6-byte link-layer address', () => {
  fc.assert(
    fc.property(fc.option(fc.uint8Array({ minLength: 6, maxLength: 6 }), { nil: undefined }), (lla) => {
      const value = lla ? { sourceLinkLayerAddress: lla } : {};
      assert.deepEqual(decodeRouterSolicitation(encodeRouterSolicitation(value)), structuredClone(value));
    }),
  );
});
