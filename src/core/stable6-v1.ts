/**
 * stable6-v1: the RFC 7217 §5 function F as specified in shared/spec/stable6-v1.md.
 *
 * This is a contract: its output never changes. Any change of the message layout,
 * the hash or the IID extraction is a new algorithm (stable6-v2), never an edit here.
 */
import type { KeyObject } from 'node:crypto';
import { hmacOverMessage, hmacSha256, MESSAGE } from './hmac-sha256.js';
import { Ipv6Address } from './address.js';
import { Ipv6Prefix } from './prefix.js';
import { isReservedIid } from './reserved-iid.js';
import { Stable6Error } from '../errors.js';

export const STABLE6_V1 = 'stable6-v1';

const TAG = Buffer.from('stable6-v1', 'ascii');
const SUBNET_TAG = Buffer.from('stable6-v1-subnet', 'ascii');

export const SECRET_MIN_BYTES = 16;
export const SECRET_MAX_BYTES = 64;
export const MAX_DAD_COUNTER = 255;

/** The inputs of F. `prefix` is the /64 the address lives in. */
export interface Stable6V1Input {
  secret: Uint8Array | KeyObject;
  prefix: Ipv6Prefix;
  /** Stable name of the interface: UTF-8, 1 to 255 bytes. */
  netIface: string;
  /** Optional network id (e.g. a Wi-Fi SSID): 0 to 255 bytes. */
  networkId?: Uint8Array;
  /** Per-application label: UTF-8, 0 to 255 bytes; empty for the interface's own address. */
  label?: string;
  /** RFC 7217 DAD_Counter, 0 to 255. */
  dadCounter: number;
}

export interface Stable6V1Result {
  address: Ipv6Address;
  /** The 8 bytes of the interface identifier. */
  iid: Uint8Array;
  /** The counter actually used, after skipping reserved or taken IIDs. */
  dadCounter: number;
}

export interface GenerateOptions {
  /** The highest counter that may be tried (default 255). */
  maxDadCounter?: number;
  /**
   * True when another address managed on the same interface and /64 uses this IID
   * already: two labels must never share an address (spec, "Reserved interface identifiers").
   */
  isTaken?: (address: Ipv6Address) => boolean;
}

/**
 * Checks the inputs that do not depend on the counter and writes M once; only the last
 * byte (the counter) changes between tries. Written straight into one buffer: this runs
 * for every address the daemon computes.
 */
class MessageTemplate {
  readonly length: number;

  constructor(input: Omit<Stable6V1Input, 'dadCounter' | 'secret'>) {
    const { prefix } = input;
    if (prefix.length !== 64) {
      throw new Stable6Error('ERR_PREFIX_LENGTH', `stable6-v1 needs a /64, got ${prefix.toString()}`);
    }
    const netIfaceBytes = utf8Length('netIface', input.netIface, 1);
    const networkId = input.networkId ?? EMPTY;
    if (networkId.length > 255) {
      throw new Stable6Error('ERR_GEN_INPUT', `networkId is ${networkId.length} bytes, at most 255`);
    }
    const label = input.label ?? '';
    const labelBytes = utf8Length('label', label, 0);
    // M (at most 10 + 8 + 3 × 256 + 1 bytes) is written straight where the HMAC reads it;
    // F runs synchronously, so no two messages are ever built at once.
    const m = MESSAGE;
    this.length = TAG.length + 8 + 1 + netIfaceBytes + 1 + networkId.length + 1 + labelBytes + 1;
    let at = TAG.copy(m, 0);
    prefix.address.copyTo(m, at, 0, 8);
    at += 8;
    m[at++] = netIfaceBytes;
    at += writeUtf8(m, input.netIface, at);
    m[at++] = networkId.length;
    m.set(networkId, at);
    at += networkId.length;
    m[at++] = labelBytes;
    at += writeUtf8(m, label, at);
    m[at] = 0;
  }

  /** The HMAC of M with this counter. */
  rid(secret: Uint8Array | KeyObject, dadCounter: number): Buffer {
    MESSAGE[this.length - 1] = dadCounter;
    return hmacOverMessage(secret, this.length);
  }
}

const EMPTY = new Uint8Array(0);

/** Interface names and labels are short and mostly ASCII: copy those in JS, leave the rest to Buffer. */
function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return false;
  return true;
}

function writeUtf8(target: Buffer, value: string, at: number): number {
  if (!isAscii(value)) return target.write(value, at, 'utf8');
  for (let i = 0; i < value.length; i++) target[at + i] = value.charCodeAt(i);
  return value.length;
}

function utf8Length(name: string, value: string, minBytes: number): number {
  if (typeof value !== 'string') throw new Stable6Error('ERR_GEN_INPUT', `${name} must be a string`);
  const bytes = isAscii(value) ? value.length : Buffer.byteLength(value, 'utf8');
  if (bytes < minBytes || bytes > 255) {
    throw new Stable6Error(
      'ERR_GEN_INPUT',
      `${name} is ${bytes} bytes of UTF-8; it must be ${minBytes} to 255 bytes`,
      { details: { field: name, bytes } },
    );
  }
  return bytes;
}

function checkSecret(secret: Uint8Array | KeyObject): void {
  const size = secret instanceof Uint8Array ? secret.length : secret.symmetricKeySize;
  if (size === undefined || size < SECRET_MIN_BYTES || size > SECRET_MAX_BYTES) {
    throw new Stable6Error(
      'ERR_GEN_INPUT',
      `the secret must be ${SECRET_MIN_BYTES} to ${SECRET_MAX_BYTES} bytes, got ${size ?? 'an asymmetric key'}`,
    );
  }
}

function checkCounter(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_DAD_COUNTER) {
    throw new Stable6Error('ERR_GEN_INPUT', `${name} must be an integer from 0 to 255, got ${value}`);
  }
}


/** F itself, for one counter, with no reserved-IID check: the raw 8-byte IID. */
export function stable6V1Iid(input: Stable6V1Input): Uint8Array {
  checkSecret(input.secret);
  checkCounter('dadCounter', input.dadCounter);
  // RFC 7217 §5 step 2: the IID is the least significant 64 bits of RID.
  return Uint8Array.from(new MessageTemplate(input).rid(input.secret, input.dadCounter).subarray(24, 32));
}

/**
 * The stable6-v1 address for the inputs, starting at `input.dadCounter` and moving to the
 * next counter while the IID is reserved or taken (spec: "treated like a DAD failure").
 */
const NO_OPTIONS: GenerateOptions = {};

/** The IID is copied out of the address only when someone asks for it. */
class Result implements Stable6V1Result {
  constructor(
    readonly address: Ipv6Address,
    private readonly bytes: Uint8Array,
    readonly dadCounter: number,
  ) {}

  get iid(): Uint8Array {
    return this.bytes.slice(8);
  }
}

export function generateStable6V1(input: Stable6V1Input, options: GenerateOptions = NO_OPTIONS): Stable6V1Result {
  checkSecret(input.secret);
  checkCounter('dadCounter', input.dadCounter);
  const maxDadCounter = options.maxDadCounter ?? MAX_DAD_COUNTER;
  checkCounter('maxDadCounter', maxDadCounter);
  const template = new MessageTemplate(input);
  for (let counter = input.dadCounter; counter <= maxDadCounter; counter++) {
    const rid = template.rid(input.secret, counter);
    // RFC 7217 §5 step 2: the IID is the least significant 64 bits of RID (bytes 24..32).
    if (isReservedIid(rid, 24)) continue;
    const bytes = new Uint8Array(16);
    input.prefix.address.copyTo(bytes, 0, 0, 8);
    for (let i = 0; i < 8; i++) bytes[8 + i] = rid[24 + i] ?? 0;
    const address = Ipv6Address.adopt(bytes);
    if (options.isTaken?.(address)) continue;
    return new Result(address, bytes, counter);
  }
  throw new Stable6Error(
    'ERR_GEN_EXHAUSTED',
    `no usable interface identifier for counters ${input.dadCounter} to ${maxDadCounter} on ${input.prefix.toString()}`,
    { details: { prefix: input.prefix.toString(), from: input.dadCounter, to: maxDadCounter } },
  );
}

/**
 * The automatic subnet ID for a routed prefix shorter than /64 (spec, "Subnet ID"):
 * v mod (2^(64-L) - 1) + 1, so never 0.
 */
export function autoSubnetId(secret: Uint8Array | KeyObject, prefix: Ipv6Prefix, netIface: string): bigint {
  checkSecret(secret);
  if (prefix.length >= 64) {
    throw new Stable6Error('ERR_PREFIX_LENGTH', `an automatic subnet ID needs a prefix shorter than /64, got ${prefix.toString()}`);
  }
  utf8Length('netIface', netIface, 1);
  const name = Buffer.from(netIface, 'utf8');
  const m = Buffer.concat([
    SUBNET_TAG,
    prefix.address.toBytes().subarray(0, 8),
    Uint8Array.of(prefix.length, name.length),
    name,
  ]);
  const v = hmacSha256(secret, m).readBigUInt64BE(24);
  return (v % ((1n << BigInt(64 - prefix.length)) - 1n)) + 1n;
}

/** How to pick the /64 inside a routed prefix shorter than /64. */
export type SubnetChoice = { kind: 'auto' } | { kind: 'fixed'; id: bigint };

/**
 * The /64 an address is generated in: the prefix itself when it is a /64, otherwise the
 * subnet chosen by `subnet` (RFC 3587 layout). A /64 with a subnet other than 0 is refused.
 */
export function resolveSubnet64(
  secret: Uint8Array | KeyObject,
  prefix: Ipv6Prefix,
  netIface: string,
  subnet: SubnetChoice | undefined,
): { prefix: Ipv6Prefix; subnetId: bigint } {
  if (prefix.length > 64) {
    throw new Stable6Error('ERR_PREFIX_LENGTH', `${prefix.toString()} is longer than /64; stable6-v1 makes addresses in a /64`);
  }
  if (prefix.length === 64) {
    if (subnet && !(subnet.kind === 'fixed' && subnet.id === 0n)) {
      throw new Stable6Error('ERR_SUBNET_ID_RANGE', `${prefix.toString()} is a /64: it has no subnet ID to choose`);
    }
    return { prefix, subnetId: 0n };
  }
  if (!subnet) {
    throw new Stable6Error('ERR_SUBNET_REQUIRED', `${prefix.toString()} is shorter than /64: give a subnet ID (a number or auto)`);
  }
  const subnetId = subnet.kind === 'auto' ? autoSubnetId(secret, prefix, netIface) : subnet.id;
  return { prefix: prefix.subnet64(subnetId), subnetId };
}
