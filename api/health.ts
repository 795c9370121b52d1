// Liveness and readiness: `/healthz` says the process answers, `/readyz` that it can do its work.
import type { Router } from 'express';
import type { Connection } from '@temporalio/client';
import type pg from 'pg';
import { ping } from '../db/health.js';
import { inboxBacklog } from '../db/messages.js';
import { DeclaredRouter } from './routes.js';

export interface ReadinessDeps {
  partyId: string;
  pool: pg.Pool;
  temporal: Connection;
  namespace: string;
}

interface Check {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

const CHECK_TIMEOUT_MS = 2000;

/**
 * Runs one check. `bounded` says the call ends by itself within the limit (a Temporal call with a
 * deadline): it is awaited to its end, so no retry of it is left pending after the answer.
 * Otherwise it is raced against a timer.
 */
async function timed(fn: () => Promise<unknown>, bounded = false): Promise<Check> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    if (bounded) await fn();
    else
      await Promise.race([
        fn(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
            CHECK_TIMEOUT_MS,
          );
        }),
      ]);
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - started),
      error: message || 'unreachable',
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Stored partner messages not yet handed to their workflows (held ones, waiting for attachments,
 * included) and the age of the oldest. Shown, never a reason to be unready: the relay hands them
 * on, and a node that stopped taking traffic for it would only make the backlog longer.
 */
async function inboxReport(
  pool: pg.Pool,
): Promise<{ undispatched: number; oldestAgeSeconds: number | null } | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const backlog = await Promise.race([
      inboxBacklog(pool),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
      }),
    ]);
    const oldest = backlog.oldestReceivedAt;
    return {
      undispatched: backlog.undispatched,
      oldestAgeSeconds: oldest
        ? Math.max(0, Math.round((Date.now() - oldest.getTime()) / 1000))
        : null,
    };
  } catch {
    return null; // Postgres did not answer: its check says so
  } finally {
    clearTimeout(timer);
  }
}

export function healthRouter(deps: ReadinessDeps): Router {
  const declared = new DeclaredRouter('');
  const router = declared.router;
  declared.route('health', (_req, res) => {
    res.json({ status: 'ok', party: deps.partyId });
  });
  declared.route('readiness', async (_req, res) => {
    const [postgres, temporal, inbox] = await Promise.all([
      timed(() => ping(deps.pool)),
      timed(
        () =>
          deps.temporal.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () =>
            deps.temporal.workflowService.describeNamespace({ namespace: deps.namespace }),
          ),
        true,
      ),
      inboxReport(deps.pool),
    ]);
    const ready = postgres.ok && temporal.ok;
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'not_ready', checks: { postgres, temporal }, inbox });
  });
  return router;
}
