import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, fchmodSync, promises as fs, fsync, openSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';

const fsyncAsync = promisify(fsync);

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o600). */
  mode?: number;
  /** Replace an existing file. Without it an existing file is never touched (EEXIST). */
  overwrite: boolean;
}

/**
 * Writes `data` to `file` so that a crash at any point leaves either the old file or the
 * new one, never a part: temporary file in the same folder (O_EXCL, final mode from the
 * start), fsync, then rename (overwrite) or link (no overwrite, atomic EEXIST), then fsync
 * of the folder so the new name itself is durable.
 *
 * The two fsyncs, which wait for the disk, and the rename, which the file system may make wait
 * for its journal (up to milliseconds, seen on ext4), go to the thread pool; the other calls are
 * quick system calls made inline. Each asynchronous call costs a turn of the event loop, and
 * a daemon busy with a burst of leases made a write of ten such calls take 50 to 90 ms
 * (bench/lease-scale.ts) while the disk needed a few.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string, options: AtomicWriteOptions): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = options.mode ?? 0o600;
  const fd = openSync(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode);
  try {
    try {
      fchmodSync(fd, mode); // the umask may have narrowed or the file system widened it
      writeFileSync(fd, data);
      await fsyncAsync(fd);
    } finally {
      closeSync(fd);
    }
    if (options.overwrite) {
      await fs.rename(temp, file);
    } else {
      await fs.link(temp, file); // fails with EEXIST if the file appeared meanwhile
    }
    await syncDirectory(dir);
  } finally {
    rmSync(temp, { force: true }); // gone after a rename; the spare name after a link or a failure
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const fd = openSync(dir, fsConstants.O_RDONLY);
  try {
    await fsyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}
