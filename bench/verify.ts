// Benchmark: envelopes verified per second by the full pipeline (shape, canonical header and
// payload, registry lookup, signature, schema, freshness; no database) against bare
// crypto.verify of the same signatures, in the same run. Prints both rates and their ratio.
import crypto from 'node:crypto';
import { ulid } from 'ulid';
import {
  generateSigningKey,
  loadSigningKey,
  type KeyRecord,
  type SigningKey,
} from '../protocol/keys.js';
import { signDraft } from '../protocol/sign.js';
import { verifyEnvelope } from '../protocol/verify.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const TOKENS = 2000;

/** A registry holding only `key`, as party-a's, valid since the epoch. */
function registryOf(key: SigningKey) {
  const record: KeyRecord = {
    kid: key.kid,
    partyId: 'party-a',
    alg: key.alg,
    publicJwk: key.publicJwk,
    roles: key.roles,
    validFrom: new Date(0),
    validUntil: null,
    revokedAt: null,
  };
  return { findKey: (kid: string) => Promise.resolve(kid === record.kid ? record : undefined) };
}

async function measure(label: string, fn: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < 200; i++) await fn(i); // warm-up
  let n = 0;
  const started = performance.now();
  const until = started + SECONDS * 1000;
  while (performance.now() < until) {
    for (let k = 0; k < 100; k++) await fn(n++);
  }
  const rate = n / ((performance.now() - started) / 1000);
  console.log(`${label.padEnd(44)} ${rate.toFixed(0).padStart(8)} /s`);
  return rate;
}

for (const alg of ['Ed25519', 'ES256'] as const) {
  const stored = await generateSigningKey({ alg, roles: ['message', 'receipt'] });
  const key = await loadSigningKey(stored);
  const registry = registryOf(key);
  const tokens: string[] = [];
  for (let i = 0; i < TOKENS; i++) {
    const env = await signDraft(
      {
        kind: 'clarification_request',
        iss: 'party-a',
        aud: 'party-b',
        req_id: ulid(),
        body: { questions: [`Which sector of grid square ${i} is meant?`] },
      },
      key,
    );
    tokens.push(env.token);
  }
  const nodeKey = crypto.createPublicKey({
    key: { ...key.publicJwk, kty: key.publicJwk.kty! } as crypto.JsonWebKey,
    format: 'jwk',
  });
  const parts = tokens.map((t) => {
    const [h, p, s] = t.split('.');
    return { input: Buffer.from(`${h}.${p}`), sig: Buffer.from(s!, 'base64url') };
  });
  console.log(`\n${alg}, ${TOKENS} distinct tokens, ${SECONDS} s each`);
  const bare = await measure('bare crypto.verify', (i) => {
    const { input, sig } = parts[i % TOKENS]!;
    const ok =
      alg === 'ES256'
        ? crypto.verify('sha256', input, { key: nodeKey, dsaEncoding: 'ieee-p1363' }, sig)
        : crypto.verify(null, input, nodeKey, sig);
    if (!ok) throw new Error('bare verify failed');
  });
  const now = new Date();
  const full = await measure('full pipeline (verifyEnvelope, no database)', (i) =>
    verifyEnvelope(tokens[i % TOKENS]!, { registry, self: 'party-b', now, mode: 'online' }),
  );
  console.log(
    `ratio full/bare: ${(full / bare).toFixed(2)} (the pipeline runs at ${((full / bare) * 100).toFixed(0)}% of bare signature checks)`,
  );
}

// Sealed content (README, _Sealed content_): what opening costs the receiver, and sealing the
// sender, against the same messages in clear, in the same run.
{
  const { generateEncryptionKey, loadDecryptionKey } = await import('../protocol/keys.js');
  const { buildPayload, signPayload } = await import('../protocol/sign.js');
  const stored = await generateSigningKey({ alg: 'Ed25519', roles: ['message', 'receipt'] });
  const key = await loadSigningKey(stored);
  const registry = registryOf(key);
  const enc = await loadDecryptionKey(await generateEncryptionKey());
  const to = { kid: enc.kid, publicJwk: enc.publicJwk };
  const payloads = Array.from({ length: TOKENS }, (_, i) =>
    buildPayload(
      {
        kind: 'clarification_request',
        iss: 'party-a',
        aud: 'party-b',
        req_id: ulid(),
        body: { questions: [`Which sector of grid square ${i} is meant?`] },
      },
      new Date(),
    ),
  );
  const clear: string[] = [];
  const sealed: string[] = [];
  for (const p of payloads) {
    clear.push((await signPayload(p, key)).token);
    sealed.push((await signPayload(p, key, to)).token);
  }
  console.log(`\nsealed content (Ed25519 signatures, X25519 sealing), ${TOKENS} distinct messages`);
  const signClear = await measure('sign, in clear', (i) => signPayload(payloads[i % TOKENS]!, key));
  const signSealed = await measure('seal and sign', (i) =>
    signPayload(payloads[i % TOKENS]!, key, to),
  );
  const now = new Date();
  const ctx = { registry, self: 'party-b', now, mode: 'online' as const, open: [enc] };
  const openClear = await measure('verify, in clear', (i) =>
    verifyEnvelope(clear[i % TOKENS]!, ctx),
  );
  const openSealed = await measure('verify and open', (i) =>
    verifyEnvelope(sealed[i % TOKENS]!, ctx),
  );
  console.log(
    `ratio sealed/clear: signing ${(signSealed / signClear).toFixed(2)}, receiving ${(openSealed / openClear).toFixed(2)}`,
  );
}
