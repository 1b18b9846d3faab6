/**
 * The API socket's file: refuse to replace anything but a stale socket, and give the socket
 * its mode and group before anyone can connect.
 *
 * The socket is bound under a temporary name beside the final one, chmod/chown'ed, then
 * renamed into place: rename(2) is atomic, so there is no moment at which the path exists
 * with the umask's permissions. (A Unix socket is found through its inode, so the listening
 * socket keeps working under its new name.)
 */
import { chmod, chown, lstat, mkdir, rename, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Stable6Error } from '../errors.js';

function socketError(message: string, socketPath: string, cause?: unknown): Stable6Error {
  return new Stable6Error('ERR_API_SOCKET', message, { cause, details: { path: socketPath } });
}

/** True when something accepts connections on the socket at `socketPath`. */
export function socketAnswers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    const timer = setTimeout(() => {
      probe.destroy();
      // Accepted by the kernel but nobody reads: still a live listener.
      resolve(true);
    }, timeoutMs);
    probe.once('connect', () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/**
 * Makes `socketPath` free to take: nothing there, or a stale socket nobody listens on.
 * Throws ERR_API_SOCKET for a file of another type (never deleted: it may be someone's
 * data) and for a socket a live server answers on.
 */
export async function claimSocketPath(socketPath: string): Promise<void> {
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  let stats;
  try {
    stats = await lstat(socketPath);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw socketError(`cannot inspect ${socketPath}`, socketPath, cause);
  }
  if (!stats.isSocket()) throw socketError(`${socketPath} exists and is not a socket; refusing to replace it`, socketPath);
  if (await socketAnswers(socketPath)) throw socketError(`another server is listening on ${socketPath}`, socketPath);
  try {
    await unlink(socketPath);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw socketError(`cannot remove the stale socket ${socketPath}`, socketPath, cause);
  }
}

/** A temporary name beside the final one (same directory, so rename stays on one filesystem). */
export function temporarySocketPath(socketPath: string): string {
  return path.join(path.dirname(socketPath), `.${path.basename(socketPath)}.${process.pid}.tmp`);
}

/** Sets mode and group on the bound temporary socket, then renames it into place; returns its inode. */
export async function publishSocket(temporary: string, socketPath: string, mode: number, gid: number | undefined): Promise<number> {
  try {
    await chmod(temporary, mode);
    if (gid !== undefined) await chown(temporary, -1, gid);
    await rename(temporary, socketPath);
    return (await lstat(socketPath)).ino;
  } catch (cause) {
    await unlink(temporary).catch(() => undefined);
    throw socketError(`cannot set up ${socketPath} (mode ${mode.toString(8)}${gid === undefined ? '' : `, group ${gid}`})`, socketPath, cause);
  }
}

/** Removes the socket file if it is still ours (a successor may have taken the path). */
export async function removeSocketFile(socketPath: string, ino: number): Promise<void> {
  try {
    if ((await lstat(socketPath)).ino === ino) await unlink(socketPath);
  } catch {
    // gone already
  }
}
