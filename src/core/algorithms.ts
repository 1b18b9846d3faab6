/**
 * The registry of address algorithms: stable6-v1 and the compatibility modes that reproduce
 * what another system gives (shared/notes/compat-algorithms.md, docs/compat.md).
 *
 * Contract of `AlgorithmSpec.generate(inputs)` (pure; no I/O, no clock, no randomness):
 * - `inputs.secret` is the secret already decoded from the peer's own format (secret-formats.ts;
 *   the daemon's readers in src/compat/readers/ fetch it): linux 16 bytes (stable_secret);
 *   networkmanager the host id (nmHostId of secret_key + machine-id); systemd-networkd the
 *   16-byte key (Token UUID, or networkdAppSpecificKey(machine-id)); dhcpcd the bytes of its
 *   `secret` file; slaacd the 16-byte soiikey; stable6-v1 16 to 64 bytes.
 * - `inputs.prefix` is the /64 (fe80::/64 for the link-local address). Other lengths:
 *   ERR_PREFIX_LENGTH.
 * - `inputs.ifname` is the interface name (stable6-v1: netIface). linux and dhcpcd ignore it
 *   (they do not hash it); slaacd too.
 * - hardware addresses: `permHwAddress` (linux: perm_addr, all-zero/absent on veth) and
 *   `hwAddress` (the CURRENT one: systemd-networkd, dhcpcd, slaacd).
 * - `stableType` + `stableId` (networkmanager: the network id text for that type, see
 *   nmNetworkId), `ssid` (systemd-networkd ≥ 255 and dhcpcd on Wi-Fi), `vlanId` (dhcpcd),
 *   `networkId` and `label` (stable6-v1 only).
 * - `dadCounter` is the counter state the peer keeps for this address: 0 for the first
 *   address; after a DAD failure pass the previous result's `nextDadCounter`. Each algorithm
 *   applies its peer's own reserved-IID rule (wrong ones included) and retry limit, and throws
 *   ERR_GEN_EXHAUSTED where the peer makes no address. `nextDadCounter` undefined = the peer
 *   makes no further address after a DAD failure.
 * A missing or out-of-range input is ERR_COMPAT_INPUT (ERR_GEN_INPUT for stable6-v1).
 */
import type { Ipv6Address } from './address.js';
import type { Ipv6Prefix } from './prefix.js';
import { generateStable6V1, STABLE6_V1 } from './stable6-v1.js';
import { compatInput, exhausted, type CompatResult } from './compat/compat-result.js';
import { generateLinux, LINUX } from './compat/linux.js';
import { generateNetworkManager, NETWORKMANAGER, type NmStableType } from './compat/networkmanager.js';
import { generateNetworkd, SYSTEMD_NETWORKD } from './compat/systemd-networkd.js';
import { DHCPCD, generateDhcpcd } from './compat/dhcpcd.js';
import { generateSlaacd, SLAACD } from './compat/slaacd.js';
import { Stable6Error } from '../errors.js';

export type { CompatResult } from './compat/compat-result.js';

export const ALGORITHM_NAMES = [STABLE6_V1, LINUX, NETWORKMANAGER, SYSTEMD_NETWORKD, DHCPCD, SLAACD] as const;
export type AlgorithmName = (typeof ALGORITHM_NAMES)[number];

export type AlgorithmInputName =
  | 'secret'
  | 'prefix'
  | 'ifname'
  | 'hwAddress'
  | 'permHwAddress'
  | 'stableType'
  | 'stableId'
  | 'ssid'
  | 'vlanId'
  | 'networkId'
  | 'label'
  | 'dadCounter';

export interface AlgorithmInputs {
  secret: Uint8Array;
  prefix: Ipv6Prefix;
  ifname: string;
  hwAddress?: Uint8Array;
  permHwAddress?: Uint8Array;
  stableType?: NmStableType;
  stableId?: string;
  ssid?: Uint8Array;
  vlanId?: number;
  networkId?: Uint8Array;
  label?: string;
  dadCounter: number;
  /** linux: net.ipv6.idgen_retries (default 3). */
  idgenRetries?: number;
}

export interface AlgorithmSpec {
  name: AlgorithmName;
  /** Who computes addresses this way. */
  peer: string;
  /** Inputs generate() needs besides secret, prefix and dadCounter. */
  required: readonly AlgorithmInputName[];
  optional: readonly AlgorithmInputName[];
  /** The secret's own format and where the peer keeps it. */
  secret: string;
  generate(inputs: AlgorithmInputs): CompatResult;
}

function need<T>(algorithm: string, what: string, value: T | undefined): T {
  if (value === undefined) throw compatInput(`${algorithm}: ${what} is required`);
  return value;
}

export const ALGORITHMS: Readonly<Record<AlgorithmName, AlgorithmSpec>> = {
  [STABLE6_V1]: {
    name: STABLE6_V1,
    peer: 'stable6 (shared/spec/stable6-v1.md)',
    required: ['ifname'],
    optional: ['networkId', 'label'],
    secret: 'hex text of 16 to 64 bytes, /var/lib/stable6/secret',
    generate(inputs) {
      const r = generateStable6V1({
        secret: inputs.secret,
        prefix: inputs.prefix,
        netIface: inputs.ifname,
        networkId: inputs.networkId ?? new Uint8Array(0),
        label: inputs.label ?? '',
        dadCounter: inputs.dadCounter,
      });
      return { address: r.address, iid: r.iid, dadCounter: r.dadCounter, nextDadCounter: r.dadCounter < 255 ? r.dadCounter + 1 : undefined };
    },
  },
  [LINUX]: {
    name: LINUX,
    peer: 'the Linux kernel, addr_gen_mode=2 (stable privacy) with stable_secret',
    required: [],
    optional: ['permHwAddress'],
    secret: 'IPv6 address text, /proc/sys/net/ipv6/conf/IFACE/stable_secret (else conf/default/stable_secret)',
    generate(inputs) {
      return generateLinux(
        { secret: inputs.secret, prefix: inputs.prefix, permHwAddress: inputs.permHwAddress ?? new Uint8Array(0), dadCounter: inputs.dadCounter },
        inputs.idgenRetries === undefined ? {} : { idgenRetries: inputs.idgenRetries },
      );
    },
  },
  [NETWORKMANAGER]: {
    name: NETWORKMANAGER,
    peer: 'NetworkManager, ipv6.addr-gen-mode=stable-privacy',
    required: ['ifname', 'stableType', 'stableId'],
    optional: [],
    secret: '/var/lib/NetworkManager/secret_key (nm-v2: hashed with /etc/machine-id)',
    generate(inputs) {
      return generateNetworkManager({
        secret: inputs.secret,
        prefix: inputs.prefix,
        ifname: inputs.ifname,
        stableType: need(NETWORKMANAGER, 'the stable type (0 UUID, 1 stable-id, 2 generated)', inputs.stableType),
        networkId: need(NETWORKMANAGER, 'the stable-id or connection UUID', inputs.stableId),
        dadCounter: inputs.dadCounter,
      });
    },
  },
  [SYSTEMD_NETWORKD]: {
    name: SYSTEMD_NETWORKD,
    peer: 'systemd-networkd, Token=prefixstable',
    required: ['ifname', 'hwAddress'],
    optional: ['ssid'],
    secret: 'the Token UUID, else /etc/machine-id (app-specific key for NDisc)',
    generate(inputs) {
      return generateNetworkd({
        key: inputs.secret,
        prefix: inputs.prefix,
        ifname: inputs.ifname,
        hwAddress: need(SYSTEMD_NETWORKD, 'the current hardware address', inputs.hwAddress),
        ...(inputs.ssid ? { ssid: inputs.ssid } : {}),
        dadCounter: inputs.dadCounter,
      });
    },
  },
  [DHCPCD]: {
    name: DHCPCD,
    peer: 'dhcpcd, slaac private',
    required: ['hwAddress'],
    optional: ['ssid', 'vlanId'],
    secret: 'colon-separated hex bytes, /var/lib/dhcpcd/secret',
    generate(inputs) {
      return generateDhcpcd({
        secret: inputs.secret,
        prefix: inputs.prefix,
        hwAddress: need(DHCPCD, 'the current hardware address', inputs.hwAddress),
        ...(inputs.ssid ? { ssid: inputs.ssid } : {}),
        ...(inputs.vlanId !== undefined ? { vlanId: inputs.vlanId } : {}),
        dadCounter: inputs.dadCounter,
      });
    },
  },
  [SLAACD]: {
    name: SLAACD,
    peer: 'OpenBSD slaacd, soii',
    required: ['hwAddress'],
    optional: [],
    secret: '32 hex digits, /etc/soii.key',
    generate(inputs) {
      return generateSlaacd({
        secret: inputs.secret,
        prefix: inputs.prefix,
        hwAddress: need(SLAACD, 'the MAC address', inputs.hwAddress),
        dadCounter: inputs.dadCounter,
      });
    },
  },
};

export function isAlgorithmName(name: string): name is AlgorithmName {
  return (ALGORITHM_NAMES as readonly string[]).includes(name);
}

export function algorithmByName(name: string): AlgorithmSpec {
  if (!isAlgorithmName(name)) {
    throw new Stable6Error('ERR_COMPAT_INPUT', `unknown algorithm ${JSON.stringify(name)} (known: ${ALGORITHM_NAMES.join(', ')})`);
  }
  return ALGORITHMS[name];
}

/**
 * What the engine hands an address generator (the engine's `GeneratorContext` is this type).
 * It lives here, in core, so that the registry does not depend on the engine.
 */
export interface RegistryGeneratorContext {
  /** The /64 the address lives in. */
  prefix: Ipv6Prefix;
  netIface: string;
  networkId: Uint8Array;
  /** Empty for the interface's own address. */
  label: string;
  /** The first RFC 7217 DAD_Counter to try. */
  dadCounter: number;
  /** The last counter that may be tried; past it the generator throws ERR_GEN_EXHAUSTED. */
  maxDadCounter: number;
  /** True when another managed address, or one stable6 does not own, already uses this address. */
  isTaken: (address: Ipv6Address) => boolean;
  hwAddress?: Uint8Array;
  permHwAddress?: Uint8Array;
}

/**
 * An engine generator for a compatibility algorithm: `fixed` holds the per-interface inputs
 * from the configuration (secret, stable-id, ...); the context supplies prefix, counter and the
 * link's hardware addresses (config values win). A taken address is treated as the peer treats
 * a DAD failure (its nextDadCounter). The counter returned is the peer's counter state
 * (nextDadCounter - 1), so that "+1 after a DAD failure" reproduces the peer exactly, quirks
 * included; the peer's own retry limit applies, not maxDadCounter.
 */
export function registryGenerator(
  name: AlgorithmName,
  fixed: Omit<AlgorithmInputs, 'prefix' | 'dadCounter' | 'ifname'> & { ifname?: string },
): (context: RegistryGeneratorContext) => { address: Ipv6Address; dadCounter: number } {
  const spec = ALGORITHMS[name];
  return (context) => {
    let counter: number | undefined = context.dadCounter;
    while (counter !== undefined) {
      const hwAddress = fixed.hwAddress ?? context.hwAddress;
      const permHwAddress = fixed.permHwAddress ?? context.permHwAddress;
      const r = spec.generate({
        ...fixed,
        ...(hwAddress ? { hwAddress } : {}),
        ...(permHwAddress ? { permHwAddress } : {}),
        ifname: fixed.ifname ?? context.netIface,
        networkId: fixed.networkId ?? context.networkId,
        label: context.label,
        prefix: context.prefix,
        dadCounter: counter,
      });
      if (!context.isTaken(r.address)) {
        return { address: r.address, dadCounter: r.nextDadCounter === undefined ? r.dadCounter : r.nextDadCounter - 1 };
      }
      counter = r.nextDadCounter;
    }
    throw exhausted(name, context.prefix, 'the peer makes no further address (taken or DAD-failed on every counter it allows)');
  };
}
