/**
 * A virtual monotonic clock with its own timers, for the fake platform and for tests.
 *
 * Nothing happens until a test calls `advance()`: timers then run in time order (ties in the
 * order they were set), each seeing `now()` equal to its due time. The same clock can drive the
 * fake platform's lifetimes and DAD, and an engine driver's wake-ups, so the two never race.
 */
export interface TimerHandle {
  readonly id: number;
}

/** The clock and timer functions a driver needs; Node's own timers satisfy it too (see `systemClock`). */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

interface Pending {
  id: number;
  at: number;
  callback: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: Pending[] = [];

  /** `startMs` lets tests start far from zero, as a monotonic clock does. */
  constructor(startMs = 1_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++;
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    this.#timers.push({ id, at: this.#now + delay, callback });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle.id);
  }

  /** When the earliest pending timer is due, or undefined when none is pending. */
  nextTimerAt(): number | undefined {
    let best: number | undefined;
    for (const t of this.#timers) if (best === undefined || t.at < best) best = t.at;
    return best;
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves the time forward by `ms`, running every timer that falls due on the way, in order. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance needs a finite, non-negative time, got ${ms}`);
    this.advanceTo(this.#now + ms);
  }

  /** Moves the time forward to `at` (never backwards: a monotonic clock). */
  advanceTo(at: number): void {
    for (;;) {
      const next = this.#popDue(at);
      if (!next) break;
      this.#now = Math.max(this.#now, next.at);
      next.callback();
    }
    this.#now = Math.max(this.#now, at);
  }

  #popDue(limit: number): Pending | undefined {
    let bestIndex = -1;
    for (let i = 0; i < this.#timers.length; i++) {
      const t = this.#timers[i]!;
      if (t.at > limit) continue;
      if (bestIndex < 0 || t.at < this.#timers[bestIndex]!.at) bestIndex = i;
    }
    if (bestIndex < 0) return undefined;
    return this.#timers.splice(bestIndex, 1)[0];
  }
}
