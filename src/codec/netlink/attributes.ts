/**
 * Netlink attributes (struct nlattr: u16 length, u16 type, value, padded to 4 bytes).
 *
 * Each message family has a table mapping the attribute types stable6 understands to a
 * kind and a value codec. Decoding is lenient: an attribute of an unknown type, or a known
 * type whose value has the wrong length, is kept as `{ kind: 'unknown', type, bytes }`
 * (type with its NLA_F_NESTED / NLA_F_NET_BYTEORDER bits) and written back unchanged.
 */
import { Stable6Error } from '../../errors.js';
import { NLA_HDRLEN } from './constants.js';

/** Netlink is host byte order. stable6 targets little- and big-endian hosts alike. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface UnknownAttribute {
  kind: 'unknown';
  type: number;
  bytes: Uint8Array;
}

export interface ValueCodec<V> {
  /** undefined when the bytes do not fit this value (the attribute is then kept as unknown). */
  decode(bytes: Uint8Array): V | undefined;
  encode(value: V): Uint8Array;
}

export const align4 = (n: number): number => (n + 3) & ~3;

export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function encodeError(message: string): Stable6Error {
  return new Stable6Error('ERR_NETLINK_ENCODE', message);
}

function checkUint(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw encodeError(`${what} out of range: ${value}`);
}

/** A host-order u32 without a DataView: decoding a big dump reads hundreds of thousands of these. */
export const readU32: (b: Uint8Array, offset: number) => number = HOST_LITTLE_ENDIAN
  ? (b, o) => ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0
  : (b, o) => (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;

/** Writes a host-order u32 (already range-checked) without a DataView. */
export const writeU32: (b: Uint8Array, offset: number, value: number) => void = HOST_LITTLE_ENDIAN
  ? (b, o, v) => {
      b[o] = v & 0xff;
      b[o + 1] = (v >>> 8) & 0xff;
      b[o + 2] = (v >>> 16) & 0xff;
      b[o + 3] = (v >>> 24) & 0xff;
    }
  : (b, o, v) => {
      b[o] = (v >>> 24) & 0xff;
      b[o + 1] = (v >>> 16) & 0xff;
      b[o + 2] = (v >>> 8) & 0xff;
      b[o + 3] = v & 0xff;
    };

/** Writes a host-order u16, likewise. */
export const writeU16: (b: Uint8Array, offset: number, value: number) => void = HOST_LITTLE_ENDIAN
  ? (b, o, v) => {
      b[o] = v & 0xff;
      b[o + 1] = (v >>> 8) & 0xff;
    }
  : (b, o, v) => {
      b[o] = (v >>> 8) & 0xff;
      b[o + 1] = v & 0xff;
    };

/** A host-order u16, likewise. */
export const readU16: (b: Uint8Array, offset: number) => number = HOST_LITTLE_ENDIAN
  ? (b, o) => (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8)
  : (b, o) => ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);

function attributeLengthError(type: number, offset: number, length: number, left: number): Stable6Error {
  return new Stable6Error('ERR_NETLINK_DECODE', `attribute ${type} at ${offset} has length ${length}, ${left} bytes left`, {
    details: { offset, type, length },
  });
}

function strayBytesError(count: number): Stable6Error {
  return new Stable6Error('ERR_NETLINK_DECODE', `${count} stray bytes after the attributes`);
}

/**
 * Checks the attribute chain in `bytes[start, end)` the way AttributeSet.decode does, throwing
 * the same ERR_NETLINK_DECODE (offsets relative to `start`), without allocating.
 */
export function checkAttributes(bytes: Uint8Array, start: number, end: number): void {
  let offset = start;
  while (offset + NLA_HDRLEN <= end) {
    const length = readU16(bytes, offset);
    if (length < NLA_HDRLEN || offset + length > end) throw attributeLengthError(readU16(bytes, offset + 2), offset - start, length, end - offset);
    offset += align4(length);
  }
  for (let i = offset; i < end; i++) if (bytes[i] !== 0) throw strayBytesError(end - offset);
}

export const u8: ValueCodec<number> = {
  decode: (b) => (b.length === 1 ? (b[0] ?? 0) : undefined),
  encode: (v) => {
    checkUint(v, 0xff, 'u8 attribute');
    return Uint8Array.of(v);
  },
};

export const u32: ValueCodec<number> = {
  decode: (b) => (b.length === 4 ? readU32(b, 0) : undefined),
  encode: (v) => {
    checkUint(v, 0xffffffff, 'u32 attribute');
    const out = new Uint8Array(4);
    writeU32(out, 0, v);
    return out;
  },
};

/** Any length, copied. */
export const bytes: ValueCodec<Uint8Array> = {
  decode: (b) => Uint8Array.from(b),
  encode: (v) => Uint8Array.from(v),
};

/** Exactly `n` bytes (an IPv6 address is 16). */
export function fixedBytes(n: number): ValueCodec<Uint8Array> {
  return {
    decode: (b) => (b.length === n ? Uint8Array.from(b) : undefined),
    encode: (v) => {
      if (v.length !== n) throw encodeError(`attribute value must be ${n} bytes, got ${v.length}`);
      return Uint8Array.from(v);
    },
  };
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** A NUL-terminated string (nla_put_string). Bytes without the NUL, or not UTF-8, stay unknown. */
export const cString: ValueCodec<string> = {
  decode: (b) => {
    if (b.length === 0 || b[b.length - 1] !== 0) return undefined;
    const body = b.subarray(0, b.length - 1);
    if (body.includes(0)) return undefined;
    try {
      return utf8Decoder.decode(body);
    } catch {
      return undefined;
    }
  },
  encode: (v) => {
    if (v.includes('\0')) throw encodeError('a netlink string cannot contain NUL');
    const body = utf8Encoder.encode(v);
    const out = new Uint8Array(body.length + 1);
    out.set(body);
    return out;
  },
};

/** A struct of `count` u32 fields in host order, named in order. */
export function u32Struct<K extends string>(names: readonly K[]): ValueCodec<Record<K, number>> {
  const size = names.length * 4;
  return {
    decode: (b) => {
      if (b.length !== size) return undefined;
      const out = {} as Record<K, number>;
      names.forEach((name, i) => (out[name] = readU32(b, i * 4)));
      return out;
    },
    encode: (v) => {
      const out = new Uint8Array(size);
      for (let i = 0; i < names.length; i++) {
        const name = names[i] as K;
        checkUint(v[name], 0xffffffff, name);
        writeU32(out, i * 4, v[name]);
      }
      return out;
    },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AttributeSpec = Record<string, readonly [type: number, codec: ValueCodec<any>]>;

/** The typed attributes of a spec, plus the unknown ones. */
export type AttributeOf<S extends AttributeSpec> =
  | { [K in keyof S & string]: { kind: K; value: S[K][1] extends ValueCodec<infer V> ? V : never } }[keyof S & string]
  | UnknownAttribute;

export interface AttributeSet<S extends AttributeSpec> {
  decode(bytes: Uint8Array): AttributeOf<S>[];
  encodedLength(attributes: readonly AttributeOf<S>[]): number;
  /** Writes at `offset` into `out`, returns the offset after the last (padded) attribute. */
  encodeInto(attributes: readonly AttributeOf<S>[], out: Uint8Array, offset: number): number;
  encode(attributes: readonly AttributeOf<S>[]): Uint8Array;
  /** The type numbers this set understands (an unknown attribute must use another). */
  readonly knownTypes: ReadonlySet<number>;
}

export function attributeSet<S extends AttributeSpec>(spec: S): AttributeSet<S> {
  const byType = new Map<number, { kind: string; codec: ValueCodec<unknown> }>();
  for (const [kind, [type, codec]] of Object.entries(spec)) byType.set(type, { kind, codec });

  const valueBytes = (attribute: AttributeOf<S>): [number, Uint8Array] => {
    if (attribute.kind === 'unknown') {
      const unknown = attribute as UnknownAttribute;
      checkUint(unknown.type, 0xffff, 'attribute type');
      return [unknown.type, unknown.bytes];
    }
    const entry = spec[attribute.kind];
    if (entry === undefined) throw encodeError(`no attribute kind ${attribute.kind} here`);
    return [entry[0], entry[1].encode((attribute as { value: unknown }).value)];
  };

  /** Writes attributes whose values are already encoded; returns the offset after the last (padded) one. */
  const writeEncoded = (values: readonly [number, Uint8Array][], out: Uint8Array, offset: number): number => {
    for (const [type, value] of values) {
      const length = NLA_HDRLEN + value.length;
      if (length > 0xffff) throw encodeError(`attribute ${type} is ${length} bytes, more than 65535`);
      writeU16(out, offset, length);
      writeU16(out, offset + 2, type);
      out.set(value, offset + NLA_HDRLEN);
      offset += align4(length);
    }
    return offset;
  };

  const encodeInto = (attributes: readonly AttributeOf<S>[], out: Uint8Array, offset: number): number => writeEncoded(attributes.map(valueBytes), out, offset);

  const encodedLength = (attributes: readonly AttributeOf<S>[]): number =>
    attributes.reduce((sum, a) => sum + align4(NLA_HDRLEN + valueBytes(a)[1].length), 0);

  return {
    knownTypes: new Set(byType.keys()),
    decode(buffer: Uint8Array): AttributeOf<S>[] {
      const out: AttributeOf<S>[] = [];
      const dv = view(buffer);
      let offset = 0;
      while (offset + NLA_HDRLEN <= buffer.length) {
        const length = dv.getUint16(offset, HOST_LITTLE_ENDIAN);
        const type = dv.getUint16(offset + 2, HOST_LITTLE_ENDIAN);
        if (length < NLA_HDRLEN || offset + length > buffer.length) throw attributeLengthError(type, offset, length, buffer.length - offset);
        const value = buffer.subarray(offset + NLA_HDRLEN, offset + length);
        const entry = byType.get(type);
        const decoded = entry?.codec.decode(value);
        out.push(
          (entry !== undefined && decoded !== undefined
            ? { kind: entry.kind, value: decoded }
            : { kind: 'unknown', type, bytes: Uint8Array.from(value) }) as AttributeOf<S>,
        );
        offset += align4(length);
      }
      // Fewer than 4 bytes left can only be padding the sender added; anything else is malformed.
      if (offset < buffer.length && buffer.subarray(offset).some((b) => b !== 0)) throw strayBytesError(buffer.length - offset);
      return out;
    },
    encodedLength,
    encodeInto,
    encode(attributes) {
      // Each value encoded once (encodedLength then encodeInto would encode each twice).
      const values = attributes.map(valueBytes);
      let total = 0;
      for (const [, value] of values) total += align4(NLA_HDRLEN + value.length);
      const out = new Uint8Array(total);
      writeEncoded(values, out, 0);
      return out;
    },
  };
}

/** The value of the first attribute of `kind`, or undefined. */
export function attributeValue<A extends { kind: string }, K extends Exclude<A['kind'], 'unknown'>>(
  attributes: readonly A[],
  kind: K,
): (Extract<A, { kind: K }> extends { value: infer V } ? V : never) | undefined {
  for (const attribute of attributes) {
    if (attribute.kind === kind) return (attribute as unknown as { value: never }).value;
  }
  return undefined;
}
