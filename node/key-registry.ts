// The partner key registry as verification reads it: Postgres, behind a small cache. Every envelope
// names a kid, and without the cache each one, valid or forged, costs a query on the node's pool;
// a flood of forged envelopes then queues partners' valid messages behind its lookups. With it, a
// kid seen in the last `ttlMs` (found or not) costs no query at all.
import { LRUCache } from 'lru-cache';
import type pg from 'pg';
import { findKey } from '../db/registry.js';
import type { KeyRecord, KeyRegistry } from '../protocol/keys.js';

/** How many kids the cache holds at most: forged envelopes may name any number of them. */
export const KEY_CACHE_ENTRIES = 10_000;

/** A registry lookup that can be told the registry changed. */
export interface CachedKeyRegistry extends KeyRegistry {
  /** Forgets every cached key: call after this process changes the registry. */
  invalidate(): void;
}

/** What the cache holds for a kid: the key, or that there is none. */
type Entry = { key: KeyRecord | undefined };

/**
 * Looks keys up in Postgres and keeps each answer for `ttlMs` (0: no cache). A change made through
 * this process (adding, rotating or revoking a key) calls `invalidate` and counts at once; a change
 * made by another replica of the node counts here after at most `ttlMs`.
 */
export function cachedKeyRegistry(pool: pg.Pool, ttlMs: number): CachedKeyRegistry {
  if (ttlMs <= 0) return { findKey: (kid) => findKey(pool, kid), invalidate: () => {} };
  const cache = new LRUCache<string, Entry>({ max: KEY_CACHE_ENTRIES, ttl: ttlMs });
  // Lookups of one kid under way, shared: a burst naming one kid makes one query.
  const pending = new Map<string, Promise<KeyRecord | undefined>>();
  let generation = 0;
  return {
    async findKey(kid) {
      const hit = cache.get(kid);
      if (hit) return hit.key;
      const inFlight = pending.get(kid);
      if (inFlight) return inFlight;
      const startedIn = generation;
      const lookup = findKey(pool, kid).then((key) => {
        // A registry change during the query may not be in its answer: do not keep it.
        if (startedIn === generation) cache.set(kid, { key });
        return key;
      });
      pending.set(kid, lookup);
      try {
        return await lookup;
      } finally {
        pending.delete(kid);
      }
    },
    invalidate() {
      generation += 1;
      cache.clear();
      pending.clear();
    },
  };
}
