// What a refusal at the inbox leaves behind, kept bounded whoever sends: a count per minute, source
// and code, a capped sample of recent refusals, an audit leaf only for a fresh statement of a
// party, and 429 rate_limited for a source that keeps sending input no party can be held to.
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  addRejectionCounts,
  logRejection,
  type Rejection,
  type RejectionCount,
} from '../db/messages.js';
import { AppError } from '../errors.js';
import { TokenBuckets, type BucketRule } from './refusal-limit.js';

/**
 * Who a refusal can be held to. `unattributed`: refused before the envelope proved a fresh
 * statement of a registered party (its shape, key, signature, payload, audience or freshness
 * failed), so anyone on the network can send it, or resend a copy of a signed message seen
 * anywhere, any number of times. `copy`: a message already stored (`replay`); the log holds the
 * original. `statement`: a fresh message signed by a registered party's key, refused for what it
 * says (order, reply, policy, role of the key...): that party said it, now.
 */
export type RefusalKind = 'unattributed' | 'copy' | 'statement';

/**
 * The kind of a refusal with `code`, given whether `verifyEnvelope` had passed. Of its own checks
 * the key's role and the sealed content's come after the freshness check; every refusal after it
 * is a statement but a replay.
 */
export function refusalKind(code: string, verified: boolean): RefusalKind {
  if (!verified) return AFTER_FRESHNESS.has(code) ? 'statement' : 'unattributed';
  // Whoever posts a party's message without the relay receipt chose the route, not its signer.
  if (code === 'relay_missing') return 'unattributed';
  return code === 'replay' ? 'copy' : 'statement';
}

/** Codes of verifyEnvelope's own checks that come after its freshness check. */
const AFTER_FRESHNESS = new Set(['key_role_mismatch', 'undecryptable', 'not_sealed']);

export interface RefusalLimits {
  /** Unattributed refusals one source may cause before it is answered 429. */
  perSource: BucketRule;
  /** Sources tracked at once (memory bound); the least recently refused is dropped first. */
  maxSources: number;
  /** Unattributed refusals written to the sample, from all sources together. */
  sampleWrites: BucketRule;
  /** Rows the sample keeps (the newest). */
  sampleSize: number;
  /** Counts are added to the database at most this long after a refusal. */
  flushMs: number;
  /** Distinct (minute, source, code) counts held between two flushes before sources fold. */
  maxPendingCounts: number;
  /** Days of counts kept in the database. */
  retentionDays: number;
  /**
   * How long a 429 to a limited source is held before it is sent (never longer than its
   * Retry-After). A sender that ignores Retry-After and sends again as soon as it is answered then
   * gets through at most `maxHeldPerSource` envelopes per hold, whatever its speed, so its refusals
   * cannot take the node's time from partners' messages.
   */
  limitedHoldMs: number;
  /** 429s held at once for one source; past it, answered at once and the connection closed. */
  maxHeldPerSource: number;
  /** 429s held at once for all sources together (sockets and timers are bounded by it). */
  maxHeld: number;
}

export const DEFAULT_REFUSAL_LIMITS: RefusalLimits = {
  perSource: { burst: 100, perMinute: 60 },
  maxSources: 10_000,
  sampleWrites: { burst: 500, perMinute: 3000 },
  sampleSize: 1000,
  flushMs: 1000,
  maxPendingCounts: 10_000,
  retentionDays: 30,
  limitedHoldMs: 1000,
  maxHeldPerSource: 64,
  maxHeld: 4096,
};

/** How a 429 is sent: after `holdMs`, and with the connection closed when nothing can be held. */
export interface LimitedAnswer {
  holdMs: number;
  close: boolean;
  /** Call once the answer is sent (frees its place among the held). */
  release(): void;
}

/** One refusal as the inbox saw it. `digest` is absent when the body was never read. */
export interface Refused {
  code: string;
  digest?: string | undefined;
  via: 'online' | 'import';
  /** The source's key (`sourceKey`); `import` for bundle files. */
  source: string;
  kind: RefusalKind;
}

const RETENTION_PRUNE_MS = 60 * 60 * 1000;

/** The refusal bookkeeping of one node (one per process: see README, "Wire protocol v1"). */
export class RefusalLog {
  readonly limits: RefusalLimits;
  private readonly perSource: TokenBuckets;
  private readonly sampleWrites: TokenBuckets;
  private pending = new Map<string, RejectionCount>();
  private timer: NodeJS.Timeout | undefined;
  private lastPrune = 0;
  private flushing: Promise<void> = Promise.resolve();
  private readonly held = new Map<string, number>();
  private heldTotal = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: Logger,
    limits: Partial<RefusalLimits> = {},
  ) {
    this.limits = { ...DEFAULT_REFUSAL_LIMITS, ...limits };
    this.perSource = new TokenBuckets(this.limits.perSource, this.limits.maxSources);
    this.sampleWrites = new TokenBuckets(this.limits.sampleWrites, 1);
  }

  /** Seconds a source must wait before it may cause an unattributed refusal (0: none). */
  waitFor(source: string, nowMs = Date.now()): number {
    return this.perSource.waitFor(source, nowMs);
  }

  /**
   * How to send a 429 rate_limited to `source` that asks it to wait `retryAfterSeconds`: held for
   * `limitedHoldMs` while there is room among the held answers (of the source and in all), else
   * at once with the connection closed, so a sender that keeps many connections open must open new
   * ones to go on.
   */
  limitedAnswer(source: string, retryAfterSeconds: number): LimitedAnswer {
    const mine = this.held.get(source) ?? 0;
    const holdMs = Math.min(this.limits.limitedHoldMs, retryAfterSeconds * 1000);
    if (
      holdMs <= 0 ||
      mine >= this.limits.maxHeldPerSource ||
      this.heldTotal >= this.limits.maxHeld
    )
      return { holdMs: 0, close: holdMs > 0, release: () => {} };
    this.held.set(source, mine + 1);
    this.heldTotal += 1;
    let released = false;
    return {
      holdMs,
      close: false,
      release: () => {
        if (released) return;
        released = true;
        this.heldTotal -= 1;
        const left = (this.held.get(source) ?? 1) - 1;
        if (left > 0) this.held.set(source, left);
        else this.held.delete(source);
      },
    };
  }

  /**
   * Records a refusal and returns the error to answer with: `err` itself, or `rate_limited` (with
   * `retry_after`) when an unattributed refusal finds its source's bucket empty. Never throws: the
   * bookkeeping must not turn a refusal into a 500.
   */
  async refuse(err: AppError, r: Refused, nowMs = Date.now()): Promise<AppError> {
    const online = r.via === 'online';
    const wait = online && r.kind === 'unattributed' ? this.perSource.take(r.source, nowMs) : 0;
    this.count(r, wait > 0, nowMs);
    if (wait > 0)
      return new AppError(
        'rate_limited',
        `too many refused envelopes from this address: retry after ${wait} s`,
        undefined,
        { retry_after: wait },
      );
    const sampled =
      r.digest !== undefined &&
      (r.kind !== 'unattributed' || !online || this.sampleWrites.take('all', nowMs) === 0);
    this.log.info(
      { digest: r.digest, code: r.code, via: r.via, kind: r.kind, sampled },
      'message refused',
    );
    if (sampled) {
      const row: Rejection = { digest: r.digest!, code: r.code, via: r.via, source: r.source };
      await logRejection(this.pool, row, {
        keep: this.limits.sampleSize,
        leaf: r.kind === 'statement',
      }).catch((e: unknown) =>
        this.log.warn({ code: r.code, errName: (e as Error).name }, 'refusal not logged'),
      );
    }
    return err;
  }

  /**
   * Adds the counts held so far to the database now; resolves once they, and those of a flush
   * already under way (the timer's), are stored. One flush at a time.
   */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.flushNow());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async flushNow(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const counts = [...this.pending.values()];
    this.pending = new Map();
    const now = Date.now();
    const prune = now - this.lastPrune >= RETENTION_PRUNE_MS;
    if (!counts.length && !prune) return;
    if (prune) this.lastPrune = now;
    const retainSince = prune
      ? new Date(now - this.limits.retentionDays * 24 * 60 * 60 * 1000)
      : undefined;
    const limited = counts.filter((c) => c.limited > 0);
    if (limited.length)
      this.log.warn(
        {
          limited: limited.reduce((n, c) => n + c.limited, 0),
          sources: new Set(limited.map((c) => c.source)).size,
        },
        'refused envelopes answered 429 rate_limited',
      );
    try {
      await addRejectionCounts(this.pool, counts, retainSince);
    } catch (e) {
      // Counts are statistics, not evidence: a database away (or a node stopping) loses them.
      this.log.warn(
        { errName: (e as Error).name, lost: counts.reduce((n, c) => n + c.refused, 0) },
        'refusal counts not stored',
      );
    }
  }

  private count(r: Refused, limited: boolean, nowMs: number): void {
    const minute = Math.floor(nowMs / 60_000) * 60_000;
    let source = r.source;
    let key = `${minute}|${source}|${r.code}`;
    if (!this.pending.has(key) && this.pending.size >= this.limits.maxPendingCounts) {
      source = 'other';
      key = `${minute}|${source}|${r.code}`;
    }
    const entry = this.pending.get(key) ?? {
      minute: new Date(minute),
      source,
      code: r.code,
      refused: 0,
      limited: 0,
    };
    entry.refused += 1;
    if (limited) entry.limited += 1;
    this.pending.set(key, entry);
    this.timer ??= setTimeout(() => void this.flush(), this.limits.flushMs).unref();
  }
}

const logs = new WeakMap<object, RefusalLog>();

/** The node's refusal log: the one its inbox dependencies carry, else one made for them once. */
export function refusalLogOf(deps: {
  pool: pg.Pool;
  log: Logger;
  refusals?: RefusalLog | undefined;
}): RefusalLog {
  if (deps.refusals) return deps.refusals;
  let made = logs.get(deps);
  if (!made) {
    made = new RefusalLog(deps.pool, deps.log);
    logs.set(deps, made);
  }
  return made;
}
