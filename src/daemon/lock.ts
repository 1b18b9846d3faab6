/**
 * One daemon per host: an exclusive flock(2) on `<state dir>/lock`. The kernel drops the
 * lock when the process dies, however it dies, so a crash never leaves a stale lock.
 * Node has no flock, hence one libc call through koffi.
 */
import { openSync, closeSync, ftruncateSync, writeSync, readFileSync } from 'node:fs';
import koffi from 'koffi';
import os from 'node:os';
import { Stable6Error } from '../errors.js';

const LOCK_EX = 2;
const LOCK_NB = 4;

let flockFn: ((fd: number, operation: number) => number) | undefined;

function flock(): (fd: number, operation: number) => number {
  flockFn ??= koffi.load('libc.so.6').func('int flock(int fd, int operation)') as (fd: number, operation: number) => number;
  return flockFn;
}

export interface DaemonLock {
  readonly file: string;
  release(): void;
}

/** Takes the lock or fails at once with ERR_DAEMON_RUNNING naming the holder's pid. */
export function acquireDaemonLock(file: string): DaemonLock {
  let fd: number;
  try {
    fd = openSync(file, 'a+', 0o600);
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code;
    throw new Stable6Error('ERR_DAEMON_STATE_DIR', `${file}: cannot open the daemon lock (${errno ?? 'error'})`, { cause, details: { file, errno } });
  }
  if (flock()(fd, LOCK_EX | LOCK_NB) !== 0) {
    const errno = koffi.errno();
    closeSync(fd);
    const holder = readFileSync(file, 'utf8').trim();
    if (errno === os.constants.errno.EWOULDBLOCK) {
      throw new Stable6Error('ERR_DAEMON_RUNNING', `another stable6 daemon holds ${file}${holder ? ` (pid ${holder})` : ''}`, {
        details: { file, pid: holder },
      });
    }
    throw new Stable6Error('ERR_DAEMON_STATE_DIR', `${file}: flock failed (errno ${errno})`, { details: { file, errno } });
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`);
  return {
    file,
    release() {
      ftruncateSync(fd, 0);
      closeSync(fd); // closing the descriptor drops the lock
    },
  };
}
