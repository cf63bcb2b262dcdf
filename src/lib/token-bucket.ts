// SPDX-License-Identifier: Apache-2.0
/**
 * Token buckets, one per key: `ratePerSecond` tokens refill continuously up to
 * `burst`; each admitted event takes one (or `n`: the collector takes one per
 * span of a request). The key table is bounded: when it is full the least
 * recently used key is evicted (and counted). The agent's policy rate limits
 * and the collector's ingest cap both use it.
 */
import { InvalidArgumentError } from './errors.js';

export interface TokenBucketOptions {
  ratePerSecond: number;
  /** Bucket size. Default: max(1, ratePerSecond). */
  burst?: number;
  /** Keys tracked at once. Default 4096. */
  maxKeys?: number;
  /** Clock in ms (tests). Default performance.now. */
  now?: () => number;
}

export interface TokenBucketStats {
  admitted: number;
  limited: number;
  keys: number;
  evictedKeys: number;
}

export interface TokenBucket {
  /**
   * Takes `n` tokens (default 1) for `key`; false when fewer are left. A take
   * larger than the whole burst is admitted and leaves the bucket in debt, so
   * one oversize request is not refused forever.
   */
  take(key: string, n?: number): boolean;
  stats(): TokenBucketStats;
}

interface Bucket { tokens: number; at: number }

export function createTokenBucket(options: TokenBucketOptions): TokenBucket {
  const rate = options.ratePerSecond;
  if (!Number.isFinite(rate) || rate <= 0) throw new InvalidArgumentError(`token bucket: ratePerSecond ${rate} must be > 0`);
  const burst = options.burst ?? Math.max(1, rate);
  if (!Number.isFinite(burst) || burst < 1) throw new InvalidArgumentError(`token bucket: burst ${burst} must be >= 1`);
  const maxKeys = options.maxKeys ?? 4096;
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, Bucket>();
  let admitted = 0;
  let limited = 0;
  let evictedKeys = 0;

  return {
    take(key, n = 1) {
      const t = now();
      let b = buckets.get(key);
      if (b) {
        buckets.delete(key);
        b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * rate);
        b.at = t;
      } else {
        if (buckets.size >= maxKeys) {
          const oldest = buckets.keys().next().value as string;
          buckets.delete(oldest);
          evictedKeys++;
        }
        b = { tokens: burst, at: t };
      }
      buckets.set(key, b);
      if (b.tokens >= n || n > burst) {
        b.tokens -= n;
        admitted++;
        return true;
      }
      limited++;
      return false;
    },
    stats: () => ({ admitted, limited, keys: buckets.size, evictedKeys }),
  };
}
