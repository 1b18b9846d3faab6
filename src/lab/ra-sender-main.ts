#!/usr/bin/env node
/**
 * The lab's built-in router: `node ra-sender-main.js IFNAME INTERVAL_MS` inside the router's
 * namespace. Each line on standard input is a JSON list of prefixes to advertise
 * ([{ "prefix": "2001:db8:1:2::/64", "valid": 20, "preferred": 10 }]); the first one starts it.
 * It stops when standard input closes or on SIGTERM.
 */
import { createInterface } from 'node:readline';
import { RaSender, simpleAdvertisement, type AdvertisedPrefix } from './ra-sender.js';

const [ifname, interval] = process.argv.slice(2);
if (!ifname) {
  process.stderr.write('usage: ra-sender-main IFNAME [INTERVAL_MS]\n');
  process.exit(2);
}
let sender: RaSender | undefined;
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  try {
    const ra = simpleAdvertisement(JSON.parse(line) as AdvertisedPrefix[]);
    if (sender) sender.update(ra);
    else sender = new RaSender(ifname, ra, Number(interval ?? 2000), (error) => process.stderr.write(`ra-sender: ${error instanceof Error ? error.message : String(error)}\n`));
    process.stdout.write('ok\n');
  } catch (error) {
    process.stderr.write(`ra-sender: ${error instanceof Error ? error.message : String(error)}\n`);
  }
});
const stop = (): void => {
  sender?.close();
  process.exit(0);
};
lines.on('close', stop);
process.on('SIGTERM', stop);
