/**
 * The daemon's state file, `<state dir>/state.json`: written atomically (temporary file,
 * fsync, rename, fsync of the folder), so a crash at any point leaves the old state or the
 * new one. Writes are serialised and coalesced: while one is on its way, only the newest
 * state waits, so a burst of changes costs at most two writes.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Stable6Error, isStable6Error } from '../errors.js';
import { emptyPersistedState, formatPersistedState, parsePersistedState, type PersistedState } from '../engine/persisted-state.js';
import { writeFileAtomic } from './atomic-file.js';

export const STATE_FILE = 'state.json';

/** Creates the state directory (0700) and checks that it can be written, before anything else changes. */
export async function prepareStateDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await fs.access(dir, fs.constants?.W_OK ?? 2);
    const probe = path.join(dir, `.probe-${process.pid}`);
    await fs.writeFile(probe, '');
    await fs.rm(probe);
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code;
    throw new Stable6Error('ERR_DAEMON_STATE_DIR', `${dir}: the state directory cannot be written (${errno ?? 'error'})`, { cause, details: { dir, errno } });
  }
}

/** Reads the state; none yet is an empty state; a damaged file is refused, never discarded. */
export async function loadState(dir: string): Promise<PersistedState> {
  const file = path.join(dir, STATE_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return emptyPersistedState();
    throw new Stable6Error('ERR_DAEMON_STATE', `${file}: cannot read the state (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { cause, details: { file } });
  }
  try {
    return parsePersistedState(text);
  } catch (cause) {
    const problem = isStable6Error(cause) ? cause.message : String(cause);
    throw new Stable6Error('ERR_DAEMON_STATE', `${file}: ${problem}; move the file aside to start afresh (DAD counters and persistent leases in it would be forgotten)`, {
      cause,
      details: { file },
    });
  }
}

export class StateWriter {
  readonly file: string;
  #writing: Promise<void> | undefined;
  #pending: PersistedState | undefined;
  #lastError: unknown;

  constructor(dir: string, private readonly onError: (error: unknown) => void = () => {}) {
    this.file = path.join(dir, STATE_FILE);
  }

  /** Queues `state` to be written; resolves when it (or a newer state) is on disk. */
  save(state: PersistedState): Promise<void> {
    this.#pending = state;
    this.#writing ??= this.#drain();
    return this.#writing;
  }

  /** Resolves when nothing is left to write. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  get lastError(): unknown {
    return this.#lastError;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending) {
        const state = this.#pending;
        this.#pending = undefined;
        try {
          await writeFileAtomic(this.file, formatPersistedState(state), { mode: 0o600, overwrite: true });
          this.#lastError = undefined;
        } catch (error) {
          this.#lastError = error;
          this.onError(error);
        }
      }
    } finally {
      this.#writing = undefined;
    }
  }
}
