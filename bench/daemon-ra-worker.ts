#!/usr/bin/env node
/**
 * Sends single Router Advertisements on demand for the daemon benchmarks, inside the router's
 * namespace: `ip netns exec NS node dist/bench/daemon-ra-worker.js IFNAME`.
 *
 * Each line on standard input is a JSON list of prefixes ([{ "prefix": "2001:db8:1::/64",
 * "valid": 600, "preferred": 300 }]); one RA carrying them goes to all-nodes (ff02::1) at once,
 * and one line comes back: { "sentMs": <wall-clock ms, µs precision, taken just before sendto> }
 * (CLOCK_REALTIME, comparable with `ip -ts monitor` in other namespaces of the same machine).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { encodeRouterAdvertisement } from '../src/codec/ndp/router-advertisement.js';
import { ALL_NODES, simpleAdvertisement, type AdvertisedPrefix } from '../src/lab/ra-sender.js';
import { sendIcmpv6 } from '../src/platform/linux/icmpv6-socket.js';

const ifname = process.argv[2];
if (!ifname) {
  process.stderr.write('usage: daemon-ra-worker IFNAME\n');
  process.exit(2);
}
const ifindex = Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8'));
createInterface({ input: process.stdin }).on('line', (line) => {
  try {
    const packet = encodeRouterAdvertisement(simpleAdvertisement(JSON.parse(line) as AdvertisedPrefix[]));
    const sentMs = performance.timeOrigin + performance.now();
    sendIcmpv6({ ifindex, ifname }, ALL_NODES, packet, 'a Router Advertisement');
    process.stdout.write(`${JSON.stringify({ sentMs })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
  }
});
