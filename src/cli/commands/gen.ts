import { Ipv6Prefix } from '../../core/prefix.js';
import { algorithmByName, type AlgorithmInputs } from '../../core/algorithms.js';
import { nmNetworkId } from '../../core/compat/networkmanager.js';
import {
  nmHostId,
  parseDhcpcdSecret,
  parseLinuxStableSecret,
  parseNetworkdTokenKey,
  parseSoiiKey,
} from '../../core/compat/secret-formats.js';
import { readMachineId, readSecretFileAs } from '../../compat/readers/secrets.js';
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
  --json              one JSON object: address, prefix, iid, dadCounter, algorithm, ...

Compatibility modes (docs/compat.md): the address another system gives.
       stable6 gen --algorithm linux|networkmanager|systemd-networkd|dhcpcd|slaacd --prefix PREFIX/64
                   (--secret-file FILE | --secret-text TEXT) [--iface NAME] [--hwaddr MAC] [--perm-hwaddr MAC]
                   [--stable-id TEXT] [--stable-type 0|1|2] [--ssid TEXT] [--vlan N] [--machine-id-file FILE]
                   [--dad-counter N] [--json]
  --algorithm NAME    stable6-v1 (default) or a compatibility mode
  --secret-file FILE  the peer's own secret file: linux stable_secret, NetworkManager secret_key,
                      systemd-networkd machine-id (app-specific key), dhcpcd secret, slaacd soii.key
  --secret-text TEXT  the secret in the peer's format: linux IPv6 text, NetworkManager key text,
                      networkd Token UUID, dhcpcd colon hex, slaacd 32 hex digits (tests only)
  --iface NAME        the interface name (hashed by networkmanager and systemd-networkd)
  --hwaddr MAC        the current hardware address (systemd-networkd, dhcpcd, slaacd)
  --perm-hwaddr MAC   the permanent hardware address (linux; default all-zero as on veth)
  --stable-id TEXT    networkmanager: the connection UUID (type 0), stable-id (1) or expanded stable-id (2)
  --stable-type N     networkmanager: 0, 1 (default) or 2
  --ssid TEXT         the Wi-Fi SSID (systemd-networkd >= 255, dhcpcd)
  --vlan N            the VLAN id (dhcpcd), 0 = none
  --machine-id-file F networkmanager: the machine-id for an nm-v2 secret_key (default /etc/machine-id)
  --dad-counter N     the peer's counter state (0 first; after a DAD failure, the nextDadCounter of --json)`;

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
  algorithm: { type: 'string' },
  'secret-text': { type: 'string' },
  hwaddr: { type: 'string' },
  'perm-hwaddr': { type: 'string' },
  'stable-id': { type: 'string' },
  'stable-type': { type: 'string' },
  ssid: { type: 'string' },
  vlan: { type: 'string' },
  'machine-id-file': { type: 'string' },
} as const;

const COMPAT_ONLY = ['secret-text', 'hwaddr', 'perm-hwaddr', 'stable-id', 'stable-type', 'ssid', 'vlan', 'machine-id-file'] as const;
const V1_ONLY = ['label', 'network-id', 'subnet', 'secret-hex'] as const;

/** A MAC address: hex bytes separated by ':' or '-' (1 to 32 bytes). */
export function parseHwAddress(option: string, text: string): Uint8Array {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){0,31}$/.test(text)) {
    throw usageError(`--${option} must be a hardware address such as 02:12:34:56:78:9a, got ${JSON.stringify(text)}`);
  }
  return Uint8Array.from(Buffer.from(text.replace(/[:-]/g, ''), 'hex'));
}

function parseSecretText(algorithm: string, text: string, machineId: Uint8Array | undefined): Uint8Array {
  switch (algorithm) {
    case 'linux':
      return parseLinuxStableSecret(text, '--secret-text');
    case 'networkmanager':
      return nmHostId(Buffer.from(text, 'utf8'), machineId, '--secret-text');
    case 'systemd-networkd':
      return parseNetworkdTokenKey(text, '--secret-text');
    case 'dhcpcd':
      return parseDhcpcdSecret(text, '--secret-text');
    default:
      return parseSoiiKey(text, '--secret-text');
  }
}

type GenValues = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>['values'];

async function runCompat(name: string, values: GenValues, io: CliIo): Promise<number> {
  const spec = algorithmByName(name);
  for (const option of V1_ONLY) {
    if (values[option] !== undefined) throw usageError(`gen: --${option} is for stable6-v1, not --algorithm ${name}`);
  }
  if (values.prefix === undefined) throw usageError('gen: --prefix is required');
  if ((values['secret-file'] === undefined) === (values['secret-text'] === undefined)) {
    throw usageError(`gen: --algorithm ${name} needs --secret-file or --secret-text (one of them)`);
  }
  if (values['machine-id-file'] !== undefined && name !== 'networkmanager') {
    throw usageError('gen: --machine-id-file is for --algorithm networkmanager');
  }
  const prefix = Ipv6Prefix.parse(values.prefix);
  const inputs: AlgorithmInputs = {
    secret: new Uint8Array(0),
    prefix,
    ifname: values.iface ?? '',
    dadCounter: values['dad-counter'] === undefined ? 0 : parseIntegerOption('dad-counter', values['dad-counter'], 0, 0x7fffffff),
  };
  if (values.hwaddr !== undefined) inputs.hwAddress = parseHwAddress('hwaddr', values.hwaddr);
  if (values['perm-hwaddr'] !== undefined) inputs.permHwAddress = parseHwAddress('perm-hwaddr', values['perm-hwaddr']);
  if (values.ssid !== undefined) inputs.ssid = Buffer.from(values.ssid, 'utf8');
  if (values.vlan !== undefined) inputs.vlanId = parseIntegerOption('vlan', values.vlan, 0, 4095);
  if (values['stable-type'] !== undefined && values['stable-id'] === undefined) throw usageError('gen: --stable-type goes with --stable-id');
  if (values['stable-id'] !== undefined) {
    const type = values['stable-type'] === undefined ? 1 : parseIntegerOption('stable-type', values['stable-type'], 0, 2);
    const id = values['stable-id'];
    const derived = type === 0 ? nmNetworkId({ uuid: id }) : type === 1 ? { stableType: 1 as const, networkId: id } : nmNetworkId({ stableId: id, expanded: id });
    inputs.stableType = derived.stableType;
    inputs.stableId = derived.networkId;
  }
  const needs = { ifname: '--iface', hwAddress: '--hwaddr', permHwAddress: '--perm-hwaddr', stableType: '--stable-id', stableId: '--stable-id', ssid: '--ssid', vlanId: '--vlan' } as const;
  for (const input of spec.required) {
    const option = needs[input as keyof typeof needs];
    const value = inputs[input as keyof AlgorithmInputs];
    if (option !== undefined && (value === undefined || value === '')) throw usageError(`gen: --algorithm ${name} needs ${option}`);
  }
  const used = new Set<string>([...spec.required, ...spec.optional]);
  for (const [input, option] of Object.entries(needs)) {
    if (input === 'ifname' || input === 'stableType') continue;
    if (inputs[input as keyof AlgorithmInputs] !== undefined && !used.has(input)) {
      throw usageError(`gen: --algorithm ${name} does not use ${option}`);
    }
  }
  if (values['secret-file'] !== undefined) {
    const file = values['secret-file'];
    inputs.secret = (await readSecretFileAs(name, file, values['machine-id-file'] ? { machineIdFile: values['machine-id-file'] } : {})).secret;
  } else {
    let machineId: Uint8Array | undefined;
    if (name === 'networkmanager' && values['machine-id-file'] !== undefined) {
      machineId = (await readMachineId({}, values['machine-id-file'])).machineId;
    }
    inputs.secret = parseSecretText(name, values['secret-text'] ?? '', machineId);
  }
  const result = spec.generate(inputs);
  if (values.json) {
    printJson(io, {
      address: result.address.toString(),
      prefix: prefix.toString(),
      iid: Buffer.from(result.iid).toString('hex'),
      dadCounter: result.dadCounter,
      nextDadCounter: result.nextDadCounter ?? null,
      algorithm: name,
      ...(inputs.ifname ? { iface: inputs.ifname } : {}),
      ...(result.fallback ? { fallback: result.fallback } : {}),
    });
  } else {
    io.stdout(`${result.address.toString()}\n`);
    if (result.fallback === 'eui64') {
      io.stderr(`note: systemd-networkd falls back to EUI-64 here: its reserved-range check trips on the prefix ${prefix.toString()}\n`);
    }
  }
  return 0;
}

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
    const algorithm = values.algorithm ?? STABLE6_V1;
    if (algorithm !== STABLE6_V1) return runCompat(algorithm, values, io);
    for (const option of COMPAT_ONLY) {
      if (values[option] !== undefined) throw usageError(`gen: --${option} is for a compatibility --algorithm, not stable6-v1`);
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
