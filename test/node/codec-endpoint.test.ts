// Temporal payload encryption on a live node: what the Temporal service holds is ciphertext; the
// official CLI reads it through the node's codec endpoint with an admin token, and no one else can.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RequestView } from '../../schemas/requests-api.js';
import { subjectFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerOfflinePartner } from '../helpers/partners.js';

const run = promisify(execFile);
const MARKER = 'MARKER-7f3a';
const UI_ORIGIN = 'http://localhost:8233';
const b64 = (s: string) => Buffer.from(s).toString('base64');

let node: TestNode;
let admin: string;
let created: RequestView;

beforeAll(async () => {
  node = await startTestNode({
    partyId: 'party-a',
    env: { TEMPORAL_CODEC_CORS_ORIGIN: UI_ORIGIN },
  });
  await registerOfflinePartner(node);
  admin = await node.token('admin', 'admin-ops');
  const res = await call(node.url, 'POST', '/v1/requests', {
    token: await node.token('officer', 'officer-alice'),
    json: {
      type: 'identification_result',
      counterparty: 'party-b',
      subject: subjectFor('identification_result', `Results for remains ${MARKER} at site 14`),
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  created = RequestView.parse(res.body);
  // The 201 comes once the workflow is started and the request recorded; wait for the workflow's
  // first task to be completed (the request signed and stored, its delivery scheduled), so its
  // history holds payloads of every kind: input, local activities' results, an activity's input.
  await eventually(async () => {
    const history = await node.temporal.client.workflow
      .getHandle(created.workflowId)
      .fetchHistory();
    return history.events?.some((e) => e.activityTaskScheduledEventAttributes) ? true : undefined;
  });
});
afterAll(() => node?.destroy());

/** `temporal workflow show` of the request's workflow, with extra flags. */
async function show(...flags: string[]): Promise<string> {
  const { stdout } = await run(inject('temporalCliPath'), [
    'workflow',
    'show',
    '--workflow-id',
    `request-${created.id}`,
    '--namespace',
    node.namespace,
    '--address',
    inject('temporalAddress'),
    ...flags,
  ]);
  return stdout;
}

/** The workflow's input payloads as Temporal stores them (the SDK's raw history, not decoded). */
async function storedInput() {
  const history = await node.temporal.client.workflow.getHandle(created.workflowId).fetchHistory();
  const started = history.events!.find((e) => e.workflowExecutionStartedEventAttributes)!;
  return started.workflowExecutionStartedEventAttributes!.input!.payloads!;
}

interface JsonPayload {
  metadata: Record<string, string>;
  data?: string;
}

/** Every payload in a history as the CLI prints it, with the path of member names to it. */
function payloadsIn(value: unknown, path: string[] = []): { path: string; payload: JsonPayload }[] {
  if (value === null || typeof value !== 'object') return [];
  const o = value as Record<string, unknown>;
  if (typeof o.metadata === 'object' && o.metadata !== null && 'encoding' in o.metadata)
    return [{ path: path.join('.'), payload: o as unknown as JsonPayload }];
  return Object.entries(o).flatMap(([k, v]) => payloadsIn(v, [...path, k]));
}

const asJson = (p: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

/** The JSON output with every payload's data base64-decoded beside it: all a reader can get. */
function readable(output: string): string {
  const decoded = payloadsIn(JSON.parse(output)).map(({ payload }) =>
    Buffer.from(payload.data ?? '', 'base64').toString('utf8'),
  );
  return [output, ...decoded].join('\n');
}

describe('Temporal payloads of a request', () => {
  it('are ciphertext in Temporal: the CLI without the codec shows no personal data', async () => {
    const json = await show('--output', 'json');
    expect(json).toContain(`request-${created.id}`);
    expect(readable(json)).not.toContain(MARKER);
    expect(await show('--detailed')).not.toContain(MARKER);
    // Every payload the node wrote is encrypted under its current key, local activities' results
    // (in markers) included. Search attributes (codes and dates, never personal data), the SDK's
    // patch markers and its own note of which local activity ran are not payloads a codec sees.
    const payloads = payloadsIn(JSON.parse(json)).filter(
      ({ path }) =>
        !path.includes('searchAttributes') &&
        !/markerRecordedEventAttributes\.details\.(patch-data|data)\./.test(path),
    );
    expect(payloads.some(({ path }) => path.includes('markerRecorded'))).toBe(true);
    expect(payloads.length).toBeGreaterThanOrEqual(3);
    for (const { payload } of payloads) {
      expect(payload.metadata).toEqual({
        encoding: b64('binary/encrypted'),
        'encryption-key-id': b64(node.temporal.codec.currentKeyId),
      });
    }
  });

  it('are readable through the node’s codec endpoint with an admin token', async () => {
    const codec = ['--codec-endpoint', `${node.url}/codec`, '--codec-auth', `Bearer ${admin}`];
    const json = await show('--output', 'json', ...codec);
    expect(readable(json)).toContain(MARKER);
    const [input] = payloadsIn(JSON.parse(json));
    expect(input!.path).toMatch(/workflowExecutionStartedEventAttributes\.input/);
    expect(input!.payload.metadata.encoding).toBe(b64('json/plain'));
    // The CLI's detailed view prints the decoded input field by field.
    expect(await show('--detailed', ...codec)).toContain(
      `subject.title: Results for remains ${MARKER}`,
    );
  });

  it('stay closed to the CLI with a supervisor’s token', async () => {
    const supervisor = await node.token('supervisor');
    const outcome = await show(
      '--output',
      'json',
      '--command-timeout',
      '5s',
      '--codec-endpoint',
      `${node.url}/codec`,
      '--codec-auth',
      `Bearer ${supervisor}`,
    ).then(
      (stdout) => ({ stdout, failed: false }),
      (err: { stdout?: string }) => ({ stdout: err.stdout ?? '', failed: true }),
    );
    expect(outcome.failed).toBe(true);
    expect(outcome.stdout).not.toContain(MARKER);
  });
});

describe('POST /codec/decode', () => {
  it('decodes the stored payloads for an admin, in the codec server protocol', async () => {
    const payloads = (await storedInput()).map(asJson);
    const res = await call(node.url, 'POST', '/codec/decode', {
      token: admin,
      json: { payloads },
      headers: { 'x-namespace': node.namespace },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.payloads).toHaveLength(payloads.length);
    const decoded = res.body.payloads[0];
    expect(Buffer.from(decoded.metadata.encoding, 'base64').toString()).toBe('json/plain');
    expect(Buffer.from(decoded.data, 'base64').toString()).toContain(MARKER);
  });

  it.each(['supervisor', 'officer'] as const)(
    'refuses a %s with 403 forbidden: payloads hold personal data',
    async (role) => {
      const res = await call(node.url, 'POST', '/codec/decode', {
        token: await node.token(role),
        json: { payloads: (await storedInput()).map(asJson) },
      });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbidden');
      expect(JSON.stringify(res.body)).not.toContain(MARKER);
    },
  );

  it('answers an empty list for a body without payloads (proto3 JSON leaves it out)', async () => {
    const res = await call(node.url, 'POST', '/codec/decode', { token: admin, json: {} });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ payloads: [] });
  });

  it('refuses a call without a token with 401 token_missing', async () => {
    const res = await call(node.url, 'POST', '/codec/decode', { json: { payloads: [] } });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('token_missing');
  });

  it('serves the node’s own namespace only (X-Namespace)', async () => {
    const res = await call(node.url, 'POST', '/codec/decode', {
      token: admin,
      json: { payloads: (await storedInput()).map(asJson) },
      headers: { 'x-namespace': 'someone-else' },
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
  });

  it('refuses a malformed body with 400 schema_invalid at its path, and non-JSON with 415', async () => {
    const bad = await call(node.url, 'POST', '/codec/decode', {
      token: admin,
      json: { payloads: [{ data: 'not base64!' }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('schema_invalid');
    expect(bad.body.errors).toEqual([{ path: '/payloads/0/data', message: 'expected base64' }]);

    const text = await call(node.url, 'POST', '/codec/decode', {
      token: admin,
      raw: 'payloads',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(text.body.code).toBe('unsupported_media_type');
  });

  it('refuses a payload under a key id the node does not hold with 400, naming the payload', async () => {
    const [stored] = (await storedInput()).map(asJson);
    const foreign = {
      ...stored!,
      metadata: { ...stored!.metadata, 'encryption-key-id': b64('retired-key') },
    };
    const res = await call(node.url, 'POST', '/codec/decode', {
      token: admin,
      json: { payloads: [stored, foreign] },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('schema_invalid');
    expect(res.body.errors).toEqual([
      { path: '/payloads/1', message: expect.stringMatching(/key id "retired-key"/) },
    ]);
  });

  it('bounds what it takes: too many payloads (400) and too large a body (413)', async () => {
    const many = await call(node.url, 'POST', '/codec/decode', {
      token: admin,
      json: { payloads: Array.from({ length: 1001 }, () => ({ data: '' })) },
    });
    expect(many.status).toBe(400);
    expect(many.body.code).toBe('schema_invalid');

    const huge = await call(node.url, 'POST', '/codec/decode', {
      token: admin,
      json: { payloads: [{ data: 'A'.repeat(5 * 1024 * 1024) }] },
    });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('too_large');
  });
});

describe('POST /codec/encode', () => {
  it('encrypts under the current key what /codec/decode then reads back', async () => {
    const plain = { metadata: { encoding: b64('json/plain') }, data: b64('{"note":"hello"}') };
    const encoded = await call(node.url, 'POST', '/codec/encode', {
      token: admin,
      json: { payloads: [plain] },
    });
    expect(encoded.status).toBe(200);
    const [sealed] = encoded.body.payloads;
    expect(sealed.metadata).toEqual({
      encoding: b64('binary/encrypted'),
      'encryption-key-id': b64(node.temporal.codec.currentKeyId),
    });
    const decoded = await call(node.url, 'POST', '/codec/decode', {
      token: admin,
      json: encoded.body,
    });
    expect(decoded.body.payloads).toEqual([plain]);
  });

  it('is for admins only', async () => {
    const res = await call(node.url, 'POST', '/codec/encode', {
      token: await node.token('supervisor'),
      json: { payloads: [] },
    });
    expect(res.status).toBe(403);
  });
});

describe('CORS of the codec endpoint', () => {
  it('answers the preflight of the configured Temporal UI origin', async () => {
    const res = await fetch(`${node.url}/codec/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: UI_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, x-namespace',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('access-control-allow-headers')).toBe(
      'Authorization, Content-Type, X-Namespace',
    );
    expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
  });

  it('lets that origin read the answer', async () => {
    const res = await call(node.url, 'POST', '/codec/decode', {
      token: admin,
      json: { payloads: (await storedInput()).map(asJson) },
      headers: { origin: UI_ORIGIN, 'x-namespace': node.namespace },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
  });

  it('refuses any other origin, preflight or call, without CORS headers', async () => {
    const preflight = await fetch(`${node.url}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:9999', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();

    const res = await call(node.url, 'POST', '/codec/decode', {
      token: admin,
      json: { payloads: (await storedInput()).map(asJson) },
      headers: { origin: 'https://evil.example' },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(JSON.stringify(res.body)).not.toContain(MARKER);
  });
});
