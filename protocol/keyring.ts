// This node's own signing keys, kept as files in the keys folder (never in git). Several may be
// active at once during a rotation; the newest usable key with the needed role signs.
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { createOnce } from './create-once.js';
import { KeyAlg, KeyRole, type MessageKind } from '../schemas/envelope.js';
import { roleForKind } from '../schemas/envelope.js';
import {
  generateEncryptionKey,
  generateSigningKey,
  keyUnusableReason,
  loadDecryptionKey,
  loadSigningKey,
  rolesMisfit,
  type DecryptionKey,
  type SigningKey,
  type StoredEncryptionKey,
  type StoredSigningKey,
} from './keys.js';

const StoredKeyFile = z.object({
  kid: z.string(),
  alg: KeyAlg,
  roles: z.array(KeyRole).min(1),
  valid_from: z.iso.datetime(),
  valid_until: z.iso.datetime().nullable(),
  private_jwk: z.record(z.string(), z.unknown()),
});

export interface Keyring {
  keys: readonly SigningKey[];
  /**
   * This node's encryption keys, newest first: partners seal content to the newest they have
   * registered, and every key kept here still opens what was sealed to it before a rotation.
   */
  decryptionKeys: readonly DecryptionKey[];
  /** The key that signs a message of this kind now; throws when none is usable. */
  signerFor(kind: MessageKind, at?: Date): SigningKey;
  /** The key that signs audit log checkpoints and cosignatures now; throws when none is usable. */
  logSigner(at?: Date): SigningKey;
  /** Public keys for `/.well-known/jwks.json`, with their roles and validity. */
  jwks(): { keys: Record<string, unknown>[] };
}

export async function writeKeyFile(
  dir: string,
  key: StoredSigningKey | StoredEncryptionKey,
): Promise<string> {
  const file = path.join(dir, `${key.kid}.json`);
  if (!(await createOnce(file, keyFileContent(key))))
    throw new Error(`a key file ${file} exists already`);
  return file;
}

function keyFileContent(key: StoredSigningKey | StoredEncryptionKey): string {
  return JSON.stringify(key, null, 2) + '\n';
}

export async function loadKeyring(dir: string): Promise<Keyring> {
  const files = (await fs.readdir(dir).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.json'))
    .sort();
  const keys: SigningKey[] = [];
  const decryptionKeys: DecryptionKey[] = [];
  for (const f of files) {
    const parsed = StoredKeyFile.safeParse(
      JSON.parse(await fs.readFile(path.join(dir, f), 'utf8')),
    );
    if (!parsed.success)
      throw new Error(
        `signing key file ${f} is not valid: ${parsed.error.issues[0]?.message ?? ''}`,
      );
    const stored = parsed.data;
    const misfit = rolesMisfit(stored.alg, stored.roles);
    if (misfit) throw new Error(`key file ${f} is not valid: ${misfit}`);
    if (stored.alg === 'ECDH-ES+A256KW')
      decryptionKeys.push(
        await loadDecryptionKey({ ...stored, alg: stored.alg, roles: ['encryption'] }),
      );
    else keys.push(await loadSigningKey({ ...stored, alg: stored.alg }));
  }
  // Newest first, so a freshly rotated key takes over as soon as it is valid.
  keys.sort((a, b) => b.validFrom.getTime() - a.validFrom.getTime());
  decryptionKeys.sort((a, b) => b.validFrom.getTime() - a.validFrom.getTime());
  return {
    keys,
    decryptionKeys,
    signerFor(kind, at = new Date()) {
      const role = roleForKind(kind);
      const key = keys.find(
        (k) => k.roles.includes(role) && !keyUnusableReason({ ...k, revokedAt: null }, at),
      );
      if (!key)
        throw new Error(
          `no usable signing key with role ${role} in ${dir}; run \`parley keys generate\``,
        );
      return key;
    },
    logSigner(at = new Date()) {
      const key = keys.find(
        (k) => k.roles.includes('log') && !keyUnusableReason({ ...k, revokedAt: null }, at),
      );
      if (!key)
        throw new Error(`no usable log key in ${dir}; run \`parley keys generate --roles log\``);
      return key;
    },
    jwks() {
      return {
        keys: [
          ...keys.map((k) => ({
            ...k.publicJwk,
            kid: k.kid,
            alg: k.alg,
            use: 'sig',
            parley_roles: k.roles,
            parley_valid_from: k.validFrom.toISOString(),
            parley_valid_until: k.validUntil ? k.validUntil.toISOString() : null,
          })),
          ...decryptionKeys.map((k) => ({
            ...k.publicJwk,
            kid: k.kid,
            alg: k.alg,
            use: 'enc',
            parley_roles: ['encryption'],
            parley_valid_from: k.validFrom.toISOString(),
            parley_valid_until: k.validUntil ? k.validUntil.toISOString() : null,
          })),
        ],
      };
    },
  };
}

/**
 * Creates the node's audit log key (Ed25519, role `log` only) when the folder holds none: a key
 * kept apart, so checkpoints can never be confused with messages.
 */
export async function ensureLogKey(dir: string): Promise<string | undefined> {
  const ring = await loadKeyring(dir);
  if (ring.keys.some((k) => k.roles.includes('log'))) return undefined;
  const key = await generateSigningKey({ alg: 'Ed25519', roles: ['log'] });
  // One name for the first log key: processes starting together create one between them.
  return (await createOnce(path.join(dir, FIRST_LOG_KEY), keyFileContent(key)))
    ? key.kid
    : undefined;
}

/**
 * Creates the node's encryption key (X25519, role `encryption`) when the folder holds none, so a
 * partner that seals content has a key to seal it to from the first start.
 */
export async function ensureEncryptionKey(dir: string): Promise<string | undefined> {
  const ring = await loadKeyring(dir);
  if (ring.decryptionKeys.length) return undefined;
  const key = await generateEncryptionKey();
  return (await createOnce(path.join(dir, FIRST_ENCRYPTION_KEY), keyFileContent(key)))
    ? key.kid
    : undefined;
}

/** Creates a default Ed25519 key with both roles when the folder holds none; returns its kid if so. */
export async function ensureOwnKey(dir: string): Promise<string | undefined> {
  const existing = await fs.readdir(dir).catch(() => [] as string[]);
  if (existing.some((f) => f.endsWith('.json'))) return undefined;
  const key = await generateSigningKey({ alg: 'Ed25519', roles: ['message', 'receipt'] });
  return (await createOnce(path.join(dir, FIRST_SIGNING_KEY), keyFileContent(key)))
    ? key.kid
    : undefined;
}

/** File names of the keys a node creates itself on its first start (later keys are named by kid). */
export const FIRST_SIGNING_KEY = 'first-signing-key.json';
export const FIRST_LOG_KEY = 'first-log-key.json';
export const FIRST_ENCRYPTION_KEY = 'first-encryption-key.json';
