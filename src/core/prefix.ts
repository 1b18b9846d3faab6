import { Ipv6Address } from './address.js';
import { Stable6Error } from '../errors.js';

const ALL_ONES_64 = (1n << 64n) - 1n;

/** The mask of the first `length` bits of a 64-bit half (0..64). */
function halfMask(length: number): bigint {
  if (length <= 0) return 0n;
  if (length >= 64) return ALL_ONES_64;
  return (ALL_ONES_64 << BigInt(64 - length)) & ALL_ONES_64;
}

/**
 * An IPv6 prefix: an address whose bits beyond `length` are all zero, and the length.
 * Construction refuses host bits, so a value of this type is always canonical.
 */
export class Ipv6Prefix {
  readonly address: Ipv6Address;
  readonly length: number;

  private constructor(address: Ipv6Address, length: number) {
    this.address = address;
    this.length = length;
  }

  /** A prefix from an address and length; host bits set is an error (ERR_PREFIX_HOST_BITS). */
  static of(address: Ipv6Address, length: number): Ipv6Prefix {
    if (!Number.isInteger(length) || length < 0 || length > 128) {
      throw new Stable6Error('ERR_PREFIX_LENGTH', `prefix length must be 0 to 128, got ${length}`);
    }
    const masked = maskAddress(address, length);
    if (!masked.equals(address)) {
      throw new Stable6Error(
        'ERR_PREFIX_HOST_BITS',
        `${address.toString()}/${length} has host bits set (did you mean ${masked.toString()}/${length}?)`,
        { details: { prefix: `${address.toString()}/${length}` } },
      );
    }
    return new Ipv6Prefix(address, length);
  }

  /** The prefix that contains `address`, with the bits beyond `length` cleared. */
  static containing(address: Ipv6Address, length: number): Ipv6Prefix {
    if (!Number.isInteger(length) || length < 0 || length > 128) {
      throw new Stable6Error('ERR_PREFIX_LENGTH', `prefix length must be 0 to 128, got ${length}`);
    }
    return new Ipv6Prefix(maskAddress(address, length), length);
  }

  /** Parses `address/length`. Host bits set is an error, never silently masked. */
  static parse(text: string): Ipv6Prefix {
    const match = typeof text === 'string' ? /^([^/]+)\/(\d{1,3})$/.exec(text) : null;
    if (!match) {
      throw new Stable6Error('ERR_PREFIX_INVALID', `not an IPv6 prefix (address/length): ${JSON.stringify(text)}`);
    }
    let address: Ipv6Address;
    try {
      address = Ipv6Address.parse(match[1] ?? '');
    } catch (cause) {
      throw new Stable6Error('ERR_PREFIX_INVALID', `not an IPv6 prefix: ${JSON.stringify(text)}: bad address`, {
        cause,
      });
    }
    return Ipv6Prefix.of(address, Number(match[2]));
  }

  /** The upper 64 bits of the prefix address (the /64 part). */
  get high64(): bigint {
    return this.address.high64;
  }

  contains(address: Ipv6Address): boolean {
    return maskAddress(address, this.length).equals(this.address);
  }

  /** True when `other` lies wholly inside this prefix. */
  covers(other: Ipv6Prefix): boolean {
    return other.length >= this.length && this.contains(other.address);
  }

  equals(other: Ipv6Prefix): boolean {
    return this.length === other.length && this.address.equals(other.address);
  }

  /**
   * The /64 inside this prefix with the given subnet ID in bits `length..63` (RFC 3587 layout).
   * For a /64 the only subnet ID is 0.
   */
  subnet64(subnetId: bigint): Ipv6Prefix {
    if (this.length > 64) {
      throw new Stable6Error('ERR_PREFIX_LENGTH', `${this.toString()} is longer than /64: it has no /64 subnets`);
    }
    const bits = 64 - this.length;
    if (subnetId < 0n || subnetId >= 1n << BigInt(bits)) {
      throw new Stable6Error(
        'ERR_SUBNET_ID_RANGE',
        `subnet ID ${subnetId} does not fit in the ${bits} bits of ${this.toString()} (0 to ${(1n << BigInt(bits)) - 1n})`,
      );
    }
    return new Ipv6Prefix(Ipv6Address.fromHalves(this.high64 | subnetId, 0n), 64);
  }

  toString(): string {
    return `${this.address.toString()}/${this.length}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** `address` with every bit beyond `length` cleared. */
export function maskAddress(address: Ipv6Address, length: number): Ipv6Address {
  const high = address.high64 & halfMask(length);
  const low = address.low64 & halfMask(length - 64);
  return Ipv6Address.fromHalves(high, low);
}
