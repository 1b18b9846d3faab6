/**
 * A small Router Advertisement sender for the lab, where radvd is not installed: every
 * `intervalMs` (and at once on each update) it sends an RA to all-nodes (ff02::1) on one
 * interface (src/platform/linux/icmpv6-socket.ts: raw ICMPv6, hop limit 255). Not a router:
 * it answers no solicitation and keeps no state. Runs inside the router's namespace
 * (ra-sender-main.ts).
 */
import { readFileSync } from 'node:fs';
import { encodeRouterAdvertisement, type RouterAdvertisement } from '../codec/ndp/router-advertisement.js';
import { Ipv6Prefix } from '../core/prefix.js';
import { sendIcmpv6 } from '../platform/linux/icmpv6-socket.js';

export const ALL_NODES = Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

/** A prefix to advertise, as the lab's router and the benchmarks give it. */
export interface AdvertisedPrefix {
  prefix: string;
  valid: number;
  preferred: number;
}

/** A plain RA: default router for 1800 s, each prefix on-link and autonomous. */
export function simpleAdvertisement(prefixes: readonly AdvertisedPrefix[]): RouterAdvertisement {
  return {
    curHopLimit: 64,
    managed: false,
    other: false,
    preference: 'medium',
    routerLifetimeSec: 1800,
    reachableTimeMs: 0,
    retransTimerMs: 0,
    options: prefixes.map((p) => {
      const prefix = Ipv6Prefix.parse(p.prefix);
      return {
        kind: 'prefix-information' as const,
        prefixLength: prefix.length,
        onLink: true,
        autonomous: true,
        validLifetimeSec: p.valid,
        preferredLifetimeSec: p.preferred,
        prefix: prefix.address,
      };
    }),
  };
}

export class RaSender {
  readonly #ifindex: number;
  #ra: RouterAdvertisement;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly ifname: string,
    ra: RouterAdvertisement,
    intervalMs: number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.#ifindex = Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8'));
    this.#ra = ra;
    this.send();
    this.#timer = setInterval(() => this.send(), intervalMs);
  }

  /** Advertises `ra` from now on, starting at once. */
  update(ra: RouterAdvertisement): void {
    this.#ra = ra;
    this.send();
  }

  send(): void {
    try {
      sendIcmpv6({ ifindex: this.#ifindex, ifname: this.ifname }, ALL_NODES, encodeRouterAdvertisement(this.#ra), 'a Router Advertisement');
    } catch (error) {
      // e.g. while the link-local source is still tentative: the next tick sends again.
      this.onError(error);
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
