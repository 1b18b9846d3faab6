/**
 * Win32 struct layouts as data: every field's C name, byte offset and fixed-width type.
 *
 * The numbers are x64 Windows (the only target: Node on Windows ARM64 has the same LLP64
 * layout, 32-bit Windows is not supported). They were measured with `offsetof`/`sizeof`
 * probes against the mingw-w64 headers, and test/codec/win32/layout-headers.test.ts turns this
 * very data into C `_Static_assert`s and compiles them against <netioapi.h> with
 * `x86_64-w64-mingw32-gcc`, so a wrong number here fails the test suite, not a Windows host.
 * Modelled on wireguard-windows `tunnel/winipcfg`, which asserts every size and offset.
 *
 * Win32 ULONG and DWORD are 32 bits on Windows (LLP64) but `long` is 64 bits on Linux (LP64):
 * the types here are fixed-width on purpose and never say "long".
 */

/** A fixed-width scalar, little-endian (x64 and ARM64 Windows). */
export type ScalarKind = 'u8' | 'u16' | 'u32' | 'i32' | 'u64' | 'i64';

export type FieldType =
  | ScalarKind
  /** Raw bytes kept as they are (an in6_addr, an opaque bitfield byte). */
  | { readonly bytes: number }
  | { readonly array: ScalarKind; readonly count: number }
  /** A nested struct; with `count`, a C array of them (the `Table[ANY_SIZE]` of a MIB table). */
  | { readonly struct: StructLayout; readonly count?: number };

export interface FieldLayout {
  readonly offset: number;
  readonly type: FieldType;
}

export interface StructLayout {
  /** The C type name the header declares (for the generated assertions). */
  readonly cType: string;
  readonly size: number;
  readonly align: number;
  /**
   * Fields by their C member name. A union lists each member we use at its own offset
   * (SOCKADDR_INET's `si_family` and `Ipv6` both sit at 0).
   */
  readonly fields: Readonly<Record<string, FieldLayout>>;
}

const SCALAR_SIZE: Readonly<Record<ScalarKind, number>> = { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8, i64: 8 };

export function scalarSize(kind: ScalarKind): number {
  return SCALAR_SIZE[kind];
}

export function fieldSize(type: FieldType): number {
  if (typeof type === 'string') return SCALAR_SIZE[type];
  if ('bytes' in type) return type.bytes;
  if ('array' in type) return SCALAR_SIZE[type.array] * type.count;
  return type.struct.size * (type.count ?? 1);
}

export function fieldAlign(type: FieldType): number {
  if (typeof type === 'string') return SCALAR_SIZE[type];
  if ('bytes' in type) return 1;
  if ('array' in type) return SCALAR_SIZE[type.array];
  return type.struct.align;
}

/** One assertion the C compiler will check: `offsetof(cType, path) == offset`, or a size. */
export interface LayoutFact {
  readonly cType: string;
  /** Member path (`Address.Ipv6.sin6_addr`), or undefined for `sizeof(cType)`. */
  readonly path?: string;
  readonly value: number;
}

/** Every size and every (nested) field offset of `layout`, for the header test. */
export function layoutFacts(layout: StructLayout): LayoutFact[] {
  const facts: LayoutFact[] = [{ cType: layout.cType, value: layout.size }];
  const walk = (inner: StructLayout, prefix: string, base: number): void => {
    for (const [name, field] of Object.entries(inner.fields)) {
      const path = prefix === '' ? name : `${prefix}.${name}`;
      facts.push({ cType: layout.cType, path, value: base + field.offset });
      if (typeof field.type === 'object' && 'struct' in field.type) {
        walk(field.type.struct, field.type.count === undefined ? path : `${path}[0]`, base + field.offset);
      }
    }
  };
  walk(layout, '', 0);
  return facts;
}

/** Little-endian accessors over a row inside a larger buffer. */
export class RowView {
  readonly view: DataView;
  readonly base: number;

  constructor(bytes: Uint8Array, base = 0) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.base = base;
  }

  at(offset: number): RowView {
    return new RowView(new Uint8Array(this.view.buffer, this.view.byteOffset, this.view.byteLength), this.base + offset);
  }

  u8(offset: number): number {
    return this.view.getUint8(this.base + offset);
  }
  u16(offset: number): number {
    return this.view.getUint16(this.base + offset, true);
  }
  u32(offset: number): number {
    return this.view.getUint32(this.base + offset, true);
  }
  i32(offset: number): number {
    return this.view.getInt32(this.base + offset, true);
  }
  u64(offset: number): bigint {
    return this.view.getBigUint64(this.base + offset, true);
  }
  i64(offset: number): bigint {
    return this.view.getBigInt64(this.base + offset, true);
  }
  bytes(offset: number, length: number): Uint8Array {
    const start = this.view.byteOffset + this.base + offset;
    return new Uint8Array(this.view.buffer.slice(start, start + length));
  }

  setU8(offset: number, value: number): void {
    this.view.setUint8(this.base + offset, value);
  }
  setU16(offset: number, value: number): void {
    this.view.setUint16(this.base + offset, value, true);
  }
  setU32(offset: number, value: number): void {
    this.view.setUint32(this.base + offset, value, true);
  }
  setI32(offset: number, value: number): void {
    this.view.setInt32(this.base + offset, value, true);
  }
  setU64(offset: number, value: bigint): void {
    this.view.setBigUint64(this.base + offset, value, true);
  }
  setI64(offset: number, value: bigint): void {
    this.view.setBigInt64(this.base + offset, value, true);
  }
  setBytes(offset: number, value: Uint8Array): void {
    new Uint8Array(this.view.buffer, this.view.byteOffset + this.base + offset, value.length).set(value);
  }
}
