/**
 * RFC 4862 §5.5.3 "Router Advertisement Processing" as pure functions.
 *
 * The Linux kernel passes Prefix Information Options through that §5.5.3 would ignore (odd
 * lengths, unmasked prefixes, valid lifetime 0 for an unknown prefix: see
 * shared/notes/linux-kernel-facts.md), so stable6 applies the section itself.
 *
 * Lifetimes are seconds; `INFINITE_LIFETIME` (0xffffffff) is "forever" (RFC 4861 §4.6.2).
 */
import { Ipv6Prefix } from './prefix.js';
import type { Ipv6Address } from './address.js';

export const INFINITE_LIFETIME_SEC = 0xffffffff;

/** RFC 4862 §5.5.3 e): "2 hours". */
export const TWO_HOURS_SEC = 2 * 60 * 60;

/** The interface identifier length stable6 uses (RFC 4291 §2.5.1, RFC 7217): 64 bits. */
export const IID_BITS = 64;

export type PioRejection =
  | 'not-autonomous'
  | 'link-local'
  | 'preferred-exceeds-valid'
  | 'prefix-length'
  | 'not-unicast'
  | 'unknown-prefix-zero-lifetime';

export interface PioInput {
  prefix: Ipv6Address;
  prefixLength: number;
  autonomous: boolean;
  validLifetimeSec: number;
  preferredLifetimeSec: number;
}

export type PioCheck = { ok: true; prefix: Ipv6Prefix } | { ok: false; reason: PioRejection };

/**
 * Whether a Prefix Information Option may form an address, per RFC 4862 §5.5.3 a) to d).
 * `known` says whether an address from this prefix is configured already (step d/e).
 */
export function checkPio(pio: PioInput, known: boolean): PioCheck {
  // §5.5.3 a) "If the Autonomous flag is not set, silently ignore the Prefix Information option."
  if (!pio.autonomous) return { ok: false, reason: 'not-autonomous' };
  // §5.5.3 b) "If the prefix is the link-local prefix, silently ignore the Prefix Information option."
  if (pio.prefix.isLinkLocal()) return { ok: false, reason: 'link-local' };
  // §5.5.3 c) "If the preferred lifetime is greater than the valid lifetime, silently ignore
  // the Prefix Information option."
  if (pio.preferredLifetimeSec > pio.validLifetimeSec) return { ok: false, reason: 'preferred-exceeds-valid' };
  // §5.5.3 d) "If the sum of the prefix length and interface identifier length does not equal
  // 128 bits, the Prefix Information option MUST be ignored."
  if (pio.prefixLength + IID_BITS !== 128) return { ok: false, reason: 'prefix-length' };
  // RFC 4861 §4.6.2: "The bits in the prefix after the prefix length are reserved and MUST be
  // initialized to zero by the sender and ignored by the receiver." So mask, never refuse.
  const prefix = Ipv6Prefix.containing(pio.prefix, pio.prefixLength);
  // Not in §5.5.3, stable6's own choice (as the kernel drops multicast prefixes): a global
  // unicast address cannot be formed in multicast space or in ::/64.
  if (prefix.address.isMulticast() || prefix.high64 === 0n) return { ok: false, reason: 'not-unicast' };
  // §5.5.3 d) "... and if the Valid Lifetime is not 0, form an address": a zero valid
  // lifetime for a prefix not in use says nothing.
  if (!known && pio.validLifetimeSec === 0) return { ok: false, reason: 'unknown-prefix-zero-lifetime' };
  return { ok: true, prefix };
}

/**
 * The valid lifetime an address gets when a PIO for its prefix arrives: RFC 4862 §5.5.3 e),
 * the "two-hour rule" that keeps a forged RA from cutting addresses short. The RA is never
 * taken as authenticated (stable6 has no SEND).
 *
 * @param receivedSec the PIO's Valid Lifetime
 * @param remainingSec the address's RemainingLifetime (INFINITE_LIFETIME_SEC for forever)
 */
export function nextValidLifetime(receivedSec: number, remainingSec: number): number {
  const received = receivedSec === INFINITE_LIFETIME_SEC ? Infinity : receivedSec;
  const remaining = remainingSec === INFINITE_LIFETIME_SEC ? Infinity : remainingSec;
  // 1. "If the received Valid Lifetime is greater than 2 hours or greater than
  //    RemainingLifetime, set the valid lifetime of the corresponding address to the
  //    advertised Valid Lifetime."
  if (received > TWO_HOURS_SEC || received > remaining) return receivedSec;
  // 2. "If RemainingLifetime is less than or equal to 2 hours, ignore the Prefix Information
  //    option with regards to the valid lifetime, unless the Router Advertisement from which
  //    this option was obtained has been authenticated (e.g., via Secure Neighbor Discovery
  //    [RFC3971]). If the Router Advertisement was authenticated, the valid lifetime of the
  //    corresponding address should be set to the Valid Lifetime in the received option."
  if (remaining <= TWO_HOURS_SEC) return remainingSec;
  // 3. "Otherwise, reset the valid lifetime of the corresponding address to 2 hours."
  return TWO_HOURS_SEC;
}

/**
 * The preferred lifetime after a PIO: §5.5.3 e) "The preferred lifetime of the address IS reset
 * to the Preferred Lifetime in the received advertisement." Capped at the valid lifetime the
 * two-hour rule left (an address cannot be preferred after it is gone; the kernel does the same).
 */
export function nextPreferredLifetime(receivedPreferredSec: number, validSec: number): number {
  if (validSec === INFINITE_LIFETIME_SEC) return receivedPreferredSec;
  if (receivedPreferredSec === INFINITE_LIFETIME_SEC) return validSec;
  return Math.min(receivedPreferredSec, validSec);
}
