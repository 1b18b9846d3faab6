/**
 * What every compatibility algorithm returns, and the checks they share.
 */
import { Ipv6Address } from '../address.js';
import type { Ipv6Prefix } from '../prefix.js';
import { Stable6Error } from '../../errors.js';

export interface CompatResult {
  address: Ipv6Address;
  /** The 8 bytes of the interface identifier. */
  iid: Uint8Array;
  /** The counter that went into the hash for this address (after the peer's own reserved-IID skips). */
  dadCounter: number;
  /**
   * The `dadCounter` input the peer uses for its next attempt when this address fails DAD,
   * or undefined when the peer gives up (or never retries). Each peer keeps a different
   * counter across a DAD failure: see each algorithm's header.
   */
  nextDadCounter: number | undefined;
  /** Set when the peer did not use its RFC 7217 function for this address (systemd-networkd's EUI-64 fallback). */
  fallback?: 'eui64';
}

export function compatInput(message: string, details?: Record<string, unknown>): Stable6Error {
  return new Stable6Error('ERR_COMPAT_INPUT', message, details === undefined ? {} : { details });
}

export function requirePrefix64(algorithm: string, prefix: Ipv6Prefix): Uint8Array {
  if (prefix.length !== 64) {
    throw new Stable6Error('ERR_PREFIX_LENGTH', `${algorithm} makes addresses in a /64 only, got ${prefix.toString()}`);
  }
  return prefix.address.toBytes().subarray(0, 8);
}

export function requireCounter(algorithm: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw compatInput(`${algorithm}: the DAD counter must be an integer from 0 to ${max}, got ${value}`);
  }
}

export function requireBytes(algorithm: string, what: string, value: Uint8Array | undefined, min: number, max: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw compatInput(`${algorithm}: ${what} is required`);
  if (value.length < min || value.length > max) {
    throw compatInput(
      min === max
        ? `${algorithm}: ${what} must be ${min} bytes, got ${value.length}`
        : `${algorithm}: ${what} must be ${min} to ${max} bytes, got ${value.length}`,
    );
  }
  return value;
}

export function addressOf(high8: Uint8Array, iid: Uint8Array): Ipv6Address {
  const bytes = new Uint8Array(16);
  bytes.set(high8.subarray(0, 8), 0);
  bytes.set(iid.subarray(0, 8), 8);
  return Ipv6Address.fromBytes(bytes);
}

export function exhausted(algorithm: string, prefix: Ipv6Prefix, why: string, details: Record<string, unknown> = {}): Stable6Error {
  return new Stable6Error('ERR_GEN_EXHAUSTED', `${algorithm}: no address on ${prefix.toString()}: ${why}`, {
    details: { algorithm, prefix: prefix.toString(), ...details },
  });
}
