/**
 * What the Windows platform owns, kept in the state directory (`windows-owned.json`).
 * Windows has no owner tag on addresses and no free route protocol (docs/windows.md,
 * "Ownership"): "ours" is the set this process added. Persisting it lets a restarted daemon
 * adopt its addresses and routes (WindowsPlatformOptions.owned) instead of treating them as
 * foreign.
 *
 * Lifetimes are stored as what is left at the time of writing, with the wall-clock time of
 * writing: the platform's `givenAtMs` is monotonic and means nothing to the next process.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Ipv6Address } from '../core/address.js';
import { INFINITE_LIFETIME } from '../platform/platform.js';
import { canonicalSid } from '../platform/windows/pipe-sid.js';
import type { OwnedAddress, OwnedRoute } from '../platform/windows/windows-platform.js';
import { writeFileAtomic } from './atomic-file.js';

export const WINDOWS_OWNED_FILE = 'windows-owned.json';

export interface WindowsOwnedState {
  addresses: OwnedAddress[];
  routes: OwnedRoute[];
  /**
   * The SIDs the API gave uids (src/platform/windows/pipe-sid.ts): kept so that a uid that owns
   * a persistent lease keeps meaning the same SID after a restart (a hash collision is refused).
   */
  sids?: string[];
}

interface FileAddress {
  luid: string;
  address: string;
  prefixLength: number;
  validLifetimeSec: number;
  preferredLifetimeSec: number;
  skipAsSource: boolean;
}

interface FileRoute {
  luid: string;
  gateway: string;
  metric: number;
}

function left(lifetimeSec: number, elapsedSec: number): number {
  return lifetimeSec === INFINITE_LIFETIME ? INFINITE_LIFETIME : Math.max(0, Math.floor(lifetimeSec - elapsedSec));
}

/** The file's text: lifetimes as left at `nowMs` (the platform's monotonic clock), stamped with `wallMs`. */
export function encodeWindowsOwned(state: WindowsOwnedState, nowMs: number, wallMs: number): string {
  const addresses: FileAddress[] = state.addresses.map((a) => {
    const elapsedSec = Math.max(0, (nowMs - a.givenAtMs) / 1000);
    return {
      luid: a.luid.toString(),
      address: a.address.toString(),
      prefixLength: a.prefixLength,
      validLifetimeSec: left(a.validLifetimeSec, elapsedSec),
      preferredLifetimeSec: left(a.preferredLifetimeSec, elapsedSec),
      skipAsSource: a.skipAsSource,
    };
  });
  const routes: FileRoute[] = state.routes.map((r) => ({ luid: r.luid.toString(), gateway: r.gateway.toString(), metric: r.metric }));
  const sids = state.sids === undefined ? {} : { sids: [...state.sids].sort() };
  return `${JSON.stringify({ version: 1, savedAtWallMs: wallMs, addresses, routes, ...sids }, null, 2)}\n`;
}

/**
 * The owned state for a platform whose clock reads `nowMs`, the wall clock `wallMs`: the time
 * between writing and now is taken off the lifetimes (an address whose valid lifetime ended is
 * left out). Anything malformed is dropped entry by entry: at worst an address is not adopted.
 */
export function decodeWindowsOwned(text: string, nowMs: number, wallMs: number): WindowsOwnedState {
  const data = JSON.parse(text) as { version?: unknown; savedAtWallMs?: unknown; addresses?: unknown; routes?: unknown; sids?: unknown };
  if (data.version !== 1) return { addresses: [], routes: [] };
  const savedAt = typeof data.savedAtWallMs === 'number' ? data.savedAtWallMs : wallMs;
  // A wall clock that went backwards counts as no time passed.
  const elapsedSec = Math.max(0, (wallMs - savedAt) / 1000);
  const addresses: OwnedAddress[] = [];
  for (const a of Array.isArray(data.addresses) ? (data.addresses as Partial<FileAddress>[]) : []) {
    try {
      if (typeof a.luid !== 'string' || typeof a.address !== 'string' || typeof a.prefixLength !== 'number') continue;
      if (typeof a.validLifetimeSec !== 'number' || typeof a.preferredLifetimeSec !== 'number') continue;
      const valid = left(a.validLifetimeSec, elapsedSec);
      if (valid === 0) continue;
      addresses.push({
        luid: BigInt(a.luid),
        address: Ipv6Address.parse(a.address),
        prefixLength: a.prefixLength,
        validLifetimeSec: valid,
        preferredLifetimeSec: left(a.preferredLifetimeSec, elapsedSec),
        givenAtMs: nowMs,
        skipAsSource: a.skipAsSource === true,
      });
    } catch {
      continue;
    }
  }
  const routes: OwnedRoute[] = [];
  for (const r of Array.isArray(data.routes) ? (data.routes as Partial<FileRoute>[]) : []) {
    try {
      if (typeof r.luid !== 'string' || typeof r.gateway !== 'string' || typeof r.metric !== 'number') continue;
      routes.push({ luid: BigInt(r.luid), gateway: Ipv6Address.parse(r.gateway), metric: r.metric });
    } catch {
      continue;
    }
  }
  const sids: string[] = [];
  for (const sid of Array.isArray(data.sids) ? (data.sids as unknown[]) : []) {
    try {
      if (typeof sid === 'string') sids.push(canonicalSid(sid));
    } catch {
      continue;
    }
  }
  return { addresses, routes, sids: [...new Set(sids)].sort() };
}

/** The persisted owned state, or nothing owned when there is no file yet. */
export async function loadWindowsOwned(stateDir: string, nowMs: number, wallMs: number = Date.now()): Promise<WindowsOwnedState> {
  let text: string;
  try {
    text = await fs.readFile(path.join(stateDir, WINDOWS_OWNED_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { addresses: [], routes: [], sids: [] };
    throw error;
  }
  try {
    return decodeWindowsOwned(text, nowMs, wallMs);
  } catch {
    // A damaged file must not keep the daemon from starting: nothing is adopted.
    return { addresses: [], routes: [], sids: [] };
  }
}

/** Writes the owned state atomically (the old file or the new one, never a part). */
export async function saveWindowsOwned(stateDir: string, state: WindowsOwnedState, nowMs: number, wallMs: number = Date.now()): Promise<void> {
  await writeFileAtomic(path.join(stateDir, WINDOWS_OWNED_FILE), encodeWindowsOwned(state, nowMs, wallMs), { overwrite: true });
}

/**
 * Keeps `windows-owned.json` up to date with a platform: request() after anything that may
 * have changed what it owns; writes never overlap and a burst of requests makes at most one
 * more write. Failures go to `onError` (the daemon logs them and keeps running: a missing file
 * only means the next run adopts less).
 */
export class WindowsOwnedSaver {
  readonly #stateDir: string;
  readonly #read: () => WindowsOwnedState;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(options: { stateDir: string; ownedState: () => WindowsOwnedState; now: () => number; onError: (error: unknown) => void }) {
    this.#stateDir = options.stateDir;
    this.#read = options.ownedState;
    this.#now = options.now;
    this.#onError = options.onError;
  }

  request(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          await saveWindowsOwned(this.#stateDir, this.#read(), this.#now());
        } catch (error) {
          this.#onError(error);
        }
      } while (this.#again);
      this.#running = undefined;
    })();
  }

  /** Writes what is owned now and waits until it is on disk. */
  async flush(): Promise<void> {
    this.request();
    while (this.#running) await this.#running;
  }
}
