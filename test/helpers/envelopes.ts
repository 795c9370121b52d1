// Builders for envelope tests: party keys, an in-memory key registry, valid drafts of every kind,
// and forging helpers that sign arbitrary header and payload bytes with a real key, so a test can
// build an envelope whose signature is correct but which breaks a rule of the profile. The
// forging primitives live in protocol/forge.ts (shared with the conformance kit), re-exported here.
import crypto, { type KeyObject } from 'node:crypto';
import {
  forgeToken,
  headerJson,
  segmentsOf,
  toKeyObject,
  type ForgeOptions,
  type SignBytesOptions,
} from '../../protocol/forge.js';
import {
  generateSigningKey,
  loadSigningKey,
  type KeyRecord,
  type KeyRegistry,
  type SigningKey,
  type StoredSigningKey,
} from '../../protocol/keys.js';
import { buildPayload, signPayload, type Draft, type SignedEnvelope } from '../../protocol/sign.js';
import type { VerifyContext } from '../../protocol/verify.js';
import {
  type KeyRole,
  type MessageKind,
  type Payload,
  type PayloadOf,
} from '../../schemas/envelope.js';
import { subjectFor } from './domain.js';

export {
  forgeToken,
  headerJson,
  segmentsOf,
  signBytes,
  signingInputOf,
  toKeyObject,
  type ForgeOptions,
  type SignBytesOptions,
} from '../../protocol/forge.js';

export const SENDER = 'party-a';
export const RECEIVER = 'party-b';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A party's key in every form a test needs: stored, loaded, as the registry holds it, as node. */
export interface TestParty {
  partyId: string;
  stored: StoredSigningKey;
  signingKey: SigningKey;
  /** The registry entry for this key (add it to a registry to make the key known). */
  record: KeyRecord;
  /** The private key as a node KeyObject, for forging with `crypto.sign`. */
  privateKey: KeyObject;
}

export interface PartyOptions {
  alg?: 'Ed25519' | 'ES256';
  /** Roles of the signing key (what `signPayload` allows). */
  roles?: KeyRole[];
  /** Roles in the registry entry, when they should differ from the signing key's. */
  registeredRoles?: KeyRole[];
  /** Defaults to 30 days ago, so envelopes signed in the recent past can be imported. */
  validFrom?: Date;
  validUntil?: Date | null;
  revokedAt?: Date | null;
}

/** The registry entry for a signing key. */
export function keyRecordFor(
  key: SigningKey,
  partyId: string,
  overrides: Partial<KeyRecord> = {},
): KeyRecord {
  return {
    kid: key.kid,
    partyId,
    alg: key.alg,
    publicJwk: key.publicJwk,
    roles: [...key.roles],
    validFrom: key.validFrom,
    validUntil: key.validUntil,
    revokedAt: null,
    ...overrides,
  };
}

/** Generates a key for `partyId` with `generateSigningKey` and loads it with `loadSigningKey`. */
export async function createParty(partyId: string, opts: PartyOptions = {}): Promise<TestParty> {
  const stored = await generateSigningKey({
    alg: opts.alg ?? 'Ed25519',
    roles: opts.roles ?? ['message', 'receipt'],
    validFrom: opts.validFrom ?? new Date(Date.now() - 30 * DAY_MS),
    validUntil: opts.validUntil ?? null,
  });
  const signingKey = await loadSigningKey(stored);
  const record = keyRecordFor(signingKey, partyId, {
    revokedAt: opts.revokedAt ?? null,
    ...(opts.registeredRoles ? { roles: [...opts.registeredRoles] } : {}),
  });
  return { partyId, stored, signingKey, record, privateKey: toKeyObject(stored.private_jwk) };
}

/** Public keys by kid, as the verifier looks them up. */
export class MemoryKeyRegistry implements KeyRegistry {
  readonly keys = new Map<string, KeyRecord>();

  constructor(records: Iterable<KeyRecord> = []) {
    for (const r of records) this.add(r);
  }

  add(record: KeyRecord): this {
    this.keys.set(record.kid, record);
    return this;
  }

  findKey(kid: string): Promise<KeyRecord | undefined> {
    return Promise.resolve(this.keys.get(kid));
  }
}

/** A registry that knows the given parties' keys. */
export function registryOf(...parties: (TestParty | KeyRecord)[]): MemoryKeyRegistry {
  return new MemoryKeyRegistry(parties.map((p) => ('record' in p ? p.record : p)));
}

/** A verification context for the receiver, online, at the current time unless told. */
export function verifyContext(
  registry: KeyRegistry,
  overrides: Partial<VerifyContext> = {},
): VerifyContext {
  return { registry, self: RECEIVER, now: new Date(), mode: 'online', ...overrides };
}

// ULIDs and digests that satisfy the schemas; their values mean nothing.
export const REQ_ID = '01JBXKQ6W3V2Z8N4PRT5YHGM9A';
export const OTHER_MSG_ID = '01JBXKR0AB1CD2EF3GH4JK5MNP';
export const SOME_DIGEST = 'a'.repeat(64);

type Bodies = { [K in MessageKind]: PayloadOf<K>['body'] };

const VALID_BODIES: Bodies = {
  request: {
    request_type: 'mine_map',
    priority: 'routine',
    subject: subjectFor('mine_map', 'Mine map of sector 7') as never,
    policy_digest: SOME_DIGEST,
  },
  acknowledgement: { note: 'Received, working on it' },
  response: { final: true, records: [{ area: 'sector-7', depth_m: 12 }] },
  clarification_request: { questions: ['Which sector exactly?'] },
  clarification: { answers: ['Sector 7, north of the river'] },
  extension_request: { reason: 'Archive is closed', proposed_deadline: '2030-01-15T10:00:00Z' },
  extension_decision: { granted: true, new_deadline: '2030-01-15T10:00:00Z' },
  decline: { reason: 'We hold no records of this area' },
  withdrawal: { reason: 'No longer needed' },
  reminder: { deadline: 'response', due_at: '2030-01-10T10:00:00Z' },
  closure: { outcome: 'accepted' },
  mediation: { action: 'reminder', deadline: 'response', due_at: '2030-01-10T10:00:00Z' },
  receipt: { digest: SOME_DIGEST, received_at: '2030-01-01T10:00:00Z' },
};

/** A valid draft of `kind` from SENDER to RECEIVER, with req_id and in_reply_to where they fit. */
export function validDraft<K extends MessageKind = 'decline'>(
  kind: K = 'decline' as K,
  overrides: Partial<Draft<K>> = {},
): Draft<K> {
  const needsReply =
    kind === 'clarification' || kind === 'extension_decision' || kind === 'receipt';
  return {
    kind,
    iss: SENDER,
    aud: RECEIVER,
    ...(kind !== 'receipt' ? { req_id: REQ_ID } : {}),
    ...(needsReply ? { in_reply_to: { msg_id: OTHER_MSG_ID, digest: SOME_DIGEST } } : {}),
    body: structuredClone(VALID_BODIES[kind]),
    ...overrides,
  } as Draft<K>;
}

export interface SignOptions {
  now?: Date;
  lifetimeSeconds?: number;
}

/** Signs a draft (a valid decline by default) with the party's key through the real signer. */
export async function signDraftAs(
  party: TestParty,
  draft: Draft = validDraft('decline', { iss: party.partyId }),
  opts: SignOptions = {},
): Promise<SignedEnvelope> {
  const payload = buildPayload(draft, opts.now ?? new Date(), opts.lifetimeSeconds);
  return signPayload(payload, party.signingKey);
}

/** A valid payload (through the schemas) that forging tests can alter. */
export function validPayload(draft: Draft = validDraft(), opts: SignOptions = {}): Payload {
  return buildPayload(draft, opts.now ?? new Date(), opts.lifetimeSeconds);
}

// --- Forging -------------------------------------------------------------------------------------

/** Forges a token as `party` would sign it, but with the given header and/or payload. */
export function forgeAs(
  party: TestParty,
  parts: { header?: ForgeOptions['header']; payload?: ForgeOptions['payload'] } & SignBytesOptions,
): string {
  return forgeToken({
    header: parts.header ?? headerJson(party.signingKey),
    payload: parts.payload ?? validPayload(validDraft('decline', { iss: party.partyId })),
    key: party.privateKey,
    ...(parts.dsaEncoding ? { dsaEncoding: parts.dsaEncoding } : {}),
  });
}

/** SHA-256 hex of `header64.payload64`, computed here independently of the protocol module. */
export function expectedDigest(token: string): string {
  const { header64, payload64 } = segmentsOf(token);
  return crypto.createHash('sha256').update(`${header64}.${payload64}`, 'ascii').digest('hex');
}
