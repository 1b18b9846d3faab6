/**
 * An in-memory LeaseService: real stable6-v1 addresses, no host stack. For the API's own
 * tests and for applications that want to test their use of the client against a real
 * ApiServer without a daemon. DAD is simulated: `dad` decides, per address, when it ends
 * and whether it succeeds.
 */
import { Stable6Error } from '../errors.js';
import { Ipv6Prefix } from '../core/prefix.js';
import { generateStable6V1, STABLE6_V1 } from '../core/stable6-v1.js';
import type { ApiEvent, Lease, LeaseKey, LeaseRequest, StatusAddress, StatusReport } from './protocol.js';
import type { Caller, LeaseService } from './service.js';

const INFINITE = 0xffffffff;

export interface MemoryLeaseServiceOptions {
  /** Interface name → its current /64 prefixes (text). */
  interfaces: Readonly<Record<string, readonly string[]>>;
  /** 16 to 64 bytes; a fixed test secret by default (this is a fake: never use it for real addresses). */
  secret?: Uint8Array;
  secretFingerprint?: string;
  /** Simulated DAD: resolves true when the address is usable, false on a duplicate. Default: at once, true. */
  dad?: (address: string, label: string) => Promise<boolean>;
}

interface Entry {
  lease: Lease;
  /** Connections holding a non-persistent lease; it is released when the last one closes. */
  connections: Set<string>;
  ready: Promise<Lease>;
}

function keyOf(key: LeaseKey): string {
  return `${key.interface}\u0000${key.label}`;
}

export class MemoryLeaseService implements LeaseService {
  readonly #options: MemoryLeaseServiceOptions;
  readonly #secret: Uint8Array;
  readonly #leases = new Map<string, Entry>();
  readonly #listeners = new Set<(event: ApiEvent) => void>();
  readonly #closed = new Set<string>();
  /** Every call, for tests to assert what the server passed on. */
  readonly calls: { method: string; caller?: Caller; arg?: unknown }[] = [];

  constructor(options: MemoryLeaseServiceOptions) {
    this.#options = options;
    this.#secret = options.secret ?? new Uint8Array(32).fill(0x5a);
  }

  #emit(event: ApiEvent): void {
    for (const listener of [...this.#listeners]) listener(event);
  }

  #snapshot(lease: Lease): Lease {
    return { ...lease, addresses: lease.addresses.map((a) => ({ ...a })) };
  }

  async lease(caller: Caller, request: LeaseRequest): Promise<Lease> {
    this.calls.push({ method: 'lease', caller, arg: request });
    const prefixes = this.#options.interfaces[request.interface];
    if (prefixes === undefined) throw new Stable6Error('ERR_API_UNKNOWN_INTERFACE', `no managed interface ${JSON.stringify(request.interface)}`);
    const existing = this.#leases.get(keyOf(request));
    if (existing) {
      if (existing.lease.uid !== caller.uid) throw new Stable6Error('ERR_API_LABEL_TAKEN', `label ${JSON.stringify(request.label)} is taken`);
      if (request.persistent) {
        existing.lease.persistent = true;
        existing.connections.clear();
      } else if (!existing.lease.persistent) existing.connections.add(caller.connectionId);
      return existing.ready.then(() => this.#snapshot(existing.lease));
    }
    if (prefixes.length === 0) throw new Stable6Error('ERR_API_LEASE_FAILED', `${request.interface} has no current prefix`);
    const lease: Lease = {
      label: request.label,
      interface: request.interface,
      uid: caller.uid,
      persistent: request.persistent,
      addresses: prefixes.map((text) => {
        const prefix = Ipv6Prefix.parse(text);
        const { address } = generateStable6V1({ secret: this.#secret, prefix, netIface: request.interface, label: request.label, dadCounter: 0 });
        return { address: address.toString(), prefix: prefix.toString(), state: 'tentative', validLifetimeSec: INFINITE, preferredLifetimeSec: INFINITE };
      }),
    };
    const entry: Entry = { lease, connections: new Set(request.persistent ? [] : [caller.connectionId]), ready: Promise.resolve(lease) };
    this.#leases.set(keyOf(request), entry);
    this.#emit({ type: 'lease-changed', lease: this.#snapshot(lease) });
    entry.ready = this.#runDad(entry);
    return entry.ready.then(() => this.#snapshot(lease));
  }

  async #runDad(entry: Entry): Promise<Lease> {
    const { lease } = entry;
    const dad = this.#options.dad ?? (() => Promise.resolve(true));
    const results = await Promise.all(lease.addresses.map((a) => dad(a.address, lease.label)));
    if (results.some((ok) => !ok)) {
      this.#drop(entry);
      throw new Stable6Error('ERR_API_LEASE_FAILED', `DAD failed for label ${JSON.stringify(lease.label)} after every retry`);
    }
    for (const a of lease.addresses) a.state = 'preferred';
    this.#emit({ type: 'lease-changed', lease: this.#snapshot(lease) });
    // The connection went away while DAD ran: nobody holds the lease any more.
    if (!lease.persistent && [...entry.connections].every((id) => this.#closed.has(id))) {
      this.#drop(entry);
      for (const id of entry.connections) this.#closed.delete(id);
    }
    return lease;
  }

  #drop(entry: Entry): void {
    if (this.#leases.get(keyOf(entry.lease)) !== entry) return;
    this.#leases.delete(keyOf(entry.lease));
    this.#emit({ type: 'lease-released', lease: this.#snapshot(entry.lease) });
  }

  list(): readonly Lease[] {
    this.calls.push({ method: 'list' });
    return [...this.#leases.values()].map((e) => this.#snapshot(e.lease));
  }

  ownerOf(key: LeaseKey): number | undefined {
    this.calls.push({ method: 'ownerOf', arg: { ...key } });
    return this.#leases.get(keyOf(key))?.lease.uid;
  }

  find(key: LeaseKey): Lease | undefined {
    this.calls.push({ method: 'find', arg: { ...key } });
    const entry = this.#leases.get(keyOf(key));
    return entry && this.#snapshot(entry.lease);
  }

  leaseCounts(uid: number): { owned: number; total: number } {
    this.calls.push({ method: 'leaseCounts', arg: uid });
    let owned = 0;
    for (const entry of this.#leases.values()) if (entry.lease.uid === uid) owned++;
    return { owned, total: this.#leases.size };
  }

  async release(caller: Caller, key: LeaseKey, ownerUid: number): Promise<Lease> {
    this.calls.push({ method: 'release', caller, arg: { ...key, ownerUid } });
    const entry = this.#leases.get(keyOf(key));
    if (entry === undefined || entry.lease.uid !== ownerUid) throw new Stable6Error('ERR_API_NOT_FOUND', 'no such lease');
    this.#drop(entry);
    return Promise.resolve(this.#snapshot(entry.lease));
  }

  status(): StatusReport {
    this.calls.push({ method: 'status' });
    return {
      secretFingerprint: this.#options.secretFingerprint ?? 'memory-fake',
      interfaces: Object.entries(this.#options.interfaces).map(([name, prefixes]) => {
        const own: StatusAddress[] = prefixes.map((text) => {
          const prefix = Ipv6Prefix.parse(text);
          const { address, dadCounter } = generateStable6V1({ secret: this.#secret, prefix, netIface: name, dadCounter: 0 });
          return {
            address: address.toString(),
            prefix: prefix.toString(),
            label: '',
            algorithm: STABLE6_V1,
            dadCounter,
            state: 'preferred',
            validLifetimeSec: INFINITE,
            preferredLifetimeSec: INFINITE,
          };
        });
        const leased: StatusAddress[] = [...this.#leases.values()]
          .filter((e) => e.lease.interface === name)
          .flatMap((e) =>
            e.lease.addresses.map((a) => ({ ...a, label: e.lease.label, algorithm: STABLE6_V1, dadCounter: 0, owner: e.lease.uid })),
          );
        return {
          name,
          prefixes: prefixes.map((prefix) => ({ prefix, source: 'static' as const, validLifetimeSec: INFINITE, preferredLifetimeSec: INFINITE, lastSeen: null })),
          addresses: [...own, ...leased],
        };
      }),
    };
  }

  subscribe(listener: (event: ApiEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  connectionClosed(connectionId: string): void {
    this.calls.push({ method: 'connectionClosed', arg: connectionId });
    this.#closed.add(connectionId);
    for (const entry of [...this.#leases.values()]) {
      if (entry.lease.persistent || !entry.connections.has(connectionId)) continue;
      const pending = entry.lease.addresses.some((a) => a.state === 'tentative');
      if (!pending && [...entry.connections].every((id) => this.#closed.has(id))) this.#drop(entry);
    }
    // Remember a closed connection only while a lease still names it (one waiting for DAD).
    for (const id of [...this.#closed]) {
      if (![...this.#leases.values()].some((e) => e.connections.has(id))) this.#closed.delete(id);
    }
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }
}
