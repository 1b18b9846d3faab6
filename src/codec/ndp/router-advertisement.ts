/**
 * ICMPv6 Router Advertisement (RFC 4861 §4.2) and the options stable6 uses, as pure
 * functions over bytes: strict when encoding, lenient when decoding (unknown options are
 * kept as raw bytes and written back unchanged). The checksum is left 0 on encode: on a raw
 * ICMPv6 socket the kernel fills it in (RFC 3542 §3.1).
 */
import { Ipv6Address } from '../../core/address.js';
import { Stable6Error } from '../../errors.js';

export const ICMPV6_ROUTER_SOLICITATION = 133;
export const ICMPV6_ROUTER_ADVERTISEMENT = 134;

export const ND_OPT_SOURCE_LINK_LAYER_ADDRESS = 1;
export const ND_OPT_PREFIX_INFORMATION = 3;
export const ND_OPT_MTU = 5;
export const ND_OPT_RDNSS = 25; // RFC 8106

export type NdOption =
  | { kind: 'source-link-layer-address'; address: Uint8Array }
  | {
      kind: 'prefix-information';
      prefixLength: number;
      /** L: the prefix is on-link (RFC 4861 §4.6.2). */
      onLink: boolean;
      /** A: usable for SLAAC (RFC 4862 §5.5.3). */
      autonomous: boolean;
      validLifetimeSec: number;
      preferredLifetimeSec: number;
      prefix: Ipv6Address;
    }
  | { kind: 'mtu'; mtu: number }
  | { kind: 'rdnss'; lifetimeSec: number; servers: Ipv6Address[] }
  | { kind: 'unknown'; type: number; bytes: Uint8Array };

export interface RouterAdvertisement {
  curHopLimit: number;
  managed: boolean;
  other: boolean;
  /** RFC 4191 default router preference: 'high' | 'medium' | 'low' ('reserved' decodes to medium per §2.2). */
  preference: 'high' | 'medium' | 'low';
  routerLifetimeSec: number;
  reachableTimeMs: number;
  retransTimerMs: number;
  options: NdOption[];
}

const PREFERENCE_BITS = { high: 0x08, medium: 0x00, low: 0x18 } as const;

function fail(problem: string): never {
  throw new Stable6Error('ERR_NDP_DECODE', `Router Advertisement: ${problem}`);
}

function u32(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Stable6Error('ERR_NDP_ENCODE', `Router Advertisement: ${name} must be 0 to 4294967295, got ${value}`);
  }
  return value;
}

function encodeOption(option: NdOption): Buffer {
  switch (option.kind) {
    case 'source-link-layer-address': {
      const size = Math.ceil((2 + option.address.length) / 8) * 8;
      const b = Buffer.alloc(size);
      b[0] = ND_OPT_SOURCE_LINK_LAYER_ADDRESS;
      b[1] = size / 8;
      b.set(option.address, 2);
      return b;
    }
    case 'prefix-information': {
      if (!Number.isInteger(option.prefixLength) || option.prefixLength < 0 || option.prefixLength > 128) {
        throw new Stable6Error('ERR_NDP_ENCODE', `Router Advertisement: prefix length must be 0 to 128, got ${option.prefixLength}`);
      }
      const b = Buffer.alloc(32);
      b[0] = ND_OPT_PREFIX_INFORMATION;
      b[1] = 4;
      b[2] = option.prefixLength;
      b[3] = (option.onLink ? 0x80 : 0) | (option.autonomous ? 0x40 : 0);
      b.writeUInt32BE(u32('valid lifetime', option.validLifetimeSec), 4);
      b.writeUInt32BE(u32('preferred lifetime', option.preferredLifetimeSec), 8);
      // 12..15 Reserved2
      b.set(option.prefix.toBytes(), 16);
      return b;
    }
    case 'mtu': {
      const b = Buffer.alloc(8);
      b[0] = ND_OPT_MTU;
      b[1] = 1;
      b.writeUInt32BE(u32('MTU', option.mtu), 4);
      return b;
    }
    case 'rdnss': {
      const b = Buffer.alloc(8 + 16 * option.servers.length);
      b[0] = ND_OPT_RDNSS;
      b[1] = 1 + 2 * option.servers.length;
      b.writeUInt32BE(u32('RDNSS lifetime', option.lifetimeSec), 4);
      option.servers.forEach((s, i) => b.set(s.toBytes(), 8 + 16 * i));
      return b;
    }
    case 'unknown': {
      if ((option.bytes.length + 2) % 8 !== 0 || option.bytes.length + 2 > 255 * 8) {
        throw new Stable6Error('ERR_NDP_ENCODE', `Router Advertisement: option ${option.type} body of ${option.bytes.length} bytes is not 8n-2`);
      }
      return Buffer.concat([Buffer.from([option.type, (option.bytes.length + 2) / 8]), option.bytes]);
    }
    default: {
      const never: never = option;
      throw new Stable6Error('ERR_NDP_ENCODE', `unknown option ${JSON.stringify(never)}`);
    }
  }
}

export function encodeRouterAdvertisement(ra: RouterAdvertisement): Buffer {
  const head = Buffer.alloc(16);
  head[0] = ICMPV6_ROUTER_ADVERTISEMENT;
  head[1] = 0; // code
  // 2..3 checksum: the kernel computes it
  if (!Number.isInteger(ra.curHopLimit) || ra.curHopLimit < 0 || ra.curHopLimit > 255) {
    throw new Stable6Error('ERR_NDP_ENCODE', `Router Advertisement: hop limit must be 0 to 255, got ${ra.curHopLimit}`);
  }
  head[4] = ra.curHopLimit;
  head[5] = (ra.managed ? 0x80 : 0) | (ra.other ? 0x40 : 0) | PREFERENCE_BITS[ra.preference];
  if (!Number.isInteger(ra.routerLifetimeSec) || ra.routerLifetimeSec < 0 || ra.routerLifetimeSec > 0xffff) {
    throw new Stable6Error('ERR_NDP_ENCODE', `Router Advertisement: router lifetime must be 0 to 65535, got ${ra.routerLifetimeSec}`);
  }
  head.writeUInt16BE(ra.routerLifetimeSec, 6);
  head.writeUInt32BE(u32('reachable time', ra.reachableTimeMs), 8);
  head.writeUInt32BE(u32('retrans timer', ra.retransTimerMs), 12);
  return Buffer.concat([head, ...ra.options.map(encodeOption)]);
}

function decodeOption(type: number, body: Buffer): NdOption {
  switch (type) {
    case ND_OPT_SOURCE_LINK_LAYER_ADDRESS: {
      // Ethernet: 6 bytes then padding; keep the bytes that are not trailing padding of an 8-byte unit.
      const length = body.length === 6 ? 6 : body.length;
      return { kind: 'source-link-layer-address', address: Uint8Array.from(body.subarray(0, length)) };
    }
    case ND_OPT_PREFIX_INFORMATION:
      if (body.length !== 30) return { kind: 'unknown', type, bytes: Uint8Array.from(body) };
      return {
        kind: 'prefix-information',
        prefixLength: body[0] as number,
        onLink: ((body[1] as number) & 0x80) !== 0,
        autonomous: ((body[1] as number) & 0x40) !== 0,
        validLifetimeSec: body.readUInt32BE(2),
        preferredLifetimeSec: body.readUInt32BE(6),
        prefix: Ipv6Address.fromBytes(body.subarray(14, 30)),
      };
    case ND_OPT_MTU:
      if (body.length !== 6) return { kind: 'unknown', type, bytes: Uint8Array.from(body) };
      return { kind: 'mtu', mtu: body.readUInt32BE(2) };
    case ND_OPT_RDNSS: {
      if (body.length < 22 || (body.length - 6) % 16 !== 0) return { kind: 'unknown', type, bytes: Uint8Array.from(body) };
      const servers: Ipv6Address[] = [];
      for (let at = 6; at < body.length; at += 16) servers.push(Ipv6Address.fromBytes(body.subarray(at, at + 16)));
      return { kind: 'rdnss', lifetimeSec: body.readUInt32BE(2), servers };
    }
    default:
      return { kind: 'unknown', type, bytes: Uint8Array.from(body) };
  }
}

/**
 * Decodes an ICMPv6 Router Advertisement (from the ICMPv6 header on). Known options whose
 * length does not match are kept as unknown rather than refused; a zero-length option or
 * one that runs past the end makes the packet invalid (RFC 4861 §4.6: silently discard).
 */
export function decodeRouterAdvertisement(bytes: Uint8Array): RouterAdvertisement {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 16) fail(`${b.length} bytes, at least 16 needed`);
  if (b[0] !== ICMPV6_ROUTER_ADVERTISEMENT) fail(`ICMPv6 type ${b[0]}, not 134`);
  if (b[1] !== 0) fail(`code ${b[1]}, not 0`);
  const flags = b[5] as number;
  const prf = flags & 0x18;
  const options: NdOption[] = [];
  for (let at = 16; at < b.length; ) {
    if (at + 2 > b.length) fail(`option header cut at byte ${at}`);
    const type = b[at] as number;
    const units = b[at + 1] as number;
    if (units === 0) fail(`option ${type} at byte ${at} has length 0`);
    if (at + units * 8 > b.length) fail(`option ${type} at byte ${at} runs past the end`);
    options.push(decodeOption(type, b.subarray(at + 2, at + units * 8)));
    at += units * 8;
  }
  return {
    curHopLimit: b[4] as number,
    managed: (flags & 0x80) !== 0,
    other: (flags & 0x40) !== 0,
    preference: prf === 0x08 ? 'high' : prf === 0x18 ? 'low' : 'medium',
    routerLifetimeSec: b.readUInt16BE(6),
    reachableTimeMs: b.readUInt32BE(8),
    retransTimerMs: b.readUInt32BE(12),
    options,
  };
}
