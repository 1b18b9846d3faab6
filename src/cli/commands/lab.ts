import { runLab, type LabStep, type RouterKind } from '../../lab/lab.js';
import { parseCommandArgs, usageError, type CliIo, type Command } from '../cli-io.js';

const USAGE = `Usage: stable6 lab [--router auto|radvd|builtin] [--json]

Builds a throw-away network in two namespaces (a router and a host), runs the stable6
daemon on the host, and shows each step as it happens: the stable address appearing and
passing DAD, an unprivileged application leasing its own address and serving on it, a
connection from the router, the address deleted by hand and healed, the router renumbered
and the old prefix retired. Removes everything on exit, on Ctrl-C and on error.
Needs root (network namespaces). Uses documentation prefixes only (2001:db8::/32).
  --router   radvd when installed (auto, the default), or the built-in RA sender
  --json     one JSON object per step`;

const OPTIONS = {
  router: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const labCommand: Command = {
  name: 'lab',
  summary: 'see stable6 work in a throw-away lab network (needs root)',
  usage: USAGE,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('lab', argv, OPTIONS, true);
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    if (positionals.length > 0) throw usageError(`lab: unexpected argument ${JSON.stringify(positionals[0])}`);
    const router = values.router ?? 'auto';
    if (router !== 'auto' && router !== 'radvd' && router !== 'builtin') throw usageError(`--router must be auto, radvd or builtin, got ${JSON.stringify(router)}`);
    const started = performance.now();
    const report = (step: LabStep): void => {
      if (values.json) io.stdout(`${JSON.stringify(step)}\n`);
      else if (step.step === 'daemon-log') io.stderr(`daemon log (last lines):\n${step.text}\n`);
      else io.stdout(`${`[${((performance.now() - started) / 1000).toFixed(1)}s]`.padEnd(8)} ${step.step.padEnd(9)} ${step.text}\n`);
    };
    await runLab({ router: router as RouterKind, report });
    if (!values.json) io.stdout('\nThe lab is gone. Next: README.md "Quick start on a real host".\n');
    return 0;
  },
};
