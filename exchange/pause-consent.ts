// A party's consent to a pause of both clocks by the request's mediator (README, _Mediated
// exchange_): signed by the party, kept, and posted to the mediator, whose pause must carry it and
// the partner's consent before either party's clocks stop. Sent at once: the officer learns whether
// the mediator holds it; a consent the mediator has not yet taken is sent again when asked again.
import type pg from 'pg';
import { partyOwnInbox } from '../db/registry.js';
import {
  consentsInPauses,
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
  const request = await getRequest(deps.pool, reqId);
  const known = await requestPartnerAndMediator(deps.pool, reqId);
  if (!request || !known) throw new AppError('unknown_request', 'no request with this id');
  if (isTerminal(request.status) || request.erasure)
    throw new AppError('invalid_state', `the request has ended (${request.status})`);
  const mediator = known.via;
  if (!mediator) throw new AppError('invalid_state', 'the request does not go through a mediator');
  const inbox = await partyOwnInbox(deps.pool, mediator);
  if (!inbox) throw new AppError('unknown_party', `the mediator ${mediator} is not registered`);

  const given = await newestConsent(deps.pool, reqId, mediator);
  let row = given?.received_at ? undefined : given;
  if (!row || now.getTime() - signedAtMs(row.token) > FRESH_FOR_MS) {
    const signed = await signDraft(
      {
        kind: 'mediation',
        iss: deps.partyId,
        aud: mediator,
        req_id: reqId,
        body: { action: 'consent', to: 'pause' },
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
    };
    await insertConsent(deps.pool, fresh, now);
    row = {
      ...fresh,
      created_at: now,
      receipt_token: null,
      received_at: null,
      refused_code: null,
    };
  }
  const posted = await postEnvelope(deps, inbox.inboxUrl, row.token, {
    aud: mediator,
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
  if ('refused' in posted) {
    await recordConsentAnswer(deps.pool, row, { refusedCode: posted.refused });
    throw new AppError(
      'invalid_state',
      `the mediator ${mediator} refused the consent (${posted.refused})`,
    );
  }
  deps.log.warn({ reqId, mediator, code: posted.retry }, 'pause consent not yet with the mediator');
  return { row, heldSince: null };
}
