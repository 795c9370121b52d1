// Sealed content: the personal members of a body travel encrypted to the recipient's key inside the
// signed payload; the recipient opens them, anyone else sees only the public members.
import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  generateEncryptionKey,
  loadDecryptionKey,
  type DecryptionKey,
} from '../../protocol/keys.js';
import { canonicalBytes } from '../../protocol/canonical-json.js';
import { sealPayload } from '../../protocol/seal.js';
import { buildPayload, signPayload } from '../../protocol/sign.js';
import { verifyAsSigned, verifyEnvelope } from '../../protocol/verify.js';
import type { Payload } from '../../schemas/envelope.js';
import type { SealedPayload } from '../../schemas/sealed.js';
import {
  createParty,
  forgeAs,
  headerJson,
  RECEIVER,
  registryOf,
  segmentsOf,
  SENDER,
  validDraft,
  verifyContext,
  type TestParty,
} from '../helpers/envelopes.js';

const MARKER = 'SEALTEST-Ivana-Petrova-1987';

async function encryptionKey(): Promise<DecryptionKey> {
  return loadDecryptionKey(await generateEncryptionKey());
}

/** The payload a token carries, read without trust. */
const wireOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(segmentsOf(token).payload64, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;

const sealTo = (k: DecryptionKey) => ({ kid: k.kid, publicJwk: k.publicJwk });

/** A response whose records, note and attachment name are personal. */
function responsePayload(iss = SENDER): Payload {
  return buildPayload(
    validDraft('response', {
      iss,
      body: {
        final: false,
        records: [{ item_id: 'case-1', remarks: MARKER }],
        note: `Family of ${MARKER}`,
      },
      attachments: [
        { sha256: 'b'.repeat(64), size: 10, media_type: 'application/pdf', name: `${MARKER}.pdf` },
      ],
    }),
    new Date(),
  );
}

describe('sealed content', () => {
  let sender: TestParty;
  let key: DecryptionKey;

  it('carries personal members only inside the JWE, and the recipient opens exactly what was signed', async () => {
    sender = await createParty(SENDER);
    key = await encryptionKey();
    const payload = responsePayload();
    const signed = await signPayload(payload, sender.signingKey, sealTo(key));

    const wire = wireOf(signed.token);
    expect(JSON.stringify(wire)).not.toContain(MARKER);
    expect(wire.body).toEqual({ final: false });
    expect(wire.attachments).toEqual([
      { sha256: 'b'.repeat(64), size: 10, media_type: 'application/pdf', name: 'b'.repeat(64) },
    ]);
    expect(decodeProtectedHeader(wire.sealed as string)).toEqual({
      alg: 'ECDH-ES+A256KW',
      enc: 'A256GCM',
      kid: key.kid,
      typ: 'parley-content+jwe',
      epk: expect.objectContaining({ kty: 'OKP', crv: 'X25519' }) as unknown,
    });

    const opened = await verifyEnvelope(
      signed.token,
      verifyContext(registryOf(sender), { open: [key] }),
    );
    expect(opened.sealed).toBe(true);
    expect(opened.payload).toEqual(payload);
    expect(opened.digest).toBe(signed.digest);
  });

  it('leaves a third party with the signature, the public members and the digest, not the content', async () => {
    const signed = await signPayload(responsePayload(), sender.signingKey, sealTo(key));
    const v = await verifyAsSigned(signed.token, verifyContext(registryOf(sender)));
    expect(v.digest).toBe(signed.digest);
    expect('sealed' in v.payload).toBe(true);
    expect(JSON.stringify(v.payload)).not.toContain(MARKER);
    expect(v.payload).toMatchObject({ kind: 'response', iss: SENDER, body: { final: false } });
  });

  it('refuses content it cannot open: no key, another key, or altered ciphertext', async () => {
    const signed = await signPayload(responsePayload(), sender.signingKey, sealTo(key));
    const ctx = verifyContext(registryOf(sender));
    await expect(verifyEnvelope(signed.token, ctx)).rejects.toMatchObject({
      code: 'undecryptable',
    });
    await expect(
      verifyEnvelope(signed.token, { ...ctx, open: [await encryptionKey()] }),
    ).rejects.toMatchObject({ code: 'undecryptable' });

    // The sender itself signs a payload whose ciphertext was altered: the tag does not verify.
    const wire = wireOf(signed.token) as SealedPayload;
    const parts = wire.sealed.split('.');
    const ct = Buffer.from(parts[3]!, 'base64url');
    ct[0] = ct[0]! ^ 1;
    parts[3] = ct.toString('base64url');
    const altered = forgeAs(sender, {
      header: headerJson(sender.signingKey),
      payload: { ...wire, sealed: parts.join('.') },
    });
    await expect(verifyEnvelope(altered, { ...ctx, open: [key] })).rejects.toMatchObject({
      code: 'undecryptable',
    });
  });

  it('refuses someone else’s sealed content signed as their own', async () => {
    // C strips A's signature and signs A's sealed payload as its own message: the sealed content
    // names A, so B refuses it though C's signature is valid.
    const intruder = await createParty('party-c');
    const signed = await signPayload(responsePayload(), sender.signingKey, sealTo(key));
    const wire = wireOf(signed.token);
    const resigned = forgeAs(intruder, {
      header: headerJson(intruder.signingKey),
      payload: { ...wire, iss: 'party-c' },
    });
    await expect(
      verifyEnvelope(resigned, verifyContext(registryOf(sender, intruder), { open: [key] })),
    ).rejects.toMatchObject({ code: 'undecryptable', message: expect.stringMatching(/another/) });
  });

  it('refuses members in the wrong part of a sealed payload', async () => {
    const sealed = (await sealPayload(responsePayload(), sealTo(key))) as SealedPayload;
    const leaky = forgeAs(sender, {
      payload: { ...sealed, body: { ...sealed.body, note: 'in clear' } },
    });
    const err = (await verifyEnvelope(
      leaky,
      verifyContext(registryOf(sender), { open: [key] }),
    ).catch((e: unknown) => e)) as { code: string; errors: { path: string }[] };
    expect(err.code).toBe('schema_invalid');
    expect(err.errors.map((e) => e.path)).toContain('/body/note');
  });

  it('refuses content in clear from a party that seals, and takes what has nothing to seal', async () => {
    const registry = registryOf({ ...sender.record, partySeals: true });
    const clear = await signPayload(responsePayload(), sender.signingKey);
    await expect(verifyEnvelope(clear.token, verifyContext(registry))).rejects.toMatchObject({
      code: 'not_sealed',
    });
    // A reminder holds only public members: nothing to seal, taken in clear.
    const reminder = await signPayload(
      buildPayload(validDraft('reminder', { iss: SENDER }), new Date()),
      sender.signingKey,
      sealTo(key),
    );
    expect(wireOf(reminder.token)).not.toHaveProperty('sealed');
    const v = await verifyEnvelope(reminder.token, verifyContext(registry, { open: [key] }));
    expect(v.sealed).toBe(false);
  });

  it('seals every kind’s free text and leaves its deadlines and ids in clear', async () => {
    const request = buildPayload(validDraft('request', { iss: SENDER }), new Date());
    const sealed = (await sealPayload(request, sealTo(key))) as SealedPayload;
    expect(Object.keys(sealed.body).sort()).toEqual(['policy_digest', 'priority', 'request_type']);
    expect(sealed).toMatchObject({ req_id: request.req_id, msg_id: request.msg_id, aud: RECEIVER });
    const extension = buildPayload(validDraft('extension_request', { iss: SENDER }), new Date());
    const sealedExt = (await sealPayload(extension, sealTo(key))) as SealedPayload;
    expect(sealedExt.body).toEqual({ proposed_deadline: '2030-01-15T10:00:00Z' });
    expect(new TextDecoder().decode(canonicalBytes(sealedExt))).not.toContain('Archive');
  });
});
