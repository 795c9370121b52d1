// The offline verifier of an evidence bundle: every signature, digest, proof and cosignature,
// with nothing but the bundle and the fingerprints (RFC 7638 thumbprints) of the keys the reader
// trusts. No database, no Temporal, no network. One verdict per item, named so a changed byte
// points at what it broke, and saying whether it was checked fully (signature and payload) or by
// digest only (an item whose content the bundle withholds, proven by its log entry).
import crypto from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { timelineEventDigestOf } from './timeline-digest.js';
import { AuditEntry } from '../schemas/audit.js';
import { EvidenceBundle, type EvidenceKey } from '../schemas/evidence.js';
import { AppError } from '../errors.js';
import type { KeyRecord } from '../protocol/keys.js';
import { verifyAsSigned } from '../protocol/verify.js';
import { signingInputDigest, verifyCheckpoint, verifyCosignature } from './checkpoint.js';
import { verifyInclusion } from './merkle.js';

export interface Verdict {
  item: string;
  ok: boolean;
  detail: string;
  /**
   * For envelopes and receipts: `full` when the signature and the payload were checked, `digest`
   * when the item came by digest only (content withheld or erased) and only its log entry, proven
   * in the checkpoint, vouches for it.
   */
  checked?: 'full' | 'digest';
}

export interface BundleReport {
  ok: boolean;
  verdicts: Verdict[];
  /** How many envelopes and receipts were checked fully (signature and payload), and by digest. */
  checked: { full: number; digest: number };
  /** Key fingerprints per party as found in the bundle, for the reader to compare. */
  fingerprints: Record<string, string[]>;
}

/** Which keys the reader trusts: party id → thumbprints. */
export type TrustAnchors = Record<string, readonly string[]>;

const leafHashOf = (entry: string) =>
  crypto
    .createHash('sha256')
    .update(Buffer.from([0]))
    .update(entry, 'utf8')
    .digest();

/** The audience a token claims, unverified: only to tell the verifier which side it was for. */
function claimedAudience(token: string): string {
  try {
    const v: unknown = JSON.parse(
      Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'),
    );
    const aud = v && typeof v === 'object' ? (v as { aud?: unknown }).aud : undefined;
    return typeof aud === 'string' ? aud : '';
  } catch {
    return '';
  }
}

export async function verifyBundle(input: unknown, trust: TrustAnchors): Promise<BundleReport> {
  const verdicts: Verdict[] = [];
  const say = (item: string, ok: boolean, detail: string, checked?: 'full' | 'digest') =>
    verdicts.push({ item, ok, detail, ...(checked ? { checked } : {}) });

  const parsed = EvidenceBundle.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    say(
      'bundle',
      false,
      `not a ${'parley-evidence/1'} bundle: ${issue?.path.join('.')} ${issue?.message}`,
    );
    return { ok: false, verdicts, fingerprints: {}, checked: { full: 0, digest: 0 } };
  }
  const b = parsed.data;
  const { node, partner, request_id: reqId } = b.manifest;

  // Keys: each kid is the thumbprint of its key, and the reader trusts it.
  const keys = new Map<string, EvidenceKey>();
  const fingerprints: Record<string, string[]> = {};
  for (const k of b.keys) {
    const item = `key ${k.kid} (${k.party_id})`;
    (fingerprints[k.party_id] ??= []).push(k.kid);
    let thumb: string;
    try {
      thumb = await calculateJwkThumbprint(k.public_jwk, 'sha256');
    } catch {
      say(item, false, 'not a public key');
      continue;
    }
    if (thumb !== k.kid) {
      say(item, false, 'the kid is not the thumbprint of the key');
      continue;
    }
    if (k.party_id !== node && k.party_id !== partner) {
      say(item, false, 'belongs to neither party of the request');
      continue;
    }
    if (!(trust[k.party_id] ?? []).includes(k.kid)) {
      say(item, false, `not among the fingerprints trusted for ${k.party_id}`);
      continue;
    }
    keys.set(k.kid, k);
    say(item, true, `trusted ${k.alg} key of ${k.party_id} (${k.roles.join(', ')})`);
  }
  const registry = {
    // Revocation is judged against the time of signing below, not now: evidence outlives keys.
    findKey: (kid: string): Promise<KeyRecord | undefined> => {
      const k = keys.get(kid);
      return Promise.resolve(
        k
          ? {
              kid: k.kid,
              partyId: k.party_id,
              alg: k.alg,
              publicJwk: k.public_jwk,
              roles: k.roles,
              validFrom: new Date(k.valid_from),
              validUntil: k.valid_until ? new Date(k.valid_until) : null,
              revokedAt: null,
            }
          : undefined,
      );
    },
  };
  const revokedBefore = (kid: string, iat: number) => {
    const r = keys.get(kid)?.revoked_at;
    return r !== null && r !== undefined && new Date(r).getTime() <= iat * 1000;
  };

  // The log: the checkpoint, its cosignatures, then every entry's inclusion.
  const logKey = (party: string) => (kid: string) => {
    const k = keys.get(kid);
    return k && k.party_id === party && k.roles.includes('log')
      ? { kid: k.kid, alg: k.alg, publicJwk: k.public_jwk as JWK }
      : undefined;
  };
  const cp = await verifyCheckpoint(b.log.checkpoint.token, logKey(node));
  let root: Buffer | undefined;
  let size = 0;
  if (!cp.ok) say('checkpoint', false, cp.reason);
  else if (cp.payload.log !== node)
    say('checkpoint', false, `a checkpoint of ${cp.payload.log}'s log`);
  else {
    root = Buffer.from(cp.payload.root, 'hex');
    size = cp.payload.size;
    say('checkpoint', true, `${node}'s log of ${size} entries, signed ${cp.payload.at}`);
  }
  for (const [i, token] of b.log.checkpoint.cosignatures.entries()) {
    const item = `cosignature ${i + 1}`;
    const c = await verifyCosignature(token, logKey(partner));
    if (!c.ok) say(item, false, c.reason);
    else if (
      !cp.ok ||
      c.payload.log !== node ||
      c.payload.witness !== partner ||
      c.payload.size !== cp.payload.size ||
      c.payload.root !== cp.payload.root ||
      c.payload.checkpoint_digest !== signingInputDigest(b.log.checkpoint.token)
    )
      say(item, false, 'does not name this checkpoint');
    else say(item, true, `${partner} countersigned the checkpoint at ${c.payload.at}`);
  }
  if (b.log.checkpoint.cosignatures.length === 0)
    say('cosignatures', false, `${partner} has not countersigned this checkpoint`);

  const logged = new Map<string, AuditEntry>();
  const loggedEvents = new Map<number, string>();
  for (const e of b.log.entries) {
    const item = `log entry ${e.index}`;
    let entry: AuditEntry;
    try {
      entry = AuditEntry.parse(JSON.parse(e.entry));
    } catch {
      say(item, false, 'not an audit entry');
      continue;
    }
    if (
      !root ||
      !verifyInclusion(
        leafHashOf(e.entry),
        e.index,
        size,
        e.proof.map((h) => Buffer.from(h, 'hex')),
        root,
      )
    ) {
      say(item, false, 'its inclusion proof does not lead to the checkpoint’s root');
      continue;
    }
    if ('digest' in entry) logged.set(`${entry.type}:${entry.digest}`, entry);
    if (entry.type === 'request_event' && entry.req_id === reqId)
      loggedEvents.set(entry.seq, entry.event_digest);
    say(item, true, `${entry.type}, included in the checkpoint`);
  }

  // Envelopes and receipts: each verifies, belongs to this request, and is in the log.
  const envelopeDigests = new Set<string>();
  const attachmentsSeen = new Set<string>();
  for (const env of b.envelopes) {
    const item = `envelope ${env.digest.slice(0, 16)}`;
    if ('withheld' in env) {
      // By digest only: its log entry, proven in the checkpoint, is all that vouches for it.
      const from = env.direction === 'sent' ? node : partner;
      const e =
        env.direction === 'sent'
          ? (logged.get(`message_sent:${env.digest}`) ??
            logged.get(`message_resigned:${env.digest}`))
          : logged.get(`message_received:${env.digest}`);
      if (!e) say(item, false, `withheld (${env.withheld}) and not in the log`, 'digest');
      else if (
        (e.type === 'message_sent' && (e.aud !== partner || e.req_id !== reqId)) ||
        (e.type === 'message_received' && (e.iss !== partner || e.req_id !== reqId))
      )
        say(item, false, 'its log entry is not a message of this request', 'digest');
      else {
        envelopeDigests.add(env.digest);
        const what = 'kind' in e ? `${e.kind} ` : '';
        say(
          item,
          true,
          `${what}from ${from}, by digest only (content ${env.withheld === 'erased' ? 'erased' : 'withheld by the access policy'}): logged at ${e.at}, signature and payload not checked`,
          'digest',
        );
      }
      continue;
    }
    try {
      const v = await verifyAsSigned(env.token, {
        registry,
        self: claimedAudience(env.token),
        now: new Date(),
        mode: 'import',
      });
      const p = v.payload;
      const [from, to] = env.direction === 'sent' ? [node, partner] : [partner, node];
      if (v.digest !== env.digest) throw new Error('its digest is not the one listed');
      if (p.iss !== from || p.aud !== to) throw new Error(`not from ${from} to ${to}`);
      if (p.kind === 'receipt' || p.req_id !== reqId)
        throw new Error('not a message of this request');
      if (revokedBefore(v.key.kid, p.iat)) throw new Error('signed after its key was revoked');
      const type = env.direction === 'sent' ? 'message_sent' : 'message_received';
      const inLog = logged.get(`${type}:${v.digest}`) ?? logged.get(`message_resigned:${v.digest}`);
      if (!inLog) throw new Error('not in the log');
      envelopeDigests.add(v.digest);
      for (const a of p.attachments ?? []) attachmentsSeen.add(`${v.digest}:${a.sha256}`);
      say(item, true, `${p.kind} from ${p.iss}, signature and digest check, logged`, 'full');
    } catch (err) {
      say(
        item,
        false,
        err instanceof AppError ? `${err.code}: ${err.message}` : (err as Error).message,
        'full',
      );
    }
  }
  for (const r of b.receipts) {
    const item = `receipt ${r.digest.slice(0, 16)}`;
    if ('withheld' in r) {
      const type = r.direction === 'sent' ? 'receipt_signed' : 'receipt_received';
      const e = logged.get(`${type}:${r.digest}`);
      if (!e || !('for_digest' in e) || e.for_digest !== r.for_digest)
        say(item, false, `withheld (${r.withheld}) and not in the log for its message`, 'digest');
      else if (!envelopeDigests.has(r.for_digest))
        say(item, false, 'names a message not verified here', 'digest');
      else say(item, true, `by digest only (${r.withheld}): logged at ${e.at}`, 'digest');
      continue;
    }
    try {
      const v = await verifyAsSigned(r.token, {
        registry,
        self: claimedAudience(r.token),
        now: new Date(),
        mode: 'import',
      });
      const p = v.payload;
      if (p.kind !== 'receipt') throw new Error('not a receipt');
      if (v.digest !== r.digest) throw new Error('its digest is not the one listed');
      if (p.in_reply_to.digest !== r.for_digest || p.body.digest !== r.for_digest)
        throw new Error('does not name the message it is listed for');
      if (!envelopeDigests.has(r.for_digest)) throw new Error('names a message not verified here');
      if (revokedBefore(v.key.kid, p.iat)) throw new Error('signed after its key was revoked');
      const type = r.direction === 'sent' ? 'receipt_signed' : 'receipt_received';
      if (!logged.get(`${type}:${v.digest}`)) throw new Error('not in the log');
      say(item, true, `${p.iss} received the message at ${p.body.received_at}`, 'full');
    } catch (err) {
      say(
        item,
        false,
        err instanceof AppError ? `${err.code}: ${err.message}` : (err as Error).message,
        'full',
      );
    }
  }

  for (const a of b.attachments) {
    const item = `attachment ${a.sha256.slice(0, 16)}`;
    if (!attachmentsSeen.has(`${a.in_message}:${a.sha256}`)) {
      say(item, false, 'not named by a verified message');
    } else if (a.content_base64 !== undefined) {
      const bytes = Buffer.from(a.content_base64, 'base64');
      const digest = crypto.createHash('sha256').update(bytes).digest('hex');
      say(
        item,
        digest === a.sha256 && bytes.length === a.size,
        digest === a.sha256 ? 'content matches its digest' : 'content does not match its digest',
      );
    } else say(item, true, 'digest named by a verified message (content not included)');
  }

  for (const ev of b.timeline) {
    const item = `timeline event ${ev.seq}`;
    const logged = loggedEvents.get(ev.seq);
    if (!logged) say(item, false, 'not in the log');
    else if (logged !== timelineEventDigestOf(reqId, ev))
      say(item, false, 'differs from what the log holds');
    else say(item, true, `${ev.type} at ${ev.at}, as logged`);
  }

  const checked = {
    full: verdicts.filter((v) => v.ok && v.checked === 'full').length,
    digest: verdicts.filter((v) => v.ok && v.checked === 'digest').length,
  };
  return { ok: verdicts.every((v) => v.ok), verdicts, fingerprints, checked };
}
