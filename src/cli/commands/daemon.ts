import { loadConfig, type ConfigOverrides } from '../../daemon/config.js';
import { Daemon } from '../../daemon/daemon.js';
import { parseCommandArgs, usageError, type CliIo, type Command } from '../cli-io.js';

const USAGE = `Usage: stable6 daemon [--config FILE] [--interface NAME]... [--secret-file FILE]
                      [--state-dir DIR] [--socket PATH] [--flush-on-exit]

Runs the stable6 daemon: stable6-v1 addresses for every prefix advertised on the managed
interfaces (and the static prefixes of the configuration), kept in place, with the local
API for 'stable6 status' and per-application leases. Needs CAP_NET_ADMIN and CAP_NET_RAW.
  --config FILE       the TOML configuration (docs/config.md); flags override it
  --interface NAME    manage this interface (repeatable), with the defaults
  --secret-file FILE  default /var/lib/stable6/secret
  --state-dir DIR     default /var/lib/stable6
  --socket PATH       the API socket, default /run/stable6/api.sock
  --flush-on-exit     delete stable6's addresses on SIGTERM (default: they keep their lifetimes)
SIGTERM or SIGINT stops it cleanly; the kernel's own settings are restored.`;

const OPTIONS = {
  config: { type: 'string' },
  interface: { type: 'string', multiple: true },
  'secret-file': { type: 'string' },
  'state-dir': { type: 'string' },
  socket: { type: 'string' },
  'flush-on-exit': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const daemonCommand: Command = {
  name: 'daemon',
  summary: 'run the daemon: stable addresses from Router Advertisements, kept in place',
  usage: USAGE,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('daemon', argv, OPTIONS, true);
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    if (positionals.length > 0) throw usageError(`daemon: unexpected argument ${JSON.stringify(positionals[0])}`);
    const overrides: ConfigOverrides = {
      ...(values.interface ? { interfaces: values.interface } : {}),
      ...(values['secret-file'] !== undefined ? { secretFile: values['secret-file'] } : {}),
      ...(values['state-dir'] !== undefined ? { stateDir: values['state-dir'] } : {}),
      ...(values.socket !== undefined ? { socket: values.socket } : {}),
      ...(values['flush-on-exit'] ? { flushOnExit: true } : {}),
    };
    const config = await loadConfig(values.config, overrides);
    const daemon = await Daemon.start(config);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        void daemon.stop().then(resolve, (error: unknown) => {
          io.stderr(`stable6: stopping failed: ${error instanceof Error ? error.message : String(error)}\n`);
          resolve();
        });
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
    return 0;
  },
};
