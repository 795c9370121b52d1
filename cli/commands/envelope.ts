// `parley sign|verify|send`: the protocol from the command line, for partner systems and
// operators. Works without a running node: keys and key sets come from files.
import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { keysFromInput } from '../../domain/partner-keys.js';
import { AppError } from '../../errors.js';
import { loadSigningKey, type KeyRecord, type StoredSigningKey } from '../../protocol/keys.js';
import { signDraft, type Draft } from '../../protocol/sign.js';
import { verifyAsSigned } from '../../protocol/verify.js';
import { ENVELOPE_MEDIA_TYPE, MessageKind } from '../../schemas/envelope.js';
import { Jwks } from '../../schemas/partners-api.js';
import { reach } from '../api-client.js';

async function readInput(arg: string | undefined): Promise<string> {
  if (!arg || arg === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').trim();
  }
  if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(arg)) return arg;
  return (await fs.readFile(arg, 'utf8')).trim();
}

export const SIGN_USAGE = `usage: parley sign --key KEY_FILE --kind KIND --iss PARTY --aud PARTY [--req-id ULID]
                   [--in-reply-to MSG_ID:DIGEST] --body BODY_FILE|-
  signs a message body (JSON) into an envelope with a private key file and prints it (the token on
  stdout, its digest and msg_id on stderr); KIND is a message kind (request, acknowledgement, ...)
`;

export const VERIFY_USAGE = `usage: parley verify --jwks PARTNER_JWKS_FILE --issuer PARTY --self PARTY [--import] TOKEN|FILE|-
  verifies an envelope against a partner's public key set, as an inbox would (--import: as a file
  import, without the freshness window); prints the verdict and the payload
  exit code 0 valid, 1 invalid (the code and why on stdout)
`;

export const SEND_USAGE = `usage: parley send --to INBOX_URL TOKEN|FILE|-
  posts an envelope to an inbox (e.g. https://partner.example/v1/messages), prints the answer
  exit code 0 accepted (202), 1 any other answer, 3 the URL could not be reached
`;

const SignArgs = z.object({
  key: z.string().min(1),
  kind: MessageKind,
  iss: z.string().min(1),
  aud: z.string().min(1),
  'req-id': z.string().optional(),
  'in-reply-to': z
    .string()
    .regex(/^[0-9A-Z]{26}:[0-9a-f]{64}$/, 'msg_id:digest')
    .optional(),
  body: z.string().min(1),
});

export async function signCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      key: { type: 'string' },
      kind: { type: 'string' },
      iss: { type: 'string' },
      aud: { type: 'string' },
      'req-id': { type: 'string' },
      'in-reply-to': { type: 'string' },
      body: { type: 'string' },
    },
  });
  const args = SignArgs.safeParse(values);
  if (!args.success) {
    process.stderr.write(
      args.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n') + '\n',
    );
    process.stderr.write(SIGN_USAGE);
    return 2;
  }
  const a = args.data;
  const key = await loadSigningKey(
    JSON.parse(await fs.readFile(a.key, 'utf8')) as StoredSigningKey,
  );
  const body: unknown = JSON.parse(
    a.body === '-' ? await readInput('-') : await fs.readFile(a.body, 'utf8'),
  );
  const [msgId, digest] = a['in-reply-to']?.split(':') ?? [];
  const draft = {
    kind: a.kind,
    iss: a.iss,
    aud: a.aud,
    ...(a['req-id'] ? { req_id: a['req-id'] } : {}),
    ...(msgId && digest ? { in_reply_to: { msg_id: msgId, digest } } : {}),
    body,
  } as Draft;
  const signed = await signDraft(draft, key);
  process.stdout.write(signed.token + '\n');
  process.stderr.write(`digest ${signed.digest}  msg_id ${signed.payload.msg_id}\n`);
  return 0;
}

export async function verifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      jwks: { type: 'string' },
      issuer: { type: 'string' },
      self: { type: 'string' },
      import: { type: 'boolean', default: false },
    },
  });
  if (!values.jwks || !values.issuer || !values.self) {
    process.stderr.write(VERIFY_USAGE);
    return 2;
  }
  const jwks = Jwks.parse(JSON.parse(await fs.readFile(values.jwks, 'utf8')));
  const keys = await keysFromInput({ jwks, validFrom: new Date(0).toISOString() });
  const records = new Map<string, KeyRecord>(
    keys.map((k) => [
      k.kid,
      { ...k, publicJwk: k.publicJwk, partyId: values.issuer!, revokedAt: null },
    ]),
  );
  const token = await readInput(positionals[0]);
  try {
    // As signed: a sealed payload stays sealed (opening it needs the recipient's node).
    const v = await verifyAsSigned(token, {
      registry: { findKey: (kid) => Promise.resolve(records.get(kid)) },
      self: values.self,
      now: new Date(),
      mode: values.import ? 'import' : 'online',
    });
    process.stdout.write(
      `valid ${v.payload.kind} from ${v.payload.iss}, digest ${v.digest}${'sealed' in v.payload ? ' (content sealed to the recipient)' : ''}\n${JSON.stringify(v.payload, null, 2)}\n`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    process.stdout.write(`invalid: ${err.code}: ${err.message}\n`);
    return 1;
  }
}

export async function sendCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { to: { type: 'string' } },
  });
  if (!values.to) {
    process.stderr.write(SEND_USAGE);
    return 2;
  }
  const res = await reach(values.to, {
    method: 'POST',
    headers: { 'content-type': ENVELOPE_MEDIA_TYPE },
    body: await readInput(positionals[0]),
  });
  const text = await res.text();
  process.stdout.write(`HTTP ${res.status}\n${text}\n`);
  return res.status === 202 ? 0 : 1;
}
