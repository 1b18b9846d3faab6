/**
 * rtnetlink messages: nlmsghdr plus a typed body, pure functions over bytes.
 *
 * A datagram holds one or more messages, each aligned to 4 bytes. The body is chosen by
 * the header's type; a message whose type stable6 does not know, or whose fixed header is
 * shorter than the struct, decodes to `{ kind: 'raw' }` and encodes back unchanged.
 * Layouts are those of the Linux uapi headers; the golden tests hold bytes captured from
 * a real kernel (test/codec/netlink/goldens.ts).
 */
import { Stable6Error } from '../../errors.js';
import {
  align4,
  attributeSet,
  bytes,
  checkAttributes,
  cString,
  fixedBytes,
  HOST_LITTLE_ENDIAN,
  readU16,
  readU32,
  writeU16,
  writeU32,
  u32,
  u32Struct,
  u8,
  view,
  type ValueCodec,
} from './attributes.js';
import * as C from './constants.js';

export interface NetlinkHeader {
  type: number;
  flags: number;
  seq: number;
  /** The sender's port id (0 = the kernel). */
  pid: number;
}

// ---------------------------------------------------------------- attributes per family

export const linkAttributes = attributeSet({
  address: [C.IFLA_ADDRESS, bytes],
  broadcast: [C.IFLA_BROADCAST, bytes],
  ifname: [C.IFLA_IFNAME, cString],
  mtu: [C.IFLA_MTU, u32],
  operstate: [C.IFLA_OPERSTATE, u8],
  permAddress: [C.IFLA_PERM_ADDRESS, bytes],
});
export type LinkAttribute = ReturnType<typeof linkAttributes.decode>[number];

/** struct ifa_cacheinfo: lifetimes in seconds; the stamps in hundredths of a second since boot. */
export interface AddressCacheInfo {
  preferredSec: number;
  validSec: number;
  createdCs: number;
  updatedCs: number;
}

export const addressAttributes = attributeSet({
  address: [C.IFA_ADDRESS, bytes],
  local: [C.IFA_LOCAL, bytes],
  label: [C.IFA_LABEL, cString],
  cacheinfo: [C.IFA_CACHEINFO, u32Struct(['preferredSec', 'validSec', 'createdCs', 'updatedCs'] as const)],
  flags: [C.IFA_FLAGS, u32],
  proto: [C.IFA_PROTO, u8],
});
export type AddressAttribute = ReturnType<typeof addressAttributes.decode>[number];

/** struct rta_cacheinfo (eight u32); `expires` counts USER_HZ ticks and is signed in the kernel. */
export interface RouteCacheInfo {
  clntref: number;
  lastuse: number;
  expires: number;
  error: number;
  used: number;
  id: number;
  ts: number;
  tsage: number;
}

/** One struct rtnexthop of RTA_MULTIPATH, with its own attributes (RTA_GATEWAY...). */
export interface NextHop {
  flags: number;
  hops: number;
  ifindex: number;
  attributes: RouteAttribute[];
}

const multipath: ValueCodec<NextHop[]> = {
  decode(b) {
    const hops: NextHop[] = [];
    const dv = view(b);
    let offset = 0;
    while (offset + 8 <= b.length) {
      const length = dv.getUint16(offset, HOST_LITTLE_ENDIAN);
      if (length < 8 || offset + length > b.length) return undefined;
      let attributes: RouteAttribute[];
      try {
        attributes = routeAttributes.decode(b.subarray(offset + 8, offset + length));
      } catch {
        return undefined;
      }
      hops.push({ flags: b[offset + 2] ?? 0, hops: b[offset + 3] ?? 0, ifindex: dv.getInt32(offset + 4, HOST_LITTLE_ENDIAN), attributes });
      offset += align4(length);
    }
    return offset === b.length ? hops : undefined;
  },
  encode(hops) {
    const parts = hops.map((hop) => {
      const attrs = routeAttributes.encode(hop.attributes);
      const out = new Uint8Array(8 + attrs.length);
      const dv = view(out);
      dv.setUint16(0, out.length, HOST_LITTLE_ENDIAN);
      out[2] = hop.flags;
      out[3] = hop.hops;
      dv.setInt32(4, hop.ifindex, HOST_LITTLE_ENDIAN);
      out.set(attrs, 8);
      return out;
    });
    return concatBytes(parts);
  },
};

export const routeAttributes = attributeSet({
  dst: [C.RTA_DST, bytes],
  src: [C.RTA_SRC, bytes],
  iif: [C.RTA_IIF, u32],
  oif: [C.RTA_OIF, u32],
  gateway: [C.RTA_GATEWAY, bytes],
  priority: [C.RTA_PRIORITY, u32],
  prefsrc: [C.RTA_PREFSRC, bytes],
  multipath: [C.RTA_MULTIPATH, multipath],
  cacheinfo: [C.RTA_CACHEINFO, u32Struct(['clntref', 'lastuse', 'expires', 'error', 'used', 'id', 'ts', 'tsage'] as const)],
  table: [C.RTA_TABLE, u32],
  pref: [C.RTA_PREF, u8],
  expires: [C.RTA_EXPIRES, u32],
});
export type RouteAttribute = ReturnType<typeof routeAttributes.decode>[number];

export const prefixAttributes = attributeSet({
  address: [C.PREFIX_ADDRESS, fixedBytes(16)],
  /** struct prefix_cacheinfo: seconds. */
  cacheinfo: [C.PREFIX_CACHEINFO, u32Struct(['preferredSec', 'validSec'] as const)],
});
export type PrefixAttribute = ReturnType<typeof prefixAttributes.decode>[number];

export const ndUserOptionAttributes = attributeSet({
  /** The router's (link-local) source address. */
  source: [C.NDUSEROPT_SRCADDR, fixedBytes(16)],
});
export type NdUserOptionAttribute = ReturnType<typeof ndUserOptionAttributes.decode>[number];

export const errorAttributes = attributeSet({
  /** The kernel's extended ACK text (NETLINK_EXT_ACK). */
  message: [C.NLMSGERR_ATTR_MSG, cString],
  /** Byte offset, in the request, of the attribute the kernel refused. */
  offset: [C.NLMSGERR_ATTR_OFFS, u32],
});
export type ErrorAttribute = ReturnType<typeof errorAttributes.decode>[number];

// ---------------------------------------------------------------- bodies

/** struct ifinfomsg (16 bytes). */
export interface LinkBody {
  kind: 'link';
  family: number;
  /** ARPHRD_* (1 = Ethernet, 772 = loopback). */
  linkType: number;
  index: number;
  flags: number;
  change: number;
  attributes: LinkAttribute[];
}

/** struct ifaddrmsg (8 bytes). `flags` holds only the low 8 IFA_F_* bits; IFA_FLAGS has all. */
export interface AddressBody {
  kind: 'address';
  family: number;
  prefixLength: number;
  flags: number;
  scope: number;
  index: number;
  attributes: AddressAttribute[];
}

/** struct rtmsg (12 bytes). */
export interface RouteBody {
  kind: 'route';
  family: number;
  dstLength: number;
  srcLength: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  routeType: number;
  flags: number;
  attributes: RouteAttribute[];
}

/** struct prefixmsg (12 bytes), sent for each Prefix Information Option of an accepted RA. */
export interface PrefixBody {
  kind: 'prefix';
  family: number;
  index: number;
  /** The ND option type (3). */
  optionType: number;
  /** The PIO's prefix length, as received (the kernel passes odd ones through). */
  prefixLength: number;
  /** The option's flag byte: on-link 0x80, autonomous 0x40 (RFC 4861 §4.6.2). */
  flags: number;
  attributes: PrefixAttribute[];
}

/** struct nduseroptmsg (16 bytes), then the ND options, then attributes. */
export interface NdUserOptionBody {
  kind: 'nd-user-option';
  family: number;
  index: number;
  icmpType: number;
  icmpCode: number;
  /** The ND options as on the wire (each type, length in 8-octet units, body). */
  options: Uint8Array;
  attributes: NdUserOptionAttribute[];
}

/** The header of the request an error or ACK answers; `length` is the request's own. */
export interface EchoedHeader extends NetlinkHeader {
  length: number;
}

/** struct nlmsgerr: error 0 is an ACK; otherwise a negative errno. */
export interface ErrorBody {
  kind: 'error';
  error: number;
  request: EchoedHeader;
  /** The request's payload, unless the ACK is capped (NLM_F_CAPPED). */
  requestPayload: Uint8Array;
  /** Extended ACK attributes; present only with NLM_F_ACK_TLVS in the header. */
  attributes: ErrorAttribute[];
}

/** The end of a dump: an int (0, or a negative errno), then extended ACK attributes if any. */
export interface DoneBody {
  kind: 'done';
  status: number;
  rest: Uint8Array;
}

export interface RawBody {
  kind: 'raw';
  bytes: Uint8Array;
}

export type NetlinkBody = LinkBody | AddressBody | RouteBody | PrefixBody | NdUserOptionBody | ErrorBody | DoneBody | RawBody;

export interface NetlinkMessage<B extends NetlinkBody = NetlinkBody> {
  header: NetlinkHeader;
  body: B;
}

/** The body kind a message type carries. */
export function bodyKindOf(type: number): NetlinkBody['kind'] {
  if (type >= C.RTM_NEWLINK && type <= C.RTM_SETLINK) return 'link';
  if (type >= C.RTM_NEWADDR && type <= C.RTM_GETADDR) return 'address';
  if (type >= C.RTM_NEWROUTE && type <= C.RTM_GETROUTE) return 'route';
  if (type === C.RTM_NEWPREFIX) return 'prefix';
  if (type === C.RTM_NEWNDUSEROPT) return 'nd-user-option';
  if (type === C.NLMSG_ERROR) return 'error';
  if (type === C.NLMSG_DONE) return 'done';
  return 'raw';
}

// ---------------------------------------------------------------- decode

function decodeError(message: string, details: Record<string, unknown> = {}): Stable6Error {
  return new Stable6Error('ERR_NETLINK_DECODE', message, { details });
}

const FIXED_SIZE: Record<NetlinkBody['kind'], number> = {
  link: 16,
  address: 8,
  route: 12,
  prefix: 12,
  'nd-user-option': 16,
  error: 20,
  done: 4,
  raw: 0,
};

function decodeBody(header: NetlinkHeader, p: Uint8Array): NetlinkBody {
  const kind = bodyKindOf(header.type);
  if (p.length < FIXED_SIZE[kind]) return { kind: 'raw', bytes: Uint8Array.from(p) };
  const dv = view(p);
  const le = HOST_LITTLE_ENDIAN;
  switch (kind) {
    case 'link':
      return {
        kind,
        family: p[0] ?? 0,
        linkType: dv.getUint16(2, le),
        index: dv.getInt32(4, le),
        flags: dv.getUint32(8, le),
        change: dv.getUint32(12, le),
        attributes: linkAttributes.decode(p.subarray(16)),
      };
    case 'address':
      return {
        kind,
        family: p[0] ?? 0,
        prefixLength: p[1] ?? 0,
        flags: p[2] ?? 0,
        scope: p[3] ?? 0,
        index: dv.getUint32(4, le),
        attributes: addressAttributes.decode(p.subarray(8)),
      };
    case 'route':
      return {
        kind,
        family: p[0] ?? 0,
        dstLength: p[1] ?? 0,
        srcLength: p[2] ?? 0,
        tos: p[3] ?? 0,
        table: p[4] ?? 0,
        protocol: p[5] ?? 0,
        scope: p[6] ?? 0,
        routeType: p[7] ?? 0,
        flags: dv.getUint32(8, le),
        attributes: routeAttributes.decode(p.subarray(12)),
      };
    case 'prefix':
      return {
        kind,
        family: p[0] ?? 0,
        index: dv.getInt32(4, le),
        optionType: p[8] ?? 0,
        prefixLength: p[9] ?? 0,
        flags: p[10] ?? 0,
        attributes: prefixAttributes.decode(p.subarray(12)),
      };
    case 'nd-user-option': {
      const optionsLength = dv.getUint16(2, le);
      const end = 16 + optionsLength;
      if (end > p.length) return { kind: 'raw', bytes: Uint8Array.from(p) };
      return {
        kind,
        family: p[0] ?? 0,
        index: dv.getInt32(4, le),
        icmpType: p[8] ?? 0,
        icmpCode: p[9] ?? 0,
        options: Uint8Array.from(p.subarray(16, end)),
        attributes: ndUserOptionAttributes.decode(p.subarray(align4(end))),
      };
    }
    case 'error': {
      const request: EchoedHeader = {
        length: dv.getUint32(4, le),
        type: dv.getUint16(8, le),
        flags: dv.getUint16(10, le),
        seq: dv.getUint32(12, le),
        pid: dv.getUint32(16, le),
      };
      const capped = (header.flags & C.NLM_F_CAPPED) !== 0;
      const tlvs = (header.flags & C.NLM_F_ACK_TLVS) !== 0;
      let payloadEnd = 20;
      if (!capped) payloadEnd = tlvs ? Math.min(p.length, 20 + Math.max(0, request.length - C.NLMSG_HDRLEN)) : p.length;
      return {
        kind,
        error: dv.getInt32(0, le),
        request,
        requestPayload: Uint8Array.from(p.subarray(20, payloadEnd)),
        attributes: tlvs ? errorAttributes.decode(p.subarray(Math.min(p.length, align4(payloadEnd)))) : [],
      };
    }
    case 'done':
      return { kind, status: dv.getInt32(0, le), rest: Uint8Array.from(p.subarray(4)) };
    case 'raw':
      return { kind, bytes: Uint8Array.from(p) };
  }
}

/** Decodes every message in a datagram. Throws ERR_NETLINK_DECODE on a broken header or attribute chain. */
export function decodeNetlinkMessages(datagram: Uint8Array): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  scanNetlinkMessages(datagram, (type, flags, seq, pid, start, end) => {
    const header: NetlinkHeader = { type, flags, seq, pid };
    out.push({ header, body: decodeBody(header, datagram.subarray(start, end)) });
  });
  return out;
}

/**
 * Called for each message of a datagram with its header fields and where its payload lies
 * (`datagram[start, end)`), without decoding or allocating anything.
 */
export type NetlinkMessageVisitor = (type: number, flags: number, seq: number, pid: number, start: number, end: number) => void;

/**
 * Walks the messages of a datagram with the same header checks, and the same errors, as
 * decodeNetlinkMessages, but decodes no body: for hot paths that look at the headers first
 * (which request a reply answers) and decode the payload only when, and as far as, needed.
 */
export function scanNetlinkMessages(datagram: Uint8Array, visit: NetlinkMessageVisitor): void {
  const total = datagram.length;
  let offset = 0;
  while (offset < total) {
    if (total - offset < C.NLMSG_HDRLEN) {
      throw decodeError(`${total - offset} bytes left at ${offset}, less than a netlink header`, { offset });
    }
    const length = readU32(datagram, offset);
    if (length < C.NLMSG_HDRLEN || offset + length > total) {
      throw decodeError(`message at ${offset} claims ${length} bytes, ${total - offset} left`, { offset, length });
    }
    visit(readU16(datagram, offset + 4), readU16(datagram, offset + 6), readU32(datagram, offset + 8), readU32(datagram, offset + 12), offset + C.NLMSG_HDRLEN, offset + length);
    offset += Math.min(align4(length), total - offset);
  }
}

/**
 * Throws exactly when decoding this message's payload would (ERR_NETLINK_DECODE: a broken
 * attribute chain), without building anything: lets a reader keep a message's bytes to decode
 * later and still refuse a bad datagram at once.
 */
export function checkNetlinkBody(type: number, flags: number, datagram: Uint8Array, start: number, end: number): void {
  const kind = bodyKindOf(type);
  const length = end - start;
  if (length < FIXED_SIZE[kind]) return; // decodes to a raw body
  switch (kind) {
    case 'link':
    case 'address':
    case 'route':
    case 'prefix':
      checkAttributes(datagram, start + FIXED_SIZE[kind], end);
      return;
    case 'nd-user-option': {
      const optionsEnd = 16 + readU16(datagram, start + 2);
      if (optionsEnd <= length) checkAttributes(datagram, start + Math.min(length, align4(optionsEnd)), end);
      return;
    }
    case 'error': {
      if ((flags & C.NLM_F_ACK_TLVS) === 0) return;
      const requestLength = readU32(datagram, start + 4);
      const payloadEnd = (flags & C.NLM_F_CAPPED) !== 0 ? 20 : Math.min(length, 20 + Math.max(0, requestLength - C.NLMSG_HDRLEN));
      checkAttributes(datagram, start + Math.min(length, align4(payloadEnd)), end);
      return;
    }
    case 'done':
    case 'raw':
      return;
  }
}

/** Decodes a buffer that must hold exactly one message. */
export function decodeNetlinkMessage(bytes: Uint8Array): NetlinkMessage {
  const messages = decodeNetlinkMessages(bytes);
  const [only] = messages;
  if (messages.length !== 1 || only === undefined) throw decodeError(`expected one netlink message, got ${messages.length}`);
  return only;
}

// ---------------------------------------------------------------- encode

function encodeError(message: string): Stable6Error {
  return new Stable6Error('ERR_NETLINK_ENCODE', message);
}

function fixedPart(body: NetlinkBody, headerFlags: number): Uint8Array {
  const le = HOST_LITTLE_ENDIAN;
  const out = new Uint8Array(FIXED_SIZE[body.kind]);
  const dv = view(out);
  switch (body.kind) {
    case 'link':
      out[0] = body.family;
      dv.setUint16(2, body.linkType, le);
      dv.setInt32(4, body.index, le);
      dv.setUint32(8, body.flags, le);
      dv.setUint32(12, body.change, le);
      return out;
    case 'address':
      out.set([body.family, body.prefixLength, body.flags, body.scope]);
      dv.setUint32(4, body.index, le);
      return out;
    case 'route':
      out.set([body.family, body.dstLength, body.srcLength, body.tos, body.table, body.protocol, body.scope, body.routeType]);
      dv.setUint32(8, body.flags, le);
      return out;
    case 'prefix':
      out[0] = body.family;
      dv.setInt32(4, body.index, le);
      out.set([body.optionType, body.prefixLength, body.flags], 8);
      return out;
    case 'nd-user-option':
      out[0] = body.family;
      if (body.options.length > 0xffff) throw encodeError('ND options longer than 65535 bytes');
      dv.setUint16(2, body.options.length, le);
      dv.setInt32(4, body.index, le);
      out[8] = body.icmpType;
      out[9] = body.icmpCode;
      return out;
    case 'error':
      if ((body.attributes.length > 0) !== ((headerFlags & C.NLM_F_ACK_TLVS) !== 0) && body.attributes.length > 0) {
        throw encodeError('extended ACK attributes need NLM_F_ACK_TLVS in the header');
      }
      if ((headerFlags & C.NLM_F_CAPPED) !== 0 && body.requestPayload.length > 0) {
        throw encodeError('a capped ACK carries no request payload');
      }
      dv.setInt32(0, body.error, le);
      dv.setUint32(4, body.request.length, le);
      dv.setUint16(8, body.request.type, le);
      dv.setUint16(10, body.request.flags, le);
      dv.setUint32(12, body.request.seq, le);
      dv.setUint32(16, body.request.pid, le);
      return out;
    case 'done':
      dv.setInt32(0, body.status, le);
      return out;
    case 'raw':
      return out;
  }
}

/** Everything after the fixed part, already padded where the kernel pads. */
function tailParts(body: NetlinkBody): Uint8Array[] {
  switch (body.kind) {
    case 'link':
      return [linkAttributes.encode(body.attributes)];
    case 'address':
      return [addressAttributes.encode(body.attributes)];
    case 'route':
      return [routeAttributes.encode(body.attributes)];
    case 'prefix':
      return [prefixAttributes.encode(body.attributes)];
    case 'nd-user-option':
      return [padded(body.options), ndUserOptionAttributes.encode(body.attributes)];
    case 'error':
      return [body.attributes.length > 0 ? padded(body.requestPayload) : body.requestPayload, errorAttributes.encode(body.attributes)];
    case 'done':
      return [body.rest];
    case 'raw':
      return [body.bytes];
  }
}

function padded(b: Uint8Array): Uint8Array {
  if (b.length % 4 === 0) return b;
  const out = new Uint8Array(align4(b.length));
  out.set(b);
  return out;
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The fixed part and the rest of one message, checked, ready to write. */
function messageParts(message: NetlinkMessage): Uint8Array[] {
  const { header, body } = message;
  const expected = bodyKindOf(header.type);
  if (body.kind !== expected && body.kind !== 'raw') {
    throw encodeError(`message type ${header.type} carries a ${expected} body, not ${body.kind}`);
  }
  // A raw body (a payload encoded ahead, as addAddresses does) is written as it is.
  if (body.kind === 'raw') return [body.bytes];
  return [fixedPart(body, header.flags), ...tailParts(body)];
}

/** Writes the header and parts at `offset`; returns the message's length (unpadded). */
function writeMessage(header: NetlinkHeader, parts: readonly Uint8Array[], out: Uint8Array, offset: number): number {
  const length = partsLength(parts);
  writeU32(out, offset, length);
  writeU16(out, offset + 4, header.type);
  writeU16(out, offset + 6, header.flags);
  writeU32(out, offset + 8, header.seq >>> 0);
  writeU32(out, offset + 12, header.pid >>> 0);
  let at = offset + C.NLMSG_HDRLEN;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return length;
}

function partsLength(parts: readonly Uint8Array[]): number {
  let length = C.NLMSG_HDRLEN;
  for (const part of parts) length += part.length;
  return length;
}

/** Encodes one message; nlmsg_len is computed. The body kind must be the one the type carries. */
export function encodeNetlinkMessage(message: NetlinkMessage): Uint8Array {
  const parts = messageParts(message);
  const out = new Uint8Array(partsLength(parts));
  writeMessage(message.header, parts, out, 0);
  return out;
}

/** Encodes several messages into one datagram, each padded to 4 bytes (written in place, no per-message copy). */
export function encodeNetlinkMessages(messages: readonly NetlinkMessage[]): Uint8Array {
  const all = messages.map(messageParts);
  let total = 0;
  for (const parts of all) total += align4(partsLength(parts));
  const out = new Uint8Array(total);
  let offset = 0;
  messages.forEach((m, i) => {
    offset += align4(writeMessage(m.header, all[i] ?? [], out, offset));
  });
  return out;
}
