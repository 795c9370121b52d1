// A mediator's watch over the requests it relays (README, _Mediated exchange_): every
// MEDIATOR_WATCH_SECONDS it looks again at the requests whose view may have changed (a message or a
// recipient's receipt relayed since, or a deadline or escalation foreseen at the last look), records
// a notification to its supervisors for each deadline that passed and each escalation level
// reached (once per request, deadline and level), posts those to the node's webhooks until each
// target took them, and notes when to look again. Everything it decides is derived from the
// relayed messages: a pass lost to a crash is made again by the next one. One pass at a time runs
// among all the node's processes (its advisory lock). The clock is injectable.
import type { Logger } from 'pino';
import type pg from 'pg';
import { postWebhook, webhookTarget } from '../activities/notify-webhooks.js';
import {
  dueWatches,
  listMediatorNotifications,
  recordMediatorNotification,
  recordMediatorPost,
  watchAgainAt,
} from '../db/mediator.js';
import { MEDIATOR_WATCH_LOCK } from '../db/singleton.js';
import { mediatedRequests } from '../exchange/mediated-requests.js';
import { deliverDueNotices, type NoticeDeps } from '../exchange/mediator-notices.js';
import { startPassLoop } from './pass-loop.js';
import type { LoadedPolicy } from './policy.js';

/** Requests one pass looks at, at most; the rest wait for the next pass. */
const BATCH = 200;
/**
 * POST rounds per notification before the watch stops trying a target that never takes it: with
 * the backoff (twice as long after each round, an hour at most), about 13 hours at the default
 * interval.
 */
export const MEDIATOR_WEBHOOK_ATTEMPTS = 20;

export interface WatchResult {
  looked: number;
  /** Notifications recorded by this pass: `req_id deadline level`. */
  notified: string[];
  posted: number;
  /** The mediator's notices the parties took in this pass. */
  noticesDelivered: number;
}

export interface MediatorWatch {
  /** One pass as of `now` (default: the watch's clock). */
  pass(now?: Date): Promise<WatchResult>;
  stop(): Promise<void>;
}

export function startMediatorWatch(o: {
  pool: pg.Pool;
  partyId: string;
  policy: LoadedPolicy;
  webhooks: { urls: readonly string[]; secret: string | undefined };
  /** Seconds between passes; 0: no loop (passes only when `pass` is called). */
  intervalSeconds: number;
  log: Logger;
  now?: () => Date;
  /** Signs and delivers the mediator's notices to the parties; without it, none are delivered. */
  notices?: NoticeDeps;
}): MediatorWatch {
  const clock = o.now ?? (() => new Date());

  const pass = async (now = clock()): Promise<WatchResult> => {
    const result: WatchResult = { looked: 0, notified: [], posted: 0, noticesDelivered: 0 };
    // Notices first: what the parties took shows in the looks that follow.
    if (o.notices) result.noticesDelivered = await deliverDueNotices(o.notices, now);
    for (const watched of await dueWatches(o.pool, now, BATCH)) {
      try {
        result.looked += await look(watched, now, result);
      } catch (err) {
        // One request that cannot be read must not hold up the others: it is looked at again
        // later (in an hour, or when something about it is relayed).
        o.log.warn(
          { reqId: watched.reqId, errName: (err as Error).name, msg: (err as Error).message },
          'mediator watch could not look at a request',
        );
        await watchAgainAt(o.pool, watched, new Date(now.getTime() + 3_600_000), now);
      }
    }
    result.posted = await postPending(now);
    return result;
  };

  /** One look at one request: records what passed and when to look again. */
  const look = async (
    watched: { reqId: string; version: number },
    now: Date,
    result: WatchResult,
  ): Promise<number> => {
    const { reqId } = watched;
    const [view] = await mediatedRequests(
      { pool: o.pool, policy: o.policy },
      { reqId, limit: 1, now },
    );
    let next: number | null = null;
    for (const d of view?.deadlines ?? []) {
      // A view missing messages M did not relay is a guess: nobody is told on a guess.
      if (d.overdue && view?.complete) {
        const request = { type: view.type, requester: view.requester, responder: view.responder };
        // Level 0: passed, not yet escalated (an escalation policy that starts later).
        const levels = d.escalationLevel === 0 ? [0] : range(1, d.escalationLevel);
        for (const level of levels) {
          const fresh = await recordMediatorNotification(o.pool, {
            reqId,
            deadline: d.kind,
            level,
            dueAt: new Date(d.dueAt),
            request,
          });
          if (fresh) {
            result.notified.push(`${reqId} ${d.kind} ${level}`);
            o.log.warn(
              { reqId, deadline: d.kind, level, dueAt: d.dueAt },
              'a deadline of a mediated request passed',
            );
          }
        }
      }
      if (d.nextChangeAt) next = Math.min(next ?? Infinity, Date.parse(d.nextChangeAt));
    }
    await watchAgainAt(
      o.pool,
      watched,
      next === null ? null : new Date(next),
      now,
      view?.overdue ?? false,
    );
    return 1;
  };

  /**
   * Posts the notifications some webhook target has not taken yet and whose next round is due
   * (backing off from one pass to an hour, MEDIATOR_WEBHOOK_ATTEMPTS rounds at most), all at once:
   * a slow target holds the pass for one timeout, not one per notification. Returns the POSTs taken.
   */
  const postPending = async (now: Date): Promise<number> => {
    if (o.webhooks.urls.length === 0) return 0;
    const targets = o.webhooks.urls.map((url) => ({ url, target: webhookTarget(url) }));
    const due = await listMediatorNotifications(o.pool, {
      limit: 100,
      undelivered: {
        targets: targets.map((t) => t.target),
        now,
        baseSeconds: Math.max(1, o.intervalSeconds),
        maxAttempts: MEDIATOR_WEBHOOK_ATTEMPTS,
      },
    });
    const posted = await Promise.all(
      due.map(async (n) => {
        const id = `${o.partyId}:mediated:${n.req_id}:${n.deadline}:${n.level}`;
        const text = JSON.stringify({
          id,
          party: o.partyId,
          kind: 'mediated_deadline_passed',
          req_id: n.req_id,
          request_type: n.request_type,
          requester: n.requester,
          responder: n.responder,
          deadline: n.deadline,
          level: n.level,
          due_at: n.due_at.toISOString(),
          at: n.at.toISOString(),
          link: `/dashboard/mediated/${encodeURIComponent(n.req_id)}`,
          api: `/v1/mediated/${encodeURIComponent(n.req_id)}`,
        });
        const outcomes = await Promise.all(
          targets
            .filter((t) => !n.delivered_targets.includes(t.target))
            .map(async (t) => ({
              target: t.target,
              error: await postWebhook(t.url, id, text, {
                partyId: o.partyId,
                secret: o.webhooks.secret,
              }),
            })),
        );
        const took = outcomes.filter((x) => x.error === null).map((x) => x.target);
        const failed = outcomes.find((x) => x.error !== null);
        await recordMediatorPost(
          o.pool,
          { reqId: n.req_id, deadline: n.deadline, level: n.level },
          took,
          failed ? `${failed.target.slice(0, 12)} ${failed.error}` : null,
          now,
        );
        return took.length;
      }),
    );
    return posted.reduce((x, y) => x + y, 0);
  };

  const loop = startPassLoop({
    pool: o.pool,
    lock: MEDIATOR_WATCH_LOCK,
    intervalSeconds: o.intervalSeconds,
    log: o.log,
    what: 'mediator watch',
    pass: (now?: Date) => pass(now),
    idle: { looked: 0, notified: [], posted: 0, noticesDelivered: 0 },
  });
  return { pass: (now) => loop.run(now), stop: () => loop.stop() };
}

const range = (from: number, to: number) =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
