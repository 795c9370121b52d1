// Sealing: the personal members of a payload's body and its attachments' file names, encrypted to
// the recipient's registered encryption key (compact JWE, ECDH-ES+A256KW with A256GCM) before the
// payload is signed; opening: the reverse, after the signature verified. The shapes and the list of
// public members are in schemas/sealed.ts. Encrypt-then-sign: the plaintext names the sender, the
// recipient and the message, so nobody can sign someone else's sealed content as their own.
import {
  CompactEncrypt,
  compactDecrypt,
  decodeProtectedHeader,
  importJWK,
  type CryptoKey,
  type JWK,
} from 'jose';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { Attachment, Payload } from '../schemas/envelope.js';
import {
  isPublicMember,
  SEAL_ALG,
  SEAL_ENC,
  SEALED_FILE_TYP,
  SEALED_TYP,
  SealedContent,
  SealedHeader,
  type SealableKind,
  type SealedPayload,
} from '../schemas/sealed.js';
import { canonicalBytes, parseCanonical } from './canonical-json.js';
import type { DecryptionKey } from './keys.js';

/** The partner's encryption key a message is sealed to (from its registry entry). */
export interface SealingKey {
  kid: string;
  publicJwk: JWK;
}

const undecryptable = (message: string): AppError => new AppError('undecryptable', message);

const imported = new Map<string, CryptoKey>();

async function publicKeyOf(key: SealingKey): Promise<CryptoKey> {
  let k = imported.get(key.kid);
  if (!k) {
    const i = await importJWK(key.publicJwk, SEAL_ALG);
    if (i instanceof Uint8Array) throw new TypeError('an encryption key must be asymmetric');
    k = i;
    if (imported.size > 1000) imported.clear();
    imported.set(key.kid, k);
  }
  return k;
}

/** The body split into what stays in clear and what is sealed. */
function splitBody(
  kind: SealableKind,
  body: Record<string, unknown>,
): { open: Record<string, unknown>; sealed: Record<string, unknown> } {
  const open: Record<string, unknown> = {};
  const sealed: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) (isPublicMember(kind, k) ? open : sealed)[k] = v;
  return { open, sealed };
}

/** An attachment as a sealed message lists it in clear: the file name is its digest. */
const unnamed = (a: Attachment): Attachment => ({ ...a, name: a.sha256 });

/**
 * Whether a payload says anything that a sealed message would carry only inside the JWE: a body
 * member that is not public, or an attachment named other than by its digest. Receipts never.
 */
export function holdsSealableContent(payload: {
  kind: string;
  body?: unknown;
  attachments?: readonly { sha256: string; name: string }[] | undefined;
}): boolean {
  if (payload.kind === 'receipt' || payload.kind === 'mediation') return false;
  const kind = payload.kind as SealableKind;
  const body =
    payload.body && typeof payload.body === 'object' ? Object.keys(payload.body) : ([] as string[]);
  return (
    body.some((m) => !isPublicMember(kind, m)) ||
    (payload.attachments ?? []).some((a) => a.name !== a.sha256)
  );
}

/**
 * The payload as it is signed for a partner that takes sealed content: unchanged for a receipt or
 * a message with nothing to seal, else its public members in clear and the rest in `sealed`.
 */
export async function sealPayload(
  payload: Payload,
  to: SealingKey,
): Promise<Payload | SealedPayload> {
  if (payload.kind === 'receipt' || payload.kind === 'mediation' || !holdsSealableContent(payload))
    return payload;
  const { open, sealed } = splitBody(payload.kind, payload.body);
  const content: SealedContent = {
    iss: payload.iss,
    aud: payload.aud,
    msg_id: payload.msg_id,
    body: sealed,
    attachments: payload.attachments,
  };
  const jwe = await new CompactEncrypt(canonicalBytes(content))
    .setProtectedHeader({ alg: SEAL_ALG, enc: SEAL_ENC, kid: to.kid, typ: SEALED_TYP })
    .encrypt(await publicKeyOf(to));
  return {
    ...payload,
    body: open,
    attachments: payload.attachments.map(unnamed),
    sealed: jwe,
  };
}

/**
 * Opens a sealed payload with this node's encryption keys and returns the payload it stands for
 * (to be checked against the protocol schema by the caller). Refuses (`undecryptable`) content
 * sealed to a key this node does not hold, that does not decrypt, or that names another sender,
 * recipient or message than the signed payload; `schema_invalid` when a member is in the wrong
 * part (a personal member in clear, a public one inside) or the attachment lists disagree.
 */
export async function openSealed(
  wire: SealedPayload,
  keys: readonly DecryptionKey[],
): Promise<Record<string, unknown>> {
  let header: SealedHeader;
  try {
    const parsed = SealedHeader.safeParse(decodeProtectedHeader(wire.sealed));
    if (!parsed.success) throw new Error();
    header = parsed.data;
  } catch {
    throw undecryptable(
      `the sealed content's header must be exactly {alg: ${SEAL_ALG}, enc: ${SEAL_ENC}, kid, typ: ${SEALED_TYP}, epk}`,
    );
  }
  const key = keys.find((k) => k.kid === header.kid);
  if (!key)
    throw undecryptable(
      `the content is sealed to key ${header.kid}, which is not one of this node's encryption keys`,
    );
  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await compactDecrypt(wire.sealed, key.privateKey, {
      keyManagementAlgorithms: [SEAL_ALG],
      contentEncryptionAlgorithms: [SEAL_ENC],
    }));
  } catch {
    throw undecryptable('the sealed content does not decrypt with the key it names');
  }
  let decoded: unknown;
  try {
    decoded = parseCanonical(plaintext);
  } catch {
    throw undecryptable('the sealed content is not canonical JSON');
  }
  const content = SealedContent.safeParse(decoded);
  if (!content.success)
    throw undecryptable('the sealed content is not {iss, aud, msg_id, body, attachments}');
  const c = content.data;
  if (c.iss !== wire.iss || c.aud !== wire.aud || c.msg_id !== wire.msg_id)
    throw undecryptable('the sealed content names another sender, recipient or message');
  const misplaced = [
    ...Object.keys(wire.body)
      .filter((m) => !isPublicMember(wire.kind, m))
      .map((m) => ({
        path: `/body/${m}`,
        message: 'this member travels only inside `sealed` in a sealed message',
      })),
    ...Object.keys(c.body)
      .filter((m) => isPublicMember(wire.kind, m) || m in wire.body)
      .map((m) => ({
        path: `/sealed/body/${m}`,
        message: 'this member travels in clear, not inside `sealed`',
      })),
  ];
  const sameFiles =
    c.attachments.length === wire.attachments.length &&
    c.attachments.every((a, i) => {
      const w = wire.attachments[i]!;
      return (
        w.sha256 === a.sha256 &&
        w.size === a.size &&
        w.media_type === a.media_type &&
        w.name === w.sha256
      );
    });
  if (!sameFiles)
    misplaced.push({
      path: '/attachments',
      message:
        'a sealed message lists its attachments as inside `sealed`, each named by its sha256',
    });
  if (misplaced.length)
    throw new AppError(
      'schema_invalid',
      'the sealed message splits its members wrongly',
      misplaced,
    );
  const { sealed: _sealed, ...rest } = wire;
  return { ...rest, body: { ...wire.body, ...c.body }, attachments: c.attachments };
}

/**
 * An attachment's bytes sealed to the recipient (same algorithms as sealed content). The digest and
 * size the upload token signs are of the plain bytes, so the recipient checks them after opening.
 */
export async function sealBytes(bytes: Uint8Array, to: SealingKey): Promise<string> {
  return new CompactEncrypt(bytes)
    .setProtectedHeader({ alg: SEAL_ALG, enc: SEAL_ENC, kid: to.kid, typ: SEALED_FILE_TYP })
    .encrypt(await publicKeyOf(to));
}

/** Opens sealed attachment bytes with this node's keys, or refuses (`undecryptable`). */
export async function openBytes(jwe: string, keys: readonly DecryptionKey[]): Promise<Uint8Array> {
  let kid: string | undefined;
  try {
    // Exactly the profile's members (no `zip`, `apu`, `apv`…), as for sealed content.
    const h = SealedHeader.extend({ typ: z.literal(SEALED_FILE_TYP) }).safeParse(
      decodeProtectedHeader(jwe),
    );
    if (h.success) kid = h.data.kid;
  } catch {
    // refused below
  }
  if (!kid)
    throw undecryptable(
      `a sealed file is a compact JWE with exactly {alg: ${SEAL_ALG}, enc: ${SEAL_ENC}, kid, typ: ${SEALED_FILE_TYP}, epk}`,
    );
  const key = keys.find((k) => k.kid === kid);
  if (!key)
    throw undecryptable(
      `the file is sealed to key ${kid}, which is not one of this node's encryption keys`,
    );
  try {
    const { plaintext } = await compactDecrypt(jwe, key.privateKey, {
      keyManagementAlgorithms: [SEAL_ALG],
      contentEncryptionAlgorithms: [SEAL_ENC],
    });
    return plaintext;
  } catch {
    throw undecryptable('the sealed file does not decrypt with the key it names');
  }
}
