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
import { HOST_LITTLE_ENDIAN } from '../../codec/netlink/attributes.js';
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
/**
 * Datagrams one recvmmsg may return, each in a slot of RECEIVE_BUFFER bytes: a burst of
 * address reports (two per address added, plus its ACK) costs a system call and a crossing
 * into C per 16 datagrams instead of per datagram.
 */
const RECEIVE_SLOTS = 16;

type PollHandle = ReturnType<typeof koffi.node.poll>;

/**
 * Receive-buffer bytes reserved per reply while a send runs with the poll paused: a capped ACK
 * is a ~1 KiB skb (truesize), an error with extended-ACK text a little more.
 */
const BYTES_PER_PAUSED_REPLY = 2048;

interface SendMmsg {
  /** int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags), on a pool thread. */
  call(fd: number, vec: bigint, count: number, flags: number): Promise<number>;
  /** int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags, NULL), on this thread (with MSG_DONTWAIT). */
  receive(fd: number, vec: bigint, count: number, flags: number): number;
  getRcvbuf(fd: number): number;
  pointerSize: number;
  iovecSize: number;
  mmsghdrSize: number;
  /** Offsets of msg_iov, msg_iovlen and msg_len within struct mmsghdr. */
  iovOffset: number;
  iovlenOffset: number;
  lenOffset: number;
  sizeTSize: number;
}

let sendMmsg: SendMmsg | undefined;

/** The receive side's C memory: recvmmsg headers and iovecs, then RECEIVE_SLOTS slots; `lengths` views it all. */
interface Inbox {
  address: bigint;
  bytes: Uint8Array;
  dataOffset: number;
  lengths: DataView;
}

/** sendmmsg and the struct layouts it needs, from koffi's own view of the C ABI (not hard-coded). */
function loadSendMmsg(): SendMmsg {
  if (sendMmsg) return sendMmsg;
  const lib = koffi.load('libc.so.6');
  const fn = lib.func('int sendmmsg(int, void *, unsigned int, int)');
  const recvmmsg = lib.func('int recvmmsg(int, void *, unsigned int, int, void *)');
  const getsockopt = lib.func('int getsockopt(int, int, int, _Out_ int *, _Inout_ uint32_t *)');
  const iovec = koffi.struct({ iov_base: 'void *', iov_len: 'size_t' });
  const msghdr = koffi.struct({
    msg_name: 'void *',
    msg_namelen: 'uint32_t',
    msg_iov: 'void *',
    msg_iovlen: 'size_t',
    msg_control: 'void *',
    msg_controllen: 'size_t',
    msg_flags: 'int',
  });
  const mmsghdr = koffi.struct({ msg_hdr: msghdr, msg_len: 'uint32_t' });
  const hdr = koffi.offsetof(mmsghdr, 'msg_hdr');
  sendMmsg = {
    call: (fd, vec, count, flags) =>
      new Promise((resolve, reject) => {
        fn.async(fd, vec, count, flags, (error: unknown, n: unknown) => (error ? reject(error as Error) : resolve(Number(n))));
      }),
    receive: (fd, vec, count, flags) => recvmmsg(fd, vec, count, flags, null) as number,
    getRcvbuf: (fd) => {
      const value = [0];
      const length = [4];
      return getsockopt(fd, SOL_SOCKET, SO_RCVBUF, value, length) === 0 ? (value[0] ?? 0) : 0;
    },
    pointerSize: koffi.sizeof('void *'),
    sizeTSize: koffi.sizeof('size_t'),
    iovecSize: koffi.sizeof(iovec),
    mmsghdrSize: koffi.sizeof(mmsghdr),
    iovOffset: hdr + koffi.offsetof(msghdr, 'msg_iov'),
    iovlenOffset: hdr + koffi.offsetof(msghdr, 'msg_iovlen'),
    lenOffset: koffi.offsetof(mmsghdr, 'msg_len'),
  };
  return sendMmsg;
}

/** How many netlink messages a datagram holds (each asks for at most one reply). */
function messageCount(datagram: Uint8Array): number {
  let count = 0;
  for (let offset = 0; offset + 4 <= datagram.length; count++) {
    const length = (datagram[offset] ?? 0) | ((datagram[offset + 1] ?? 0) << 8) | ((datagram[offset + 2] ?? 0) << 16) | ((datagram[offset + 3] ?? 0) << 24);
    if (length < 16) return count + 1;
    offset += (length + 3) & ~3;
  }
  return count;
}

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
  /** The socket's receive buffer (as the kernel counts it), read once it is set. */
  #rcvbuf = 0;
  /** C memory for sendmmsg (headers, iovecs and the datagrams), reused; freed once no call uses it. */
  #arena: { address: bigint; bytes: Uint8Array; size: number } | undefined;
  #manyInFlight = false;
  /** C memory for recvmmsg: RECEIVE_SLOTS headers and iovecs, then the slots; set up once. */
  #inbox: Inbox | undefined;
  /** In #receive: the handler may close the socket while it reads a slot; the inbox is freed after. */
  #receiving = false;

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
      // Bind sendmmsg and read the buffer size now, not in the middle of the first big add.
      this.#rcvbuf = loadSendMmsg().getRcvbuf(fd);
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
    this.#receive(READS_PER_CALLBACK);
  }

  /**
   * Reads up to `limit` queued datagrams with recvmmsg and hands each to the handler; true once
   * the socket is empty (EAGAIN). No copy: the handler decodes at once, and the decoder copies
   * what it keeps.
   */
  #receive(limit: number): boolean {
    this.#receiving = true;
    try {
      return this.#receiveInto(limit);
    } finally {
      this.#receiving = false;
      if (this.#closed) this.#freeInbox();
    }
  }

  #receiveInto(limit: number): boolean {
    const m = loadSendMmsg();
    const inbox = this.#inbox ?? this.#makeInbox(m);
    for (let read = 0; read < limit && !this.#closed; ) {
      const n = m.receive(this.#fd, inbox.address, Math.min(RECEIVE_SLOTS, limit - read), MSG_DONTWAIT);
      if (n < 0) {
        const errno = libc().errno();
        if (errno === EAGAIN) return true;
        if (errno === EINTR) continue;
        if (errno === ENOBUFS) {
          this.#handler.overrun();
          read++;
          continue;
        }
        this.#fail(socketError('recvmmsg', errno));
        return false;
      }
      for (let i = 0; i < n && !this.#closed; i++) {
        const length = inbox.lengths.getUint32(i * m.mmsghdrSize + m.lenOffset, HOST_LITTLE_ENDIAN);
        const start = inbox.dataOffset + i * RECEIVE_BUFFER;
        this.#handler.datagram(inbox.bytes.subarray(start, start + length));
      }
      read += n;
    }
    return false;
  }

  discardQueued(): number {
    if (this.#closed) return 0;
    // Into the plain buffer, not the recvmmsg slots: it may be called from the overrun callback,
    // in the middle of #receive (no datagram of the slots is out then, but keep them apart).
    const c = libc();
    let dropped = 0;
    for (;;) {
      const n = c.recv(this.#fd, this.#buffer, this.#buffer.length, MSG_DONTWAIT);
      if (n >= 0) {
        dropped++;
        continue;
      }
      const errno = c.errno();
      // EAGAIN: empty. ENOBUFS: more was dropped meanwhile, which the caller re-lists anyway.
      if (errno === EINTR || errno === ENOBUFS) continue;
      return dropped;
    }
  }

  #makeInbox(m: SendMmsg): Inbox {
    const headers = RECEIVE_SLOTS * m.mmsghdrSize;
    const dataOffset = (headers + RECEIVE_SLOTS * m.iovecSize + 63) & ~63;
    const size = dataOffset + RECEIVE_SLOTS * RECEIVE_BUFFER;
    const address = koffi.address(koffi.alloc('uint8_t', size));
    const bytes = new Uint8Array(koffi.view(address, size));
    bytes.fill(0, 0, dataOffset);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const put = (offset: number, value: bigint, width: number): void => {
      if (width === 8) dv.setBigUint64(offset, value, HOST_LITTLE_ENDIAN);
      else dv.setUint32(offset, Number(value), HOST_LITTLE_ENDIAN);
    };
    for (let i = 0; i < RECEIVE_SLOTS; i++) {
      const iov = headers + i * m.iovecSize;
      put(iov, address + BigInt(dataOffset + i * RECEIVE_BUFFER), m.pointerSize);
      put(iov + m.pointerSize, BigInt(RECEIVE_BUFFER), m.sizeTSize);
      put(i * m.mmsghdrSize + m.iovOffset, address + BigInt(iov), m.pointerSize);
      put(i * m.mmsghdrSize + m.iovlenOffset, 1n, m.sizeTSize);
    }
    this.#inbox = { address, bytes, dataOffset, lengths: dv };
    return this.#inbox;
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

  /**
   * sendmmsg on a pool thread: one hand-off for many small datagrams, and the kernel may
   * reschedule between them (a single big datagram runs to its end without yielding on a
   * non-preemptible kernel). While it runs, the poll is paused when the replies it can cause
   * fit in the receive buffer: the ACKs are then read in one go afterwards instead of waking the
   * event loop once per ACK. What was already readable is read first, so replies keep their order.
   */
  async sendManyAsync(datagrams: readonly Uint8Array[]): Promise<void> {
    if (this.#closed) throw new Stable6Error('ERR_NETLINK_CLOSED', 'netlink socket is closed');
    if (datagrams.length === 0) return;
    if (this.#manyInFlight) throw new Stable6Error('ERR_NETLINK_SOCKET', 'netlink sendmmsg already in flight on this socket');
    const m = loadSendMmsg();
    const replies = datagrams.reduce((n, d) => n + messageCount(d), 0);
    if (this.#rcvbuf === 0) this.#rcvbuf = m.getRcvbuf(this.#fd);
    let pause = replies * BYTES_PER_PAUSED_REPLY <= this.#rcvbuf;
    let sent = 0;
    this.#manyInFlight = true;
    try {
      // A dump in progress keeps the socket readable: then read as usual, unpaused.
      if (pause && this.#drain(READS_PER_CALLBACK)) this.#poll?.stop();
      else pause = false;
      while (sent < datagrams.length && !this.#closed) {
        const rest = datagrams.slice(sent);
        const n = await m.call(this.#fd, this.#fill(m, rest), rest.length, 0);
        if (n > 0) {
          sent += n;
          continue;
        }
        // errno does not cross threads: the first unsent datagram was not processed, so sending
        // it here tells the errno (or goes through if the failure was transient).
        try {
          const first = rest[0];
          if (first) this.send(first);
          sent += 1;
        } catch (error) {
          const e = error instanceof Stable6Error ? error : socketError('sendmmsg', 0);
          throw new Stable6Error(e.code, e.message, { cause: e.cause, details: { ...e.details, sentDatagrams: sent } });
        }
      }
      if (sent < datagrams.length) throw new Stable6Error('ERR_NETLINK_CLOSED', 'netlink socket is closed', { details: { sentDatagrams: sent } });
    } finally {
      this.#manyInFlight = false;
      if (this.#closed) this.#freeArena();
      else if (pause) this.#startPoll();
    }
  }

  /** Writes the mmsghdr array, its iovecs and the datagrams into the arena; returns the array's address. */
  #fill(m: SendMmsg, datagrams: readonly Uint8Array[]): bigint {
    const headers = datagrams.length * m.mmsghdrSize;
    const iovecs = datagrams.length * m.iovecSize;
    const data = datagrams.reduce((n, d) => n + ((d.length + 7) & ~7), 0);
    const size = headers + iovecs + data;
    if (!this.#arena || this.#arena.size < size) {
      this.#freeArena();
      const alloc = Math.max(size, 64 << 10);
      const address = koffi.address(koffi.alloc('uint8_t', alloc));
      this.#arena = { address, bytes: new Uint8Array(koffi.view(address, alloc)), size: alloc };
    }
    const { address, bytes } = this.#arena;
    bytes.fill(0, 0, headers + iovecs);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const le = HOST_LITTLE_ENDIAN;
    const put = (offset: number, value: bigint, width: number): void => {
      if (width === 8) dv.setBigUint64(offset, value, le);
      else dv.setUint32(offset, Number(value), le);
    };
    let dataOffset = headers + iovecs;
    datagrams.forEach((datagram, i) => {
      const header = i * m.mmsghdrSize;
      const iov = headers + i * m.iovecSize;
      bytes.set(datagram, dataOffset);
      put(iov, address + BigInt(dataOffset), m.pointerSize);
      put(iov + m.pointerSize, BigInt(datagram.length), m.sizeTSize);
      put(header + m.iovOffset, address + BigInt(iov), m.pointerSize);
      put(header + m.iovlenOffset, 1n, m.sizeTSize);
      dataOffset += (datagram.length + 7) & ~7;
    });
    return address;
  }

  #freeArena(): void {
    if (!this.#arena || this.#manyInFlight) return;
    koffi.free(this.#arena.address);
    this.#arena = undefined;
  }

  /** Reads what is already queued (before pausing the poll), as a poll callback would; true once empty. */
  #drain(limit: number): boolean {
    return this.#receive(limit);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poll?.close();
    this.#poll = null;
    libc().close(this.#fd);
    this.#freeArena();
    if (!this.#receiving) this.#freeInbox();
  }

  #freeInbox(): void {
    if (this.#inbox) koffi.free(this.#inbox.address);
    this.#inbox = undefined;
  }
}

export function dialKernel(options: NetlinkTransportOptions, handler: NetlinkTransportHandler): NetlinkTransport {
  return new KernelNetlinkSocket(options, handler);
}
