// A partner system built only from the CLI and the documented protocol talks to a real node.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { subjectFor } from '../helpers/domain.js';

const exec = promisify(execFile);
let node: TestNode;
let dir: string;

async function parley(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(
      process.execPath,
      ['--import', 'tsx', 'cli/parley.ts', ...args],
      {
        env: { PATH: process.env.PATH ?? '', ...env },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  node = await startTestNode({ partyId: 'party-a' });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-partner-x-'));
});
afterAll(async () => {
  await node?.destroy();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('a partner system using only the CLI', () => {
  it('generates a key, gets registered, signs and sends a request, and verifies the node’s receipt', async () => {
    const partnerEnv = { PARLEY_KEYS_DIR: path.join(dir, 'keys') };
    const operatorEnv = { PARLEY_URL: node.url, PARLEY_DATA_DIR: node.dataDir };

    const generated = await parley(['keys', 'generate', '--alg', 'ES256'], partnerEnv);
    expect(generated.code, generated.stderr).toBe(0);
    const [keyFile] = await fs.readdir(path.join(dir, 'keys'));
    const jwks = await parley(['keys', 'jwks'], partnerEnv);
    await fs.writeFile(path.join(dir, 'x.jwks.json'), jwks.stdout);

    const added = await parley(
      [
        'partner',
        'add',
        '--party-id',
        'party-x',
        '--name',
        'Party X node',
        '--inbox-url',
        'http://127.0.0.1:9/v1/messages',
        '--jwks',
        path.join(dir, 'x.jwks.json'),
      ],
      operatorEnv,
    );
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({
      partyId: 'party-x',
      keys: [{ alg: 'ES256', addedBy: expect.stringMatching(/^cli:/) }],
    });

    // Both parties agree on the deadline policy: the request names the node's by its digest.
    const policy = await call(node.url, 'GET', '/v1/policy');
    const body = {
      request_type: 'grave_information',
      priority: 'routine',
      subject: subjectFor('grave_information', 'Sites along the river road'),
      policy_digest: policy.body.digest,
    };
    await fs.writeFile(path.join(dir, 'body.json'), JSON.stringify(body));
    const signed = await parley(
      [
        'sign',
        '--key',
        path.join(dir, 'keys', keyFile!),
        '--kind',
        'request',
        '--iss',
        'party-x',
        '--aud',
        'party-a',
        '--req-id',
        ulid(),
        '--body',
        path.join(dir, 'body.json'),
      ],
      partnerEnv,
    );
    expect(signed.code, signed.stderr).toBe(0);
    const token = signed.stdout.trim();

    const sent = await parley(['send', '--to', `${node.url}/v1/messages`, token]);
    expect(sent.stdout).toMatch(/^HTTP 202/);
    const receipt = sent.stdout.split('\n')[1]!.trim();

    const nodeJwks = await call(node.url, 'GET', '/.well-known/jwks.json');
    await fs.writeFile(path.join(dir, 'a.jwks.json'), JSON.stringify(nodeJwks.body));
    const verified = await parley([
      'verify',
      '--jwks',
      path.join(dir, 'a.jwks.json'),
      '--issuer',
      'party-a',
      '--self',
      'party-x',
      receipt,
    ]);
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.stdout).toMatch(/^valid receipt from party-a/);

    // Sending the same envelope again is a replay, answered with the receipt owed for the original.
    const again = await parley(['send', '--to', `${node.url}/v1/messages`, token]);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/^HTTP 409/);
    expect(JSON.parse(again.stdout.split('\n').slice(1).join('\n'))).toMatchObject({
      code: 'replay',
      receipt,
    });

    // A tampered copy does not verify, and the CLI says why.
    const tampered = token.slice(0, 40) + (token[40] === 'A' ? 'B' : 'A') + token.slice(41);
    const refused = await parley([
      'verify',
      '--jwks',
      path.join(dir, 'x.jwks.json'),
      '--issuer',
      'party-x',
      '--self',
      'party-a',
      tampered,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^invalid: (bad_header|malformed_envelope|signature_invalid)/);
  }, 240_000);
});
