import ipaddr from 'ipaddr.js';
import { Stable6Error } from '../errors.js';

/**
 * An IPv6 address as an immutable value over its 16 bytes (network order).
 *
 * Parsing goes through ipaddr.js (every RFC 4291 text form, embedded IPv4 included);
 * formatting is our own RFC 5952 writer, because it runs on hot paths and is checked
 * against ipaddr.js's own RFC 5952 writer in the property tests.
 */
export class Ipv6Address {
  readonly #bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** From 16 bytes in network order; the bytes are copied. */
  static fromBytes(bytes: Uint8Array): Ipv6Address {
    if (bytes.length !== 16) {
      throw new Stable6Error('ERR_ADDRESS_INVALID', `an IPv6 address is 16 bytes, got ${bytes.length}`);
    }
    return new Ipv6Address(Uint8Array.from(bytes));
  }

  /**
   * Takes ownership of 16 bytes without copying them: for hot paths inside the library
   * that have just made the array and never touch it again. Not re-exported publicly.
   */
  static adopt(bytes: Uint8Array): Ipv6Address {
    if (bytes.length !== 16) {
      throw new Stable6Error('ERR_ADDRESS_INVALID', `an IPv6 address is 16 bytes, got ${bytes.length}`);
    }
    return new Ipv6Address(bytes);
  }

  /** From the upper and lower 64 bits. */
  static fromHalves(high: bigint, low: bigint): Ipv6Address {
    const bytes = new Uint8Array(16);
    const view = new DataView(bytes.buffer);
    view.setBigUint64(0, BigInt.asUintN(64, high));
    view.setBigUint64(8, BigInt.asUintN(64, low));
    return new Ipv6Address(bytes);
  }

  /** Parses any RFC 4291 text form. A zone (`%eth0`) is refused: zones belong to sockets, not to values. */
  static parse(text: string): Ipv6Address {
    if (typeof text !== 'string' || text.includes('%') || !ipaddr.IPv6.isValid(text)) {
      throw new Stable6Error('ERR_ADDRESS_INVALID', `not an IPv6 address: ${JSON.stringify(text)}`);
    }
    return new Ipv6Address(Uint8Array.from(ipaddr.IPv6.parse(text).toByteArray()));
  }

  /** A copy of the 16 bytes. */
  toBytes(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }

  /** Copies bytes [start, end) into `target` at `offset` (no intermediate copy). */
  copyTo(target: Uint8Array, offset = 0, start = 0, end = 16): void {
    // A plain loop: for 8 or 16 bytes it beats making a subarray view to hand to set().
    for (let i = start; i < end; i++) target[offset + i - start] = this.#bytes[i] as number;
  }

  /** Byte `i` (0..15). */
  byteAt(i: number): number {
    return this.#bytes[i] ?? 0;
  }

  get high64(): bigint {
    return readU64(this.#bytes, 0);
  }

  get low64(): bigint {
    return readU64(this.#bytes, 8);
  }

  isLinkLocal(): boolean {
    return this.#bytes[0] === 0xfe && ((this.#bytes[1] ?? 0) & 0xc0) === 0x80;
  }

  isMulticast(): boolean {
    return this.#bytes[0] === 0xff;
  }

  isUnspecified(): boolean {
    return this.#bytes.every((b) => b === 0);
  }

  equals(other: Ipv6Address): boolean {
    return Buffer.compare(this.#bytes, other.#bytes) === 0;
  }

  /** RFC 5952 text: lower case, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
  toString(): string {
    return formatIpv6(this.#bytes);
  }

  toJSON(): string {
    return this.toString();
  }
}

function readU64(bytes: Uint8Array, offset: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset);
}

/** RFC 5952 §4 text for 16 bytes. */
export function formatIpv6(bytes: Uint8Array): string {
  const groups = new Array<number>(8);
  for (let i = 0; i < 8; i++) groups[i] = ((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0);
  // §4.2.2/4.2.3: the longest run of zero groups, the first one on a tie, never a single group.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}
