/**
 * bench/gen: stable6-v1 addresses per second through the library, against a loop of bare
 * `crypto.createHmac('sha256')` over the same messages, in the same run.
 * Figure: the ratio of the two rates (goal ≥ 0.8). A benchmark, not a test.
 *
 *   npm run build && node dist/bench/gen.js [count] [rounds]
 */
import { createHmac } from 'node:crypto';
import { Ipv6Address } from '../src/core/address.js';
import { Ipv6Prefix } from '../src/core/prefix.js';
import { generateStable6V1, type Stable6V1Input } from '../src/core/stable6-v1.js';
import { median, sideBySide } from './stats.js';

const count = Number(process.argv[2] ?? 20000);
const rounds = Number(process.argv[3] ?? 9);
const secret = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');

// Realistic inputs: many prefixes, a few interfaces, some labels.
const inputs: Stable6V1Input[] = Array.from({ length: count }, (_, i) => ({
  secret,
  prefix: Ipv6Prefix.of(Ipv6Address.fromHalves(0x20010db800000000n + BigInt(i), 0n), 64),
  netIface: `eth${i % 4}`,
  label: i % 3 === 0 ? '' : `service-${i % 100}`,
  dadCounter: 0,
}));

// The same messages, built once, for the bare loop.
const messages = inputs.map((input) => {
  const iface = Buffer.from(input.netIface);
  const label = Buffer.from(input.label ?? '');
  return Buffer.concat([
    Buffer.from('stable6-v1'),
    input.prefix.address.toBytes().subarray(0, 8),
    Buffer.from([iface.length]),
    iface,
    Buffer.from([0]),
    Buffer.from([label.length]),
    label,
    Buffer.from([0]),
  ]);
});

let sink = 0;
const times = sideBySide(
  rounds,
  () => {
    for (const input of inputs) sink ^= generateStable6V1(input).address.byteAt(15);
  },
  () => {
    for (const m of messages) sink ^= createHmac('sha256', secret).update(m).digest()[31] ?? 0;
  },
);

const rate = (ms: number): number => (count / ms) * 1000;
const lib = rate(median(times.candidate));
const bare = rate(median(times.baseline));
console.log(`stable6-v1 via the library : ${Math.round(lib).toLocaleString('en')} addresses/s (median of ${rounds} rounds of ${count})`);
console.log(`bare createHmac loop       : ${Math.round(bare).toLocaleString('en')} HMACs/s`);
console.log(`ratio library/bare         : ${(lib / bare).toFixed(2)}  (goal >= 0.80)`);
if (sink === -1) console.log('');
