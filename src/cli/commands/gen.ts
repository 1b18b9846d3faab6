import { Ipv6Prefix } from '../../core/prefix.js';
import { generateStable6V1, resolveSubnet64, STABLE6_V1, type SubnetChoice } from '../../core/stable6-v1.js';
import { loadSecretFile, parseSecretHex } from '../../daemon/secret-file.js';
import { parseCommandArgs, parseIntegerOption, printJson, usageError, type CliIo, type Command } from '../cli-io.js';

const USAGE = `Usage: stable6 gen --prefix PREFIX --iface NAME (--secret-file FILE | --secret-hex HEX)
                   [--label NAME] [--network-id TEXT] [--dad-counter N] [--subnet auto|N] [--json]

Prints the stable6-v1 address for the inputs (RFC 5952 text, one line).
  --prefix PREFIX     the /64 (or a shorter routed prefix with --subnet), e.g. 2001:db8:1:2::/64
  --iface NAME        the stable interface name (netIface), 1 to 255 bytes
  --label NAME        a per-application label (default: empty, the interface's own address)
  --network-id TEXT   the optional network id (e.g. a Wi-Fi SSID)
  --dad-counter N     the first DAD counter to try, 0 to 255 (default 0)
  --subnet auto|N     the subnet ID inside a prefix shorter than /64 (RFC 3587 layout)
  --secret-file FILE  the secret file (default /var/lib/stable6/secret)
  --secret-hex HEX    the secret as hex (visible to other users in the process list: tests only)
  --json              one JSON object: address, prefix, iid, dadCounter, algorithm, ...`;

const OPTIONS = {
  prefix: { type: 'string' },
  iface: { type: 'string' },
  label: { type: 'string' },
  'network-id': { type: 'string' },
  'dad-counter': { type: 'string' },
  subnet: { type: 'string' },
  'secret-file': { type: 'string' },
  'secret-hex': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseSubnet(text: string | undefined): SubnetChoice | undefined {
  if (text === undefined) return undefined;
  if (text === 'auto') return { kind: 'auto' };
  if (!/^\d{1,20}$/.test(text)) throw usageError(`--subnet must be auto or a non-negative integer, got ${JSON.stringify(text)}`);
  return { kind: 'fixed', id: BigInt(text) };
}

export const genCommand: Command = {
  name: 'gen',
  summary: 'compute the stable6-v1 address for a prefix and interface',
  usage: USAGE,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values } = parseCommandArgs('gen', argv, OPTIONS);
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    if (values.prefix === undefined) throw usageError('gen: --prefix is required');
    if (values.iface === undefined) throw usageError('gen: --iface is required');
    if (values['secret-file'] !== undefined && values['secret-hex'] !== undefined) {
      throw usageError('gen: give --secret-file or --secret-hex, not both');
    }
    const prefix = Ipv6Prefix.parse(values.prefix);
    const subnet = parseSubnet(values.subnet);
    const dadCounter = values['dad-counter'] === undefined ? 0 : parseIntegerOption('dad-counter', values['dad-counter'], 0, 255);
    const secret =
      values['secret-hex'] !== undefined
        ? parseSecretHex(values['secret-hex'], '--secret-hex')
        : await loadSecretFile(values['secret-file'] ?? io.env.STABLE6_SECRET_FILE ?? '/var/lib/stable6/secret');

    const { prefix: prefix64, subnetId } = resolveSubnet64(secret, prefix, values.iface, subnet);
    const result = generateStable6V1({
      secret,
      prefix: prefix64,
      netIface: values.iface,
      networkId: Buffer.from(values['network-id'] ?? '', 'utf8'),
      label: values.label ?? '',
      dadCounter,
    });
    if (values.json) {
      printJson(io, {
        address: result.address.toString(),
        prefix: prefix64.toString(),
        iid: Buffer.from(result.iid).toString('hex'),
        dadCounter: result.dadCounter,
        algorithm: STABLE6_V1,
        netIface: values.iface,
        label: values.label ?? '',
        ...(prefix.length < 64 ? { routedPrefix: prefix.toString(), subnetId: subnetId.toString() } : {}),
      });
    } else {
      io.stdout(`${result.address.toString()}\n`);
      if (prefix.length < 64) {
        io.stderr(`note: ${result.address.toString()} is reachable only if the network routes ${prefix64.toString()} to this link\n`);
      }
    }
    return 0;
  },
};
