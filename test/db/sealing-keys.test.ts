// Encryption keys in the partner registry on a real Postgres, as an operator lives with them: which
// key of a partner that takes sealed content a message is sealed to (the newest usable one, none
// when it does not seal, a refusal when it seals and has none), a rotation of the recipient's key
// from start to end (the old key keeps opening what was sealed to it until the recipient drops
// it), and what registering a partner's JWKS makes of its encryption keys.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeProtectedHeader, exportJWK, generateKeyPair, type JWK } from 'jose';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  addKeys,
  addParty,
  findKey,
  getParty,
  listParties,
  listRegistryChanges,
  revokeKey,
  sealingKeyFor,
  updateParty,
  type NewKey,
} from '../../db/registry.js';
import { keysFromInput } from '../../domain/partner-keys.js';
import {
  generateEncryptionKey,
  loadDecryptionKey,
  type DecryptionKey,
} from '../../protocol/keys.js';
import { loadKeyring, writeKeyFile, type Keyring } from '../../protocol/keyring.js';
import { buildPayload, signPayload, type SignedEnvelope } from '../../protocol/sign.js';
import { verifyEnvelope } from '../../protocol/verify.js';
import type { Payload } from '../../schemas/envelope.js';
import { KeysInput } from '../../schemas/partners-api.js';
import {
  createParty,
  RECEIVER,
  segmentsOf,
  SENDER,
  validDraft,
  verifyContext,
  type TestParty,
} from '../helpers/envelopes.js';
import { cloneTemplate, testPool } from '../helpers/postgres.js';

type Db = Awaited<ReturnType<typeof cloneTemplate>>;

/** Node A's database (the sender's registry, holding the recipient's encryption keys). */
let dbA: Db;
let nodeA: pg.Pool;
/** Node B's database (the recipient's registry, holding the sender's signing key). */
let dbB: Db;
let nodeB: pg.Pool;
/** Node B's keys folder. */
let keysDir: string;

beforeAll(async () => {
  [dbA, dbB] = await Promise.all([
    cloneTemplate(inject('templateDatabase')),
    cloneTemplate(inject('templateDatabase')),
  ]);
  nodeA = testPool({ connectionString: dbA.url, max: 4 });
  nodeB = testPool({ connectionString: dbB.url, max: 4 });
  keysDir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-sealing-keys-'));
});
afterAll(async () => {
  await nodeA?.end();
  await nodeB?.end();
  await dbA?.drop();
  await dbB?.drop();
  if (keysDir) await fs.rm(keysDir, { recursive: true, force: true });
});

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
const ACTOR = 'operator-olga';
const INBOX = 'http://127.0.0.1:9/v1/messages';
const MARKER = 'SEALKEYS-Jadranka-Horvat-1962';

/** An X25519 key pair as `parley keys generate --roles encryption` makes it. */
async function newEncryptionKey(validFrom?: Date): Promise<DecryptionKey> {
  return loadDecryptionKey(await generateEncryptionKey(validFrom ? { validFrom } : {}));
}

/** Registers a JWKS as the admin API does: the body's schema, then the keys it names. */
function keysOf(input: unknown): Promise<NewKey[]> {
  return keysFromInput(KeysInput.parse(input));
}

/** An encryption key to register, given as its bare public JWK with the validity to register. */
async function encryptionKeyToRegister(
  key: DecryptionKey,
  validity: { validFrom: Date; validUntil?: Date },
): Promise<NewKey> {
  const [k] = await keysOf({
    jwks: { keys: [key.publicJwk] },
    validFrom: validity.validFrom.toISOString(),
    ...(validity.validUntil ? { validUntil: validity.validUntil.toISOString() } : {}),
  });
  return k!;
}

/** A signing key to register, given as its bare public JWK (roles message and receipt). */
async function signingKeyToRegister(party: TestParty): Promise<NewKey> {
  const [k] = await keysOf({
    jwks: { keys: [party.signingKey.publicJwk] },
    validFrom: party.record.validFrom.toISOString(),
  });
  return k!;
}

async function registerParty(
  pool: pg.Pool,
  partyId: string,
  keys: NewKey[],
  sealContent?: boolean,
): Promise<void> {
  await addParty(
    pool,
    { partyId, name: `Partner ${partyId}`, inboxUrl: INBOX, keys, sealContent },
    ACTOR,
  );
}

/** Which key a message to `partyId` would be sealed to now (its kid), or undefined. */
async function sealedToNow(partyId: string, at = new Date()): Promise<string | undefined> {
  return (await sealingKeyFor(nodeA, partyId, at))?.kid;
}

describe('the key a message to a partner is sealed to', () => {
  const now = new Date();
  const t1 = new Date(now.getTime() - 2 * DAY_MS);
  const t2 = new Date(now.getTime() - DAY_MS);

  it('is none for a partner registered without sealed content, though it has an encryption key, until sealing is switched on', async () => {
    const key = await newEncryptionKey();
    await registerParty(nodeA, 'party-plain', [
      await encryptionKeyToRegister(key, { validFrom: t1 }),
    ]);
    expect(await sealingKeyFor(nodeA, 'party-plain', now)).toBeUndefined();

    // `parley partner seal on`, then off again.
    await updateParty(nodeA, 'party-plain', { sealContent: true }, ACTOR);
    expect(await sealingKeyFor(nodeA, 'party-plain', now)).toEqual({
      kid: key.kid,
      publicJwk: key.publicJwk,
    });
    await updateParty(nodeA, 'party-plain', { sealContent: false }, ACTOR);
    expect(await sealingKeyFor(nodeA, 'party-plain', now)).toBeUndefined();
  });

  it('is refused (encryption_key_missing) for a sealing partner with signing keys only', async () => {
    const partner = await createParty('party-signs-only');
    await registerParty(nodeA, 'party-signs-only', [await signingKeyToRegister(partner)], true);
    const err = await sealingKeyFor(nodeA, 'party-signs-only', now).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'encryption_key_missing', status: 409 });
    expect((err as Error).message).toContain('party-signs-only');
  });

  it('is refused (unknown_party) for a party that is not registered', async () => {
    await expect(sealingKeyFor(nodeA, 'party-nobody', now)).rejects.toMatchObject({
      code: 'unknown_party',
      status: 404,
    });
  });

  it('is the newest usable key: not one valid only later, not a revoked one', async () => {
    const older = await newEncryptionKey(t1);
    const newer = await newEncryptionKey(t2);
    await registerParty(
      nodeA,
      'party-rotating',
      [
        // Registered newest first, so the order of registration cannot be what decides.
        await encryptionKeyToRegister(newer, { validFrom: t2 }),
        await encryptionKeyToRegister(older, { validFrom: t1 }),
      ],
      true,
    );
    expect(await sealingKeyFor(nodeA, 'party-rotating', now)).toEqual({
      kid: newer.kid,
      publicJwk: newer.publicJwk,
    });
    // Before the newer key's time, the older one.
    expect(await sealedToNow('party-rotating', new Date(t2.getTime() - HOUR_MS))).toBe(older.kid);

    // A key announced for tomorrow waits for its time.
    const tomorrow = new Date(now.getTime() + DAY_MS);
    const upcoming = await newEncryptionKey(tomorrow);
    await addKeys(
      nodeA,
      'party-rotating',
      [await encryptionKeyToRegister(upcoming, { validFrom: tomorrow })],
      ACTOR,
    );
    expect(await sealedToNow('party-rotating', now)).toBe(newer.kid);
    expect(await sealedToNow('party-rotating', new Date(tomorrow.getTime() + HOUR_MS))).toBe(
      upcoming.kid,
    );

    // The newer key revoked an hour ago: back to the older one.
    await revokeKey(
      nodeA,
      'party-rotating',
      newer.kid,
      { revokedAt: new Date(now.getTime() - HOUR_MS), reason: 'private key lost' },
      ACTOR,
    );
    expect(await sealedToNow('party-rotating', now)).toBe(older.kid);

    // The older one revoked as of tomorrow: used until then, the upcoming key after.
    await revokeKey(
      nodeA,
      'party-rotating',
      older.kid,
      { revokedAt: tomorrow, reason: 'retired' },
      ACTOR,
    );
    expect(await sealedToNow('party-rotating', now)).toBe(older.kid);
    expect(await sealedToNow('party-rotating', new Date(tomorrow.getTime() + HOUR_MS))).toBe(
      upcoming.kid,
    );
  });

  it('is refused while the only key is valid only from tomorrow', async () => {
    const tomorrow = new Date(now.getTime() + DAY_MS);
    const key = await newEncryptionKey(tomorrow);
    await registerParty(
      nodeA,
      'party-early',
      [await encryptionKeyToRegister(key, { validFrom: tomorrow })],
      true,
    );
    await expect(sealingKeyFor(nodeA, 'party-early', now)).rejects.toMatchObject({
      code: 'encryption_key_missing',
    });
    expect(await sealedToNow('party-early', new Date(tomorrow.getTime() + HOUR_MS))).toBe(key.kid);
  });

  it('is never an expired key, however new', async () => {
    const older = await newEncryptionKey(t1);
    const expired = await newEncryptionKey(t2);
    const lapsed = new Date(now.getTime() - HOUR_MS);
    await registerParty(
      nodeA,
      'party-expiring',
      [
        await encryptionKeyToRegister(older, { validFrom: t1 }),
        await encryptionKeyToRegister(expired, { validFrom: t2, validUntil: lapsed }),
      ],
      true,
    );
    expect(await sealedToNow('party-expiring', now)).toBe(older.kid);
    // While it was valid, the newer one.
    expect(await sealedToNow('party-expiring', new Date(lapsed.getTime() - HOUR_MS))).toBe(
      expired.kid,
    );

    // A partner whose only encryption key has expired gets nothing sealed to it.
    const only = await newEncryptionKey(t1);
    await registerParty(
      nodeA,
      'party-expired',
      [await encryptionKeyToRegister(only, { validFrom: t1, validUntil: lapsed })],
      true,
    );
    await expect(sealingKeyFor(nodeA, 'party-expired', now)).rejects.toMatchObject({
      code: 'encryption_key_missing',
    });
  });
});

describe('rotating the recipient’s encryption key, without a network', () => {
  // Node A (SENDER) seals to node B (RECEIVER). B's keys live in its keys folder; A's registry
  // holds B's public keys as B published them; B's registry holds A's signing key.
  let sender: TestParty;
  let oldKey: DecryptionKey;
  let newKey: DecryptionKey;
  /** A response sealed to B's old key before the rotation. */
  let sealedToOld: SignedEnvelope;
  let sealedToOldPayload: Payload;

  /** What B's node loads from its keys folder on start. */
  const keyringOfB = (): Promise<Keyring> => loadKeyring(keysDir);

  /** A response from A to B with personal content. */
  const responseFromA = (note: string): Payload =>
    buildPayload(
      validDraft('response', {
        iss: SENDER,
        body: { final: false, records: [{ item_id: 'case-7', remarks: MARKER }], note },
      }),
      new Date(),
    );

  /** A seals `payload` to whichever of B's keys its registry says now, and signs it. */
  async function sendFromA(payload: Payload): Promise<SignedEnvelope> {
    const to = await sealingKeyFor(nodeA, RECEIVER, new Date());
    expect(to).toBeDefined();
    return signPayload(payload, sender.signingKey, to);
  }

  /** B receives the token: A's key from B's registry in Postgres, B's keys to open it. */
  async function receiveAtB(token: string, open: readonly DecryptionKey[]) {
    return verifyEnvelope(
      token,
      verifyContext({ findKey: (kid) => findKey(nodeB, kid) }, { open }),
    );
  }

  /** The key a token's content was sealed to (its JWE's kid); nothing personal is in clear. */
  function sealedToKid(token: string): string {
    const clear = Buffer.from(segmentsOf(token).payload64, 'base64url').toString('utf8');
    expect(clear).not.toContain(MARKER);
    const wire = JSON.parse(clear) as { sealed?: string };
    expect(wire.sealed).toBeDefined();
    return decodeProtectedHeader(wire.sealed!).kid!;
  }

  beforeAll(async () => {
    sender = await createParty(SENDER);
    // B knows A, and expects its content sealed.
    await registerParty(nodeB, SENDER, [await signingKeyToRegister(sender)], true);

    // B's first encryption key, from ten days ago; A registers B from B's published JWKS.
    const storedOld = await generateEncryptionKey({
      validFrom: new Date(Date.now() - 10 * DAY_MS),
    });
    await writeKeyFile(keysDir, storedOld);
    oldKey = await loadDecryptionKey(storedOld);
    const ring = await keyringOfB();
    expect(ring.jwks().keys).toEqual([
      expect.objectContaining({
        kid: oldKey.kid,
        use: 'enc',
        alg: 'ECDH-ES+A256KW',
        parley_roles: ['encryption'],
      }),
    ]);
    await registerParty(nodeA, RECEIVER, await keysOf({ jwks: ring.jwks() }), true);
  });

  it('before the rotation, A seals to B’s only key and B opens it', async () => {
    expect(await sealedToNow(RECEIVER)).toBe(oldKey.kid);
    sealedToOldPayload = responseFromA(`Before the rotation: ${MARKER}`);
    sealedToOld = await sendFromA(sealedToOldPayload);
    expect(sealedToKid(sealedToOld.token)).toBe(oldKey.kid);
    const ring = await keyringOfB();
    const v = await receiveAtB(sealedToOld.token, ring.decryptionKeys);
    expect(v.sealed).toBe(true);
    expect(v.payload).toEqual(sealedToOldPayload);
  });

  it('after B makes a new key, B’s keys are [new, old] and what was sealed to the old one still opens', async () => {
    const storedNew = await generateEncryptionKey({ validFrom: new Date(Date.now() - 60_000) });
    await writeKeyFile(keysDir, storedNew);
    newKey = await loadDecryptionKey(storedNew);
    const ring = await keyringOfB();
    expect(ring.decryptionKeys.map((k) => k.kid)).toEqual([newKey.kid, oldKey.kid]);

    const v = await receiveAtB(sealedToOld.token, ring.decryptionKeys);
    expect(v.sealed).toBe(true);
    expect(v.payload).toEqual(sealedToOldPayload);

    // A has not registered the new key yet: it still seals to the old one, and B still opens it.
    expect(await sealedToNow(RECEIVER)).toBe(oldKey.kid);
    const inBetween = responseFromA(`Between the steps: ${MARKER}`);
    const token = (await sendFromA(inBetween)).token;
    expect(sealedToKid(token)).toBe(oldKey.kid);
    expect((await receiveAtB(token, ring.decryptionKeys)).payload).toEqual(inBetween);
  });

  it('once A registers B’s new key, A seals to it and B opens it', async () => {
    const published = (await keyringOfB()).jwks().keys.filter((k) => k.kid === newKey.kid);
    expect(published).toHaveLength(1);
    await addKeys(nodeA, RECEIVER, await keysOf({ jwks: { keys: published } }), ACTOR);

    expect(await sealingKeyFor(nodeA, RECEIVER, new Date())).toEqual({
      kid: newKey.kid,
      publicJwk: newKey.publicJwk,
    });
    const payload = responseFromA(`After the rotation: ${MARKER}`);
    const token = (await sendFromA(payload)).token;
    expect(sealedToKid(token)).toBe(newKey.kid);
    const v = await receiveAtB(token, (await keyringOfB()).decryptionKeys);
    expect(v.sealed).toBe(true);
    expect(v.payload).toEqual(payload);
  });

  it('once B drops its old key, content sealed to it is refused (undecryptable); the new key still opens', async () => {
    const oldFile = (await fs.readdir(keysDir)).find((f) => f.startsWith(oldKey.kid));
    expect(oldFile).toBeDefined();
    await fs.rm(path.join(keysDir, oldFile!));
    const ring = await keyringOfB();
    expect(ring.decryptionKeys.map((k) => k.kid)).toEqual([newKey.kid]);

    const err = await receiveAtB(sealedToOld.token, ring.decryptionKeys).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'undecryptable', status: 400 });
    expect((err as Error).message).toContain(oldKey.kid);

    const payload = responseFromA(`With the new key only: ${MARKER}`);
    const token = (await sendFromA(payload)).token;
    expect((await receiveAtB(token, ring.decryptionKeys)).payload).toEqual(payload);
  });
});

describe('registering a partner’s encryption keys', () => {
  const x25519 = async (): Promise<JWK> => (await newEncryptionKey()).publicJwk;

  it('registers an X25519 key as ECDH-ES+A256KW with the encryption role only', async () => {
    const jwk = await x25519();
    const [key] = await keysOf({ jwks: { keys: [jwk] } });
    expect(key).toMatchObject({
      alg: 'ECDH-ES+A256KW',
      roles: ['encryption'],
      publicJwk: { kty: 'OKP', crv: 'X25519', x: jwk.x },
      validUntil: null,
    });
    // Its kid is its thumbprint, as the partner's node names it.
    const [again] = await keysOf({
      jwks: { keys: [{ ...jwk, kid: key!.kid, use: 'enc', alg: 'ECDH-ES+A256KW' }] },
    });
    expect(again!.kid).toBe(key!.kid);
  });

  it('registers a P-256 key marked use enc as an encryption key', async () => {
    const { publicKey } = await generateKeyPair('ECDH-ES+A256KW', {
      crv: 'P-256',
      extractable: true,
    });
    const { kty, crv, x, y } = await exportJWK(publicKey);
    const [key] = await keysOf({ jwks: { keys: [{ kty, crv, x, y, use: 'enc' }] } });
    expect(key).toMatchObject({ alg: 'ECDH-ES+A256KW', roles: ['encryption'] });
  });

  it('refuses an X25519 key with a signing role (schema_invalid)', async () => {
    const err = await keysOf({
      jwks: { keys: [{ ...(await x25519()), parley_roles: ['message'] }] },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'schema_invalid',
      errors: [{ path: '/jwks/keys/0/parley_roles' }],
    });
    // Roles given for the whole set are checked the same way.
    await expect(
      keysOf({ jwks: { keys: [await x25519()] }, roles: ['message', 'receipt'] }),
    ).rejects.toMatchObject({ code: 'schema_invalid', errors: [{ path: '/roles' }] });
  });

  it('refuses an Ed25519 key marked use enc (schema_invalid)', async () => {
    const signer = await createParty('party-confused');
    await expect(
      keysOf({ jwks: { keys: [{ ...signer.signingKey.publicJwk, use: 'enc' }] } }),
    ).rejects.toMatchObject({ code: 'schema_invalid', errors: [{ path: '/jwks/keys/0/crv' }] });
  });

  it('takes a P-256 key that names ECDH-ES+A256KW without saying its use', async () => {
    const { generateKeyPair, exportJWK } = await import('jose');
    const { publicKey } = await generateKeyPair('ECDH-ES+A256KW', {
      crv: 'P-256',
      extractable: true,
    });
    const { kty, crv, x, y } = await exportJWK(publicKey);
    const [key] = await keysOf({
      jwks: { keys: [{ kty, crv, x, y, alg: 'ECDH-ES+A256KW' }] as never },
    });
    expect(key).toMatchObject({ alg: 'ECDH-ES+A256KW', roles: ['encryption'] });
  });

  it('stores the key as ECDH-ES+A256KW beside the party’s sealContent setting, and records both', async () => {
    const signer = await createParty('party-sealer');
    const encJwk = await x25519();
    const keys = await keysOf({
      jwks: { keys: [signer.signingKey.publicJwk, encJwk] },
    });
    await registerParty(nodeA, 'party-sealer', keys, true);
    await registerParty(nodeA, 'party-open', await keysOf({ jwks: { keys: [await x25519()] } }));

    const sealer = await getParty(nodeA, 'party-sealer');
    expect(sealer).toMatchObject({ partyId: 'party-sealer', sealContent: true });
    const encKid = keys.find((k) => k.alg === 'ECDH-ES+A256KW')!.kid;
    expect(sealer!.keys).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kid: encKid,
          alg: 'ECDH-ES+A256KW',
          roles: ['encryption'],
          publicJwk: { kty: 'OKP', crv: 'X25519', x: encJwk.x },
          revokedAt: null,
          addedBy: ACTOR,
        }),
        expect.objectContaining({ alg: 'Ed25519', roles: ['message', 'receipt'] }),
      ]),
    );
    expect(sealer!.keys).toHaveLength(2);

    const listed = await listParties(nodeA);
    expect(listed.find((p) => p.partyId === 'party-sealer')?.sealContent).toBe(true);
    const open = listed.find((p) => p.partyId === 'party-open');
    expect(open).toMatchObject({ sealContent: false });
    expect(open!.keys.map((k) => k.alg)).toEqual(['ECDH-ES+A256KW']);

    // The registry's history says what was set and which key was added, with its algorithm.
    const changes = await listRegistryChanges(nodeA, 'party-sealer');
    expect(changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: 'party_added',
          actor: ACTOR,
          detail: expect.objectContaining({ sealContent: true }) as unknown,
        }),
        expect.objectContaining({
          action: 'key_added',
          kid: encKid,
          detail: expect.objectContaining({
            alg: 'ECDH-ES+A256KW',
            roles: ['encryption'],
          }) as unknown,
        }),
      ]),
    );

    // The verifier finds the encryption key by kid too: as a key that signs nothing.
    expect(await findKey(nodeA, encKid)).toMatchObject({
      alg: 'ECDH-ES+A256KW',
      roles: ['encryption'],
      partySeals: true,
    });
  });

  it('has the database take ECDH-ES+A256KW (migration 0021) and still refuse an algorithm it does not know', async () => {
    const { rows: applied } = await nodeA.query<{ name: string }>(
      'SELECT name FROM schema_migrations WHERE version = 21',
    );
    expect(applied).toEqual([{ name: 'sealed_content' }]);

    const jwk = await x25519();
    await nodeA.query(
      `INSERT INTO party_keys (kid, party_id, alg, public_jwk, roles, valid_from, added_by)
       VALUES ('kid-ecdh', 'party-open', 'ECDH-ES+A256KW', $1, '{encryption}', now(), 'sql')`,
      [JSON.stringify(jwk)],
    );
    await expect(
      nodeA.query(
        `INSERT INTO party_keys (kid, party_id, alg, public_jwk, roles, valid_from, added_by)
         VALUES ('kid-rsa', 'party-open', 'RSA-OAEP', $1, '{encryption}', now(), 'sql')`,
        [JSON.stringify(jwk)],
      ),
    ).rejects.toMatchObject({ code: '23514', constraint: 'party_keys_alg_check' });
    const { rows } = await nodeA.query<{ seal_content: boolean }>(
      `SELECT seal_content FROM parties WHERE party_id = 'party-open'`,
    );
    expect(rows).toEqual([{ seal_content: false }]);
  });
});
