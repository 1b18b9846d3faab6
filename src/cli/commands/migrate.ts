import { writeFileAtomic } from '../../daemon/atomic-file.js';
import { MIGRATE_FROM, migrationConfig, planMigration, type MigrateFrom, type MigrateOptions, type MigrateReport } from '../../compat/migrate.js';
import { openPlatform } from '../../platform/select-platform.js';
import type { Platform } from '../../platform/platform.js';
import { isStable6Error } from '../../errors.js';
import { parseCommandArgs, parseIntegerOption, printJson, usageError, type CliIo, type Command } from '../cli-io.js';

const USAGE = `Usage: stable6 migrate --from linux|networkmanager|systemd-networkd|dhcpcd [--iface NAME] [--json]
                       [--write-config FILE] [--stable-id TEXT] [--stable-type 0|1|2] [--token UUID]
                       [--root DIR] [--proc-root DIR]

For each interface and each /64 it has an address in, shows the address the other system made
and the address stable6 computes in that system's mode. They must match: a mismatch is reported
and the exit status is 1. --write-config writes [[interface]] tables that keep the addresses
(the secrets stay where the other system keeps them; only their paths are written).
  --from NAME         the system that made the present addresses
  --iface NAME        only this interface
  --stable-id TEXT    networkmanager: the connection's stable-id (default: its UUID from NM's device state)
  --stable-type N     networkmanager: 0 UUID, 1 stable-id (default), 2 expanded stable-id
  --token UUID        systemd-networkd: the UUID of Token=prefixstable,UUID (default: the machine key)
  --root DIR          read /etc and /var under DIR (tests, images)
  --proc-root DIR     read /proc under DIR
  --json              the whole report as one JSON object`;

const OPTIONS = {
  from: { type: 'string' },
  iface: { type: 'string' },
  json: { type: 'boolean' },
  'write-config': { type: 'string' },
  'stable-id': { type: 'string' },
  'stable-type': { type: 'string' },
  token: { type: 'string' },
  root: { type: 'string' },
  'proc-root': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function printReport(io: CliIo, report: MigrateReport): void {
  for (const entry of report.interfaces) {
    io.stdout(`${entry.name}:${entry.secretFile ? ` secret from ${entry.secretFile}` : ''}\n`);
    if (entry.error) {
      io.stdout(`  FAILED ${entry.error.code}: ${entry.error.message}\n`);
      continue;
    }
    for (const row of entry.rows) {
      if (row.match) {
        io.stdout(`  ${row.prefix.padEnd(26)} ${report.from} ${row.theirs ?? ''} = stable6 ${row.ours} (counter ${row.dadCounter}) ok\n`);
      } else {
        io.stdout(`  ${row.prefix.padEnd(26)} MISMATCH: present ${row.present.join(', ')}; stable6 in ${report.from} mode gives ${row.ours}\n`);
      }
    }
  }
}

/** Runs migrate against `given` (tests, which keep it open), else the OS's platform (opened and closed here). */
export async function runMigrate(argv: string[], io: CliIo, given?: Platform): Promise<number> {
  const { values } = parseCommandArgs('migrate', argv, OPTIONS);
  if (values.help) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  if (values.from === undefined) throw usageError(`migrate: --from is required (${MIGRATE_FROM.join(', ')})`);
  if (!(MIGRATE_FROM as readonly string[]).includes(values.from)) {
    throw usageError(`migrate: --from must be one of ${MIGRATE_FROM.join(', ')}, got ${JSON.stringify(values.from)}`);
  }
  const from = values.from as MigrateFrom;
  if ((values['stable-id'] !== undefined || values['stable-type'] !== undefined) && from !== 'networkmanager') {
    throw usageError('migrate: --stable-id and --stable-type are for --from networkmanager');
  }
  if (values.token !== undefined && from !== 'systemd-networkd') throw usageError('migrate: --token is for --from systemd-networkd');
  const options: MigrateOptions = { from };
  if (values.iface !== undefined) options.iface = values.iface;
  if (values.root !== undefined) options.root = values.root;
  if (values['proc-root'] !== undefined) options.procRoot = values['proc-root'];
  if (values['stable-id'] !== undefined) options.stableId = values['stable-id'];
  if (values['stable-type'] !== undefined) options.stableType = parseIntegerOption('stable-type', values['stable-type'], 0, 2) as 0 | 1 | 2;
  if (values.token !== undefined) options.tokenUuid = values.token;

  const platform = given ?? (await openPlatform());
  let report: MigrateReport;
  try {
    report = await planMigration(platform, options);
  } catch (error) {
    // An unreadable secret is a failure of the work (exit 1), not refused input.
    if (isStable6Error(error, 'ERR_COMPAT_SECRET_IO')) {
      io.stderr(`stable6: ${error.code}: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    if (given === undefined) await platform.close();
  }
  if (values.json) printJson(io, report);
  else printReport(io, report);
  if (values['write-config'] !== undefined) {
    const file = values['write-config'];
    try {
      await writeFileAtomic(file, migrationConfig(report), { mode: 0o644, overwrite: true });
    } catch (cause) {
      io.stderr(`stable6: migrate: ${file}: cannot write the configuration (${(cause as NodeJS.ErrnoException).code ?? 'error'})\n`);
      return 1;
    }
  }
  if (report.interfaces.length === 0) {
    io.stderr(`stable6: migrate: no interface with an IPv6 address to compare\n`);
    return 1;
  }
  if (!report.allMatched) {
    const bad = report.interfaces.flatMap((i) => (i.error ? [i.name] : i.rows.filter((r) => !r.match).map((r) => `${i.name} ${r.prefix}`)));
    io.stderr(`stable6: ${'ERR_COMPAT_MISMATCH'}: ${from} mode does not reproduce: ${bad.join('; ')} — switching would renumber these\n`);
    return 1;
  }
  return 0;
}

export const migrateCommand: Command = {
  name: 'migrate',
  summary: "compare another system's RFC 7217 addresses with stable6's compatibility mode",
  usage: USAGE,
  run: (argv, io) => runMigrate(argv, io),
};
