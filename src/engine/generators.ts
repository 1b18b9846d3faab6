/**
 * Address generators the engine calls: pure functions from the RFC 7217 inputs to an address.
 *
 * The engine never computes an IID itself: each managed interface names an algorithm, and the
 * engine looks its generator up. stable6-v1 is built in (its secret is held by the generator,
 * never by the engine's state); compatibility algorithms plug in the same way.
 */
import type { KeyObject } from 'node:crypto';
import type { Ipv6Address } from '../core/address.js';
import type { RegistryGeneratorContext } from '../core/algorithms.js';
import { isReservedIid } from '../core/reserved-iid.js';
import { generateStable6V1 } from '../core/stable6-v1.js';
import { Stable6Error } from '../errors.js';

/** The inputs of one generation (defined beside the algorithm registry in core). */
export type GeneratorContext = RegistryGeneratorContext;

export interface GeneratedAddress {
  address: Ipv6Address;
  /** The counter actually used, after skipping reserved or taken identifiers. */
  dadCounter: number;
}

export type AddressGenerator = (context: GeneratorContext) => GeneratedAddress;

/** stable6-v1 (shared/spec/stable6-v1.md) with the given secret. */
export function stable6V1Generator(secret: Uint8Array | KeyObject): AddressGenerator {
  return (context) => {
    const input = {
      secret,
      prefix: context.prefix,
      netIface: context.netIface,
      networkId: context.networkId,
      label: context.label,
      dadCounter: context.dadCounter,
    };
    const result = generateStable6V1(input, { maxDadCounter: context.maxDadCounter, isTaken: context.isTaken });
    return { address: result.address, dadCounter: result.dadCounter };
  };
}

/**
 * A full generator from a function that computes the address for one counter: it moves to the
 * next counter while the IID is reserved or the address taken, as the spec says for
 * stable6-v1 ("treated like a DAD failure"). Convenient for compatibility algorithms.
 */
export function perCounterGenerator(addressFor: (context: GeneratorContext) => Ipv6Address): AddressGenerator {
  return (context) => {
    for (let counter = context.dadCounter; counter <= context.maxDadCounter; counter++) {
      const address = addressFor({ ...context, dadCounter: counter });
      if (isReservedIid(address.toBytes(), 8) || context.isTaken(address)) continue;
      return { address, dadCounter: counter };
    }
    throw new Stable6Error(
      'ERR_GEN_EXHAUSTED',
      `no usable interface identifier for counters ${context.dadCounter} to ${context.maxDadCounter} on ${context.prefix.toString()}`,
    );
  };
}
