// Mediated exchange (README, _Mediated exchange_). A mediator relays a party's signed message to
// its recipient unchanged: it verifies the signature (the sender is registered with it), stores the
// exact token, signs its own relay receipt (an ordinary v1 receipt from the mediator to the sender,
// naming the message's digest and when the mediator took it), and posts the token to the
// recipient's inbox with that receipt beside it (`Parley-Relay-Receipt`). The recipient's answer
// goes back to the sender as it came: its receipt (202), or its refusal. A recipient out of reach
// is answered `504 relay_pending`: the sender keeps sending the same envelope, and each try is a
// forwarding attempt, so the sender's workflow stays the one that retries. The mediator never opens
// sealed content: it holds no key for it.
import { AppError } from '../errors.js';
import { partyOwnInbox } from '../db/registry.js';
import {
  receiptForMessage,
  recordForward,
  relayedDigests,
  relayedRequestToken,
  storeRelayed,
} from '../db/mediator.js';
import { beyondScopeThroughMediator } from '../domain/consent.js';
import { holdsSealableContent } from '../protocol/seal.js';
import {
  ATTACHMENT_TOKEN_HEADER,
  verifyAttachmentToken,
  type AttachmentTokenClaims,
} from '../protocol/attachment-token.js';
import { claimedString, unverifiedClaims } from '../protocol/claims.js';
import { digestOfInput } from '../protocol/digest.js';
import { signDraft } from '../protocol/sign.js';
import { verifyAsSigned, verifyEnvelope } from '../protocol/verify.js';
import { ENVELOPE_MEDIA_TYPE } from '../schemas/envelope.js';
import type { InboxDeps } from './inbox.js';
import { postToInbox, readInboxAnswer } from './inbox-post.js';
import { RELAY_RECEIPT_HEADER } from './relay-receipt.js';
import { refusalKind, refusalLogOf } from './refusals.js';

/** What the mediator answers the sender. */
export type RelayAnswer =
  | { status: number; contentType: string; body: string; relayReceipt: string }
  | { problem: AppError; relayReceipt: string };

/**
 * How long the mediator waits for the recipient, well inside the sender's own wait for the
 * mediator (10 s per delivery attempt), so the sender gets `relay_pending` and the relay receipt
 * rather than a timeout of its own.
 */
export const RELAY_FORWARD_TIMEOUT_MS = 5_000;

/** The audience a token claims, read without trust (to tell a message to relay from our own). */
export function claimedAudience(token: string): string | undefined {
  return claimedString(token, 'aud');
}

/**
 * A mediator forwards no record beyond its consent scope (README, _Consent scopes_): an unsealed
 * response whose identification records only the requesting authority may see is refused here,
 * before the mediator keeps it. The request's type is the one the mediator relayed between the
 * same two parties; records that read like identification records (they carry a `conclusion`,
 * which no other type's records have) count as such whatever the type, so a request planted under
 * the same id cannot switch the check off. (A sealed response holds no records in clear.)
 */
async function checkScopeAtMediator(
  deps: Pick<InboxDeps, 'pool'>,
  response: { reqId: string; iss: string; aud: string },
  body: { records?: unknown },
): Promise<void> {
  const requestToken = await relayedRequestToken(deps.pool, response.reqId, {
    requester: response.aud,
    responder: response.iss,
  });
  const requestBody = requestToken ? unverifiedClaims(requestToken)?.body : undefined;
  const relayedType =
    requestBody && typeof requestBody === 'object'
      ? (requestBody as { request_type?: unknown }).request_type
      : undefined;
  const readsLikeIdentification =
    Array.isArray(body.records) &&
    body.records.some((r) => r !== null && typeof r === 'object' && 'conclusion' in r);
  if (relayedType !== 'identification_result' && !readsLikeIdentification) return;
  const beyond = beyondScopeThroughMediator('identification_result', body);
  if (beyond.length)
    throw new AppError(
      'consent_scope',
      'records only the requesting authority may see: this mediator neither keeps nor forwards them unsealed',
      beyond,
    );
}

/** Relays one envelope addressed to another party. Refusals are counted as the inbox's are. */
export async function relayEnvelope(
  deps: InboxDeps,
  token: string,
  source: string,
  timeoutMs = RELAY_FORWARD_TIMEOUT_MS,
): Promise<RelayAnswer> {
  let verified = false;
  let checked;
  try {
    const v = await verifyAsSigned(token, {
      registry: deps.registry,
      self: claimedAudience(token) ?? '',
      now: new Date(),
      mode: 'online',
    });
    verified = true;
    const p = v.payload;
    if (p.kind === 'receipt')
      throw new AppError('wrong_audience', 'a mediator relays messages, not receipts');
    // A mediator's notices are its own (README, _Mediated exchange_): a party cannot send one.
    if (p.kind === 'mediation')
      throw new AppError('wrong_audience', 'a mediation comes from the mediator, not through it');
    const [from, to] = await Promise.all([
      partyOwnInbox(deps.pool, p.iss),
      partyOwnInbox(deps.pool, p.aud),
    ]);
    if (!from?.relays || !to?.relays)
      throw new AppError(
        'wrong_audience',
        `aud is not this node, and it relays nothing between ${p.iss} and ${p.aud}`,
      );
    // A request that names another mediator goes through that one (README, _A mediator per
    // request_): its recipient would refuse it without that mediator's relay receipt.
    const named = p.kind === 'request' ? (p.body as { mediator?: unknown }).mediator : undefined;
    if (named !== undefined && named !== deps.partyId)
      throw new AppError(
        'mediator_not_agreed',
        `the request names ${JSON.stringify(named)} as its mediator, not this node`,
        [{ path: '/body/mediator', message: `must be ${deps.partyId} to be relayed here` }],
      );
    // A sealed message shows M only its public members: one that carries more in clear (a partner
    // system that splits it wrongly) is refused before M keeps it, as its recipient would.
    if ('sealed' in p && holdsSealableContent(p))
      throw new AppError(
        'schema_invalid',
        'a sealed message carries in clear a member or a file name that travels only inside `sealed`',
      );
    if (p.kind === 'response')
      await checkScopeAtMediator(deps, { reqId: p.req_id, iss: p.iss, aud: p.aud }, p.body);
    checked = { v, p, to };
  } catch (err) {
    if (!(err instanceof AppError) || err.status >= 500) throw err;
    throw await refusalLogOf(deps).refuse(err, {
      code: err.code,
      digest: digestOfInput(token),
      via: 'online',
      source,
      // Whoever posts an envelope to a mediator chose the route, not its signer: such refusals
      // are counted and limited by address, never audit leaves (the signer said nothing wrong).
      kind: verified ? 'unattributed' : refusalKind(err.code, verified),
    });
  }
  const { v, p, to } = checked;
  const now = new Date();
  const receipt = await signDraft(
    {
      kind: 'receipt',
      iss: deps.partyId,
      aud: p.iss,
      req_id: p.req_id,
      in_reply_to: { msg_id: p.msg_id, digest: v.digest },
      body: { digest: v.digest, received_at: now.toISOString() },
    },
    deps.keyring.signerFor('receipt', now),
    now,
  );
  const row = await storeRelayed(deps.pool, {
    digest: v.digest,
    iss: p.iss,
    aud: p.aud,
    msgId: p.msg_id,
    kind: p.kind,
    reqId: p.req_id,
    sealed: 'sealed' in p,
    token,
    receivedAt: now,
    relayReceiptToken: receipt.token,
  });
  const relayReceipt = row.relay_receipt_token;
  // The recipient's receipt for this message, or for another signed version of it (same sender
  // and msg_id, re-signed after its lifetime): the sender takes either.
  const held = row.partner_receipt_token ?? (await receiptForMessage(deps.pool, p.iss, p.msg_id));
  if (held) return { status: 202, contentType: ENVELOPE_MEDIA_TYPE, body: held, relayReceipt };

  const pending = (why: string): RelayAnswer => ({
    problem: new AppError(
      'relay_pending',
      `the mediator holds the message (see its relay receipt) and could not reach ${p.aud} yet (${why}): send it again later`,
    ),
    relayReceipt,
  });
  let res: Response;
  try {
    res = await postToInbox(to.inboxUrl, token, timeoutMs, {
      [RELAY_RECEIPT_HEADER]: relayReceipt,
    });
  } catch (err) {
    const why = `unreachable: ${(err as Error).name}`;
    await recordForward(deps.pool, v.digest, { status: null, error: why });
    return pending(why);
  }
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? 'application/problem+json';
  const { receipt: receiptToken, code } = readInboxAnswer(res.status, text);
  if (receiptToken !== undefined) {
    // The recipient's receipt is kept only when it is one: signed by the recipient, for this
    // message. The sender checks it again; anything else is not relayed as a receipt.
    const theirs = await recipientReceipt(deps, receiptToken, p.iss, p.aud, p.msg_id);
    if (!theirs) {
      await recordForward(deps.pool, v.digest, {
        status: res.status,
        error: 'receipt_invalid',
      });
      return pending('its answer is not its receipt for the message');
    }
    await recordForward(deps.pool, v.digest, {
      status: res.status,
      error: null,
      receiptToken: theirs.token,
      receivedAt: theirs.receivedAt,
    });
    deps.log.info({ digest: v.digest, kind: p.kind, iss: p.iss, aud: p.aud }, 'message relayed');
    return { status: res.status, contentType, body: text, relayReceipt };
  }
  await recordForward(deps.pool, v.digest, { status: res.status, error: code });
  if (res.status >= 500 || res.status === 429 || res.status === 408) return pending(code);
  // A refusal by the recipient goes back to the sender as it came: both see the same code.
  return { status: res.status, contentType, body: text, relayReceipt };
}

/**
 * The recipient's receipt for the message `msgId` of `sender`, if `token` is one: signed by the
 * recipient, to the sender, naming a digest this mediator relayed for that message (the one just
 * forwarded, or an earlier signed version the recipient stored first, which it answers with).
 */
async function recipientReceipt(
  deps: InboxDeps,
  token: string,
  sender: string,
  recipient: string,
  msgId: string,
): Promise<{ token: string; receivedAt: Date } | undefined> {
  try {
    const r = await verifyEnvelope(token, {
      registry: deps.registry,
      self: sender,
      now: new Date(),
      mode: 'import',
    });
    const p = r.payload;
    if (p.kind !== 'receipt' || p.iss !== recipient || p.in_reply_to.msg_id !== msgId)
      return undefined;
    if (p.body.digest !== p.in_reply_to.digest) return undefined;
    const relayed = await relayedDigests(deps.pool, sender, msgId);
    if (!relayed.includes(p.body.digest)) return undefined;
    return { token, receivedAt: new Date(p.body.received_at) };
  } catch {
    return undefined;
  }
}

/** The audience an attachment upload token claims, read without trust. */
export function claimedTokenAudience(token: string | undefined): string | undefined {
  return token ? claimedAudience(token.trim()) : undefined;
}

/**
 * Before a mediator reads anything of a partner's attachment check (HEAD) or upload (PUT) for
 * another party: the upload token checked as the recipient would (the sender's registered message
 * key, the digest in the URL) and that it relays for both parties. Returns what the token signs and
 * where the recipient takes uploads.
 */
export async function checkRelayedUpload(
  deps: Pick<InboxDeps, 'pool' | 'registry'>,
  token: string,
  sha256: string,
): Promise<{ claims: AttachmentTokenClaims; inboxUrl: string }> {
  const aud = claimedAudience(token.trim()) ?? '';
  const { claims } = await verifyAttachmentToken(token, {
    registry: deps.registry,
    self: aud,
    now: new Date(),
  });
  if (claims.sha256 !== sha256)
    throw new AppError('digest_mismatch', 'the token names another attachment than the URL');
  const [from, to] = await Promise.all([
    partyOwnInbox(deps.pool, claims.iss),
    partyOwnInbox(deps.pool, claims.aud),
  ]);
  if (!from?.relays || !to?.relays)
    throw new AppError(
      'wrong_audience',
      `aud is not this node, and it relays nothing between ${claims.iss} and ${claims.aud}`,
    );
  return { claims, inboxUrl: to.inboxUrl };
}

/**
 * Passes a checked attachment check or upload on to the recipient, unchanged (a sealed file stays
 * sealed). The recipient's answer comes back as it came; a recipient out of reach or failing is
 * `relay_pending`.
 */
export async function relayAttachment(
  deps: Pick<InboxDeps, 'log'>,
  checked: { claims: AttachmentTokenClaims; inboxUrl: string },
  req: {
    method: 'HEAD' | 'PUT';
    token: string;
    contentType?: string | undefined;
    body?: Buffer;
  },
  timeoutMs = 60_000,
): Promise<{ status: number; contentType: string | null; body: Buffer }> {
  const { claims } = checked;
  let res: Response;
  try {
    res = await fetch(
      new URL(`/v1/partner-attachments/sha256:${claims.sha256}`, checked.inboxUrl),
      {
        method: req.method,
        headers: {
          [ATTACHMENT_TOKEN_HEADER]: req.token,
          accept: 'application/json, application/problem+json',
          ...(req.contentType ? { 'content-type': req.contentType } : {}),
        },
        ...(req.body ? { body: req.body } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      },
    );
  } catch (err) {
    throw new AppError(
      'relay_pending',
      `could not reach ${claims.aud} (${(err as Error).name}): send it again later`,
    );
  }
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status >= 500)
    throw new AppError(
      'relay_pending',
      `${claims.aud} answered ${res.status}: send it again later`,
    );
  deps.log.info({ sha256: claims.sha256, iss: claims.iss, aud: claims.aud }, 'attachment relayed');
  return { status: res.status, contentType: res.headers.get('content-type'), body };
}
