// A party's consent to a pause of both clocks by the request's mediator (README, _Mediated
// exchange_): signed by the party, kept, and posted to the mediator, whose pause must carry it and
// the partner's consent before either party's clocks stop. Sent at once: the officer learns whether
// the mediator holds it; a consent the mediator has not yet taken is sent again when asked again.
import type pg from 'pg';
import { partyOwnInbox } from '../db/registry.js';
import {
  consentsInPauses,
  consentsOfRequest,
  insertConsent,
  recordConsentAnswer,
  unusedConsents,
  type ConsentRow,
} from '../db/pause-consents.js';
import { requestPartnerAndMediator } from '../db/messages.js';
import { getRequest } from '../db/requests.js';
import { AppError } from '../errors.js';
import { digestOfInput } from '../protocol/digest.js';
import { signDraft } from '../protocol/sign.js';
import { isTerminal } from '../workflows/lifecycle.js';
import { postEnvelope, signedAtMs, type NoticeDeps } from './mediator-notices.js';

/** A consent older than this is signed afresh before it is sent again (its lifetime is 300 s). */
const FRESH_FOR_MS = 200_000;

/** What the officer is told: the consent, and whether (and when) the mediator holds it. */
export interface ConsentAnswer {
  row: ConsentRow;
  /** The mediator's receipt time; null when it could not be reached (the consent is kept). */
  heldSince: Date | null;
}

/**
 * This node's newest consent to a pause by `mediator` that no pause this node took carried yet
 * (the mediator may have used it in a pause that did not reach this node).
 */
export async function newestConsent(
  pool: pg.Pool,
  reqId: string,
  mediator: string,
): Promise<ConsentRow | undefined> {
  const used = (await consentsInPauses(pool, reqId)).map(digestOfInput);
  return (await unusedConsents(pool, reqId, used)).find((c) => c.mediator === mediator);
}

/**
 * Gives this node's consent to a pause of the request's clocks and sends it to the mediator: the
 * consent already given, when the mediator does not hold it yet (sent again); else a new one. A
 * retry does not give a second consent while the first is on its way, but asking once the
 * mediator holds it gives a fresh one: the mediator may have used the last in a pause that did not
 * reach this node, and it uses each party's newest. Refuses a request this node does not hold
 * (`unknown_request`), one that has ended or does not go through a mediator (`invalid_state`),
 * and passes the mediator's refusal on (`invalid_state`).
 */
export async function givePauseConsent(
  deps: NoticeDeps,
  reqId: string,
  actor: string,
  now = new Date(),
): Promise<ConsentAnswer> {
  const mediator = await mediatorOfOpenRequest(deps, reqId);
  const given = await newestConsent(deps.pool, reqId, mediator);
  let row = given?.received_at ? undefined : given;
  if (!row || now.getTime() - signedAtMs(row.token) > FRESH_FOR_MS)
    row = await signForMediator(deps, reqId, mediator, 'consent', actor, now);
  return postToMediator(deps, row);
}

/**
 * Withdraws this node's consents to a pause of the request's clocks (README, _Mediated exchange_):
 * signs the withdrawal and posts it to the mediator, whose next pause then needs a consent given
 * after it. Refused (`invalid_state`) when no consent is outstanding: none given, or the last one
 * carried by a pause or withdrawn already. A withdrawal the mediator could not be reached with is
 * kept (`heldSince` null) and sent again when asked again.
 */
export async function withdrawPauseConsent(
  deps: NoticeDeps,
  reqId: string,
  actor: string,
  now = new Date(),
): Promise<ConsentAnswer> {
  const mediator = await mediatorOfOpenRequest(deps, reqId);
  // The withdrawal to send: a new one while a consent is outstanding; else the last thing this
  // node sent the mediator, when that is a withdrawal it has not taken yet (sent again).
  const last = (await consentsOfRequest(deps.pool, reqId)).findLast(
    (c) => c.mediator === mediator && !c.refused_code,
  );
  const outstanding = await newestConsent(deps.pool, reqId, mediator);
  const unsent = last?.action === 'withdraw_consent' && !last.received_at ? last : undefined;
  if (!outstanding && !unsent)
    throw new AppError(
      'invalid_state',
      'this node has no consent to a pause outstanding: none given, or used or withdrawn already',
    );
  const row =
    !outstanding && unsent && now.getTime() - signedAtMs(unsent.token) <= FRESH_FOR_MS
      ? unsent
      : await signForMediator(deps, reqId, mediator, 'withdraw_consent', actor, now);
  return postToMediator(deps, row);
}

/** The mediator of a request this node holds that has not ended; refused otherwise. */
async function mediatorOfOpenRequest(deps: NoticeDeps, reqId: string): Promise<string> {
  const request = await getRequest(deps.pool, reqId);
  const known = await requestPartnerAndMediator(deps.pool, reqId);
  if (!request || !known) throw new AppError('unknown_request', 'no request with this id');
  if (isTerminal(request.status) || request.erasure)
    throw new AppError('invalid_state', `the request has ended (${request.status})`);
  const mediator = known.via;
  if (!mediator) throw new AppError('invalid_state', 'the request does not go through a mediator');
  return mediator;
}

/** Signs this node's consent (or its withdrawal) for the mediator, and keeps it as sent. */
async function signForMediator(
  deps: NoticeDeps,
  reqId: string,
  mediator: string,
  action: ConsentRow['action'],
  actor: string,
  now: Date,
): Promise<ConsentRow> {
  const signed = await signDraft(
    {
      kind: 'mediation',
      iss: deps.partyId,
      aud: mediator,
      req_id: reqId,
      body: action === 'consent' ? { action, to: 'pause' } : { action },
    },
    deps.keyring.signerFor('mediation', now),
    now,
  );
  const fresh = {
    msg_id: signed.payload.msg_id,
    digest: signed.digest,
    req_id: reqId,
    mediator,
    token: signed.token,
    created_by: actor,
    action,
  };
  await insertConsent(deps.pool, fresh, now);
  return { ...fresh, created_at: now, receipt_token: null, received_at: null, refused_code: null };
}

/**
 * Posts a consent (or its withdrawal) to the mediator now: its receipt is kept (and said), its
 * refusal recorded and passed on (`invalid_state`); unreachable, it stays kept for the next ask.
 */
async function postToMediator(deps: NoticeDeps, row: ConsentRow): Promise<ConsentAnswer> {
  const inbox = await partyOwnInbox(deps.pool, row.mediator);
  if (!inbox) throw new AppError('unknown_party', `the mediator ${row.mediator} is not registered`);
  const posted = await postEnvelope(deps, inbox.inboxUrl, row.token, {
    aud: row.mediator,
    msgId: row.msg_id,
  });
  if ('receipt' in posted) {
    await recordConsentAnswer(deps.pool, row, {
      receiptToken: posted.receipt,
      receiptDigest: posted.receiptDigest,
      receivedAt: posted.receivedAt,
    });
    return {
      row: { ...row, receipt_token: posted.receipt, received_at: posted.receivedAt },
      heldSince: posted.receivedAt,
    };
  }
  const what = row.action === 'consent' ? 'consent' : 'withdrawal of the consent';
  if ('refused' in posted) {
    await recordConsentAnswer(deps.pool, row, { refusedCode: posted.refused });
    throw new AppError(
      'invalid_state',
      `the mediator ${row.mediator} refused the ${what} (${posted.refused})`,
    );
  }
  deps.log.warn(
    { reqId: row.req_id, mediator: row.mediator, code: posted.retry },
    `${what} not yet with the mediator`,
  );
  return { row, heldSince: null };
}
