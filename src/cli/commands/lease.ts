import { lease, leaseBatch, listLeases, releaseLease, resolveSocketPath } from '../../api/client.js';
import type { Lease } from '../../api/protocol.js';
import { Stable6Error, isStable6Error, type ErrorCode } from '../../errors.js';
import { exitStatusFor, parseCommandArgs, printJson, usageError, type CliIo, type Command } from '../cli-io.js';

const USAGE = `Usage: stable6 lease add LABEL... --iface NAME [--persistent] [--json] [--socket PATH]
       stable6 lease list [--json] [--socket PATH]
       stable6 lease release LABEL [--iface NAME] [--json] [--socket PATH]

A lease is an address of your own: stable6-v1 with LABEL on the interface, one per current
prefix, the same after every restart. Asks the daemon over its socket
(default $STABLE6_SOCKET or /run/stable6/api.sock); the daemon knows who you are.
  add       answers once the addresses are usable (DAD done). With --persistent the lease
            stays until released; without it, it lasts while this command runs: it prints the
            addresses and holds them until interrupted (Ctrl-C, SIGTERM). Several labels go
            as one batch request (at most 1,024; a non-root user at most 50): each label
            gets its lease or its own error; exit 0 only if every label got its lease
  list      your leases (root: everyone's)
  release   removes the lease and its addresses; --iface is needed only when you hold LABEL
            on several interfaces
Labels: 1 to 255 bytes, letters and digits of any script and . _ - + : @, starting with a
letter or digit.`;

const OPTIONS = {
  iface: { type: 'string' },
  persistent: { type: 'boolean' },
  json: { type: 'boolean' },
  socket: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Codes for which the daemon refused the input (exit 2: nothing changed); every other
 * failure (no daemon, DAD failed, busy, rate-limited, internal) is exit 1.
 */

/**
 * Runs an API command: a Stable6Error becomes one line on stderr with its code and the exit
 * status above (main's generic mapping would call every API failure refused input).
 */
export async function runApiCommand(io: CliIo, work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (error) {
    if (!isStable6Error(error)) throw error;
    io.stderr(`stable6: ${error.code}: ${error.message}\n`);
    return exitStatusFor(error);
  }
}

export function formatLifetime(seconds: number): string {
  if (seconds >= 0xffffffff) return 'forever';
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  let rest = Math.max(0, Math.floor(seconds));
  const parts: string[] = [];
  for (const [unit, size] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    } else if (parts.length > 0) break;
  }
  return parts.length === 0 ? '0s' : parts.join('');
}

/** Columns padded to their widest cell; the last column is not padded. */
export function formatTable(rows: string[][], indent = ''): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

function describe(l: Lease): string {
  const header = `${l.label} on ${l.interface} (uid ${l.uid}, ${l.persistent ? 'persistent' : 'while connected'})\n`;
  if (l.addresses.length === 0) return `${header}  no addresses\n`;
  return header + formatTable(l.addresses.map((a) => [a.address, a.state, a.prefix, `valid ${formatLifetime(a.validLifetimeSec)}`]), '  ');
}

export interface LeaseCommandDeps {
  /**
   * Holds a connection-bound lease until the user stops the command; settles early when the
   * connection closes. Default: SIGINT or SIGTERM.
   */
  waitForStop: (handle: { closed: Promise<void> }) => Promise<'stopped' | 'connection-closed'>;
}

function waitForSignal(handle: { closed: Promise<void> }): Promise<'stopped' | 'connection-closed'> {
  return new Promise((resolve) => {
    // The lease's connection is unref'd (see LeaseAgent): keep the process alive explicitly.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const finish = (how: 'stopped' | 'connection-closed'): void => {
      clearInterval(keepAlive);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(how);
    };
    const onSignal = (): void => finish('stopped');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void handle.closed.then(() => finish('connection-closed'));
  });
}

export function makeLeaseCommand(deps: LeaseCommandDeps = { waitForStop: waitForSignal }): Command {
  return {
    name: 'lease',
    summary: 'an address of your own for an application: add, list, release',
    usage: USAGE,
    async run(argv: string[], io: CliIo): Promise<number> {
      const { values, positionals } = parseCommandArgs('lease', argv, OPTIONS, true);
      if (values.help) {
        io.stdout(`${USAGE}\n`);
        return 0;
      }
      const [action, label, ...extra] = positionals;
      if (extra.length > 0 && action !== 'add') throw usageError(`lease: unexpected argument ${JSON.stringify(extra[0])}`);
      const socketPath = resolveSocketPath(values.socket, io.env);
      const needLabel = (): string => {
        if (label === undefined) throw usageError(`lease ${action}: name the LABEL`);
        return label;
      };
      switch (action) {
        case 'add': {
          const name = needLabel();
          if (values.iface === undefined) throw usageError('lease add: --iface NAME is required');
          const iface = values.iface;
          if (extra.length > 0) return addBatch(io, deps, [name, ...extra], iface, values.persistent ?? false, values.json ?? false, socketPath);
          return runApiCommand(io, async () => {
            const handle = await lease({ label: name, interface: iface, persistent: values.persistent ?? false, socketPath });
            if (values.json) printJson(io, handle.lease);
            else io.stdout(describe(handle.lease));
            if (handle.lease.persistent) return 0;
            io.stderr(`stable6: holding the lease while this command runs; interrupt (Ctrl-C) to release it\n`);
            const how = await deps.waitForStop(handle);
            if (how === 'connection-closed') {
              io.stderr('stable6: ERR_API_UNAVAILABLE: the daemon closed the connection; the lease has ended\n');
              return 1;
            }
            await handle.release();
            return 0;
          });
        }
        case 'list': {
          if (label !== undefined) throw usageError(`lease list: unexpected argument ${JSON.stringify(label)}`);
          if (values.iface !== undefined || values.persistent) throw usageError('lease list: takes only --json and --socket');
          return runApiCommand(io, async () => {
            const leases = await listLeases({ socketPath });
            if (values.json) printJson(io, leases);
            else if (leases.length === 0) io.stdout('no leases\n');
            else io.stdout(leases.map(describe).join('\n'));
            return 0;
          });
        }
        case 'release': {
          const name = needLabel();
          if (values.persistent) throw usageError('lease release: --persistent does not apply');
          return runApiCommand(io, async () => {
            let iface = values.iface;
            if (iface === undefined) {
              const held = (await listLeases({ socketPath })).filter((l) => l.label === name);
              if (held.length > 1) throw usageError(`lease release: ${name} is leased on ${held.map((l) => l.interface).join(', ')}; add --iface`);
              iface = held[0]?.interface;
              if (iface === undefined) {
                io.stderr(`stable6: ERR_API_NOT_FOUND: no lease ${JSON.stringify(name)}\n`);
                return 2;
              }
            }
            const released = await releaseLease({ label: name, interface: iface, socketPath });
            if (values.json) printJson(io, released);
            else io.stdout(`released ${released.label} on ${released.interface}\n`);
            return 0;
          });
        }
        case undefined:
          throw usageError('lease: name an action: add, list or release');
        default:
          throw usageError(`lease: unknown action ${JSON.stringify(action)} (add, list, release)`);
      }
    },
  };
}

/** `lease add` with several labels: one batch request; each label's lease or error is printed. */
function addBatch(io: CliIo, deps: LeaseCommandDeps, labels: string[], iface: string, persistent: boolean, json: boolean, socketPath: string): Promise<number> {
  return runApiCommand(io, async () => {
    const handle = await leaseBatch({ labels, interface: iface, persistent, socketPath });
    if (json) printJson(io, handle.results);
    let failure: Stable6Error | undefined;
    for (const r of handle.results) {
      if ('lease' in r) {
        if (!json) io.stdout(describe(r.lease));
        continue;
      }
      failure ??= new Stable6Error(r.error.code as ErrorCode, r.error.message);
      io.stderr(`stable6: ${r.label}: ${r.error.code}: ${r.error.message}\n`);
    }
    const status = failure ? exitStatusFor(failure) : 0;
    if (persistent) {
      handle.close();
      return status;
    }
    const bound = handle.leases.filter((l) => !l.persistent);
    if (bound.length === 0) {
      handle.close();
      return status;
    }
    io.stderr(`stable6: holding ${bound.length} leases while this command runs; interrupt (Ctrl-C) to release them\n`);
    const how = await deps.waitForStop(handle);
    if (how === 'connection-closed') {
      io.stderr('stable6: ERR_API_UNAVAILABLE: the daemon closed the connection; the leases have ended\n');
      return 1;
    }
    // Closing the connection ends exactly the leases bound to it: a label the user already held
    // as persistent (a connection-bound request never downgrades it) stays, and no DELETE per
    // lease runs into the rate limit.
    handle.close();
    return status;
  });
}

export const leaseCommand: Command = makeLeaseCommand();
