// A mediator's relay receipt beside a message (README, _Mediated exchange_): the header it travels
// in, and the recipient's check that a message from a party routed through a mediator came with it.
import { AppError, type ErrorCode } from '../errors.js';
import type { KeyRegistry } from '../protocol/keys.js';
import { verifyEnvelope, type VerifiedEnvelope } from '../protocol/verify.js';

/** The header beside a relayed message (and the mediator's answer) holding its relay receipt. */
export const RELAY_RECEIPT_HEADER = 'parley-relay-receipt';

/**
 * The recipient's side: a message from a party whose messages go through a mediator must come with
 * that mediator's relay receipt for its digest (`relay_missing` otherwise). Returns the receipt to
 * keep beside the message, or undefined when the sender is not mediated.
 */
export async function checkRelayReceipt(
  deps: { registry: KeyRegistry },
  message: VerifiedEnvelope,
  relayReceipt: string | undefined,
): Promise<string | undefined> {
  const via = message.key.partyVia;
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
      return relayReceipt;
  } catch {
    // refused below
  }
  return missing(`the relay receipt is not ${via}'s receipt for this message's digest`);
}
