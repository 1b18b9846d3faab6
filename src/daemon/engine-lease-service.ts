/**
 * The API's LeaseService over the running engine: requests become engine events, the
 * engine's reports answer them, and status and lease lists are read from its state.
 *
 * A lease request waits for the engine's `lease-ready` or `lease-failed` report. With no
 * current prefix on the interface the engine keeps the lease pending (it gets addresses when
 * a prefix arrives); the caller is answered ERR_API_LEASE_FAILED after `waitMs` rather than
 * left hanging, and the lease stays, as the caller asked for it.
 */
import type { Caller, LeaseService } from '../api/service.js';
import type { ApiEvent, Lease, LeaseAddress, LeaseKey, LeaseRequest, StatusAddress, StatusReport } from '../api/protocol.js';
import type { EngineDriver } from '../engine/driver.js';
import type { Engine } from '../engine/engine.js';
import { addressView, leaseView, type AddressStatus, type EngineStatus } from '../engine/status.js';
import type { EngineReport, LeaseState } from '../engine/types.js';
import { Stable6Error, type ErrorCode } from '../errors.js';

export interface EngineLeaseServiceOptions {
  engine: Engine;
  driver: EngineDriver;
  /** Monotonic milliseconds, the engine's clock. */
  now: () => number;
  /** Wall-clock milliseconds, for `lastSeen` times in the status. */
  wallNow?: () => number;
  secretFingerprint: string;
  /** How long a lease request may wait for a usable address (default 15 s). */
  waitMs?: number;
}

type Waiter = { resolve: (report: EngineReport) => void };

const keyOf = (ifname: string, label: string): string => `${ifname}\u0000${label}`;

/** The engine's key in `state.leases` (src/engine/engine.ts leaseKey). */
const engineLeaseKey = (ifname: string, label: string): string => `${ifname}|${label}`;

/** Compatibility generators are registered per interface as `name:ifname` (their inputs differ); people see the name. */
const algorithmName = (registered: string): string => registered.split(':')[0] ?? registered;

export class EngineLeaseService implements LeaseService {
  readonly #o: EngineLeaseServiceOptions;
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #listeners = new Set<(event: ApiEvent) => void>();
  /**
   * Connections that asked for a connection-bound lease: only their closing can release one
   * (a lease is bound to a connection only by a request made through here). The others' close
   * is not stepped: that step looks at every lease, once per connection (bench/lease-scale.ts).
   */
  readonly #bindingConnections = new Set<string>();

  constructor(options: EngineLeaseServiceOptions) {
    this.#o = options;
  }

  /** Feed every engine report here (EngineDriver's onReport). */
  onReport(report: EngineReport): void {
    const key = keyOf(report.ifname, report.label);
    if (report.kind === 'lease-ready' || report.kind === 'lease-failed' || report.kind === 'lease-released') {
      const waiters = this.#waiters.get(key);
      if (waiters) {
        this.#waiters.delete(key);
        for (const w of waiters) w.resolve(report);
      }
    }
    // An event costs a status of the whole engine: none is made when nobody follows the stream.
    if (this.#listeners.size === 0) return;
    for (const event of this.#eventsFor(report)) for (const listener of [...this.#listeners]) listener(event);
  }

  #status(): EngineStatus {
    return this.#o.engine.status(this.#o.driver.state, this.#o.now());
  }

  #wait(ifname: string, label: string): { promise: Promise<EngineReport>; cancel: () => void } {
    const key = keyOf(ifname, label);
    let waiter!: Waiter;
    const promise = new Promise<EngineReport>((resolve) => (waiter = { resolve }));
    let set = this.#waiters.get(key);
    if (!set) this.#waiters.set(key, (set = new Set()));
    set.add(waiter);
    return { promise, cancel: () => set.delete(waiter) };
  }

  /**
   * Addresses in DAD that the engine knows to be usable (added with optimistic DAD, RFC 4429):
   * the API calls them `optimistic`, not `tentative`, so that clients bind them at once.
   */
  #optimistic(): Set<string> {
    const out = new Set<string>();
    for (const a of Object.values(this.#o.driver.state.addresses)) {
      if (a.phase === 'tentative' && a.usable && a.address !== null) out.add(keyOf(a.ifname, a.address));
    }
    return out;
  }

  /** One lease as list() shows it, without a status of every lease and address. */
  #oneLease(ifname: string, label: string): Lease | undefined {
    const view = leaseView(this.#o.driver.state, ifname, label, this.#o.now());
    return view && this.#toLease(view.lease, view.addresses);
  }

  #engineLease(key: LeaseKey): LeaseState | undefined {
    const lease = this.#o.driver.state.leases[engineLeaseKey(key.interface, key.label)];
    return lease && lease.ifname === key.interface && lease.label === key.label ? lease : undefined;
  }

  ownerOf(key: LeaseKey): number | undefined {
    return this.#engineLease(key)?.uid;
  }

  find(key: LeaseKey): Lease | undefined {
    return this.#oneLease(key.interface, key.label);
  }

  leaseCounts(uid: number): { owned: number; total: number } {
    return this.#o.engine.leaseCounts(this.#o.driver.state, uid);
  }

  #toLease(lease: EngineStatus['leases'][number], candidates: readonly AddressStatus[]): Lease {
    const usable = new Set(lease.addresses);
    const addresses: LeaseAddress[] = candidates
      .filter((a) => a.address !== null && usable.has(a.address))
      // The engine lists in a lease only addresses that can be bound: one still in DAD is optimistic (RFC 4429).
      .map((a) => ({ address: a.address!, prefix: a.prefix, state: a.state === 'tentative' ? 'optimistic' : a.state, validLifetimeSec: a.validLifetimeSec, preferredLifetimeSec: a.preferredLifetimeSec }));
    return { label: lease.label, interface: lease.ifname, uid: lease.uid, persistent: lease.binding === 'persistent', addresses };
  }

  async lease(caller: Caller, request: LeaseRequest): Promise<Lease> {
    const waiting = this.#wait(request.interface, request.label);
    const timeout = new Promise<'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), this.#o.waitMs ?? 15_000);
      void waiting.promise.finally(() => clearTimeout(timer));
    });
    if (!request.persistent) this.#bindingConnections.add(caller.connectionId);
    await this.#o.driver.dispatch({
      type: 'lease-request',
      ifname: request.interface,
      label: request.label,
      uid: caller.uid,
      binding: request.persistent ? 'persistent' : 'connection',
      ...(request.persistent ? {} : { connectionId: caller.connectionId }),
    });
    const outcome = await Promise.race([waiting.promise, timeout]);
    waiting.cancel();
    if (outcome === 'timeout') {
      throw new Stable6Error('ERR_API_LEASE_FAILED', `no usable address for ${JSON.stringify(request.label)} on ${request.interface} yet: the interface has no current prefix, or DAD has not finished; the lease stays and gets addresses when a prefix arrives`);
    }
    if (outcome.kind === 'lease-failed') throw new Stable6Error(outcome.code as ErrorCode, outcome.message);
    if (outcome.kind === 'lease-released') throw new Stable6Error('ERR_API_LEASE_FAILED', `the lease ${JSON.stringify(request.label)} was released while it was being made`);
    const lease = this.#oneLease(request.interface, request.label);
    if (!lease) throw new Stable6Error('ERR_API_LEASE_FAILED', `the lease ${JSON.stringify(request.label)} on ${request.interface} is gone`);
    return lease;
  }

  list(): readonly Lease[] {
    // The API server reads this on every lease request: one pass over the addresses, not one per lease.
    const status = this.#status();
    const byLabel = new Map<string, AddressStatus[]>();
    for (const iface of status.interfaces) {
      for (const a of iface.addresses) {
        if (a.label === '') continue;
        const key = keyOf(iface.name, a.label);
        const list = byLabel.get(key);
        if (list) list.push(a);
        else byLabel.set(key, [a]);
      }
    }
    return status.leases.map((l) => this.#toLease(l, byLabel.get(keyOf(l.ifname, l.label)) ?? []));
  }

  async release(_caller: Caller, key: LeaseKey, ownerUid: number): Promise<Lease> {
    const before = this.#oneLease(key.interface, key.label);
    if (!before || before.uid !== ownerUid) throw new Stable6Error('ERR_API_NOT_FOUND', `no lease ${JSON.stringify(key.label)} on ${key.interface}`);
    const waiting = this.#wait(key.interface, key.label);
    await this.#o.driver.dispatch({ type: 'lease-release', ifname: key.interface, label: key.label, uid: ownerUid });
    const outcome = await waiting.promise;
    if (outcome.kind === 'lease-failed') throw new Stable6Error(outcome.code as ErrorCode, outcome.message);
    return { ...before, addresses: [] };
  }

  status(): StatusReport {
    const status = this.#status();
    const wallNow = this.#o.wallNow?.() ?? Date.now();
    const owners = new Map(status.leases.map((l) => [keyOf(l.ifname, l.label), l.uid]));
    const optimistic = this.#optimistic();
    return {
      secretFingerprint: this.#o.secretFingerprint,
      interfaces: status.interfaces.map((iface) => ({
        name: iface.name,
        prefixes: iface.prefixes.map((p) => ({
          prefix: p.prefix,
          source: p.source,
          validLifetimeSec: p.validLifetimeSec,
          preferredLifetimeSec: p.preferredLifetimeSec,
          lastSeen: p.source === 'static' || p.lastSeenSecAgo === null ? null : new Date(wallNow - p.lastSeenSecAgo * 1000).toISOString(),
        })),
        addresses: iface.addresses
          .filter((a) => a.address !== null)
          .map((a): StatusAddress => {
            const owner = a.label === '' ? undefined : owners.get(keyOf(iface.name, a.label));
            return {
              address: a.address!,
              prefix: a.prefix,
              label: a.label,
              algorithm: algorithmName(a.algorithm),
              dadCounter: a.dadCounter,
              state: a.state === 'tentative' && optimistic.has(keyOf(iface.name, a.address!)) ? 'optimistic' : a.state,
              validLifetimeSec: a.validLifetimeSec,
              preferredLifetimeSec: a.preferredLifetimeSec,
              ...(owner === undefined ? {} : { owner }),
            };
          }),
      })),
    };
  }

  subscribe(listener: (event: ApiEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  connectionClosed(connectionId: string): void {
    if (!this.#bindingConnections.delete(connectionId)) return;
    void this.#o.driver.dispatch({ type: 'connection-closed', connectionId }).catch(() => undefined);
  }

  #eventsFor(report: EngineReport): ApiEvent[] {
    switch (report.kind) {
      case 'lease-ready': {
        const lease = this.#oneLease(report.ifname, report.label);
        return lease ? [{ type: 'lease-changed', lease }] : [];
      }
      case 'lease-released':
        return [{ type: 'lease-released', lease: { label: report.label, interface: report.ifname, uid: report.uid, persistent: false, addresses: [] } }];
      case 'address-state': {
        if (report.address === null) return [];
        // This address only: a status of every address per report made following the events
        // during a burst of 1,000 leases quadratic.
        const state = this.#o.driver.state;
        const view = addressView(state, report.ifname, report.prefix, report.label, report.address, this.#o.now());
        const owner = report.label === '' ? undefined : this.#engineLease({ interface: report.ifname, label: report.label })?.uid;
        const address: StatusAddress = {
          address: report.address,
          prefix: report.prefix,
          label: report.label,
          algorithm: algorithmName(view?.status.algorithm ?? 'stable6-v1'),
          dadCounter: view?.status.dadCounter ?? 0,
          state: report.state === 'tentative' && view?.usable ? 'optimistic' : report.state,
          validLifetimeSec: view?.status.validLifetimeSec ?? 0,
          preferredLifetimeSec: view?.status.preferredLifetimeSec ?? 0,
          ...(owner === undefined ? {} : { owner }),
        };
        return [{ type: view ? 'address-changed' : 'address-removed', interface: report.ifname, address }];
      }
      case 'address-removed': {
        const { owner } = report;
        const address: StatusAddress = {
          address: report.address,
          prefix: report.prefix,
          label: report.label,
          algorithm: algorithmName(report.algorithm),
          dadCounter: report.dadCounter,
          state: report.state,
          validLifetimeSec: 0,
          preferredLifetimeSec: 0,
          ...(owner === undefined ? {} : { owner }),
        };
        return [{ type: 'address-removed', interface: report.ifname, address }];
      }
      case 'lease-failed':
      case 'address-failed':
        return [];
      default: {
        const never: never = report;
        return never;
      }
    }
  }
}
