/**
 * The few libc calls the Linux backend makes, through koffi (pinned: its libuv poll is
 * marked undocumented upstream, so only this file and netlink-socket.ts touch koffi).
 *
 * Loaded on first use, so that importing stable6 on another OS never loads libc.
 */
import koffi from 'koffi';
import { constants } from 'node:os';

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, address: Uint8Array, length: number): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array, length: number): number;
  getsockname(fd: number, address: Uint8Array, length: Uint32Array): number;
  send(fd: number, data: Uint8Array, length: number, flags: number): number;
  /** send() on a libuv pool thread: for a bounded kernel call (never a blocking recv). Resolves with its return value. */
  sendAsync(fd: number, data: Uint8Array, length: number, flags: number): Promise<number>;
  sendto(fd: number, data: Uint8Array, length: number, flags: number, address: Uint8Array, addressLength: number): number;
  recv(fd: number, buffer: Uint8Array, length: number, flags: number): number;
  close(fd: number): number;
  errno(): number;
}

let loaded: Libc | undefined;

export function libc(): Libc {
  if (loaded) return loaded;
  const lib = koffi.load('libc.so.6');
  const f = {
    socket: lib.func('int socket(int, int, int)'),
    bind: lib.func('int bind(int, const void *, uint32_t)'),
    setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    getsockname: lib.func('int getsockname(int, void *, void *)'),
    send: lib.func('intptr_t send(int, const void *, size_t, int)'),
    sendto: lib.func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)'),
    recv: lib.func('intptr_t recv(int, void *, size_t, int)'),
    close: lib.func('int close(int)'),
  };
  loaded = {
    socket: (d, t, p) => f.socket(d, t, p) as number,
    bind: (fd, a, l) => f.bind(fd, a, l) as number,
    setsockopt: (fd, level, name, v, l) => f.setsockopt(fd, level, name, v, l) as number,
    getsockname: (fd, a, l) => f.getsockname(fd, a, l) as number,
    send: (fd, d, l, fl) => Number(f.send(fd, d, l, fl)),
    sendAsync: (fd, d, l, fl) =>
      new Promise((resolve, reject) => {
        f.send.async(fd, d, l, fl, (error: unknown, n: unknown) => (error ? reject(error as Error) : resolve(Number(n))));
      }),
    sendto: (fd, d, l, fl, a, al) => Number(f.sendto(fd, d, l, fl, a, al)),
    recv: (fd, b, l, fl) => Number(f.recv(fd, b, l, fl)),
    close: (fd) => f.close(fd) as number,
    errno: () => koffi.errno(),
  };
  return loaded;
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** `ENOBUFS` for 105; `errno 999` for what Node does not name. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}

export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_SNDBUF = 7;
export const SO_RCVBUFFORCE = 33;
export const SO_BINDTODEVICE = 25;
export const MSG_DONTWAIT = 0x40;
export const MSG_TRUNC = 0x20;
export const AF_NETLINK = 16;
export const AF_INET6 = 10;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ICMPV6 = 58;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const EAGAIN = constants.errno.EAGAIN;
export const EINTR = constants.errno.EINTR;
export const ENOBUFS = constants.errno.ENOBUFS;

/** A C int in host order, for setsockopt. */
export function cInt(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value, new Uint8Array(new Uint16Array([1]).buffer)[0] === 1);
  return out;
}
