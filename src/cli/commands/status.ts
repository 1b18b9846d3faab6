import { resolveSocketPath, status } from '../../api/client.js';
import type { StatusReport } from '../../api/protocol.js';
import { parseCommandArgs, printJson, usageError, type CliIo, type Command } from '../cli-io.js';
import { formatLifetime, formatTable, runApiCommand } from './lease.js';

const USAGE = `Usage: stable6 status [--json] [--socket PATH]

What the daemon manages, asked over its socket (default $STABLE6_SOCKET or
/run/stable6/api.sock): per interface its prefixes (source ra or static, lifetimes, when
last advertised) and addresses (label, algorithm, DAD counter, state, lifetimes), and the
secret's fingerprint (never the secret). Other users' lease addresses are shown to root only.
Lifetimes in --json are seconds; 4294967295 means forever.`;

const OPTIONS = {
  json: { type: 'boolean' },
  socket: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The human view: one block per interface, a table of prefixes and one of addresses. */
export function formatStatus(report: StatusReport): string {
  let out = `secret fingerprint: ${report.secretFingerprint}\n`;
  if (report.interfaces.length === 0) return `${out}no managed interfaces\n`;
  for (const iface of report.interfaces) {
    out += `\n${iface.name}\n`;
    if (iface.prefixes.length === 0) out += '  no prefixes\n';
    else {
      out += formatTable(
        [
          ['PREFIX', 'SOURCE', 'VALID', 'PREFERRED', 'LAST SEEN'],
          ...iface.prefixes.map((p) => [p.prefix, p.source, formatLifetime(p.validLifetimeSec), formatLifetime(p.preferredLifetimeSec), p.lastSeen ?? '-']),
        ],
        '  ',
      );
    }
    if (iface.addresses.length === 0) out += '  no addresses\n';
    else {
      out += formatTable(
        [
          ['ADDRESS', 'LABEL', 'STATE', 'DAD', 'VALID', 'PREFERRED', 'ALGORITHM'],
          ...iface.addresses.map((a) => [
            a.address,
            a.label === '' ? '-' : a.label,
            a.state,
            String(a.dadCounter),
            formatLifetime(a.validLifetimeSec),
            formatLifetime(a.preferredLifetimeSec),
            a.algorithm,
          ]),
        ],
        '  ',
      );
    }
  }
  return out;
}

export const statusCommand: Command = {
  name: 'status',
  summary: "the daemon's interfaces, prefixes and addresses",
  usage: USAGE,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('status', argv, OPTIONS, true);
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    if (positionals.length > 0) throw usageError(`status: unexpected argument ${JSON.stringify(positionals[0])}`);
    const socketPath = resolveSocketPath(values.socket, io.env);
    return runApiCommand(io, async () => {
      const report = await status({ socketPath });
      if (values.json) printJson(io, report);
      else io.stdout(formatStatus(report));
      return 0;
    });
  },
};
