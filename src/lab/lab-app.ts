#!/usr/bin/env node
/**
 * The lab's example application: an unprivileged program that leases its own stable
 * address (label `lab-web`) from the daemon and serves HTTP on it, in one call
 * (`listenStable`). It prints one JSON line with its address once it listens, and stops on
 * SIGTERM. `node lab-app.js SOCKET INTERFACE LABEL PORT`
 */
import http from 'node:http';
import { listenStable } from '../api/client.js';

const [socketPath, iface, label, port] = process.argv.slice(2);
if (!socketPath || !iface || !label || !port) {
  process.stderr.write('usage: lab-app SOCKET INTERFACE LABEL PORT\n');
  process.exit(2);
}
const server = http.createServer((_req, res) => {
  res.end(`hello from ${label} (uid ${process.getuid?.()}) at ${String((server.address() as { address?: string } | null)?.address)}\n`);
});
const result = await listenStable(server, { label, interface: iface, port: Number(port), socketPath });
process.stdout.write(`${JSON.stringify({ address: result.address, port: Number(port), uid: process.getuid?.() })}\n`);
process.on('SIGTERM', () => {
  server.close();
  result.handle.close();
  process.exit(0);
});
