/**
 * A NETLINK_ROUTE socket through koffi, read from Node's own event loop.
 *
 * `koffi.node.poll` is a libuv poll handle on the fd: no thread-pool thread ever blocks in
 * recv, and no timer polls. The callback gets `(status, events)`; on a receive-buffer
 * overrun the kernel flags the socket with ENOBUFS, libuv sees POLLERR, stops the handle and
 * reports a negative status: we read the error (which clears it), report the overrun, and
 * start the handle again. Pitfalls handled here: the handle is kept referenced by this
 * object (a collected handle closes), and the callback never throws (koffi would stop
 * calling it).
 */
import koffi from 'koffi';
import { Stable6Error } from '../../errors.js';
import { NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_ROUTE, SOL_NETLINK } from '../../codec/netlink/constants.js';
import {
  AF_NETLINK,
  EAGAIN,
  EINTR,
  ENOBUFS,
  MSG_DONTWAIT,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_SNDBUF,
  cInt,
  errnoName,
  libc,
} from './libc.js';
import type { NetlinkTransport, NetlinkTransportHandler, NetlinkTransportOptions } from './netlink-transport.js';

const DEFAULT_RECEIVE_BUFFER = 8 << 20;
/** The kernel caps dump messages at 32 KiB (netlink_recvmsg): 64 KiB always holds one. */
const RECEIVE_BUFFER = 64 << 10;
/** Datagrams read per poll callback before giving the loop back (libuv calls again while readable). */
const READS_PER_CALLBACK = 64;

type PollHandle = ReturnType<typeof koffi.node.poll>;

function socketError(operation: string, errno: number): Stable6Error {
  const name = errnoName(errno);
  return new Stable6Error('ERR_NETLINK_SOCKET', `netlink ${operation} failed: ${name}`, { details: { operation, errno: name } });
}

export class KernelNetlinkSocket implements NetlinkTransport {
  readonly #fd: number;
  readonly #handler: NetlinkTransportHandler;
  readonly #buffer = Buffer.alloc(RECEIVE_BUFFER);
  // A strong reference: a poll handle that is garbage-collected closes itself.
  #poll: PollHandle | null = null;
  #closed = false;

  constructor(options: NetlinkTransportOptions, handler: NetlinkTransportHandler) {
    this.#handler = handler;
    const c = libc();
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw socketError('socket', c.errno());
    this.#fd = fd;
    try {
      const size = options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER;
      // SO_RCVBUFFORCE passes rmem_max when we have CAP_NET_ADMIN; SO_RCVBUF is the fallback (and a tiny size for tests).
      if (options.receiveBufferBytes !== undefined || c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, cInt(size), 4) < 0) {
        if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, cInt(size), 4) < 0) throw socketError('setsockopt SO_RCVBUF', c.errno());
      }
      c.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, cInt(1 << 20), 4);
      // Each request of a batch gets its own ACK with the kernel's error text, without the request echoed.
      if (c.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, cInt(1), 4) < 0) throw socketError('setsockopt NETLINK_EXT_ACK', c.errno());
      if (c.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, cInt(1), 4) < 0) throw socketError('setsockopt NETLINK_CAP_ACK', c.errno());
      const address = new Uint8Array(12); // struct sockaddr_nl: family, pad, pid 0 (kernel assigns), groups
      const dv = new DataView(address.buffer);
      dv.setUint16(0, AF_NETLINK, true);
      let groups = 0;
      for (const group of options.groups ?? []) {
        if (group < 1 || group > 32) throw new Stable6Error('ERR_NETLINK_SOCKET', `netlink group ${group} needs NETLINK_ADD_MEMBERSHIP, not supported here`);
        groups |= 1 << (group - 1);
      }
      dv.setUint32(8, groups >>> 0, true);
      if (c.bind(fd, address, 12) < 0) throw socketError('bind', c.errno());
      this.#startPoll();
    } catch (error) {
      c.close(fd);
      throw error;
    }
  }

  #startPoll(): void {
    const callback = (status: number): void => {
      try {
        this.#onPoll(status);
      } catch (error) {
        // Never let an exception escape into koffi: later callbacks would stop.
        this.#fail(error instanceof Stable6Error ? error : new Stable6Error('ERR_NETLINK_SOCKET', `netlink receive handler failed: ${String(error)}`, { cause: error }));
      }
    };
    if (this.#poll) {
      this.#poll.start({ readable: true }, callback as never);
    } else {
      this.#poll = koffi.node.poll(this.#fd, { readable: true }, callback as never);
    }
  }

  #onPoll(status: number): void {
    if (this.#closed) return;
    const c = libc();
    if (status < 0) {
      // libuv stopped the handle on POLLERR; reading returns (and clears) the socket error.
      const n = c.recv(this.#fd, this.#buffer, this.#buffer.length, MSG_DONTWAIT);
      const errno = n < 0 ? c.errno() : 0;
      if (n >= 0) this.#handler.datagram(this.#buffer.subarray(0, n));
      else if (errno === ENOBUFS) this.#handler.overrun();
      else if (errno !== EAGAIN && errno !== EINTR) return this.#fail(socketError('recv', errno));
      if (!this.#closed) this.#startPoll();
      return;
    }
    for (let i = 0; i < READS_PER_CALLBACK && !this.#closed; i++) {
      const n = c.recv(this.#fd, this.#buffer, this.#buffer.length, MSG_DONTWAIT);
      if (n < 0) {
        const errno = c.errno();
        if (errno === EAGAIN) return;
        if (errno === EINTR) continue;
        if (errno === ENOBUFS) {
          this.#handler.overrun();
          continue;
        }
        return this.#fail(socketError('recv', errno));
      }
      // No copy: the handler decodes at once, and the decoder copies what it keeps.
      this.#handler.datagram(this.#buffer.subarray(0, n));
    }
  }

  #fail(error: Stable6Error): void {
    if (this.#closed) return;
    this.close();
    try {
      this.#handler.failed(error);
    } catch {
      // the handler's own problem; the socket is closed either way
    }
  }

  send(datagram: Uint8Array): void {
    if (this.#closed) throw new Stable6Error('ERR_NETLINK_CLOSED', 'netlink socket is closed');
    const c = libc();
    for (;;) {
      const n = c.send(this.#fd, datagram, datagram.length, 0);
      if (n === datagram.length) return;
      const errno = n < 0 ? c.errno() : 0;
      if (errno === EINTR) continue;
      throw socketError('send', errno);
    }
  }

  async sendAsync(datagram: Uint8Array): Promise<void> {
    if (this.#closed) throw new Stable6Error('ERR_NETLINK_CLOSED', 'netlink socket is closed');
    // The kernel processes the whole batch inside send(): on a pool thread, the loop keeps running.
    // The datagram stays referenced by this frame until the call returns.
    const n = await libc().sendAsync(this.#fd, datagram, datagram.length, 0);
    if (n === datagram.length) return;
    // errno does not cross threads: a netlink send that failed processed nothing, so sending
    // again on this thread is safe and tells the errno if it fails again.
    this.send(datagram);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poll?.close();
    this.#poll = null;
    libc().close(this.#fd);
  }
}

export function dialKernel(options: NetlinkTransportOptions, handler: NetlinkTransportHandler): NetlinkTransport {
  return new KernelNetlinkSocket(options, handler);
}
