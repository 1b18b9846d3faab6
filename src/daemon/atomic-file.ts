import { randomBytes } from 'node:crypto';
import { promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';

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
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string, options: AtomicWriteOptions): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = options.mode ?? 0o600;
  const handle = await fs.open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode);
  try {
    try {
      await handle.chmod(mode); // the umask may have narrowed or the file system widened it
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.overwrite) {
      await fs.rename(temp, file);
    } else {
      await fs.link(temp, file); // fails with EEXIST if the file appeared meanwhile
    }
    await syncDirectory(dir);
  } finally {
    await fs.rm(temp, { force: true }); // gone after a rename; the spare name after a link or a failure
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
