/**
 * Generators for interfaces that run in a compatibility mode (docs/compat.md): the peer's
 * secret is read from where that system keeps it (or from `algorithm_inputs.secret_file`),
 * and the per-interface inputs come from `algorithm_inputs`. Read at start-up, so a missing
 * or malformed secret stops the daemon before it changes anything.
 */
import { algorithmByName, registryGenerator, type AlgorithmName } from '../core/algorithms.js';
import { STABLE6_V1 } from '../core/stable6-v1.js';
import { readDhcpcdSecret, readLinuxStableSecret, readNetworkdKey, readNetworkManagerSecret, readSecretFileAs, readSoiiKey } from '../compat/readers/secrets.js';
import type { AddressGenerator } from '../engine/generators.js';
import { Stable6Error } from '../errors.js';
import type { InterfaceConfig } from './config.js';

const INPUT_KEYS = ['secret_file', 'machine_id_file', 'stable_id', 'stable_type', 'ssid', 'vlan', 'hwaddr', 'perm_hwaddr'] as const;

function fail(iface: string, key: string, problem: string): never {
  throw new Stable6Error('ERR_CONFIG_INVALID', `interface ${iface}: algorithm_inputs.${key}: ${problem}`);
}

function hwAddress(iface: string, key: string, value: string | number | undefined): Uint8Array | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5,19}$/i.test(value)) fail(iface, key, 'must be a hardware address such as "02:12:34:56:78:9a"');
  return Uint8Array.from(value.split(':').map((h) => parseInt(h, 16)));
}

/** The generator name and function for an interface's algorithm; undefined for stable6-v1. */
export async function compatGenerator(config: InterfaceConfig): Promise<{ name: string; generator: AddressGenerator } | undefined> {
  if (config.algorithm === STABLE6_V1) return undefined;
  const spec = algorithmByName(config.algorithm);
  const inputs = config.algorithmInputs;
  for (const key of Object.keys(inputs)) {
    if (!(INPUT_KEYS as readonly string[]).includes(key)) fail(config.name, key, `unknown input (known: ${INPUT_KEYS.join(', ')})`);
  }
  const text = (key: (typeof INPUT_KEYS)[number]): string | undefined => {
    const v = inputs[key];
    if (v !== undefined && typeof v !== 'string') fail(config.name, key, 'must be a string');
    return v;
  };
  const file = text('secret_file');
  const machineIdFile = text('machine_id_file');
  const name = spec.name as AlgorithmName;
  const secret = file
    ? await readSecretFileAs(name, file, machineIdFile ? { machineIdFile } : {})
    : name === 'linux'
      ? await readLinuxStableSecret(config.name)
      : name === 'networkmanager'
        ? await readNetworkManagerSecret()
        : name === 'systemd-networkd'
          ? await readNetworkdKey()
          : name === 'dhcpcd'
            ? await readDhcpcdSecret()
            : await readSoiiKey();
  const stableType = inputs.stable_type;
  if (stableType !== undefined && stableType !== 0 && stableType !== 1 && stableType !== 2) fail(config.name, 'stable_type', 'must be 0, 1 or 2');
  const vlan = inputs.vlan;
  if (vlan !== undefined && (typeof vlan !== 'number' || !Number.isInteger(vlan) || vlan < 0 || vlan > 4094)) fail(config.name, 'vlan', 'must be 0 to 4094');
  const ssid = text('ssid');
  const stableId = text('stable_id');
  const hw = hwAddress(config.name, 'hwaddr', inputs.hwaddr);
  const perm = hwAddress(config.name, 'perm_hwaddr', inputs.perm_hwaddr);
  const generate = registryGenerator(name, {
    secret: secret.secret,
    ifname: config.name,
    ...(stableType !== undefined ? { stableType } : {}),
    ...(stableId !== undefined ? { stableId } : {}),
    ...(ssid !== undefined ? { ssid: Buffer.from(ssid, 'utf8') } : {}),
    ...(vlan !== undefined ? { vlanId: vlan as number } : {}),
    ...(hw ? { hwAddress: hw } : {}),
    ...(perm ? { permHwAddress: perm } : {}),
  });
  return { name: `${name}:${config.name}`, generator: (context) => generate(context) };
}
