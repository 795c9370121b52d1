// Token buckets keyed by source address, in a map of fixed capacity: how many refusals a source may
// cause before it is answered 429, with memory bounded whatever the number of addresses. Pure
// (time is passed in), so the inbox and the tests drive it with any clock.
import { isIPv4, isIPv6 } from 'node:net';

/** A bucket: `burst` refusals at once, then `perMinute` a minute. */
export interface BucketRule {
  burst: number;
  perMinute: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, in ms. */
  at: number;
}

/**
 * Token buckets for at most `capacity` keys. A key not seen for longest is dropped first when a new
 * one needs room; a dropped key starts again with a full bucket, which gives a sender of refusals
 * from more addresses than `capacity` no more than each address has anyway.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly rule: BucketRule,
    private readonly capacity: number,
  ) {
    if (!(rule.burst >= 1 && rule.perMinute > 0 && capacity >= 1))
      throw new TypeError('a bucket needs burst >= 1, perMinute > 0 and capacity >= 1');
  }

  /**
   * Takes one token for `key` at `nowMs`. Returns 0 when there was one, else the whole seconds
   * until there is (at least 1): the `Retry-After` to give.
   */
  take(key: string, nowMs: number): number {
    const bucket = this.current(key, nowMs);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    const msPerToken = 60_000 / this.rule.perMinute;
    return Math.max(1, Math.ceil(((1 - bucket.tokens) * msPerToken) / 1000));
  }

  /** Seconds until `key` may cause a refusal again (0: it may now), without taking a token. */
  waitFor(key: string, nowMs: number): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return 0;
    const tokens = this.refilled(bucket, nowMs);
    if (tokens >= 1) return 0;
    return Math.max(1, Math.ceil(((1 - tokens) * 60_000) / this.rule.perMinute / 1000));
  }

  /** How many keys are held (never more than the capacity). */
  get size(): number {
    return this.buckets.size;
  }

  private refilled(bucket: Bucket, nowMs: number): number {
    const elapsed = Math.max(0, nowMs - bucket.at);
    return Math.min(this.rule.burst, bucket.tokens + (elapsed * this.rule.perMinute) / 60_000);
  }

  private current(key: string, nowMs: number): Bucket {
    const found = this.buckets.get(key);
    // Map order is insertion order: re-inserting a used key keeps the least recently used first.
    if (found) this.buckets.delete(key);
    else if (this.buckets.size >= this.capacity) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    const bucket = found
      ? { tokens: this.refilled(found, nowMs), at: Math.max(found.at, nowMs) }
      : { tokens: this.rule.burst, at: nowMs };
    this.buckets.set(key, bucket);
    return bucket;
  }
}

/**
 * The key a source address is limited under: an IPv4 address as is (also when written as an
 * IPv4-mapped IPv6 address), an IPv6 address by its /64 prefix, since one host commonly holds a
 * whole /64. Anything else (no address) is `unknown`.
 */
export function sourceKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIPv4(address)) return address;
  const bare = address.split('%')[0]!;
  if (!isIPv6(bare)) return 'unknown';
  return `${expandIPv6(bare).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, lowercase, without leading zeros. */
function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  // A trailing dotted quad (::ffff:1.2.3.4 aside, e.g. 64:ff9b::1.2.3.4) takes two groups.
  const last = right.length ? right : left;
  if (last.length && last[last.length - 1]!.includes('.')) {
    const quad = last.pop()!.split('.').map(Number);
    last.push(((quad[0]! << 8) | quad[1]!).toString(16), ((quad[2]! << 8) | quad[3]!).toString(16));
  }
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) =>
    Number.parseInt(g, 16).toString(16),
  );
}
