// Store and forward: export what waits for a partner (pending envelopes, receipts owed) to one
// file, and import such a file with the same verification as online delivery.
import { relayReceiptsOfVersions } from '../db/mediator.js';
import { importedReceiptsFrom, listOutbox } from '../db/messages.js';
import { AppError } from '../errors.js';
import { unverifiedClaims } from '../protocol/claims.js';
import { digestOfInput } from '../protocol/digest.js';
import { BUNDLE_FORMAT, type Bundle, type ImportResult } from '../schemas/bundle.js';
import { receiveEnvelope, type InboxDeps } from './inbox.js';
import { applyReceipt, type OutboxDeps } from './outbox.js';

export async function exportBundle(deps: OutboxDeps, partner: string): Promise<Bundle> {
  const pending = await listOutbox(deps.pool, { status: 'pending', aud: partner, limit: 100_000 });
  // A mediator's relay receipt travels with the version of the message it took (the importer
  // checks it names the message's digest: a version the mediator never took needs the mediator).
  const relayed = await relayReceiptsOfVersions(
    deps.pool,
    pending.map((m) => m.digest),
  );
  return {
    format: BUNDLE_FORMAT,
    v: 1,
    from: deps.partyId,
    to: partner,
    created_at: new Date().toISOString(),
    messages: pending.map((m) => m.token),
    receipts: await importedReceiptsFrom(deps.pool, partner),
    ...(relayed.size ? { relay_receipts: Object.fromEntries(relayed) } : {}),
  };
}

/** The msg_id a receipt answers, read without trust: applyReceipt verifies everything after. */
function answeredMsgId(token: string): string {
  const inReplyTo = unverifiedClaims(token)?.in_reply_to;
  const msgId =
    inReplyTo && typeof inReplyTo === 'object'
      ? (inReplyTo as { msg_id?: unknown }).msg_id
      : undefined;
  if (typeof msgId === 'string') return msgId;
  throw new AppError('malformed_envelope', 'not a receipt naming a message');
}

export async function importBundle(
  deps: {
    inbox: InboxDeps;
    outbox: OutboxDeps;
    /** Told of each of our messages whose receipt the file brought (after it is stored). */
    receiptApplied?: (msgId: string) => Promise<void>;
  },
  bundle: Bundle,
): Promise<{ results: ImportResult[]; reply: Bundle }> {
  if (bundle.to !== deps.inbox.partyId)
    throw new AppError('wrong_audience', `the bundle is addressed to ${bundle.to}`);
  const results: ImportResult[] = [];
  const receipts: string[] = [];
  for (const token of bundle.messages) {
    try {
      const r = await receiveEnvelope(deps.inbox, token, 'import', 'import', {
        relayReceipt: bundle.relay_receipts?.[digestOfInput(token)],
      });
      receipts.push(r.receipt);
      results.push({ kind: 'message', digest: r.digest, outcome: 'accepted' });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      const owed =
        err.code === 'replay' && typeof err.extra?.receipt === 'string'
          ? err.extra.receipt
          : undefined;
      if (owed) receipts.push(owed);
      results.push({ kind: 'message', digest: digestOfInput(token), outcome: err.code });
    }
  }
  for (const token of bundle.receipts) {
    try {
      const msgId = answeredMsgId(token);
      const r = await applyReceipt(deps.outbox, msgId, token, 'import');
      results.push({ kind: 'receipt', digest: r.receiptDigest, outcome: 'applied' });
      await deps.receiptApplied?.(msgId);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      results.push({ kind: 'receipt', digest: digestOfInput(token), outcome: err.code });
    }
  }
  return {
    results,
    reply: {
      format: BUNDLE_FORMAT,
      v: 1,
      from: deps.inbox.partyId,
      to: bundle.from,
      created_at: new Date().toISOString(),
      messages: [],
      receipts,
    },
  };
}
