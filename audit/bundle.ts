// Builds the evidence bundle of one request from what this node stored: envelopes exactly as
// exchanged, receipts both ways, the keys that signed them, the timeline, and every log entry of
// the request with its inclusion proof in a fresh checkpoint countersigned by the partner (or the
// mediator). For a mediated request, also the mediator's relay receipts this node kept and the
// mediator's own log proofs of them, asked of it (README, _Mediated exchange_). And its
// digest-only form (`digestOnly`), for readers who may not see the content and for erased items.
import type pg from 'pg';
import { auditIndicesForRequest } from '../db/audit.js';
import { getAttachment } from '../db/attachments.js';
import { receivedEnvelopesOf, sentEnvelopesOf } from '../db/evidence.js';
import { requestPartnerAndMediator } from '../db/messages.js';
import { consentsOfRequest } from '../db/pause-consents.js';
import { getRequestDetail } from '../db/requests.js';
import { listParties } from '../db/registry.js';
import { AppError } from '../errors.js';
import type { Keyring } from '../protocol/keyring.js';
import {
  EVIDENCE_FORMAT,
  RelayProofs,
  type EvidenceBundle,
  type EvidenceKey,
  type LogProofs,
  type RelayProofsRequest,
  type Withheld,
} from '../schemas/evidence.js';
import { peekKid, signingInputDigest } from './checkpoint.js';
import { proveEntries } from './proofs.js';
import type { AuditLog } from './service.js';
import { storedPayloadOf } from '../protocol/claims.js';

export interface BundleDeps {
  pool: pg.Pool;
  partyId: string;
  keyring: Keyring;
  audit: AuditLog;
  /** Asks partners to countersign a new checkpoint before it goes in the bundle. */
  witness?: (checkpointSize: number) => Promise<void>;
  /** For asking a mediator for its proofs (tests pass their own). */
  fetch?: typeof fetch;
}

const payloadOf = (token: string) => storedPayloadOf(token);

/** The size of the tree a log's checkpoint (in proofs made here) signs. */
const checkpointSizeOf = (proofs: LogProofs) =>
  storedPayloadOf<{ size: number }>(proofs.checkpoint.token).size;

/** Who countersigned the checkpoint of `proofs`, for the summary. */
function countersigners(proofs: LogProofs): string {
  const who = proofs.checkpoint.cosignatures.map(
    (t) => storedPayloadOf<{ witness: string }>(t).witness,
  );
  return who.length ? `, countersigned by ${who.join(' and ')}` : ', not yet countersigned';
}

/**
 * Asks the mediator for its log's proofs of the messages it relayed for this request (its route
 * `POST /v1/relayed/proofs`, beside its inbox): null when it cannot be reached or answers badly.
 */
async function relayProofsOf(
  deps: BundleDeps,
  mediator: string,
  digests: string[],
): Promise<LogProofs | null> {
  const inboxUrl = (await listParties(deps.pool, mediator))[0]?.inboxUrl;
  if (!inboxUrl || digests.length === 0) return null;
  try {
    const body: RelayProofsRequest = { digests };
    const res = await (deps.fetch ?? fetch)(new URL('/v1/relayed/proofs', inboxUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(RELAY_PROOFS_TIMEOUT_MS),
    });
    if (!res.ok) return null;
    const answer = RelayProofs.safeParse(await res.json());
    return answer.success && answer.data.log === mediator ? answer.data.proofs : null;
  } catch {
    return null;
  }
}

/** How long a bundle waits for the mediator's proofs (it countersigns with the parties first). */
export const RELAY_PROOFS_TIMEOUT_MS = 30_000;

/** Whether `token` is the stored statement with this digest (not erased, not a marker). */
function stored(token: string | null, digest: string | null): token is string {
  return typeof token === 'string' && digest !== null && signingInputDigest(token) === digest;
}

function envelopeItem(
  digest: string,
  direction: 'sent' | 'received',
  token: string | null,
): EvidenceBundle['envelopes'][number] {
  return stored(token, digest)
    ? { digest, direction, token }
    : { digest, direction, withheld: 'erased' };
}

/**
 * The digest-only form of a bundle, for a reader whose role may not see the request's content
 * (domain/access-policy.ts `evidenceFormFor`): every envelope by its digest and direction only
 * (its log entry, proven in the checkpoint, says what kind it was, who sent it, when), no file
 * names or bytes (they come from the payloads); receipts, keys, timeline, log and checkpoint as
 * they are, since they hold digests, ids and times only. Works on any bundle, including one whose
 * erased items are already digest-only, and needs no token: erasure reuses it.
 */
export function digestOnly(
  bundle: EvidenceBundle,
  reason: Withheld = 'access_policy',
): EvidenceBundle {
  const envelopes = bundle.envelopes.map((e) =>
    'token' in e ? { digest: e.digest, direction: e.direction, withheld: reason } : e,
  );
  const withheld = [...envelopes, ...bundle.receipts].filter((e) => 'withheld' in e).length;
  return {
    ...bundle,
    manifest: {
      ...bundle.manifest,
      counts: { ...bundle.manifest.counts, attachments: 0, withheld },
      content: 'digests',
    },
    envelopes,
    attachments: [],
    summary: `${bundle.summary}\nEnvelopes are given by digest only (${reason}): their log entries prove them.`,
  };
}

export async function buildEvidenceBundle(
  deps: BundleDeps,
  reqId: string,
  opts: { withAttachments?: boolean } = {},
): Promise<EvidenceBundle> {
  // The row and its timeline from one snapshot: the manifest's status is the one the newest event
  // left, never a state older than an event beside it.
  const detail = await getRequestDetail(deps.pool, reqId);
  if (!detail) throw new AppError('unknown_request', 'no request with this id on this node');
  const { request } = detail;
  const partner = request.counterparty;

  const sent = await sentEnvelopesOf(deps.pool, reqId);
  const received = await receivedEnvelopesOf(deps.pool, reqId);
  // This node's consents to a pause by the mediator, and the mediator's receipts of them (not
  // those the mediator refused: they are no part of the exchange).
  const consents = (await consentsOfRequest(deps.pool, reqId)).filter((c) => !c.refused_code);

  // A token no longer stored (erased: null or a marker in its place) makes a digest-only item:
  // the digest and the log entry that holds it still prove what was exchanged, and when.
  const envelopes: EvidenceBundle['envelopes'] = [
    ...sent.map((r) => envelopeItem(r.digest, 'sent', r.token)),
    ...received.map((r) => envelopeItem(r.digest, 'received', r.token)),
  ];
  const receipts: EvidenceBundle['receipts'] = [];
  for (const r of received) {
    const item = { digest: r.receipt_digest, for_digest: r.digest, direction: 'sent' as const };
    receipts.push(
      stored(r.receipt_token, r.receipt_digest)
        ? { ...item, token: r.receipt_token }
        : { ...item, withheld: 'erased' },
    );
  }
  const seenReceipts = new Set<string>();
  for (const r of sent) {
    // The partner's receipt names the message it is for in its payload: without it, nothing here
    // says which of our messages it receipted, so an erased one is left out (its log entry stays).
    const digest = r.receipt_digest;
    if (!stored(r.receipt_token, digest) || digest === null || seenReceipts.has(digest)) continue;
    const p = payloadOf(r.receipt_token);
    if (p.kind !== 'receipt') continue;
    seenReceipts.add(digest);
    receipts.push({
      digest,
      for_digest: p.in_reply_to.digest,
      direction: 'received',
      token: r.receipt_token,
    });
  }

  const attachments: EvidenceBundle['attachments'] = [];
  for (const e of envelopes) {
    // Files are known from the payload that names them: none for an envelope given by digest.
    if (!('token' in e)) continue;
    const p = payloadOf(e.token);
    if (p.kind === 'receipt') continue;
    for (const a of p.attachments ?? []) {
      // The bytes only when asked: a bundle may travel where the files should not.
      const stored = opts.withAttachments ? await getAttachment(deps.pool, a.sha256) : undefined;
      attachments.push({
        sha256: a.sha256,
        size: a.size,
        media_type: a.media_type,
        name: a.name,
        in_message: e.digest,
        ...(stored ? { content_base64: stored.content.toString('base64') } : {}),
      });
    }
  }

  // The mediator of a mediated request: its relay receipts for the envelopes above, as this node
  // kept them, and its own log's proofs of what it relayed, asked of it now.
  const route = (await requestPartnerAndMediator(deps.pool, reqId))?.via ?? undefined;
  const relayReceipts = new Map<string, { digest: string; for_digest: string; token: string }>();
  for (const r of [...sent, ...received]) {
    const token = r.relay_receipt_token;
    if (!token) continue;
    const p = payloadOf(token);
    if (p.kind !== 'receipt') continue;
    relayReceipts.set(signingInputDigest(token), {
      digest: signingInputDigest(token),
      for_digest: p.body.digest,
      token,
    });
  }
  // The mediator whose relay receipts this node holds (the one the request names, else the
  // registry's): none, when the request went straight (or by file, or before the route through a
  // mediator was set). Receipts of another mediator than
  // the one named (the route changed meanwhile) are left out: one mediator per bundle.
  const issuers = [...relayReceipts.values()].map((r) => payloadOf(r.token).iss);
  const mediatorId = issuers.length
    ? route && issuers.includes(route)
      ? route
      : issuers[0]
    : undefined;
  for (const [digest, r] of relayReceipts)
    if (payloadOf(r.token).iss !== mediatorId) relayReceipts.delete(digest);
  // This node's consents to that mediator's pauses, with its receipts.
  for (const c of consents) {
    if (c.mediator !== mediatorId) continue;
    envelopes.push(envelopeItem(c.digest, 'sent', c.token));
    if (!c.receipt_token) continue;
    receipts.push({
      digest: signingInputDigest(c.receipt_token),
      for_digest: c.digest,
      direction: 'received',
      token: c.receipt_token,
    });
  }

  // A fresh checkpoint covering everything above, shown to the partner (and the mediator) to
  // countersign; the proofs go against the one the most of them countersigned (audit/proofs.ts).
  const digests = [...envelopes.map((e) => e.digest), ...receipts.map((r) => r.digest)];
  const log = await proveEntries(deps, mediatorId ? [partner, mediatorId] : [partner], () =>
    auditIndicesForRequest(deps.pool, reqId, digests),
  );
  const mediator = mediatorId
    ? {
        party: mediatorId,
        relay_receipts: [...relayReceipts.values()],
        log: await relayProofsOf(
          deps,
          mediatorId,
          [...relayReceipts.values()].map((r) => r.for_digest),
        ),
      }
    : undefined;
  const keys: EvidenceKey[] = [];
  const usedKids = new Set(
    [...envelopes, ...receipts, ...(mediator?.relay_receipts ?? [])].flatMap((e) =>
      'token' in e ? [peekKid(e.token)] : [],
    ),
  );
  for (const k of deps.keyring.keys) {
    if (!usedKids.has(k.kid) && !k.roles.includes('log')) continue;
    keys.push({
      party_id: deps.partyId,
      kid: k.kid,
      alg: k.alg,
      public_jwk: { ...k.publicJwk },
      roles: k.roles,
      valid_from: k.validFrom.toISOString(),
      valid_until: k.validUntil?.toISOString() ?? null,
      revoked_at: null,
    });
  }
  for (const party of mediatorId ? [partner, mediatorId] : [partner]) {
    for (const k of (await listParties(deps.pool, party))[0]?.keys ?? []) {
      // Encryption keys sign nothing: no signature in the bundle needs them.
      if (k.alg === 'ECDH-ES+A256KW') continue;
      if (!usedKids.has(k.kid) && !k.roles.includes('log')) continue;
      keys.push({
        party_id: party,
        kid: k.kid,
        alg: k.alg,
        public_jwk: { ...k.publicJwk },
        roles: k.roles,
        valid_from: k.validFrom,
        valid_until: k.validUntil,
        revoked_at: k.revokedAt,
      });
    }
  }

  const timeline = detail.timeline.map((e) => ({
    seq: e.seq,
    at: e.at,
    type: e.type,
    actor: e.actor,
    status: e.status,
    detail: e.detail,
  }));
  const createdAt = new Date().toISOString();
  const summary = [
    `Request ${reqId}: ${request.type} (${request.priority}), ${request.direction} between ${request.requester} (requester) and ${request.responder} (responder); status ${request.status}${request.overdue ? ', overdue' : ''}.`,
    `Evidence made by ${deps.partyId} at ${createdAt}: ${envelopes.length} envelopes, ${receipts.length} receipts, ${log.entries.length} log entries proven in checkpoint ${checkpointSizeOf(log)}${countersigners(log)}.`,
    ...(mediator
      ? [
          `Mediated by ${mediator.party}: ${mediator.relay_receipts.length} relay receipts; ${mediator.log ? `${mediator.log.entries.length} entries of its log proven in its checkpoint ${checkpointSizeOf(mediator.log)}${countersigners(mediator.log)}` : 'its log could not be reached for proofs'}.`,
        ]
      : []),
    'Timeline:',
    ...timeline.map(
      (e) =>
        `  ${e.at}  ${e.type}${e.status ? ` → ${e.status}` : ''}${e.actor ? ` (${e.actor})` : ''}`,
    ),
  ].join('\n');

  return {
    format: EVIDENCE_FORMAT,
    manifest: {
      request_id: reqId,
      node: deps.partyId,
      partner,
      created_at: createdAt,
      request_type: request.type,
      direction: request.direction,
      status: request.status,
      counts: {
        envelopes: envelopes.length,
        receipts: receipts.length,
        attachments: attachments.length,
        timeline: timeline.length,
        log_entries: log.entries.length,
        ...(mediator
          ? {
              relay_receipts: mediator.relay_receipts.length,
              mediator_log_entries: mediator.log?.entries.length ?? 0,
            }
          : {}),
        keys: keys.length,
        withheld: [...envelopes, ...receipts].filter((e) => 'withheld' in e).length,
      },
      content: 'full',
    },
    keys,
    envelopes,
    receipts,
    attachments,
    timeline,
    log,
    ...(mediator ? { mediator } : {}),
    summary,
  };
}
