// Envelope verification against the profile, one refusal per rule, each with its stable code.
// Pure: keys are generated in memory, the registry is a Map, nothing touches a database or network.
import crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeBase64url } from '../../protocol/base64url.js';
import { canonicalJson, MAX_DEPTH } from '../../protocol/canonical-json.js';
import {
  MAX_ENVELOPE_BYTES,
  MAX_LIFETIME_SECONDS,
  verifyEnvelope,
  type VerifyContext,
} from '../../protocol/verify.js';
import type { ErrorCode } from '../../errors.js';
import type { Draft } from '../../protocol/sign.js';
import { MessageKind } from '../../schemas/envelope.js';
import {
  createParty,
  expectedDigest,
  forgeAs,
  headerJson,
  keyRecordFor,
  RECEIVER,
  registryOf,
  segmentsOf,
  SENDER,
  signDraftAs,
  validDraft,
  validPayload,
  verifyContext,
  type MemoryKeyRegistry,
  type TestParty,
} from '../helpers/envelopes.js';

/** Order of the P-256 group. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HOUR_MS = 60 * 60 * 1000;

let ed: TestParty;
let es: TestParty;
let registry: MemoryKeyRegistry;

beforeAll(async () => {
  ed = await createParty(SENDER, { alg: 'Ed25519' });
  es = await createParty(SENDER, { alg: 'ES256' });
  registry = registryOf(ed, es);
});

const ctx = (overrides: Partial<VerifyContext> = {}): VerifyContext =>
  verifyContext(overrides.registry ?? registry, overrides);

async function expectRefused(
  token: string,
  code: ErrorCode,
  context: VerifyContext = ctx(),
): Promise<void> {
  await expect(verifyEnvelope(token, context)).rejects.toMatchObject({ name: 'AppError', code });
}

/** A party-a payload of a valid decline, as canonical JSON text. */
const canonicalPayloadText = (draft: Draft = validDraft()) => canonicalJson(validPayload(draft));

describe('verifyEnvelope accepts', () => {
  it.each(['Ed25519', 'ES256'] as const)(
    'a valid %s envelope, returning the digest of the signing input and the payload',
    async (alg) => {
      const party = alg === 'Ed25519' ? ed : es;
      const signed = await signDraftAs(party);
      const result = await verifyEnvelope(signed.token, ctx());
      expect(result.digest).toBe(expectedDigest(signed.token));
      expect(result.digest).toBe(signed.digest);
      expect(result.payload).toEqual(signed.payload);
      expect(result.header).toEqual({ alg, kid: party.signingKey.kid, typ: 'parley-msg+jws' });
      expect(result.key.kid).toBe(party.signingKey.kid);
      expect(result.token).toBe(signed.token);
    },
  );

  it('a header alg EdDSA when the key is registered as EdDSA', async () => {
    const party = await createParty(SENDER);
    const eddsaKey = { ...party.signingKey, alg: 'EdDSA' as const };
    const reg = registryOf(keyRecordFor(eddsaKey, SENDER));
    const token = forgeAs(party, { header: headerJson(eddsaKey) });
    const result = await verifyEnvelope(token, ctx({ registry: reg }));
    expect(result.header.alg).toBe('EdDSA');
  });

  it.each(MessageKind.options)('a valid %s from the builders', async (kind) => {
    const signed = await signDraftAs(ed, validDraft(kind));
    const result = await verifyEnvelope(signed.token, ctx());
    expect(result.payload.kind).toBe(kind);
  });

  it('the high-S twin of an ES256 signature, with the same digest as the original', async () => {
    // ECDSA signatures are malleable: (r, n - s) verifies too. WebCrypto does not insist on low S,
    // so the twin is accepted; its digest (of the signing input) is the original's, which is why
    // the replay guard on the digest catches it.
    const signed = await signDraftAs(es);
    const { header64, payload64, sig64 } = segmentsOf(signed.token);
    const sig = Buffer.from(sig64, 'base64url');
    const s = BigInt('0x' + sig.subarray(32).toString('hex'));
    const highS = Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex');
    const twin = `${header64}.${payload64}.${encodeBase64url(Buffer.concat([sig.subarray(0, 32), highS]))}`;
    expect(twin).not.toBe(signed.token);
    const result = await verifyEnvelope(twin, ctx());
    expect(result.digest).toBe(signed.digest);
    expect(result.digest).toBe(expectedDigest(twin));
  });
});

describe('verifyEnvelope refuses the header', () => {
  it('refuses alg none with bad_header', async () => {
    const token = forgeAs(ed, {
      header: headerJson({ alg: 'none' as never, kid: ed.signingKey.kid }),
    });
    await expectRefused(token, 'bad_header');
  });

  it('refuses an unsigned alg none token (empty signature) with malformed_envelope', async () => {
    const { header64, payload64 } = segmentsOf(
      forgeAs(ed, { header: headerJson({ alg: 'none' as never, kid: ed.signingKey.kid }) }),
    );
    await expectRefused(`${header64}.${payload64}.`, 'malformed_envelope');
  });

  it('refuses HS256 keyed with the public key bytes with bad_header', async () => {
    const header = headerJson({ alg: 'HS256' as never, kid: ed.signingKey.kid });
    const { header64, payload64 } = segmentsOf(forgeAs(ed, { header }));
    const secret = Buffer.from(ed.signingKey.publicJwk.x!, 'base64url');
    const mac = crypto.createHmac('sha256', secret).update(`${header64}.${payload64}`).digest();
    await expectRefused(`${header64}.${payload64}.${encodeBase64url(mac)}`, 'bad_header');
  });

  it('refuses a kid that is not registered with unknown_key', async () => {
    const stranger = await createParty(SENDER);
    const signed = await signDraftAs(stranger);
    await expectRefused(signed.token, 'unknown_key');
  });

  it.each(['../../etc/passwd', "' OR 1=1 --", 'x'.repeat(43).replace(/^x/, '/'), ''])(
    'refuses the kid %j with bad_header',
    async (kid) => {
      const token = forgeAs(ed, { header: headerJson({ alg: 'Ed25519', kid }) });
      await expectRefused(token, 'bad_header');
    },
  );

  it('refuses header alg EdDSA for a key registered as Ed25519 with alg_mismatch', async () => {
    const token = forgeAs(ed, { header: headerJson({ alg: 'EdDSA', kid: ed.signingKey.kid }) });
    await expectRefused(token, 'alg_mismatch');
  });

  it('refuses header alg ES256 for a key registered as Ed25519 with alg_mismatch', async () => {
    const token = forgeAs(es, { header: headerJson({ alg: 'ES256', kid: ed.signingKey.kid }) });
    await expectRefused(token, 'alg_mismatch');
  });

  it.each([
    ['an embedded jwk', () => ({ jwk: es.signingKey.publicJwk })],
    ['a jku URL', () => ({ jku: 'https://attacker.example/jwks.json' })],
    ['an x5c chain', () => ({ x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] })],
    ['b64 marked critical', () => ({ b64: false, crit: ['b64'] })],
    ['crit', () => ({ crit: ['exp'], exp: 1 })],
    ['an extra member (cty)', () => ({ cty: 'json' })],
  ])('refuses a header with %s with bad_header', async (_name, extra) => {
    const header = headerJson(es.signingKey, extra());
    expect(header).toBe(canonicalJson(JSON.parse(header))); // the header is canonical: the rule is the members
    await expectRefused(forgeAs(es, { header }), 'bad_header');
  });

  it('refuses duplicate member names in the header with bad_header', async () => {
    const { kid } = ed.signingKey;
    const header = `{"alg":"Ed25519","alg":"Ed25519","kid":"${kid}","typ":"parley-msg+jws"}`;
    await expectRefused(forgeAs(ed, { header }), 'bad_header');
  });

  it('refuses a header that is not canonical JSON with bad_header', async () => {
    const { kid } = ed.signingKey;
    const header = `{"typ":"parley-msg+jws","alg":"Ed25519","kid":"${kid}"}`;
    await expectRefused(forgeAs(ed, { header }), 'bad_header');
  });

  it.each(['JWT', 'PARLEY-MSG+JWS', 'application/parley-msg+jws', 'parley-msg+jwt'])(
    'refuses typ %j with bad_header',
    async (typ) => {
      const token = forgeAs(ed, { header: headerJson(ed.signingKey, { typ }) });
      await expectRefused(token, 'bad_header');
    },
  );

  it('refuses a header without typ with bad_header', async () => {
    const header = canonicalJson({ alg: 'Ed25519', kid: ed.signingKey.kid });
    await expectRefused(forgeAs(ed, { header }), 'bad_header');
  });
});

describe('verifyEnvelope refuses the shape', () => {
  it('refuses the JWS JSON serialization with malformed_envelope', async () => {
    const { header64, payload64, sig64 } = segmentsOf((await signDraftAs(ed)).token);
    const json = JSON.stringify({ protected: header64, payload: payload64, signature: sig64 });
    await expectRefused(json, 'malformed_envelope');
    await expectRefused(`  \n${json}`, 'malformed_envelope');
  });

  it('refuses five segments with malformed_envelope', async () => {
    const { token } = await signDraftAs(ed);
    await expectRefused(`${token}.AAAA.AAAA`, 'malformed_envelope');
  });

  it('refuses a detached payload (empty middle segment) with malformed_envelope', async () => {
    const { header64, sig64 } = segmentsOf((await signDraftAs(ed)).token);
    await expectRefused(`${header64}..${sig64}`, 'malformed_envelope');
  });

  it('refuses a signature segment with = padding with malformed_envelope', async () => {
    const { token } = await signDraftAs(ed);
    expect(Buffer.from(segmentsOf(token).sig64, 'base64url').length).toBe(64); // 86 chars, padding "=="
    await expectRefused(`${token}==`, 'malformed_envelope');
  });

  it.each(['+', '/', ' ', '\n'])(
    'refuses the character %j in a segment with malformed_envelope',
    async (char) => {
      const { header64, payload64, sig64 } = segmentsOf((await signDraftAs(ed)).token);
      await expectRefused(
        `${header64}.${payload64}.${char}${sig64.slice(1)}`,
        'malformed_envelope',
      );
    },
  );

  it.each(['Ed25519', 'ES256'] as const)(
    'refuses an %s signature whose last character only changes the trailing bits with malformed_envelope',
    async (alg) => {
      const { token } = await signDraftAs(alg === 'Ed25519' ? ed : es);
      const { header64, payload64, sig64 } = segmentsOf(token);
      // 64 bytes take 86 characters; the last one carries 2 bits of data and 4 zero bits.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(sig64.at(-1)!);
      expect(last & 0b1111).toBe(0);
      const altered = sig64.slice(0, -1) + alphabet[last | 1];
      expect(Buffer.from(altered, 'base64url')).toEqual(Buffer.from(sig64, 'base64url'));
      await expectRefused(`${header64}.${payload64}.${altered}`, 'malformed_envelope');
    },
  );

  it('refuses an ES256 signature in DER form with signature_invalid', async () => {
    const token = forgeAs(es, { dsaEncoding: 'der' });
    expect(Buffer.from(segmentsOf(token).sig64, 'base64url')[0]).toBe(0x30); // a DER SEQUENCE
    await expectRefused(token, 'signature_invalid');
  });

  it('refuses a signature by another key than the kid names with signature_invalid', async () => {
    const other = await createParty(SENDER);
    const payload = canonicalPayloadText();
    const token = forgeAs(other, { header: headerJson(ed.signingKey), payload });
    await expectRefused(token, 'signature_invalid');
    // Control: the same bytes signed by the right key verify.
    const genuine = forgeAs(ed, { header: headerJson(ed.signingKey), payload });
    await expect(verifyEnvelope(genuine, ctx())).resolves.toBeDefined();
  });

  it('refuses a token over MAX_ENVELOPE_BYTES with too_large', async () => {
    const draft = validDraft('response', {
      body: { final: true, records: [{ blob: 'x'.repeat(MAX_ENVELOPE_BYTES) }] },
    });
    const { token } = await signDraftAs(ed, draft);
    expect(token.length).toBeGreaterThan(MAX_ENVELOPE_BYTES);
    await expectRefused(token, 'too_large');
  });
});

describe('verifyEnvelope refuses a payload that is not canonical', () => {
  const pieces = (text: string, marker: string): [string, string] => {
    const at = text.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    return [text.slice(0, at), text.slice(at + marker.length)];
  };

  it.each<[string, () => Uint8Array | string]>([
    [
      'a byte order mark',
      () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(canonicalPayloadText())]),
    ],
    [
      'invalid UTF-8 bytes',
      () => {
        const [a, b] = pieces(
          canonicalPayloadText(validDraft('decline', { body: { reason: 'bad @@ byte' } })),
          '@@',
        );
        return Buffer.concat([Buffer.from(a), Buffer.from([0xc3, 0x28]), Buffer.from(b)]);
      },
    ],
    [
      'an overlong UTF-8 encoding',
      () => {
        const [a, b] = pieces(
          canonicalPayloadText(validDraft('decline', { body: { reason: 'bad @@ byte' } })),
          '@@',
        );
        return Buffer.concat([Buffer.from(a), Buffer.from([0xc1, 0x81]), Buffer.from(b)]);
      },
    ],
    ['whitespace after a colon', () => canonicalPayloadText().replace('"kind":', '"kind": ')],
    ['a trailing newline', () => canonicalPayloadText() + '\n'],
    ['pretty printing', () => JSON.stringify(JSON.parse(canonicalPayloadText()), null, 2)],
    [
      'unsorted keys',
      () => {
        const text = JSON.stringify(validPayload());
        expect(text).not.toBe(canonicalPayloadText());
        return text;
      },
    ],
    [
      'duplicate member names',
      () => canonicalPayloadText().replace('"aud":"party-b"', '"aud":"party-b","aud":"party-b"'),
    ],
    ['the number 1.0', () => canonicalPayloadText().replace(/"v":1}$/, '"v":1.0}')],
    ['the number 1e0', () => canonicalPayloadText().replace(/"v":1}$/, '"v":1e0}')],
    [
      'an escaped ASCII letter',
      () => canonicalPayloadText().replace('"kind":"decline"', '"kind":"d\\u0065cline"'),
    ],
    [
      'an escaped solidus',
      () =>
        canonicalPayloadText(validDraft('decline', { body: { reason: 'a/b' } })).replace(
          'a/b',
          'a\\/b',
        ),
    ],
    [
      'the integer 2^53 + 1',
      () => canonicalPayloadText().replace(/"iat":\d+/, '"iat":9007199254740993'),
    ],
    [
      'the integer 2^53 + 2',
      () => canonicalPayloadText().replace(/"iat":\d+/, '"iat":9007199254740994'),
    ],
    [
      'the integer -(2^53 + 1) in a record',
      () =>
        canonicalPayloadText(validDraft('response')).replace(
          '"depth_m":12',
          '"depth_m":-9007199254740993',
        ),
    ],
  ])('refuses %s with not_canonical', async (_name, payload) => {
    await expectRefused(forgeAs(ed, { payload: payload() }), 'not_canonical');
  });

  it('accepts the same payload text when it is canonical (control for the cases above)', async () => {
    const token = forgeAs(ed, { payload: canonicalPayloadText() });
    await expect(verifyEnvelope(token, ctx())).resolves.toMatchObject({
      payload: { kind: 'decline' },
    });
  });

  it(`refuses nesting deeper than MAX_DEPTH (${MAX_DEPTH}) with too_deep`, async () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < MAX_DEPTH + 1; i++) deep = { a: deep };
    const { token } = await signDraftAs(
      ed,
      validDraft('response', { body: { final: true, records: [deep] } }),
    );
    await expectRefused(token, 'too_deep');
  });
});

describe('verifyEnvelope refuses who sent it and to whom', () => {
  it('refuses the right key with a wrong aud with wrong_audience', async () => {
    const { token } = await signDraftAs(ed, validDraft('decline', { aud: 'party-c' }));
    await expectRefused(token, 'wrong_audience');
  });

  it('refuses an envelope addressed to another node even when verified by that audience', async () => {
    const { token } = await signDraftAs(ed);
    await expectRefused(token, 'wrong_audience', ctx({ self: 'party-c' }));
  });

  it("refuses an iss that is not the key's owner with issuer_mismatch", async () => {
    const { token } = await signDraftAs(ed, validDraft('decline', { iss: 'party-c' }));
    await expectRefused(token, 'issuer_mismatch');
  });

  it("refuses another party's registered key claiming to be party-a with issuer_mismatch", async () => {
    const mallory = await createParty('party-m');
    const { token } = await signDraftAs(mallory, validDraft('decline', { iss: SENDER }));
    await expectRefused(token, 'issuer_mismatch', ctx({ registry: registryOf(ed, mallory) }));
  });

  it('refuses a look-alike Unicode party id (Cyrillic а in pаrty-a) with issuer_mismatch', async () => {
    const lookAlike = 'p\u0430rty-a';
    expect(lookAlike).not.toBe(SENDER);
    const payload = { ...validPayload(), iss: lookAlike };
    await expectRefused(forgeAs(ed, { payload }), 'issuer_mismatch');
  });

  it('refuses a look-alike Unicode audience with wrong_audience', async () => {
    const payload = { ...validPayload(), aud: 'p\u0430rty-b' };
    expect(payload.aud).not.toBe(RECEIVER);
    await expectRefused(forgeAs(ed, { payload }), 'wrong_audience');
  });
});

describe('verifyEnvelope checks freshness', () => {
  it('refuses an iat far in the future with stale', async () => {
    const { token } = await signDraftAs(ed, undefined, { now: new Date(Date.now() + HOUR_MS) });
    await expectRefused(token, 'stale');
  });

  it('refuses an envelope whose exp has passed with stale', async () => {
    const { token } = await signDraftAs(ed, undefined, { now: new Date(Date.now() - HOUR_MS) });
    await expectRefused(token, 'stale');
  });

  it('refuses a lifetime over 15 minutes with stale', async () => {
    const { token } = await signDraftAs(ed, undefined, {
      lifetimeSeconds: MAX_LIFETIME_SECONDS + 1,
    });
    await expectRefused(token, 'stale');
  });

  it('accepts a lifetime of exactly 15 minutes', async () => {
    const { token } = await signDraftAs(ed, undefined, { lifetimeSeconds: MAX_LIFETIME_SECONDS });
    await expect(verifyEnvelope(token, ctx())).resolves.toBeDefined();
  });

  it('refuses exp not after iat with stale, even on import', async () => {
    const { token } = await signDraftAs(ed, undefined, { lifetimeSeconds: 0 });
    await expectRefused(token, 'stale');
    await expectRefused(token, 'stale', ctx({ mode: 'import' }));
  });

  it('verifies an old but otherwise valid envelope in import mode', async () => {
    const twoDaysAgo = new Date(Date.now() - 48 * HOUR_MS);
    const signed = await signDraftAs(ed, undefined, { now: twoDaysAgo });
    await expectRefused(signed.token, 'stale');
    const result = await verifyEnvelope(signed.token, ctx({ mode: 'import' }));
    expect(result.digest).toBe(expectedDigest(signed.token));
    expect(result.payload).toEqual(signed.payload);
  });
});

describe('verifyEnvelope checks the key', () => {
  it('refuses a revoked key with key_not_valid', async () => {
    const party = await createParty(SENDER, { revokedAt: new Date(Date.now() - HOUR_MS) });
    const { token } = await signDraftAs(party);
    await expectRefused(token, 'key_not_valid', ctx({ registry: registryOf(party) }));
  });

  it('refuses a revoked key in import mode too with key_not_valid', async () => {
    const party = await createParty(SENDER, { revokedAt: new Date(Date.now() - HOUR_MS) });
    const { token } = await signDraftAs(party, undefined, {
      now: new Date(Date.now() - 2 * HOUR_MS),
    });
    await expectRefused(
      token,
      'key_not_valid',
      ctx({ registry: registryOf(party), mode: 'import' }),
    );
  });

  it('refuses a key whose validUntil has passed with key_not_valid', async () => {
    const party = await createParty(SENDER, { validUntil: new Date(Date.now() - HOUR_MS) });
    const { token } = await signDraftAs(party);
    await expectRefused(token, 'key_not_valid', ctx({ registry: registryOf(party) }));
  });

  it('refuses a key that is not valid yet with key_not_valid', async () => {
    const party = await createParty(SENDER, { validFrom: new Date(Date.now() + 24 * HOUR_MS) });
    const { token } = await signDraftAs(party);
    await expectRefused(token, 'key_not_valid', ctx({ registry: registryOf(party) }));
  });

  it('accepts on import an envelope signed while its key was valid, though the key has expired since', async () => {
    const party = await createParty(SENDER, { validUntil: new Date(Date.now() - HOUR_MS) });
    const { token } = await signDraftAs(party, undefined, {
      now: new Date(Date.now() - 3 * HOUR_MS),
    });
    await expectRefused(token, 'key_not_valid', ctx({ registry: registryOf(party) }));
    const result = await verifyEnvelope(
      token,
      ctx({ registry: registryOf(party), mode: 'import' }),
    );
    expect(result.digest).toBe(expectedDigest(token));
  });

  it('refuses on import an envelope signed before the key was valid with key_not_valid', async () => {
    const party = await createParty(SENDER, { validFrom: new Date(Date.now() - HOUR_MS) });
    const { token } = await signDraftAs(party, undefined, {
      now: new Date(Date.now() - 3 * HOUR_MS),
    });
    await expectRefused(
      token,
      'key_not_valid',
      ctx({ registry: registryOf(party), mode: 'import' }),
    );
  });

  it("refuses a receipt signed by a key whose roles lack 'receipt' with key_role_mismatch", async () => {
    const party = await createParty(SENDER, { registeredRoles: ['message'] });
    const reg = registryOf(party);
    const { token } = await signDraftAs(party, validDraft('receipt'));
    await expectRefused(token, 'key_role_mismatch', ctx({ registry: reg }));
    // The same key may still sign messages.
    await expect(
      verifyEnvelope((await signDraftAs(party)).token, ctx({ registry: reg })),
    ).resolves.toBeDefined();
  });

  it('refuses a message signed by a receipt-only key with key_role_mismatch', async () => {
    const party = await createParty(SENDER, { registeredRoles: ['receipt'] });
    const { token } = await signDraftAs(party);
    await expectRefused(token, 'key_role_mismatch', ctx({ registry: registryOf(party) }));
  });
});

describe('verifyEnvelope validates the payload schema', () => {
  async function schemaErrors(payload: Record<string, unknown>) {
    const err: unknown = await verifyEnvelope(forgeAs(ed, { payload }), ctx()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'schema_invalid' });
    return (err as { errors: { path: string; message: string }[] }).errors;
  }

  it('refuses an unknown payload member with schema_invalid at its own JSON pointer', async () => {
    const errors = await schemaErrors({ ...validPayload(), note: 'hello' });
    expect(errors).toContainEqual({
      path: '/note',
      message: expect.stringContaining('unknown member'),
    });
  });

  it('refuses an unknown body member with schema_invalid at /body/<member>', async () => {
    const errors = await schemaErrors({ ...validPayload(), body: { reason: 'x', extra: 1 } });
    expect(errors).toContainEqual({
      path: '/body/extra',
      message: expect.stringContaining('unknown member'),
    });
  });

  it('escapes member names in error pointers as RFC 6901 says', async () => {
    const errors = await schemaErrors({ ...validPayload(), 'a/b~c': 1 });
    expect(errors.map((e) => e.path)).toContain('/a~1b~0c');
  });

  it('refuses an unknown kind with schema_invalid naming /kind', async () => {
    const errors = await schemaErrors({ ...validPayload(), kind: 'gossip' });
    expect(errors.map((e) => e.path)).toContain('/kind');
  });

  it.each([
    ['NUL', '\u0000'],
    // A lone surrogate has no canonical JSON form (RFC 8785): refused as not_canonical before this.
    ['BEL', '\u0007'],
    ['ESC', '\u001b'],
    ['a right-to-left override', '\u202e'],
  ])('refuses %s in a reason, and anywhere in a record, naming the path', async (_what, ch) => {
    const errors = await schemaErrors({ ...validPayload(), body: { reason: `no${ch}thing` } });
    expect(errors.map((e) => e.path)).toEqual(['/body/reason']);
    const response = validPayload(validDraft('response'));
    const deep = await schemaErrors({
      ...response,
      body: { final: true, records: [{ site: { label: `x${ch}` } }] },
    });
    expect(deep.map((e) => e.path)).toEqual(['/body/records/0/site/label']);
  });

  it('refuses a missing body member with schema_invalid naming /body/reason', async () => {
    const errors = await schemaErrors({ ...validPayload(), body: {} });
    expect(errors.map((e) => e.path)).toEqual(['/body/reason']);
  });

  it('refuses a reply kind without in_reply_to with schema_invalid naming /in_reply_to', async () => {
    const { in_reply_to: _dropped, ...payload } = validPayload(validDraft('clarification'));
    const errors = await schemaErrors(payload);
    expect(errors.map((e) => e.path)).toContain('/in_reply_to');
  });

  it('refuses a payload that is not an object with schema_invalid', async () => {
    await expectRefused(forgeAs(ed, { payload: '[1,2,3]' }), 'schema_invalid');
  });
});
