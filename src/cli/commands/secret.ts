import {
  DEFAULT_SECRET_FILE,
  loadSecretFile,
  newSecret,
  parseSecretHex,
  secretFingerprint,
  formatSecretHex,
  writeSecretFile,
} from '../../daemon/secret-file.js';
import { parseCommandArgs, printJson, usageError, type CliIo, type Command } from '../cli-io.js';

const USAGE = `Usage: stable6 secret init [--secret-file FILE] [--force] [--json]
       stable6 secret fingerprint [--secret-file FILE] [--json]
       stable6 secret export [--secret-file FILE]
       stable6 secret import [--secret-file FILE] [--force] [--json]   (hex on standard input)

The secret is the key of every stable6 address: the same secret gives the same addresses.
  init         32 bytes from the CSPRNG, written as hex, mode 0600, atomically; never
               replaces an existing secret without --force
  fingerprint  a short id of the secret (a tagged hash, not reversible) to compare hosts
  export       prints the secret as hex on standard output, to move it to another host
  import       reads a secret as hex from standard input and writes it like init
The default file is ${DEFAULT_SECRET_FILE} (or $STABLE6_SECRET_FILE).`;

const OPTIONS = {
  'secret-file': { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const secretCommand: Command = {
  name: 'secret',
  summary: 'create, fingerprint, export or import the secret',
  usage: USAGE,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('secret', argv, OPTIONS, true);
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    const [action, ...extra] = positionals;
    if (extra.length > 0) throw usageError(`secret: unexpected argument ${JSON.stringify(extra[0])}`);
    const file = values['secret-file'] ?? io.env.STABLE6_SECRET_FILE ?? DEFAULT_SECRET_FILE;
    const refuse = (flag: string): never => {
      throw usageError(`secret ${action}: ${flag} does not apply`);
    };
    switch (action) {
      case 'init': {
        const secret = newSecret();
        await writeSecretFile(file, secret, values.force ?? false);
        report(io, values.json, { file, fingerprint: secretFingerprint(secret) }, `wrote a new secret to ${file}`);
        return 0;
      }
      case 'fingerprint': {
        if (values.force) refuse('--force');
        const fingerprint = secretFingerprint(await loadSecretFile(file));
        if (values.json) printJson(io, { file, fingerprint });
        else io.stdout(`${fingerprint}\n`);
        return 0;
      }
      case 'export': {
        if (values.force) refuse('--force');
        if (values.json) refuse('--json');
        io.stdout(formatSecretHex(await loadSecretFile(file)));
        return 0;
      }
      case 'import': {
        const secret = parseSecretHex(await io.readStdin(), 'standard input');
        await writeSecretFile(file, secret, values.force ?? false);
        report(io, values.json, { file, fingerprint: secretFingerprint(secret) }, `imported the secret into ${file}`);
        return 0;
      }
      case undefined:
        throw usageError('secret: name an action: init, fingerprint, export or import');
      default:
        throw usageError(`secret: unknown action ${JSON.stringify(action)} (init, fingerprint, export, import)`);
    }
  },
};

function report(io: CliIo, json: boolean | undefined, value: { file: string; fingerprint: string }, text: string): void {
  if (json) printJson(io, value);
  else io.stdout(`${text} (fingerprint ${value.fingerprint})\n`);
}
