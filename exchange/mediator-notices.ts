// A mediator's notices to the parties of a request it relays (README, _Mediated exchange_): a
// reminder of a deadline to one party or both, and a pause of both parties' clocks, later resumed.
// M signs one envelope of kind `mediation` per party (a pause: the same pause id and instant in
// both), stores them before answering, and delivers each party's in the order signed, with
// backoff and a bounded number of rounds. A party takes a notice from the mediator its registry
// names for the request's partner and answers with its signed receipt; a refusal stays visible
// here, in M's view of the request.
import type pg from 'pg';
import type { Logger } from 'pino';
import { ulid } from 'ulid';
import {
  consentsHeld,
  dueNotices,
  requeueNotices,
  insertNotices,
  noticesOfRequests,
  recordNoticeAttempt,
  resignNotice,
  type HeldConsent,
  type NewNotice,
  type NoticeOutcome,
  type NoticeRow,
} from '../db/mediator-notices.js';
import { withConversationLock } from '../db/messages.js';
import { partyOwnInbox } from '../db/registry.js';
import { AppError } from '../errors.js';
import type { KeyRegistry } from '../protocol/keys.js';
import type { Keyring } from '../protocol/keyring.js';
import { signDraft } from '../protocol/sign.js';
import { verifyEnvelope } from '../protocol/verify.js';
import type { MessageBodies } from '../schemas/envelope.js';
import type { MediatedRequestView, MediatorNoticeInput } from '../schemas/mediator-api.js';
import { isTerminal } from '../workflows/lifecycle.js';
import { postToInbox, readInboxAnswer } from './inbox-post.js';
import { isRetriedRefusal } from './outbox.js';
import type { z } from 'zod';
import { storedPayloadOf } from '../protocol/claims.js';

export interface NoticeDeps {
  pool: pg.Pool;
  partyId: string;
  registry: KeyRegistry;
  keyring: Keyring;
  log: Logger;
}

/** Least seconds between two reminders of one deadline to one party, unless configured. */
export const REMINDER_SPACING_SECONDS = 3_600;

/** Delivery rounds per notice before M gives it up (twice as long after each, an hour at most). */
export const NOTICE_ATTEMPTS = 20;
/** A token older than this is signed again before a delivery attempt (its lifetime is 300 s). */
const RESIGN_AFTER_MS = 200_000;
/** How long M waits for a party's inbox per attempt. */
const POST_TIMEOUT_MS = 10_000;

type MediationBody = z.infer<(typeof MessageBodies)['mediation']>;

/** The pause a view's notices leave open (its id and start), if any. */
export function openPause(
  notices: readonly Pick<NoticeRow, 'action' | 'pause_id' | 'at' | 'state'>[],
): { pauseId: string; from: Date } | undefined {
  let open: { pauseId: string; from: Date } | undefined;
  for (const n of notices) {
    if (n.action === 'pause' && n.pause_id && n.at) open = { pauseId: n.pause_id, from: n.at };
    if (n.action === 'resume' && n.pause_id === open?.pauseId) open = undefined;
  }
  return open;
}

/**
 * When M may next remind any of `parties` of `deadline`: `spacingMs` after the newest reminder of
 * it to one of them that the party did not refuse (milliseconds since the epoch; 0 when none).
 */
export function nextReminderAt(
  notices: readonly Pick<NoticeRow, 'action' | 'aud' | 'deadline' | 'created_at' | 'state'>[],
  parties: readonly string[],
  deadline: 'acknowledgement' | 'response',
  spacingMs: number,
): number {
  if (spacingMs <= 0) return 0;
  const last = notices
    .filter(
      (n) =>
        n.action === 'reminder' &&
        n.deadline === deadline &&
        n.state !== 'refused' &&
        parties.includes(n.aud),
    )
    .reduce((t, n) => Math.max(t, n.created_at.getTime()), 0);
  return last ? last + spacingMs : 0;
}

/**
 * Each party's newest consent to a pause that no pause carried yet and no withdrawal of the party
 * followed, or the parties still to give one (README, _Mediated exchange_). `held` in the order
 * the parties signed them (`consentsHeld`).
 */
export function consentsForPause<C extends Pick<HeldConsent, 'iss' | 'digest' | 'action'>>(
  held: readonly C[],
  notices: readonly Pick<NoticeRow, 'consents'>[],
  parties: readonly string[],
): { consents: C[] } | { missing: string[] } {
  // A party's consents up to the last one a pause carried are spent (one given twice, by a double
  // click, is spent with the other): the parties check the same (exchange/inbound-router.ts). A
  // withdrawal ends every consent before it: the parties cannot check that (a partner's
  // withdrawal never reaches them), so M keeps to it, and the party holds M's receipt of it.
  const used = new Set(notices.flatMap((n) => n.consents));
  const newest = (party: string) => {
    const mine = held.filter((c) => c.iss === party);
    const ended = Math.max(
      mine.findLastIndex((c) => used.has(c.digest)),
      mine.findLastIndex((c) => c.action === 'withdraw_consent'),
    );
    return mine.slice(ended + 1).at(-1);
  };
  const found = parties.map(newest);
  const missing = parties.filter((_, i) => !found[i]);
  return missing.length ? { missing } : { consents: found as C[] };
}

/**
 * Signs and stores M's notice to the request's parties (both; a reminder to one when asked), after
 * checking it fits the request as M sees it: the request reached the responder and has not ended;
 * a pause while none is open and with both parties' consent, a resume of the open one. Delivery
 * follows (`deliverDueNotices`).
 */
export async function sendNotice(
  deps: NoticeDeps,
  view: MediatedRequestView,
  input: MediatorNoticeInput,
  actor: string,
  now = new Date(),
  opts: { reminderSpacingSeconds?: number } = {},
): Promise<NoticeRow[]> {
  if (view.asResponder === null)
    throw new AppError('invalid_state', 'the request has not reached the responder yet');
  if (isTerminal(view.settledStatus))
    throw new AppError('invalid_state', `the request has ended (${view.settledStatus})`);
  // Under the request's lock: two supervisors pausing at once open one pause, and a consent is
  // carried by one pause only.
  return withConversationLock(deps.pool, view.reqId, async (client) => {
    const held = await noticesOfRequests(client, [view.reqId]);
    const open = openPause(held);
    let body: MediationBody;
    let consents: string[] = [];
    let to: string[] = [view.requester, view.responder];
    if (input.action === 'reminder') {
      const due = view.deadlines.find((d) => d.kind === input.deadline);
      body = {
        action: 'reminder',
        deadline: input.deadline,
        ...(due ? { due_at: due.dueAt } : {}),
      };
      if (input.to !== 'both') to = [input.to === 'requester' ? view.requester : view.responder];
      // A reminder is a notification at the party: one per deadline and party per spacing, so a
      // mediator (or a double click) cannot flood a party's supervisors.
      const spacingMs = (opts.reminderSpacingSeconds ?? REMINDER_SPACING_SECONDS) * 1000;
      const nextAt = nextReminderAt(held, to, input.deadline, spacingMs);
      if (nextAt > now.getTime()) {
        const wait = Math.ceil((nextAt - now.getTime()) / 1000);
        throw new AppError(
          'rate_limited',
          `a reminder of the ${input.deadline} deadline went to ${to.join(' and ')} less than ${spacingMs / 1000} s ago; the next may go in ${wait} s`,
          undefined,
          { retry_after: wait },
        );
      }
    } else if (input.action === 'pause') {
      if (open)
        throw new AppError('invalid_state', `the clocks are already paused (${open.pauseId})`);
      const given = consentsForPause(await consentsHeld(client, [view.reqId]), held, to);
      if ('missing' in given)
        throw new AppError(
          'pause_consent',
          `a pause needs both parties’ consent: ${given.missing.join(' and ')} ${given.missing.length > 1 ? 'have' : 'has'} not given it, or withdrew it`,
        );
      consents = given.consents.map((c) => c.digest);
      body = {
        action: 'pause',
        pause_id: ulid(now.getTime()),
        // Never before the consents were signed (whole seconds, by the parties' clocks).
        from: new Date(
          Math.max(now.getTime(), ...given.consents.map((c) => signedAtMs(c.token))),
        ).toISOString(),
        consents: given.consents.map((c) => c.token),
      };
    } else {
      // A resume a party never took (given up after the last round) is sent to it again: its
      // clocks stay stopped until it takes one.
      const lost = held.filter((n) => n.action === 'resume' && n.state === 'given_up');
      if (!open && lost.length) {
        await requeueNotices(
          client,
          lost.map((n) => n.msg_id),
        );
        const again = new Set(lost.map((n) => n.msg_id));
        return (await noticesOfRequests(client, [view.reqId])).filter((n) => again.has(n.msg_id));
      }
      if (!open) throw new AppError('invalid_state', 'the clocks are not paused');
      body = { action: 'resume', pause_id: open.pauseId, to: now.toISOString() };
    }
    const signer = deps.keyring.signerFor('mediation', now);
    const rows: NewNotice[] = [];
    for (const aud of to) {
      const signed = await signDraft(
        { kind: 'mediation', iss: deps.partyId, aud, req_id: view.reqId, body },
        signer,
        now,
      );
      rows.push({
        msg_id: signed.payload.msg_id,
        digest: signed.digest,
        req_id: view.reqId,
        aud,
        action: body.action,
        pause_id: body.action === 'pause' || body.action === 'resume' ? body.pause_id : null,
        at: body.action === 'pause' ? new Date(body.from) : body.action === 'resume' ? now : null,
        deadline: body.action === 'reminder' ? body.deadline : null,
        consents,
        token: signed.token,
      });
    }
    await insertNotices(client, rows, actor, now);
    const stored = await noticesOfRequests(client, [view.reqId]);
    const mine = new Set(rows.map((r) => r.msg_id));
    return stored.filter((n) => mine.has(n.msg_id));
  });
}

/** Delivers the notices whose turn has come (each request's and party's in order). */
export async function deliverDueNotices(
  deps: NoticeDeps,
  now = new Date(),
  limit = 200,
): Promise<number> {
  let delivered = 0;
  for (const n of await dueNotices(deps.pool, now, limit)) {
    let attempt;
    try {
      attempt = await deliverOnce(deps, n, now);
    } catch (err) {
      // One notice that cannot be signed or sent holds up neither the others nor the watch; it
      // counts as a round, so it is given up on as any other.
      deps.log.warn(
        { reqId: n.req_id, msgId: n.msg_id, errName: (err as Error).name },
        'a mediator notice could not be sent',
      );
      attempt = { outcome: retryOutcome(n, now, 'internal'), digest: n.digest };
    }
    const { outcome, digest } = attempt;
    await recordNoticeAttempt(deps.pool, { ...n, digest }, outcome);
    if (outcome.state === 'delivered') delivered += 1;
    else if (outcome.state !== 'pending')
      deps.log.warn(
        { reqId: n.req_id, msgId: n.msg_id, aud: n.aud, code: outcome.code },
        'a party did not take the mediator’s notice',
      );
  }
  return delivered;
}

/** Delivers the request's pending notices now, as far as each party takes them. */
export async function deliverNoticesOf(deps: NoticeDeps, reqId: string): Promise<void> {
  for (let round = 0; round < 4; round++) {
    const due = (await dueNotices(deps.pool, new Date(), 1_000)).filter((n) => n.req_id === reqId);
    if (due.length === 0) return;
    for (const n of due) {
      const { outcome, digest } = await deliverOnce(deps, n);
      await recordNoticeAttempt(deps.pool, { ...n, digest }, outcome);
    }
  }
}

/** A failed round: tried again later (twice as long each time, an hour at most), or given up. */
function retryOutcome(n: NoticeRow, now: Date, code: string): NoticeOutcome {
  return n.attempts + 1 >= NOTICE_ATTEMPTS
    ? { state: 'given_up', code }
    : {
        state: 'pending',
        code,
        nextAt: new Date(now.getTime() + Math.min(3_600, 2 ** n.attempts) * 1000),
      };
}

/** One attempt (signing the notice again first if its token is old); the digest it sent. */
async function deliverOnce(
  deps: NoticeDeps,
  n: NoticeRow,
  now = new Date(),
): Promise<{ outcome: NoticeOutcome; digest: string }> {
  let { token, digest } = n;
  const answer = (outcome: NoticeOutcome) => ({ outcome, digest });
  const retry = (code: string): NoticeOutcome => retryOutcome(n, now, code);
  const inbox = await partyOwnInbox(deps.pool, n.aud);
  if (!inbox) return answer({ state: 'refused', code: 'unknown_party' });
  if (now.getTime() - signedAtMs(token) > RESIGN_AFTER_MS) {
    const again = await signDraft(
      {
        kind: 'mediation',
        msg_id: n.msg_id,
        iss: deps.partyId,
        aud: n.aud,
        req_id: n.req_id,
        body: payloadOf(token).body as MediationBody,
      },
      deps.keyring.signerFor('mediation', now),
      now,
    );
    await resignNotice(deps.pool, n.msg_id, again);
    ({ token, digest } = again);
  }
  const posted = await postEnvelope(deps, inbox.inboxUrl, token, { aud: n.aud, msgId: n.msg_id });
  if ('receipt' in posted)
    return answer({
      state: 'delivered',
      receiptToken: posted.receipt,
      receiptDigest: posted.receiptDigest,
      receivedAt: posted.receivedAt,
    });
  return answer(
    'retry' in posted ? retry(posted.retry) : { state: 'refused', code: posted.refused },
  );
}

/** What the addressee of an envelope M or a party posted made of it. */
export type Posted =
  | { receipt: string; receiptDigest: string; receivedAt: Date }
  | { refused: string }
  | { retry: string };

/**
 * Posts one envelope to its addressee's inbox: its signed receipt (checked: from the addressee,
 * for this message; a replay's receipt too), a refusal for good with its code, or a failure to try
 * again (unreachable, server trouble, a receipt that does not check).
 */
export async function postEnvelope(
  deps: Pick<NoticeDeps, 'registry' | 'partyId'>,
  inboxUrl: string,
  token: string,
  expect: { aud: string; msgId: string },
): Promise<Posted> {
  let res: Response;
  try {
    res = await postToInbox(inboxUrl, token, POST_TIMEOUT_MS);
  } catch (err) {
    return { retry: `unreachable: ${(err as Error).name}` };
  }
  const { receipt, replayed, code } = readInboxAnswer(res.status, await res.text());
  if (receipt !== undefined) {
    try {
      const v = await verifyEnvelope(receipt, {
        registry: deps.registry,
        self: deps.partyId,
        now: new Date(),
        // A replay's receipt is the one signed when the message first arrived: old, not stale.
        mode: replayed ? 'import' : 'online',
      });
      const p = v.payload;
      if (p.kind !== 'receipt' || p.iss !== expect.aud || p.in_reply_to.msg_id !== expect.msgId)
        throw new AppError('reply_mismatch', 'not the addressee’s receipt of this message');
      return { receipt, receiptDigest: v.digest, receivedAt: new Date(p.body.received_at) };
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return { retry: 'receipt_invalid' };
    }
  }
  return isRetriedRefusal(res.status, code) ? { retry: code } : { refused: code };
}

const payloadOf = (token: string) => storedPayloadOf<{ iat: number; body: unknown }>(token);

export const signedAtMs = (token: string) => payloadOf(token).iat * 1000;
