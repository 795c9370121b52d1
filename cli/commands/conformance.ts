// `parley conformance`: the conformance kit for partner implementations of wire protocol v1. It
// posts the kit's probes (protocol/conformance.ts) to a partner's inbox and prints one line per
// check; or writes them as a vectors file; or makes the key the partner registers for the kit.
import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { keysFromInput } from '../../domain/partner-keys.js';
import {
  buildProbes,
  formatResult,
  kitJwks,
  kitKeyOf,
  newKitKey,
  partnerRegistry,
  runConformance,
  summaryOf,
  vectorsOf,
  type Answer,
} from '../../protocol/conformance.js';
import type { StoredSigningKey } from '../../protocol/keys.js';
import type { SealingKey } from '../../protocol/seal.js';
import { Jwks } from '../../schemas/partners-api.js';
import { reach } from '../api-client.js';

export const USAGE = `usage:
  parley conformance --url INBOX_URL --key KEY_FILE --party OUR_ID --partner THEIR_ID
                     [--partner-jwks URL|FILE] [--policy-digest HEX] [--revoked-key KEY_FILE]
  parley conformance --vectors OUT_FILE --key KEY_FILE --party OUR_ID --partner THEIR_ID
                     (--policy-digest HEX | --url INBOX_URL)
  parley conformance --new-key KEY_FILE [--alg Ed25519|ES256]

  Tests a partner's implementation of wire protocol v1 before going live: posts valid messages
  (a request of each type, a reminder, a withdrawal) and checks each receipt (signed by the
  partner's receipt key, in_reply_to, digest, received_at, sent), then the documented bad inputs
  and checks each answer's status and code. One line per check (PASS/FAIL, name, expected, got).

  --url            the partner's inbox, e.g. https://partner.example/v1/messages
  --key            the kit's private key file (make one with --new-key); the partner registers
                   its public key for party OUR_ID with the message role only
  --party          the party id the partner registered the kit's key under
  --partner        the partner's own party id (aud of every message)
  --partner-jwks   the partner's public keys (URL or file) to verify its receipts;
                   default: /.well-known/jwks.json at the inbox's origin. When they hold an
                   encryption key (use enc), sealed content is checked too (with --vectors:
                   only when given)
  --policy-digest  the digest of the agreed deadline policy; default: GET /v1/policy at the
                   inbox's origin
  --revoked-key    optional: another key file of the kit that the partner registered for OUR_ID
                   and revoked (or whose validity ended), to check key_not_valid
  --vectors        write the signed probes and their expected answers to OUT_FILE instead of
                   sending them (valid for about 15 minutes: see the README)
  --new-key        write a new Ed25519 (or --alg ES256) key file for the kit and print the JWKS
                   (roles: message) to register at the partner

  exit codes: 0 every check passed (or the file was written), 1 a check failed,
              2 usage or configuration, 3 a URL could not be reached
`;

/** How long the kit waits for the partner's answer to one probe. */
const ANSWER_TIMEOUT_MS = 30_000;

const RunArgs = z.object({
  key: z.string().min(1),
  party: z.string().min(1),
  partner: z.string().min(1),
  url: z.url().optional(),
  'partner-jwks': z.string().min(1).optional(),
  'policy-digest': z
    .string()
    .regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits')
    .optional(),
  vectors: z.string().min(1).optional(),
  'revoked-key': z.string().min(1).optional(),
});

function usageError(message: string): number {
  process.stderr.write(`parley conformance: ${message}\n${USAGE}`);
  return 2;
}

async function readKeyFile(file: string): Promise<StoredSigningKey | string> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as StoredSigningKey;
  } catch (err) {
    return `cannot read the key file ${file}: ${(err as Error).message}`;
  }
}

/** JSON from a URL, or why there is none (an unreachable URL throws: exit code 3). */
async function getJson(url: string): Promise<{ json: unknown } | { why: string }> {
  const res = await reach(url);
  if (!res.ok) return { why: `GET ${url} answered ${res.status}` };
  try {
    return { json: await res.json() };
  } catch {
    return { why: `GET ${url} answered no JSON` };
  }
}

/** JSON from a file, or why there is none. */
async function readJson(file: string): Promise<{ json: unknown } | { why: string }> {
  try {
    return { json: JSON.parse(await fs.readFile(file, 'utf8')) as unknown };
  } catch (err) {
    return { why: `cannot read ${file}: ${(err as Error).message}` };
  }
}

export async function conformanceCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      party: { type: 'string' },
      partner: { type: 'string' },
      'partner-jwks': { type: 'string' },
      'policy-digest': { type: 'string' },
      vectors: { type: 'string' },
      'revoked-key': { type: 'string' },
      'new-key': { type: 'string' },
      alg: { type: 'string' },
    },
  });

  if (values['new-key']) {
    const alg = values.alg ?? 'Ed25519';
    if (alg !== 'Ed25519' && alg !== 'ES256') return usageError('--alg: Ed25519 or ES256');
    const stored = await newKitKey(alg);
    await fs.writeFile(values['new-key'], JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 });
    process.stderr.write(
      `created ${stored.alg} key ${stored.kid} in ${values['new-key']}; register this key set at the partner for your party:\n`,
    );
    process.stdout.write(JSON.stringify(kitJwks(stored), null, 2) + '\n');
    return 0;
  }
  if (values.alg) return usageError('--alg goes with --new-key');

  const missing = (['key', 'party', 'partner'] as const).filter((o) => values[o] === undefined);
  if (missing.length > 0) return usageError(`missing ${missing.map((o) => `--${o}`).join(', ')}`);
  const parsed = RunArgs.safeParse(values);
  if (!parsed.success)
    return usageError(
      parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '),
    );
  const a = parsed.data;
  if (!a.url && !a.vectors) return usageError('--url (or --vectors) is required');
  if (a.vectors && !a.url && !a['policy-digest'])
    return usageError('--vectors needs --policy-digest (or --url to read it from)');

  const stored = await readKeyFile(a.key);
  if (typeof stored === 'string') return usageError(stored);
  let key;
  try {
    key = await kitKeyOf(stored);
  } catch (err) {
    return usageError(`--key ${a.key}: ${(err as Error).message}`);
  }

  let unusableKey;
  if (a['revoked-key']) {
    const revoked = await readKeyFile(a['revoked-key']);
    if (typeof revoked === 'string') return usageError(revoked);
    try {
      unusableKey = await kitKeyOf(revoked);
    } catch (err) {
      return usageError(`--revoked-key ${a['revoked-key']}: ${(err as Error).message}`);
    }
  }

  const origin = a.url ? new URL(a.url).origin : undefined;
  let policyDigest = a['policy-digest'];
  if (!policyDigest) {
    const got = await getJson(`${origin!}/v1/policy`);
    const policy = z.object({ digest: z.string() }).safeParse('json' in got ? got.json : {});
    if (!policy.success)
      return usageError(
        `${'why' in got ? got.why : `${origin!}/v1/policy holds no digest`}: give --policy-digest`,
      );
    policyDigest = policy.data.digest;
  }

  // The partner's keys: its receipts must verify under them, and sealed-content checks are made
  // when it publishes an encryption key. Vectors are written without them unless given.
  let partnerKeys;
  let sealTo: SealingKey | undefined;
  if (!a.vectors || a['partner-jwks']) {
    const jwksSource = a['partner-jwks'] ?? `${origin!}/.well-known/jwks.json`;
    const jwksJson = /^https?:\/\//.test(jwksSource)
      ? await getJson(jwksSource)
      : await readJson(jwksSource);
    if ('why' in jwksJson) return usageError(`--partner-jwks: ${jwksJson.why}`);
    const jwks = Jwks.safeParse(jwksJson.json);
    if (!jwks.success) return usageError(`--partner-jwks ${jwksSource}: not a JWKS`);
    try {
      const keys = await keysFromInput({ jwks: jwks.data, validFrom: new Date(0).toISOString() });
      partnerKeys = partnerRegistry(a.partner, keys);
      const enc = keys
        .filter((k) => k.alg === 'ECDH-ES+A256KW')
        .sort((x, y) => y.validFrom.getTime() - x.validFrom.getTime())[0];
      if (enc) sealTo = { kid: enc.kid, publicJwk: enc.publicJwk };
    } catch (err) {
      return usageError(`--partner-jwks ${jwksSource}: ${(err as Error).message}`);
    }
  }

  const setup = {
    self: a.party,
    partner: a.partner,
    key,
    policyDigest,
    ...(unusableKey ? { unusableKey } : {}),
    ...(sealTo ? { sealTo } : {}),
  };
  if (a.vectors) {
    const now = new Date();
    const probes = await buildProbes({ ...setup, now });
    await fs.writeFile(
      a.vectors,
      JSON.stringify(vectorsOf({ ...setup, now }, probes), null, 2) + '\n',
    );
    process.stdout.write(
      `wrote ${probes.length} vectors to ${a.vectors} (send them before they expire, in about 15 minutes)\n`,
    );
    return 0;
  }

  if (!partnerKeys) return usageError('--partner-jwks: the partner’s keys are needed');
  const inbox = a.url!;
  const post = async (body: string, contentType: string): Promise<Answer> => {
    const res = await reach(inbox, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
      // A partner that never answers is named (exit 3) rather than waited for forever.
      signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
    });
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      body: await res.text(),
    };
  };
  const probes = await buildProbes(setup);
  process.stdout.write(
    `conformance of ${inbox} (party ${a.partner}) as ${a.party}, key ${key.signingKey.kid}: ${probes.length} checks\n`,
  );
  const results = await runConformance(
    probes,
    post,
    { self: a.party, partner: a.partner, partnerKeys },
    (r) => process.stdout.write(formatResult(r) + '\n'),
  );
  process.stdout.write(summaryOf(results) + '\n');
  return results.every((r) => r.pass) ? 0 : 1;
}
