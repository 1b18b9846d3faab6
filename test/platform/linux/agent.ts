/**
 * Runs the Linux platform inside a network namespace for the integration tests:
 *
 *   ip netns exec NS node dist/test/platform/linux/agent.js
 *
 * Reads one JSON request a line on stdin ({ id, op, args }), answers one JSON line on stdout
 * ({ id, ok, result } or { id, ok: false, error }), and prints every platform event as
 * { event }. Addresses travel as text, bytes as hex. Env: S6_EVENT_RCVBUF sets the event
 * socket's receive buffer (tiny to force ENOBUFS).
 */
import { createInterface } from 'node:readline';
import { Ipv6Address } from '../../../src/core/address.js';
import { Stable6Error } from '../../../src/errors.js';
import { createLinuxPlatform } from '../../../src/platform/linux/index.js';

const rcvbuf = process.env.S6_EVENT_RCVBUF ? Number(process.env.S6_EVENT_RCVBUF) : undefined;
const platform = createLinuxPlatform(rcvbuf !== undefined ? { eventReceiveBufferBytes: rcvbuf } : {});

function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (value instanceof Ipv6Address) return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}

function out(line: unknown): void {
  process.stdout.write(`${JSON.stringify(line, replacer)}\n`);
}

/** Turns address fields given as text into Ipv6Address values. */
function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) o[k] = (k === 'address' || k === 'gateway') && typeof v === 'string' ? Ipv6Address.parse(v) : revive(v);
    return o;
  }
  return value;
}

let unsubscribe: (() => void) | undefined;

async function run(op: string, args: unknown[]): Promise<unknown> {
  const a = revive(args) as never[];
  switch (op) {
    case 'subscribe':
      unsubscribe = platform.subscribe((event) => out({ event }));
      return true;
    case 'unsubscribe':
      unsubscribe?.();
      return true;
    case 'addAddresses':
      return (await platform.addAddresses(a[0] ?? [])).map((e) => (e ? { code: (e as Stable6Error).code, message: e.message } : null));
    case 'close':
      await platform.close();
      setImmediate(() => process.exit(0));
      return true;
    default: {
      const method = (platform as unknown as Record<string, (...x: unknown[]) => Promise<unknown>>)[op];
      if (typeof method !== 'function') throw new Error(`no operation ${op}`);
      return (await method.apply(platform, a)) ?? null;
    }
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const { id, op, args } = JSON.parse(line) as { id: number; op: string; args: unknown[] };
  run(op, args ?? []).then(
    (result) => out({ id, ok: true, result }),
    (error: unknown) =>
      out({
        id,
        ok: false,
        error: error instanceof Stable6Error ? { code: error.code, message: error.message, details: error.details } : { message: String(error) },
      }),
  );
});
out({ ready: true });
