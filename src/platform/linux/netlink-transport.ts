/**
 * The one small boundary between the Linux backend and a netlink socket.
 *
 * The kernel socket (netlink-socket.ts) and the fake (fake-netlink.ts, driven by a
 * function that answers requests, like mdlayher's nltest.Dial) both implement it, so the
 * whole backend can be tested without a kernel.
 */
import type { Stable6Error } from '../../errors.js';

export interface NetlinkTransportHandler {
  /** One received datagram: one or more netlink messages. Valid only during the call (the buffer is reused). */
  datagram(bytes: Uint8Array): void;
  /** The kernel dropped messages for this socket (ENOBUFS); the socket keeps working. */
  overrun(): void;
  /** Receiving failed for good; the transport is closed. */
  failed(error: Stable6Error): void;
}

export interface NetlinkTransportOptions {
  /** rtnetlink multicast groups (RTNLGRP_*) to receive notifications from. */
  groups?: readonly number[];
  /** SO_RCVBUF; a big one (default 8 MiB) makes overruns rare, a tiny one forces them in tests. */
  receiveBufferBytes?: number;
}

export interface NetlinkTransport {
  /** Sends one datagram (several requests at once are fine). Throws ERR_NETLINK_SOCKET. */
  send(datagram: Uint8Array): void;
  /**
   * The same, with the kernel's work done off the event loop (a big batch of address
   * changes can take the kernel tens of milliseconds). Optional: without it, `send` is used.
   */
  sendAsync?(datagram: Uint8Array): Promise<void>;
  /**
   * Several datagrams, in order, in one off-loop call (sendmmsg on a pool thread). The kernel
   * may reschedule between datagrams, so small datagrams bound how long it runs without
   * yielding the CPU. Optional: without it, the datagrams go one by one. Rejects with an error
   * whose `details.sentDatagrams` says how many were sent (and processed) before the failure.
   */
  sendManyAsync?(datagrams: readonly Uint8Array[]): Promise<void>;
  /**
   * Reads and drops every datagram already queued on the socket, at once; returns how many.
   * For an event socket after an overrun: what is queued then is older than the listing that
   * follows, and applied after it would bring back what the listing no longer has.
   * Optional: a transport without it keeps its queue.
   */
  discardQueued?(): number;
  close(): void;
}

export type NetlinkDialer = (options: NetlinkTransportOptions, handler: NetlinkTransportHandler) => NetlinkTransport;
