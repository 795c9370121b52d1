// The conformance kit as a partner's engineer runs it: `parley conformance --new-key` makes the
// kit's key, the partner (here a real Parley node) registers it through its admin API, and
// `parley conformance --url` passes every check against the node (with a second, revoked key for
// key_not_valid). Against a broken partner (the same node behind a wrapper that takes a bad
// signature, answers a replay with the wrong code and gives a withdrawal someone else's receipt)
// the kit names exactly those failures and exits 1. The vectors file, made for a kit party with a
// P-256 key and posted in order to the node, gets the answers it says.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VectorsFile } from '../../protocol/conformance.js';
import { segmentsOf } from '../../protocol/forge.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function parley(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/parley.ts', ...args], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

const KIT = 'party-kit';
const KIT_ES = 'party-kit-es';
const PARTNER = 'party-b';

let node: TestNode;
let dir: string;
let keyFile: string;
let revokedFile: string;
let esKeyFile: string;
let broken: { url: string; close: () => Promise<void> };

/** The node behind a wrapper that breaks three rules of the protocol. */
async function brokenPartner(target: string): Promise<typeof broken> {
  const app = express();
  let lastReceipt = '';
  app.post('/v1/messages', express.text({ type: () => true, limit: '2mb' }), async (req, res) => {
    const contentType = req.get('content-type') ?? '';
    const body = typeof req.body === 'string' ? req.body : '';
    const upstream = await fetch(`${target}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
    const text = await upstream.text();
    const answerType = upstream.headers.get('content-type') ?? '';
    let kind: unknown;
    try {
      kind = (
        JSON.parse(Buffer.from(segmentsOf(body).payload64, 'base64url').toString()) as {
          kind?: unknown;
        }
      ).kind;
    } catch {
      kind = undefined;
    }
    let code: unknown;
    try {
      code = (JSON.parse(text) as { code?: unknown }).code;
    } catch {
      code = undefined;
    }
    if (code === 'signature_invalid') {
      res.status(202).type('application/jose').send('');
      return;
    }
    if (code === 'replay') {
      res
        .status(409)
        .type('application/problem+json')
        .send(JSON.stringify({ ...(JSON.parse(text) as object), code: 'conflict' }));
      return;
    }
    if (upstream.status === 202 && kind === 'withdrawal') {
      res.status(202).type('application/jose').send(lastReceipt);
      return;
    }
    if (upstream.status === 202) lastReceipt = text;
    res.status(upstream.status).type(answerType).send(text);
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/messages`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-conformance-'));
  node = await startTestNode({ partyId: PARTNER });
  keyFile = path.join(dir, 'kit-key.json');
  const made = await parley(['conformance', '--new-key', keyFile]);
  expect(made.code, made.stderr).toBe(0);
  // The partner registers the kit's party with the key set the kit printed (message role only).
  const admin = await node.token('admin', 'admin-ops');
  const added = await call(node.url, 'POST', '/v1/admin/partners', {
    token: admin,
    json: {
      partyId: KIT,
      name: 'Conformance kit',
      inboxUrl: 'http://127.0.0.1:9/v1/messages',
      jwks: JSON.parse(made.stdout),
    },
  });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
  // A second key of the kit, added and then revoked, for the key_not_valid check.
  revokedFile = path.join(dir, 'revoked-key.json');
  const second = await parley(['conformance', '--new-key', revokedFile]);
  expect(second.code, second.stderr).toBe(0);
  const rotated = await call(node.url, 'POST', `/v1/admin/partners/${KIT}/keys`, {
    token: admin,
    json: { jwks: JSON.parse(second.stdout) },
  });
  expect(rotated.status, JSON.stringify(rotated.body)).toBe(201);
  const kid = (JSON.parse(second.stdout) as { keys: { kid: string }[] }).keys[0]!.kid;
  const revoked = await call(node.url, 'POST', `/v1/admin/partners/${KIT}/keys/${kid}/revoke`, {
    token: admin,
    json: { reason: 'conformance kit: a revoked key' },
  });
  expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
  // Another kit party with a P-256 key, for the vectors.
  esKeyFile = path.join(dir, 'kit-es-key.json');
  const es = await parley(['conformance', '--new-key', esKeyFile, '--alg', 'ES256']);
  expect(es.code, es.stderr).toBe(0);
  const addedEs = await call(node.url, 'POST', '/v1/admin/partners', {
    token: admin,
    json: {
      partyId: KIT_ES,
      name: 'Conformance kit (ES256)',
      inboxUrl: 'http://127.0.0.1:9/v1/messages',
      jwks: JSON.parse(es.stdout),
    },
  });
  expect(addedEs.status, JSON.stringify(addedEs.body)).toBe(201);
  broken = await brokenPartner(node.url);
});

afterAll(async () => {
  await broken?.close();
  await node?.destroy();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const lines = (out: string, mark: 'PASS' | 'FAIL') =>
  out
    .split('\n')
    .filter((l) => l.startsWith(mark))
    .map((l) => l.slice(6, l.indexOf(': expected')));

describe('parley conformance', () => {
  it('passes every check against a Parley node, reading its JWKS and policy from the inbox origin', async () => {
    const run = await parley([
      'conformance',
      '--url',
      `${node.url}/v1/messages`,
      '--key',
      keyFile,
      '--party',
      KIT,
      '--partner',
      PARTNER,
      '--revoked-key',
      revokedFile,
    ]);
    expect(lines(run.stdout, 'FAIL'), run.stdout).toEqual([]);
    const passed = lines(run.stdout, 'PASS');
    expect(passed).toEqual(
      expect.arrayContaining([
        'request (mine_map)',
        'request (grave_information)',
        'request (identification_result)',
        'reminder',
        'withdrawal',
        // The node publishes an encryption key: sealed content is checked too.
        'sealed request (grave_information)',
        'sealed to an unknown key',
        'sealed content of another message',
        'personal member in clear beside sealed content',
        'too large',
        'wrong media type',
        'malformed envelope (JSON serialization)',
        'bad header (alg none)',
        'unknown key',
        'wrong alg',
        'key not valid',
        'bad signature',
        'not canonical (whitespace)',
        'too deep',
        'issuer mismatch',
        'wrong audience',
        'schema invalid',
        'stale (expired)',
        'key role mismatch',
        'replay (same envelope)',
        'replay (same msg_id, signed again)',
        'policy mismatch',
        'conflict (req_id taken)',
        'conflict (seq taken)',
        'unknown request',
        'reply mismatch',
        'sequence gap',
        'sequence invalid (seen)',
        'accepted after refusals',
      ]),
    );
    expect(run.stdout).toMatch(
      /PASS {2}replay \(same envelope\): expected 409 replay with the receipt of "request \(mine_map\)"; got 409 replay with the original receipt/,
    );
    expect(run.stdout.trim().split('\n').at(-1)).toBe(
      `${passed.length} of ${passed.length} checks passed`,
    );
    expect(run.code).toBe(0);
  });

  it('names each failure of a broken partner and exits 1', async () => {
    const policy = await call(node.url, 'GET', '/v1/policy');
    const jwksFile = path.join(dir, 'partner-jwks.json');
    await fs.writeFile(
      jwksFile,
      JSON.stringify((await call(node.url, 'GET', '/.well-known/jwks.json')).body),
    );
    const run = await parley([
      'conformance',
      '--url',
      broken.url,
      '--key',
      keyFile,
      '--party',
      KIT,
      '--partner',
      PARTNER,
      '--partner-jwks',
      jwksFile,
      '--policy-digest',
      policy.body.digest,
    ]);
    expect(lines(run.stdout, 'FAIL')).toEqual([
      'withdrawal',
      'bad signature',
      'replay (same envelope)',
      'replay (same msg_id, signed again)',
    ]);
    const failLine = (name: string) => run.stdout.split('\n').find((l) => l.includes(`  ${name}:`));
    expect(failLine('bad signature')).toBe(
      'FAIL  bad signature: expected 401 signature_invalid; got 202',
    );
    expect(failLine('replay (same envelope)')).toMatch(
      /expected 409 replay with the receipt of "request \(mine_map\)"; got 409 conflict$/,
    );
    expect(failLine('withdrawal')).toMatch(/got 202 with a receipt that .*answers msg_id /);
    const total = lines(run.stdout, 'PASS').length + 4;
    expect(run.stdout.trim().split('\n').at(-1)).toBe(
      `4 of ${total} checks failed: withdrawal, bad signature, replay (same envelope), replay (same msg_id, signed again)`,
    );
    expect(run.code).toBe(1);
  });

  it('writes the checks as a vectors file (here with a P-256 key) that, posted in order, gets the answers it names', async () => {
    const out = path.join(dir, 'vectors.json');
    const run = await parley([
      'conformance',
      '--vectors',
      out,
      '--url',
      `${node.url}/v1/messages`,
      '--key',
      esKeyFile,
      '--party',
      KIT_ES,
      '--partner',
      PARTNER,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const file = JSON.parse(await fs.readFile(out, 'utf8')) as VectorsFile;
    expect(file).toMatchObject({
      format: 'parley-conformance-vectors',
      v: 1,
      from: KIT_ES,
      to: PARTNER,
    });
    expect(Date.parse(file.valid_until)).toBeGreaterThan(Date.now());
    const got: string[] = [];
    const want: string[] = [];
    for (const v of file.vectors) {
      const res = await call(node.url, 'POST', '/v1/messages', {
        raw: v.request.body,
        headers: { 'content-type': v.request.content_type },
      });
      got.push(
        `${v.name}: ${res.status} ${'code' in v.expect ? (res.body as { code?: string }).code : ''}`,
      );
      want.push(`${v.name}: ${v.expect.status} ${'code' in v.expect ? v.expect.code : ''}`);
    }
    expect(got).toEqual(want);
  });

  it('prints its usage on --help, is a usage error (2) without the party flags, and exit 3 when the inbox cannot be reached', async () => {
    const help = await parley(['conformance', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--partner-jwks/);
    const missing = await parley(['conformance', '--url', 'http://127.0.0.1:9/v1/messages']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--key/);
    const away = await parley([
      'conformance',
      '--url',
      'http://127.0.0.1:9/v1/messages',
      '--key',
      keyFile,
      '--party',
      KIT,
      '--partner',
      PARTNER,
    ]);
    expect(away.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9\/v1\/policy/);
    expect(away.code).toBe(3);
  });
});
