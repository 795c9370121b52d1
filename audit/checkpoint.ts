// Checkpoints and cosignatures: compact JWS signed by a node's log key over RFC 8785 canonical
// JSON. Shared by the node and the offline verifier, so it needs nothing but jose and zod.
import crypto from 'node:crypto';
import { CompactSign, compactVerify, importJWK, type CryptoKey, type JWK } from 'jose';
import canonicalize from 'canonicalize';
import { z } from 'zod';
import {
  CHECKPOINT_TYP,
  COSIGNATURE_TYP,
  CheckpointPayload,
  CosignaturePayload,
} from '../schemas/audit.js';
import { SignatureAlg } from '../schemas/envelope.js';

const Header = (typ: string) =>
  z.strictObject({ alg: SignatureAlg, kid: z.string().min(1), typ: z.literal(typ) });

/** A signer: the private key of a log key, its kid and algorithm. */
export interface LogSigner {
  kid: string;
  alg: SignatureAlg;
  privateKey: CryptoKey;
}

function canonical(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no canonical JSON form');
  return text;
}

async function sign(typ: string, payload: unknown, signer: LogSigner): Promise<string> {
  return new CompactSign(new TextEncoder().encode(canonical(payload)))
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ })
    .sign(signer.privateKey);
}

export const signCheckpoint = (p: CheckpointPayload, s: LogSigner) => sign(CHECKPOINT_TYP, p, s);
export const signCosignature = (p: CosignaturePayload, s: LogSigner) => sign(COSIGNATURE_TYP, p, s);

/** SHA-256 (hex) of a token's signing input: names one signed statement whatever its signature. */
export function signingInputDigest(token: string): string {
  const [h = '', p = ''] = token.split('.');
  return crypto.createHash('sha256').update(`${h}.${p}`).digest('hex');
}

/** The header of a token, unverified: only to find which key to check it with. */
export function peekKid(token: string): string | undefined {
  try {
    const header: unknown = JSON.parse(
      Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8'),
    );
    const kid =
      header && typeof header === 'object' ? (header as { kid?: unknown }).kid : undefined;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

export type StatementCheck<T> =
  { ok: true; payload: T; kid: string } | { ok: false; reason: string };

/** The public key a statement is checked with, as the registry or a bundle holds it. */
export interface PublicLogKey {
  kid: string;
  alg: SignatureAlg;
  publicJwk: JWK;
}

async function verifyStatement<T>(
  token: string,
  typ: string,
  schema: z.ZodType<T>,
  keyFor: (kid: string) => PublicLogKey | undefined,
): Promise<StatementCheck<T>> {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'not a compact JWS' };
  let header: z.infer<ReturnType<typeof Header>>;
  try {
    header = Header(typ).parse(JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')));
  } catch {
    return { ok: false, reason: `the header is not {alg, kid, typ: ${typ}}` };
  }
  const key = keyFor(header.kid);
  if (!key) return { ok: false, reason: `no known log key ${header.kid}` };
  if (key.alg !== header.alg) return { ok: false, reason: `key ${key.kid} is for ${key.alg}` };
  let bytes: Uint8Array;
  try {
    const imported = await importJWK(key.publicJwk, key.alg);
    bytes = (await compactVerify(token, imported, { algorithms: [key.alg] })).payload;
  } catch {
    return { ok: false, reason: `the signature does not verify with key ${key.kid}` };
  }
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'the payload is not JSON' };
  }
  if (canonical(value) !== text) return { ok: false, reason: 'the payload is not canonical JSON' };
  const parsed = schema.safeParse(value);
  if (!parsed.success) return { ok: false, reason: 'the payload does not match its schema' };
  return { ok: true, payload: parsed.data, kid: key.kid };
}

export const verifyCheckpoint = (
  token: string,
  keyFor: (kid: string) => PublicLogKey | undefined,
) => verifyStatement(token, CHECKPOINT_TYP, CheckpointPayload, keyFor);
export const verifyCosignature = (
  token: string,
  keyFor: (kid: string) => PublicLogKey | undefined,
) => verifyStatement(token, COSIGNATURE_TYP, CosignaturePayload, keyFor);
