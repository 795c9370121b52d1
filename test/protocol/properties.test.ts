// Properties of sign and verify: whatever valid body is signed verifies to the same payload and
// digest, and no single changed byte of a token gets through.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import { verifyEnvelope } from '../../protocol/verify.js';
import { unsafeCharacter } from '../../schemas/text.js';
import {
  createParty,
  expectedDigest,
  registryOf,
  SENDER,
  signDraftAs,
  validDraft,
  verifyContext,
  type MemoryKeyRegistry,
  type TestParty,
} from '../helpers/envelopes.js';

let ed: TestParty;
let es: TestParty;
let registry: MemoryKeyRegistry;

beforeAll(async () => {
  ed = await createParty(SENDER, { alg: 'Ed25519' });
  es = await createParty(SENDER, { alg: 'ES256' });
  registry = registryOf(ed, es);
});

/** Arbitrary Unicode text (any code point, emoji sequences), trimmed, 1..max long. */
const text = (max: number) =>
  fc
    .array(
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 20 }),
        fc.string({ unit: 'grapheme', maxLength: 20 }),
        fc.constantFrom('😀', '👩🏽‍🚒', '🇺🇦', 'e\u0301', '\u0000', '\u2028', '"\\', ' ', '\t\n'),
      ),
      { maxLength: 12 },
    )
    .map((parts) => parts.join('').trim())
    .filter((s) => s.length >= 1 && s.length <= max)
    // Text the protocol refuses (controls, lone surrogates, bidi overrides) is tested elsewhere.
    .filter((s) => unsafeCharacter(s, { multiline: true }) === undefined);

const party = () => fc.constantFrom<'Ed25519' | 'ES256'>('Ed25519', 'ES256');
const signer = (alg: 'Ed25519' | 'ES256') => (alg === 'Ed25519' ? ed : es);

async function roundTrip(
  alg: 'Ed25519' | 'ES256',
  draft: Parameters<typeof signDraftAs>[1],
): Promise<void> {
  const signed = await signDraftAs(signer(alg), draft);
  const verified = await verifyEnvelope(signed.token, verifyContext(registry));
  expect(verified.payload).toEqual(signed.payload);
  expect(verified.digest).toBe(signed.digest);
  expect(verified.digest).toBe(expectedDigest(signed.token));
}

describe('sign then verify', () => {
  it('round-trips a decline with any reason and any req_id', async () => {
    await fc.assert(
      fc.asyncProperty(party(), fc.ulid(), text(2000), async (alg, reqId, reason) => {
        await roundTrip(alg, validDraft('decline', { req_id: reqId, body: { reason } }));
      }),
      { numRuns: 200 },
    );
  });

  it('round-trips a clarification_request with any questions', async () => {
    await fc.assert(
      fc.asyncProperty(
        party(),
        fc.ulid(),
        fc.array(text(2000), { minLength: 1, maxLength: 5 }),
        async (alg, reqId, questions) => {
          await roundTrip(
            alg,
            validDraft('clarification_request', { req_id: reqId, body: { questions } }),
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('a token with one byte changed', () => {
  it.each(['Ed25519', 'ES256'] as const)('is refused (%s)', async (alg) => {
    const { token } = await signDraftAs(signer(alg));
    await expect(verifyEnvelope(token, verifyContext(registry))).resolves.toBeDefined();
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: token.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (position, delta) => {
          // The token is ASCII, so one character is one byte; values above 0x7f stand for the
          // raw byte as it would arrive in a Latin-1 reading of the body.
          const byte = (token.charCodeAt(position) + delta) % 256;
          const altered =
            token.slice(0, position) + String.fromCharCode(byte) + token.slice(position + 1);
          expect(altered).not.toBe(token);
          const outcome = await verifyEnvelope(altered, verifyContext(registry)).then(
            () => 'accepted',
            (err: unknown) => err,
          );
          expect(outcome).toBeInstanceOf(AppError);
        },
      ),
      { numRuns: 300 },
    );
  });
});
