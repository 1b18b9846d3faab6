/**
 * Who is at the other end of an accepted Unix socket, as the kernel recorded it at connect()
 * time: SO_PEERCRED (struct ucred) and SO_PEERGROUPS (the supplementary groups, Linux ≥ 4.13).
 *
 * Node has no API for either (see notes/linux-kernel-facts.md), so this is one getsockopt(2)
 * through koffi on the socket's file descriptor. Both values are snapshots taken by the kernel
 * when the client called connect(): a client that changes uid or groups afterwards, or exits
 * and has its pid reused, cannot change what we read. That is why the groups come from
 * SO_PEERGROUPS and not from /proc/PID/status, which would race with pid reuse and setgroups().
 */
import type { Socket } from 'node:net';
import koffi from 'koffi';
import { Stable6Error } from '../../errors.js';

// <asm-generic/socket.h>; x86, arm and most architectures share these values.
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SO_PEERGROUPS = 59;
const ERANGE = 34;
/** struct ucred { pid_t pid; uid_t uid; gid_t gid; }: three 32-bit fields. */
export const UCRED_SIZE = 12;
/** NGROUPS_MAX on Linux: a bound for the SO_PEERGROUPS buffer. */
const NGROUPS_MAX = 65536;

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
  groups: number[];
}

/** Decodes struct ucred in host byte order (little-endian on every platform Node ships for Linux but s390x). */
export function decodeUcred(bytes: Uint8Array, littleEndian = true): { pid: number; uid: number; gid: number } {
  if (bytes.length < UCRED_SIZE) throw new RangeError(`struct ucred is ${UCRED_SIZE} bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { pid: view.getInt32(0, littleEndian), uid: view.getUint32(4, littleEndian), gid: view.getUint32(8, littleEndian) };
}

/** Decodes the gid_t array of SO_PEERGROUPS. */
export function decodeGroups(bytes: Uint8Array, littleEndian = true): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const groups: number[] = [];
  for (let at = 0; at + 4 <= bytes.length; at += 4) groups.push(view.getUint32(at, littleEndian));
  return groups;
}

type GetSockOpt = (fd: number, level: number, name: number, value: Buffer, length: number[]) => number;
let getsockopt: GetSockOpt | undefined;

function libc(): GetSockOpt {
  if (getsockopt === undefined) {
    const lib = koffi.load('libc.so.6');
    getsockopt = lib.func('int getsockopt(int, int, int, _Inout_ uint8_t *value, _Inout_ uint32_t *length)') as GetSockOpt;
  }
  return getsockopt;
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function failed(what: string, fd: number): Stable6Error {
  const errno = koffi.errno();
  return new Stable6Error('ERR_API_INTERNAL', `getsockopt(${what}) failed on fd ${fd} (errno ${errno})`, { details: { errno, fd } });
}

/**
 * The file descriptor of an accepted net.Socket. Node does not expose it: `_handle.fd` is the
 * libuv stream's descriptor (a Pipe handle for Unix sockets, -1 on Windows). It is private
 * API, read in this one place only, and checked: anything but a non-negative integer throws.
 */
export function socketFd(socket: Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new Stable6Error('ERR_API_INTERNAL', 'the accepted socket has no file descriptor (closed, or not a Unix socket)');
  }
  return fd;
}

/** SO_PEERCRED and SO_PEERGROUPS of a connected Unix socket. */
export function readPeerCredentials(socket: Socket): PeerCredentials {
  const fd = socketFd(socket);
  const call = libc();
  const cred = Buffer.alloc(UCRED_SIZE);
  const credLength = [UCRED_SIZE];
  if (call(fd, SOL_SOCKET, SO_PEERCRED, cred, credLength) !== 0) throw failed('SO_PEERCRED', fd);
  if (credLength[0] !== UCRED_SIZE) throw new Stable6Error('ERR_API_INTERNAL', `SO_PEERCRED returned ${String(credLength[0])} bytes`);
  // Start with room for 64 groups; on ERANGE the kernel tells the size it needs.
  let size = 64 * 4;
  for (;;) {
    const buffer = Buffer.alloc(size);
    const length = [size];
    if (call(fd, SOL_SOCKET, SO_PEERGROUPS, buffer, length) === 0) {
      return { ...decodeUcred(cred, littleEndian), groups: decodeGroups(buffer.subarray(0, length[0] ?? 0), littleEndian) };
    }
    const errno = koffi.errno();
    const needed = length[0] ?? 0;
    if (errno !== ERANGE || needed <= size || needed > NGROUPS_MAX * 4) throw failed('SO_PEERGROUPS', fd);
    size = needed;
  }
}
