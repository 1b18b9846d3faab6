/**
 * What the API server needs from the daemon: the only coupling between src/api and the engine.
 *
 * The server authenticates (SO_PEERCRED), applies the policy (users, groups, labels, limits),
 * filters what each caller may see and maps errors to HTTP; the service only does the work.
 * A service must not trust anything but `caller` for identity, and it must reject with a
 * Stable6Error whose code is one of the API's (ERR_API_UNKNOWN_INTERFACE, ERR_API_LABEL_TAKEN,
 * ERR_API_LIMIT, ERR_API_LEASE_FAILED, ...) so that clients can branch on it. Another
 * Stable6Error reaches the client with its code and message (HTTP 500); anything else as
 * ERR_API_INTERNAL with a generic message, its text only in the daemon's log.
 */
import type { ApiEvent, Lease, LeaseKey, LeaseRequest, StatusReport } from './protocol.js';

/** Who is asking, as the kernel told it at connect() time; never from the request. */
export interface Caller {
  uid: number;
  gid: number;
  pid: number;
  /** Supplementary groups (SO_PEERGROUPS), captured at connect() time like uid and gid. */
  groups: readonly number[];
  /** Unique per accepted connection for the server's lifetime; connection-bound leases hang on it. */
  connectionId: string;
  /**
   * Windows only (named pipe): the token's user SID, which `uid` stands for (see
   * src/platform/windows/pipe-sid.ts for the mapping). Absent on Linux.
   */
  sid?: string;
  /** Windows only: the token's enabled group SIDs, which `groups` stand for. */
  groupSids?: readonly string[];
}

export interface LeaseService {
  /**
   * Makes the lease, or returns the caller's existing one with that key, and resolves when
   * every address has passed DAD (usable for bind()); rejects after the retries with
   * ERR_API_LEASE_FAILED. A lease with `persistent: false` is bound to `caller.connectionId`.
   * The server checked the policy and that no other uid holds the key; the service must still
   * refuse (ERR_API_LABEL_TAKEN) a key another uid took while this request was in flight.
   * Asking again with `persistent: true` makes an existing lease persistent.
   */
  lease(caller: Caller, request: LeaseRequest): Promise<Lease>;
  /** Every lease. The server filters by owner: root sees all, others their own. */
  list(): readonly Lease[];
  /*
   * Optional cheap queries, each answering what the server would otherwise read from list():
   * a service that holds many leases should have them, or every lease request costs a list
   * of every lease (1,000 leases: bench/lease-scale.ts). The server falls back to list().
   */
  /** The uid of the lease with this key, if there is one: list().find(key)?.uid. */
  ownerOf?(key: LeaseKey): number | undefined;
  /** The lease with this key as list() shows it, if there is one. */
  find?(key: LeaseKey): Lease | undefined;
  /** How many leases list() holds in total, and how many of them belong to `uid`. */
  leaseCounts?(uid: number): { owned: number; total: number };
  /**
   * Releases the lease with this key owned by `ownerUid` (the server checked that the caller
   * is that owner or root) and removes its addresses. Rejects with ERR_API_NOT_FOUND when
   * there is none.
   */
  release(caller: Caller, key: LeaseKey, ownerUid: number): Promise<Lease>;
  status(): StatusReport | Promise<StatusReport>;
  /**
   * Reports every lease and address change; the server filters per caller. Returns the
   * function that stops it.
   */
  subscribe(listener: (event: ApiEvent) => void): () => void;
  /**
   * The connection closed: release the connection-bound leases made on it, including one
   * whose lease() is still waiting for DAD (release it when it settles).
   */
  connectionClosed(connectionId: string): void;
}
