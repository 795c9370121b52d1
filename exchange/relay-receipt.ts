// A mediator's relay receipt beside a message (README, _Mediated exchange_): the header it travels
// in, and the recipient's check that a message from a party routed through a mediator came with it.
import type pg from 'pg';
import { requestPartnerAndMediator } from '../db/messages.js';
import { mediatorAgreed } from '../db/registry.js';
import { AppError, type ErrorCode } from '../errors.js';
import type { KeyRegistry } from '../protocol/keys.js';
import { verifyEnvelope, type VerifiedEnvelope } from '../protocol/verify.js';

/** The header beside a relayed message (and the mediator's answer) holding its relay receipt. */
export const RELAY_RECEIPT_HEADER = 'parley-relay-receipt';

/** A message that came through a mediator: the mediator's relay receipt, and who signed it. */
export interface Relayed {
  relayReceipt: string;
  mediator: string;
}

/**
 * The mediator a partner's message must come through, if any (README, _A mediator per request_):
 * for a request, the one its body names, which this node's registry must agree for the sender
 * (its `via` when set, else one of its `mediators`: `mediator_not_agreed`), else the `via`; for a later message of a request, the one
 * its request named, else the `via`. A mediator's own messages (its notices) come straight.
 */
export async function mediatorOf(
  pool: pg.Pool,
  message: VerifiedEnvelope,
): Promise<string | undefined> {
  const p = message.payload;
  const via = message.key.partyVia ?? undefined;
  if (p.kind === 'request') {
    const named = p.body.mediator;
    if (named === undefined) return via;
    if (!(await mediatorAgreed(pool, p.iss, named)))
      throw new AppError(
        'mediator_not_agreed',
        `the request names ${named}, which this node's registry does not agree as a mediator for ${p.iss}`,
        [{ path: '/body/mediator', message: 'not a mediator agreed for the sender' }],
      );
    return named;
  }
  if (p.kind === 'receipt' || p.kind === 'mediation' || !p.req_id) return via;
  const known = await requestPartnerAndMediator(pool, p.req_id);
  return known?.partner === p.iss ? (known.via ?? undefined) : via;
}

/**
 * The recipient's side: a message from a party whose messages go through a mediator (the
 * registry's `via`, or the mediator its request names) must come with that mediator's relay
 * receipt for its digest (`relay_missing` otherwise). Returns the receipt to keep beside the
 * message and its mediator, or undefined when the message goes directly.
 */
export async function checkRelayReceipt(
  deps: { registry: KeyRegistry; pool: pg.Pool },
  message: VerifiedEnvelope,
  relayReceipt: string | undefined,
): Promise<Relayed | undefined> {
  const via = await mediatorOf(deps.pool, message);
  if (!via) return undefined;
  const missing = (why: string): never => {
    throw new AppError(
      'relay_missing' satisfies ErrorCode,
      `${message.payload.iss} sends through ${via}: ${why}`,
    );
  };
  if (!relayReceipt) return missing(`the message came without ${via}'s relay receipt`);
  try {
    const r = await verifyEnvelope(relayReceipt, {
      registry: deps.registry,
      self: message.payload.iss,
      now: new Date(),
      mode: 'import',
    });
    const p = r.payload;
    if (p.kind === 'receipt' && p.iss === via && p.body.digest === message.digest)
      return { relayReceipt, mediator: via };
  } catch {
    // refused below
  }
  return missing(`the relay receipt is not ${via}'s receipt for this message's digest`);
}
