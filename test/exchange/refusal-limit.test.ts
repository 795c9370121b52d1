// The refusal limiter as a pure function of time: a burst, then a steady rate, a Retry-After that
// says when the next refusal is allowed, memory bounded by a fixed number of sources, and the
// address key each source is counted under. Also which refusals count against it.
import { describe, expect, it } from 'vitest';
import { sourceKey, TokenBuckets } from '../../exchange/refusal-limit.js';
import { refusalKind } from '../../exchange/refusals.js';

describe('TokenBuckets', () => {
  it('allows a burst, then one refusal per refill interval, with Retry-After until then', () => {
    const buckets = new TokenBuckets({ burst: 3, perMinute: 6 }, 10); // one every 10 s
    const t0 = 1_000_000;
    expect([0, 1, 2].map(() => buckets.take('a', t0))).toEqual([0, 0, 0]);
    expect(buckets.take('a', t0)).toBe(10);
    expect(buckets.waitFor('a', t0 + 4000)).toBe(6);
    expect(buckets.take('a', t0 + 9_999)).toBe(1);
    expect(buckets.take('a', t0 + 10_000)).toBe(0);
    expect(buckets.take('a', t0 + 10_000)).toBe(10);
    // Refills up to the burst, never beyond.
    expect([0, 1, 2, 3].map(() => buckets.take('a', t0 + 3_600_000))).toEqual([0, 0, 0, 10]);
  });

  it('keeps each source apart', () => {
    const buckets = new TokenBuckets({ burst: 1, perMinute: 1 }, 10);
    expect(buckets.take('a', 0)).toBe(0);
    expect(buckets.take('a', 0)).toBe(60);
    expect(buckets.take('b', 0)).toBe(0);
    expect(buckets.waitFor('c', 0)).toBe(0);
  });

  it('holds at most its capacity of sources, dropping the least recently refused', () => {
    const buckets = new TokenBuckets({ burst: 1, perMinute: 1 }, 100);
    for (let i = 0; i < 100_000; i++) buckets.take(`10.0.${i >> 8}.${i & 255}`, i);
    expect(buckets.size).toBe(100);
    buckets.take('keep', 0);
    expect(buckets.take('keep', 1)).toBeGreaterThan(0);
    for (let i = 0; i < 99; i++) buckets.take(`fill-${i}`, 2);
    // `keep` was used before the 99 others and is still held: its bucket is still empty.
    expect(buckets.waitFor('keep', 3)).toBeGreaterThan(0);
    buckets.take('one-more', 4);
    expect(buckets.waitFor('keep', 5)).toBe(0);
  });

  it('refuses a rule that could never allow anything', () => {
    expect(() => new TokenBuckets({ burst: 0, perMinute: 1 }, 1)).toThrow(TypeError);
    expect(() => new TokenBuckets({ burst: 1, perMinute: 0 }, 1)).toThrow(TypeError);
  });
});

describe('sourceKey', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:198.51.100.1', '198.51.100.1'],
    ['2001:db8:aa:bb:1:2:3:4', '2001:db8:aa:bb::/64'],
    ['2001:0db8:00aa:00bb:ffff::1', '2001:db8:aa:bb::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['64:ff9b::192.0.2.33', '64:ff9b:0:0::/64'],
    [undefined, 'unknown'],
    ['', 'unknown'],
    ['not-an-address', 'unknown'],
  ])('counts %s as %s', (address, key) => {
    expect(sourceKey(address)).toBe(key);
  });
});

describe('refusalKind', () => {
  it.each([
    ['malformed_envelope', false, 'unattributed'],
    ['unknown_key', false, 'unattributed'],
    ['signature_invalid', false, 'unattributed'],
    // Signed, but anyone holding a copy can send it again: old, or meant for another node.
    ['stale', false, 'unattributed'],
    ['wrong_audience', false, 'unattributed'],
    ['schema_invalid', false, 'unattributed'],
    // Checked after freshness: a party's key said this now.
    ['key_role_mismatch', false, 'statement'],
    ['replay', true, 'copy'],
    ['sequence_gap', true, 'statement'],
    ['reply_mismatch', true, 'statement'],
    ['conflict', true, 'statement'],
  ] as const)('%s (verified: %s) is %s', (code, verified, kind) => {
    expect(refusalKind(code, verified)).toBe(kind);
  });
});
