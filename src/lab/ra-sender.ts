/**
 * A small Router Advertisement sender for the lab, where radvd is not installed: every
 * `intervalMs` (and at once on each update) it sends an RA to all-nodes (ff02::1) on one
 * interface (src/platform/linux/icmpv6-socket.ts: raw ICMPv6, hop limit 255). Not a router:
 * it answers no solicitation and keeps no state. Runs inside the router's namespace
 * (ra-sender-main.ts).
 */
import { readFileSync } from 'node:fs';
import { encodeRouterAdvertisement, type RouterAdvertisement } from '../codec/ndp/router-advertisement.js';
import { sendIcmpv6 } from '../platform/linux/icmpv6-socket.js';

const ALL_NODES = Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

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
