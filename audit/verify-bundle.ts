// The offline verifier of an evidence bundle: every signature, digest, proof and cosignature,
// with nothing but the bundle and the fingerprints (RFC 7638 thumbprints) of the keys the reader
// trusts. No database, no Temporal, no network. One verdict per item, named so a changed byte
// points at what it broke, and saying whether it was checked fully (signature and payload) or by
// digest only (an item whose content the bundle withholds, proven by its log entry).
import crypto from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, type JWK } from 'jose';
import { timelineEventDigestOf } from './timeline-digest.js';
import { AuditEntry } from '../schemas/audit.js';
import { EvidenceBundle, type EvidenceKey, type LogProofs } from '../schemas/evidence.js';
import { AppError } from '../errors.js';
import type { DecryptionKey, KeyRecord } from '../protocol/keys.js';
import { openSealed } from '../protocol/seal.js';
import { verifyAsSigned } from '../protocol/verify.js';
import { peekKid, signingInputDigest, verifyCheckpoint, verifyCosignature } from './checkpoint.js';
import { verifyInclusion } from './merkle.js';
import { claimedString } from '../protocol/claims.js';

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
  /**
   * With the reader's decryption keys (`opts.open`): the sealed envelopes they opened, each with
   * its whole payload as the recipient read it (personal content: for a holder of the key only).
   */
  opened: { digest: string; payload: Record<string, unknown> }[];
}

/** Which keys the reader trusts: party id → thumbprints. */
export type TrustAnchors = Record<string, readonly string[]>;

const leafHashOf = (entry: string) =>
  crypto
    .createHash('sha256')
    .update(Buffer.from([0]))
    .update(entry, 'utf8')
    .digest();

/** The key a sealed content names in its JWE header, or undefined when it names none. */
function sealedKid(jwe: string): string | undefined {
  try {
    const kid = (decodeProtectedHeader(jwe) as { kid?: unknown }).kid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

/** The audience a token claims, unverified: only to tell the verifier which side it was for. */
const claimedAudience = (token: string): string => claimedString(token, 'aud') ?? '';

export async function verifyBundle(
  input: unknown,
  trust: TrustAnchors,
  opts: {
    /** A recipient's decryption keys: sealed envelopes addressed to them are opened and checked. */
    open?: readonly DecryptionKey[];
  } = {},
): Promise<BundleReport> {
  const opened: BundleReport['opened'] = [];
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
    return { ok: false, verdicts, fingerprints: {}, checked: { full: 0, digest: 0 }, opened };
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
    if (k.party_id !== node && k.party_id !== partner && k.party_id !== b.mediator?.party) {
      say(item, false, 'belongs to neither party of the request nor its mediator');
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

  // The log: the checkpoint, its cosignatures, then every entry's inclusion. The partner
  // countersigns the node's checkpoints; for a mediated request, the mediator may instead.
  const mediatorId = b.mediator?.party;
  const nodeLog = await checkLog(
    { keys, say },
    '',
    node,
    mediatorId ? [partner, mediatorId] : [partner],
    b.log,
  );
  const logged = new Map<string, AuditEntry>();
  const loggedEvents = new Map<number, string>();
  for (const entry of nodeLog.entries) {
    if ('digest' in entry) logged.set(`${entry.type}:${entry.digest}`, entry);
    if (entry.type === 'request_event' && entry.req_id === reqId)
      loggedEvents.set(entry.seq, entry.event_digest);
  }

  // Envelopes and receipts: each verifies, belongs to this request, and is in the log.
  const envelopeDigests = new Set<string>();
  /** Who sent each envelope verified here, to whom, and what kind it was. */
  const envelopeInfo = new Map<string, EnvelopeInfo>();
  /** When the recipient says it received each envelope (its receipt, verified here). */
  const arrivals = new Map<string, string>();
  const receiptFor = new Map<string, string>();
  const attachmentsSeen = new Set<string>();
  for (const env of b.envelopes) {
    const item = `envelope ${env.digest.slice(0, 16)}`;
    if ('withheld' in env) {
      // By digest only: its log entry, proven in the checkpoint, is all that vouches for it.
      const e =
        env.direction === 'sent'
          ? (logged.get(`message_sent:${env.digest}`) ??
            logged.get(`message_resigned:${env.digest}`))
          : logged.get(`message_received:${env.digest}`);
      const fromMediator =
        e?.type === 'message_received' && withTheMediator(e.iss, e.kind, mediatorId);
      const toMediator = e?.type === 'message_sent' && withTheMediator(e.aud, e.kind, mediatorId);
      const from = env.direction === 'sent' ? node : fromMediator ? mediatorId! : partner;
      if (!e) say(item, false, `withheld (${env.withheld}) and not in the log`, 'digest');
      else if (
        (e.type === 'message_sent' && ((e.aud !== partner && !toMediator) || e.req_id !== reqId)) ||
        (e.type === 'message_received' &&
          ((e.iss !== partner && !fromMediator) || e.req_id !== reqId))
      )
        say(item, false, 'its log entry is not a message of this request', 'digest');
      else {
        envelopeDigests.add(env.digest);
        envelopeInfo.set(env.digest, {
          from,
          to: from === node ? (toMediator ? mediatorId! : partner) : node,
          kind: 'kind' in e ? e.kind : 'message',
        });
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
      // The request's mediator's own notices (kind `mediation`) come to the node from it.
      // This node's consents to a pause go to the mediator (kind `mediation` too).
      const [from, to] =
        env.direction === 'sent'
          ? [node, withTheMediator(p.aud, p.kind, mediatorId) ? mediatorId! : partner]
          : [withTheMediator(p.iss, p.kind, mediatorId) ? mediatorId! : partner, node];
      if (v.digest !== env.digest) throw new Error('its digest is not the one listed');
      if (p.iss !== from || p.aud !== to) throw new Error(`not from ${from} to ${to}`);
      if (p.kind === 'receipt' || p.req_id !== reqId)
        throw new Error('not a message of this request');
      if (revokedBefore(v.key.kid, p.iat)) throw new Error('signed after its key was revoked');
      const type = env.direction === 'sent' ? 'message_sent' : 'message_received';
      const inLog = logged.get(`${type}:${v.digest}`) ?? logged.get(`message_resigned:${v.digest}`);
      if (!inLog) throw new Error('not in the log');
      envelopeDigests.add(v.digest);
      envelopeInfo.set(v.digest, {
        from: p.iss,
        to: p.aud,
        kind: p.kind,
        signedAt: (p.sent_at ?? p.iat) * 1000,
      });
      for (const a of p.attachments ?? []) attachmentsSeen.add(`${v.digest}:${a.sha256}`);
      say(
        item,
        true,
        p.kind === 'mediation'
          ? `mediation (${p.body.action}) from ${p.iss}, signature and digest check, logged`
          : `${p.kind} from ${p.iss}, signature and digest check, logged`,
        'full',
      );
      if (opts.open && 'sealed' in p) {
        // Only what was sealed to one of the reader's keys: the other direction is another's.
        const kid = sealedKid(p.sealed);
        if (opts.open.some((k) => k.kid === kid)) {
          try {
            opened.push({ digest: v.digest, payload: await openSealed(p, opts.open) });
            say(
              `content ${v.digest.slice(0, 16)}`,
              true,
              `opened with key ${kid}: it names this message, its sender and its recipient`,
            );
          } catch (err) {
            say(`content ${v.digest.slice(0, 16)}`, false, reasonOf(err));
          }
        }
      }
    } catch (err) {
      say(item, false, reasonOf(err), 'full');
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
      const env = envelopeInfo.get(r.for_digest);
      if (env && (p.iss !== env.to || p.aud !== env.from))
        throw new Error(`not ${env.to}'s receipt to ${env.from}`);
      if (revokedBefore(v.key.kid, p.iat)) throw new Error('signed after its key was revoked');
      const type = r.direction === 'sent' ? 'receipt_signed' : 'receipt_received';
      if (!logged.get(`${type}:${v.digest}`)) throw new Error('not in the log');
      arrivals.set(r.for_digest, p.body.received_at);
      receiptFor.set(v.digest, r.for_digest);
      say(item, true, `${p.iss} received the message at ${p.body.received_at}`, 'full');
    } catch (err) {
      say(item, false, reasonOf(err), 'full');
    }
  }

  const vouched = b.mediator
    ? await checkMediator({ keys, say, registry, revokedBefore }, b, {
        reqId,
        envelopeInfo,
        arrivals,
        receiptFor,
      })
    : new Set<string>();
  // A mediator stands in for the partner as a witness of the node's log only if it relayed
  // something of this request: otherwise any party the node names could countersign for it.
  if (b.mediator && vouched.size === 0 && !nodeLog.cosigners.has(partner))
    say(
      'cosignatures',
      false,
      `only ${b.mediator.party} countersigned, and no relay receipt shows it relayed this request`,
    );
  // The node's own log says which messages came or went through a mediator, and with which relay
  // receipt: the bundle must hold each, verified, so it cannot pass them off as exchanged directly
  // (by leaving its `mediator` member out, or a relay receipt with M's entry for it).
  for (const e of nodeLog.entries) {
    if (e.type !== 'message_received' && e.type !== 'receipt_received') continue;
    const relayDigest = e.relay_receipt_digest;
    const message = e.type === 'message_received' ? e.digest : e.for_digest;
    if (!relayDigest || !envelopeDigests.has(message) || vouched.has(relayDigest)) continue;
    const item = `relay receipt for ${message.slice(0, 16)}`;
    // The route changed from one mediator to another: one mediator per bundle, and the log names
    // the other (entries before 2026-12 name none).
    if (e.relayed_by && b.mediator && e.relayed_by !== b.mediator.party) {
      say(
        item,
        true,
        `went through ${e.relayed_by}, another mediator than this bundle's: its relay receipt is not checked here`,
      );
      continue;
    }
    // Named once: a relay receipt listed but not verified already failed under its own item.
    const listed = b.mediator?.relay_receipts.some((r) => r.digest === relayDigest) ?? false;
    if (listed || verdicts.some((v) => v.item === item && !v.ok)) continue;
    say(
      item,
      false,
      `${node}'s log says this message went through a mediator (relay receipt ${relayDigest.slice(0, 16)}), and the bundle lacks that receipt`,
    );
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
  return { ok: verdicts.every((v) => v.ok), verdicts, fingerprints, checked, opened };
}

type Say = (item: string, ok: boolean, detail: string, checked?: 'full' | 'digest') => void;

/** Who sent an envelope verified here, to whom, its kind, and (signature checked) when signed. */
interface EnvelopeInfo {
  from: string;
  to: string;
  kind: string;
  /** When its sender first signed it (`sent_at`, else `iat`), milliseconds; not for a digest. */
  signedAt?: number;
}

/** How far apart two nodes' clocks may be (the protocol's skew, README _Wire protocol v1_). */
const SKEW_MS = 300_000;

/** A caught error as a verdict's detail: a protocol error's code with its message. */
function reasonOf(err: unknown): string {
  return err instanceof AppError ? `${err.code}: ${err.message}` : (err as Error).message;
}

/**
 * A message between the node and the request's mediator itself (`party` is its sender or
 * addressee): only `mediation` (its notices, the node's consents to a pause).
 */
function withTheMediator(party: string, kind: string, mediatorId: string | undefined): boolean {
  return mediatorId !== undefined && party === mediatorId && kind === 'mediation';
}

/**
 * Checks one log's proofs: its checkpoint (signed by a `log` key of `logParty`), the cosignatures
 * (each by a `log` key of one of `witnesses`), and every entry's inclusion. Items are named with
 * `prefix` ('' for the node's own log, 'mediator ' for the mediator's). Returns the entries proven.
 */
async function checkLog(
  ctx: { keys: Map<string, EvidenceKey>; say: Say },
  prefix: string,
  logParty: string,
  witnesses: readonly string[],
  proofs: LogProofs,
): Promise<{ entries: AuditEntry[]; cosigners: Set<string> }> {
  const { keys, say } = ctx;
  const cosigners = new Set<string>();
  const logKey = (parties: readonly string[]) => (kid: string) => {
    const k = keys.get(kid);
    return k && parties.includes(k.party_id) && k.roles.includes('log')
      ? { kid: k.kid, alg: k.alg, publicJwk: k.public_jwk as JWK }
      : undefined;
  };
  const cp = await verifyCheckpoint(proofs.checkpoint.token, logKey([logParty]));
  let root: Buffer | undefined;
  let size = 0;
  if (!cp.ok) say(`${prefix}checkpoint`, false, cp.reason);
  else if (cp.payload.log !== logParty)
    say(`${prefix}checkpoint`, false, `a checkpoint of ${cp.payload.log}'s log`);
  else {
    root = Buffer.from(cp.payload.root, 'hex');
    size = cp.payload.size;
    say(
      `${prefix}checkpoint`,
      true,
      `${logParty}'s log of ${size} entries, signed ${cp.payload.at}`,
    );
  }
  for (const [i, token] of proofs.checkpoint.cosignatures.entries()) {
    const item = `${prefix}cosignature ${i + 1}`;
    const c = await verifyCosignature(token, logKey(witnesses));
    if (!c.ok) say(item, false, c.reason);
    else if (
      !cp.ok ||
      c.payload.log !== logParty ||
      keys.get(peekKid(token) ?? '')?.party_id !== c.payload.witness ||
      c.payload.size !== cp.payload.size ||
      c.payload.root !== cp.payload.root ||
      c.payload.checkpoint_digest !== signingInputDigest(proofs.checkpoint.token)
    )
      say(item, false, 'does not name this checkpoint');
    else {
      cosigners.add(c.payload.witness);
      say(item, true, `${c.payload.witness} countersigned the checkpoint at ${c.payload.at}`);
    }
  }
  if (proofs.checkpoint.cosignatures.length === 0)
    say(
      `${prefix}cosignatures`,
      false,
      `${witnesses.join(' or ')} ${witnesses.length > 1 ? 'have' : 'has'} not countersigned this checkpoint`,
    );

  const proven: AuditEntry[] = [];
  for (const e of proofs.entries) {
    const item = `${prefix}log entry ${e.index}`;
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
    proven.push(entry);
    say(item, true, `${entry.type}, included in the checkpoint`);
  }
  return { entries: proven, cosigners };
}

/**
 * A mediated request's third part: the mediator's relay receipts (each signed by it, for an
 * envelope verified here, to that envelope's sender) and its log's entries for them (each relay
 * receipt is the one its `message_relayed` entry names), proven in its checkpoint countersigned by
 * a party. Each relay receipt's verdict tells the envelope's three times: signed, relayed, arrived.
 */
async function checkMediator(
  ctx: {
    keys: Map<string, EvidenceKey>;
    say: Say;
    registry: { findKey: (kid: string) => Promise<KeyRecord | undefined> };
    revokedBefore: (kid: string, iat: number) => boolean;
  },
  b: EvidenceBundle,
  seen: {
    reqId: string;
    envelopeInfo: Map<string, EnvelopeInfo>;
    arrivals: Map<string, string>;
    /** Each verified receipt of the bundle, by its digest: the message it is for. */
    receiptFor: Map<string, string>;
  },
): Promise<Set<string>> {
  /** The relay receipts that verified (their digests). */
  const vouched = new Set<string>();
  const { say } = ctx;
  const m = b.mediator!;
  const { node, partner } = b.manifest;
  if (m.party === node || m.party === partner) {
    say('mediator', false, 'the mediator named is a party of the request');
    return vouched;
  }
  const relayed = new Map<string, AuditEntry & { type: 'message_relayed' }>();
  const passedBack = new Map<string, AuditEntry & { type: 'relay_receipt_received' }>();
  if (!m.log)
    say(
      'mediator log',
      false,
      `${m.party}'s log proofs are not in the bundle: it could not be reached when the bundle was made`,
    );
  else {
    for (const e of (await checkLog(ctx, 'mediator ', m.party, [node, partner], m.log)).entries) {
      const of = 'digest' in e ? e.digest.slice(0, 16) : '';
      if (e.type === 'message_relayed') {
        const env = seen.envelopeInfo.get(e.digest);
        if (!env) say(`mediator relayed ${of}`, false, 'names a message not verified here');
        else if (e.iss !== env.from || e.aud !== env.to || e.req_id !== seen.reqId)
          say(
            `mediator relayed ${of}`,
            false,
            'its log entry names another sender, recipient or request',
          );
        else relayed.set(e.digest, e);
      } else if (e.type === 'relay_receipt_received') passedBack.set(e.for_digest, e);
      else say(`mediator log ${e.type}`, false, 'not an entry of a message relayed');
    }
  }
  for (const [forDigest, e] of passedBack) {
    const item = `mediator passed back ${forDigest.slice(0, 16)}`;
    if (!seen.envelopeInfo.has(forDigest)) say(item, false, 'names a message not verified here');
    else if (seen.receiptFor.get(e.digest) !== forDigest)
      say(item, false, 'names no receipt of the recipient for this message in the bundle');
    else say(item, true, `${m.party} passed the recipient’s receipt back at ${e.at}`);
  }
  // A message M's log says it relayed, among the envelopes verified here, whose relay receipt the
  // bundle leaves out: the party either lost it or kept it back.
  const listed = new Set(m.relay_receipts.map((r) => r.for_digest));
  for (const [digest, e] of relayed) {
    if (!seen.envelopeInfo.has(digest) || listed.has(digest)) continue;
    say(
      `relay receipt for ${digest.slice(0, 16)}`,
      false,
      `${m.party}'s log says it relayed this message (relay receipt ${e.relay_receipt_digest.slice(0, 16)}), and the bundle lacks that receipt`,
    );
  }
  for (const r of m.relay_receipts) {
    const item = `relay receipt ${r.digest.slice(0, 16)}`;
    try {
      const v = await verifyAsSigned(r.token, {
        registry: ctx.registry,
        self: claimedAudience(r.token),
        now: new Date(),
        mode: 'import',
      });
      const p = v.payload;
      if (p.kind !== 'receipt') throw new Error('not a receipt');
      if (p.iss !== m.party) throw new Error(`not signed by the mediator ${m.party}`);
      if (v.digest !== r.digest) throw new Error('its digest is not the one listed');
      if (p.in_reply_to.digest !== r.for_digest || p.body.digest !== r.for_digest)
        throw new Error('does not name the message it is listed for');
      const env = seen.envelopeInfo.get(r.for_digest);
      if (!env) throw new Error('names a message not verified here');
      if (p.aud !== env.from) throw new Error(`not addressed to the message's sender ${env.from}`);
      if (ctx.revokedBefore(v.key.kid, p.iat)) throw new Error('signed after its key was revoked');
      const arrived = seen.arrivals.get(r.for_digest);
      // The three times must follow one another (within the clocks' skew): signed, then taken by
      // M, then received by the recipient.
      const relayedAt = Date.parse(p.body.received_at);
      if (env.signedAt !== undefined && relayedAt < env.signedAt - SKEW_MS)
        throw new Error(
          `${m.party} says it received the message at ${p.body.received_at}, before it was signed (${new Date(env.signedAt).toISOString()})`,
        );
      if (arrived && Date.parse(arrived) < relayedAt - SKEW_MS)
        throw new Error(
          `${env.to} says it received the message at ${arrived}, before ${m.party} took it (${p.body.received_at})`,
        );
      const logged = relayed.get(r.for_digest);
      if (m.log && !logged) throw new Error(`not in ${m.party}'s log`);
      if (logged && (logged.relay_receipt_digest !== r.digest || logged.iss !== env.from))
        throw new Error(`${m.party}'s log names another relay receipt for the message`);
      vouched.add(r.digest);
      say(
        item,
        true,
        `${env.kind} from ${env.from} to ${env.to}: ${m.party} received it at ${p.body.received_at}${logged ? ` (logged at ${logged.at})` : ''}; ${arrived ? `${env.to} received it at ${arrived}` : `no receipt of ${env.to} here`}`,
        'full',
      );
    } catch (err) {
      say(item, false, reasonOf(err), 'full');
    }
  }
  return vouched;
}
