/**
 * A token bucket per key (the caller's uid): `burst` requests at once, then `perSecond`.
 * The clock is injected (monotonic milliseconds), so tests step it by hand.
 */
export interface RateLimitOptions {
  burst: number;
  perSecond: number;
  now: () => number;
  /** Buckets kept at most; full (idle) ones are dropped first, so the table stays bounded. */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #options: Required<RateLimitOptions>;
  readonly #buckets = new Map<number, Bucket>();

  constructor(options: RateLimitOptions) {
    this.#options = { maxKeys: 4096, ...options };
  }

  #refill(bucket: Bucket, now: number): void {
    const elapsedSec = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(this.#options.burst, bucket.tokens + elapsedSec * this.#options.perSecond);
    bucket.at = now;
  }

  /**
   * Takes `count` tokens (at most the burst), all or none; returns 0 when granted, else the
   * milliseconds until that many are free.
   */
  take(key: number, count = 1): number {
    if (!(count >= 1 && count <= this.#options.burst)) throw new RangeError(`a take of ${count} tokens; the burst is ${this.#options.burst}`);
    const now = this.#options.now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      this.#prune(now);
      bucket = { tokens: this.#options.burst, at: now };
      this.#buckets.set(key, bucket);
    }
    this.#refill(bucket, now);
    if (bucket.tokens >= count) {
      bucket.tokens -= count;
      return 0;
    }
    return Math.ceil(((count - bucket.tokens) / this.#options.perSecond) * 1000);
  }

  #prune(now: number): void {
    if (this.#buckets.size < this.#options.maxKeys) return;
    for (const [key, bucket] of this.#buckets) {
      this.#refill(bucket, now);
      if (bucket.tokens >= this.#options.burst) this.#buckets.delete(key);
    }
    // Still full of busy callers: forget the oldest, which can only make the limit kinder.
    while (this.#buckets.size >= this.#options.maxKeys) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest === undefined) break;
      this.#buckets.delete(oldest);
    }
  }

  get size(): number {
    return this.#buckets.size;
  }
}
