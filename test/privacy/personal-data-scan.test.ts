// The personal-data scan: two nodes run as `parley start` processes (logging everything, at debug
// level) and exchange a full lifecycle of each request type whose subject, records and every
// free text carry marker strings. Then the scan looks for the markers in the raw Temporal histories
// and descriptions (read without the codec), every log line of both nodes, `/metrics`, the error
// bodies of refused calls, and every route's answer for every role: markers appear only where the
// access policy (domain/access-policy.ts) says the content may be seen.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { routeShowsContent, type PolicyRoute } from '../../domain/access-policy.js';
import { mintDevToken } from '../../node/dev-issuer.js';
import type { RequestType, Role } from '../../schemas/common.js';
import { responseSchema } from '../../schemas/domain/index.js';
import { CreateRequestBody } from '../../schemas/requests-api.js';
import { exited, startCli } from '../helpers/cli-process.js';
import { finalFor, subjectFor } from '../helpers/domain.js';
import { call, type HttpResult } from '../helpers/http.js';
import { eventually } from '../helpers/partners.js';
import { freePort } from '../helpers/ports.js';
import { cloneTemplate } from '../helpers/postgres.js';
import { fits, Markers } from './markers.js';

const TYPES: readonly RequestType[] = ['mine_map', 'grave_information', 'identification_result'];
const ROLES: readonly Role[] = ['officer', 'supervisor', 'admin'];

interface Node {
  party: string;
  url: string;
  namespace: string;
  dir: string;
  db: { url: string; drop: () => Promise<void> };
  cli: ReturnType<typeof startCli>;
  token(role: Role, sub?: string): Promise<string>;
}

const markers = new Markers();
let a: Node;
let b: Node;
let temporal: Connection;
/** Request id per type, once its lifecycle is closed on both sides. */
const ids = new Map<RequestType, string>();
/** The answers of calls the nodes refused, as their callers got them. */
const refusals: { what: string; res: HttpResult }[] = [];

async function startNode(party: string): Promise<Node> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `parley-scan-${party}-`));
  const db = await cloneTemplate(inject('templateDatabase'));
  const port = await freePort();
  const namespace = `t-scan-${party}-${path.basename(dir).slice(-6).toLowerCase()}`;
  const cli = startCli({
    PARTY_ID: party,
    PORT: String(port),
    PARLEY_DATA_DIR: dir,
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: namespace,
    DELIVERY_MAX_BACKOFF_SECONDS: '1',
    LOG_LEVEL: 'debug',
  });
  await cli.up;
  return {
    party,
    url: `http://127.0.0.1:${port}`,
    namespace,
    dir,
    db,
    cli,
    token: (role, sub = `${role}-${party}`) =>
      mintDevToken({
        dataDir: dir,
        issuer: 'parley-dev-issuer',
        audience: 'parley',
        rolesClaim: 'roles',
        sub,
        roles: [role],
        ttlSeconds: 600,
      }),
  };
}

async function register(node: Node, partner: Node): Promise<void> {
  const jwks = await call(partner.url, 'GET', '/.well-known/jwks.json');
  const res = await call(node.url, 'POST', '/v1/admin/partners', {
    token: await node.token('admin'),
    json: {
      partyId: partner.party,
      name: `Node of ${partner.party}`,
      inboxUrl: `${partner.url}/v1/messages`,
      jwks: jwks.body,
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

async function act(node: Node, id: string, action: string, json: unknown): Promise<void> {
  const res = await call(node.url, 'POST', `/v1/requests/${id}/${action}`, {
    token: await node.token('officer'),
    json,
  });
  expect(res.status, `${node.party} ${action}: ${JSON.stringify(res.body)}`).toBe(200);
}

/** Waits until `node`'s timeline of the request holds an event of `type`. */
async function seen(node: Node, id: string, type: string): Promise<void> {
  await eventually(
    async () => {
      const res = await call(node.url, 'GET', `/v1/requests/${id}`, {
        token: await node.token('officer'),
      });
      const timeline = (res.body as { timeline?: { type: string }[] }).timeline ?? [];
      return res.status === 200 && timeline.some((e) => e.type === type) ? true : undefined;
    },
    60_000,
    `${node.party}: ${type} on ${id}`,
  );
}

async function status(node: Node, id: string, wanted: string): Promise<void> {
  await eventually(
    async () => {
      const res = await call(node.url, 'GET', `/v1/requests/${id}`, {
        token: await node.token('officer'),
      });
      return res.status === 200 && (res.body as { status: string }).status === wanted
        ? true
        : undefined;
    },
    60_000,
    `${node.party}: ${id} ${wanted}`,
  );
}

async function lifecycle(type: RequestType): Promise<string> {
  const create = (subject: unknown) => ({
    type,
    counterparty: 'party-b',
    priority: 'routine',
    subject,
  });
  const subject = markers.mark(
    subjectFor(type, `Scan of a ${type} request`),
    (s) => CreateRequestBody.safeParse(create(s)).success,
    `${type}/subject`,
  );
  // A refused create whose bad value is personal data: the error must not repeat it.
  const badCreate = await call(a.url, 'POST', '/v1/requests', {
    token: await a.token('officer'),
    json: create({ ...subject, items: 'PDM-bad' + markers.text(`${type}/bad-create`) }),
  });
  expect(badCreate.status).toBe(400);
  refusals.push({ what: `${type}: refused create`, res: badCreate });

  const created = await call(a.url, 'POST', '/v1/requests', {
    token: await a.token('officer'),
    json: create(subject),
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = (created.body as { id: string }).id;

  await status(b, id, 'delivered');
  await act(b, id, 'acknowledge', { note: markers.text(`${type}/acknowledgement`) });
  await act(b, id, 'clarification-requests', {
    questions: [markers.text(`${type}/question`)],
  });
  await seen(a, id, 'ask_clarification');
  await act(a, id, 'clarifications', { answers: [markers.text(`${type}/answer`)] });
  await seen(b, id, 'answer_clarification');

  const response = markers.mark(
    { ...finalFor(type), note: markers.text(`${type}/response-note`) },
    fits(responseSchema(type)),
    `${type}/response`,
  );
  // A refused response that carries personal data in a member the schema does not know.
  const records = (response as unknown as { records: Record<string, unknown>[] }).records;
  const badResponse = await call(b.url, 'POST', `/v1/requests/${id}/responses`, {
    token: await b.token('officer'),
    json: {
      ...response,
      records: [{ ...records[0], unheard_of: markers.text(`${type}/bad-response`) }],
    },
  });
  expect(badResponse.status).toBe(400);
  refusals.push({ what: `${type}: refused response`, res: badResponse });

  await act(b, id, 'responses', response);
  await status(a, id, 'answered');
  await act(a, id, 'close', { outcome: 'accepted', reason: markers.text(`${type}/closure`) });
  await status(b, id, 'closed');
  return id;
}

beforeAll(async () => {
  [a, b] = await Promise.all([startNode('party-a'), startNode('party-b')]);
  await register(a, b);
  await register(b, a);
  temporal = await Connection.connect({ address: inject('temporalAddress') });
  for (const type of TYPES) ids.set(type, await lifecycle(type));
}, 600_000);

afterAll(async () => {
  await temporal?.close();
  for (const node of [a, b]) {
    if (!node) continue;
    if (node.cli.child.exitCode === null) {
      node.cli.child.kill('SIGTERM');
      await exited(node.cli.child);
    }
    await node.db.drop();
    await fs.rm(node.dir, { recursive: true, force: true });
  }
});

/** Every string and every byte array in a decoded protobuf object, as text. */
function textOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (Array.isArray(value)) value.forEach((v) => textOf(v, out));
  else if (value !== null && typeof value === 'object')
    Object.values(value as Record<string, unknown>).forEach((v) => textOf(v, out));
  return out;
}

/** Which markers each answer of `route` holds, for each role and request type. */
async function scanRoute(
  node: Node,
  pathFor: (id: string) => string,
): Promise<{ role: Role; type: RequestType; status: number; found: string[] }[]> {
  const rows = [];
  for (const role of ROLES)
    for (const type of TYPES) {
      const res = await call(node.url, 'GET', pathFor(ids.get(type)!), {
        token: await node.token(role),
      });
      rows.push({
        role,
        type,
        status: res.status,
        found: markers.foundIn(JSON.stringify(res.body)),
      });
    }
  return rows;
}

/** Every record of `node`'s access log, newest first. */
async function accessLog(
  node: Node,
): Promise<{ sub: string; route: string; reqId: string | null }[]> {
  const all: { sub: string; route: string; reqId: string | null }[] = [];
  let cursor: string | null = null;
  do {
    const res = await call(
      node.url,
      'GET',
      `/v1/admin/access-log?limit=500${cursor ? `&cursor=${cursor}` : ''}`,
      { token: await node.token('admin') },
    );
    expect(res.status).toBe(200);
    const page = res.body as { items: typeof all; nextCursor: string | null };
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

/** Reads that showed content, which the access log must hold (`sub route reqId`). */
const contentReads = new Map<Node, Set<string>>();
function shown(node: Node, role: Role, route: string, reqId: string | null): void {
  const reads = contentReads.get(node) ?? new Set<string>();
  reads.add(`${role}-${node.party} ${route} ${reqId}`);
  contentReads.set(node, reads);
}

describe('personal data is only where the access policy puts it', () => {
  it('placed markers in the subjects, the records and every free text of the lifecycles', () => {
    const fields = [...markers.placed.values()];
    for (const type of TYPES) {
      expect(fields.filter((f) => f.startsWith(`${type}/subject/`)).length).toBeGreaterThan(0);
      expect(fields.filter((f) => f.startsWith(`${type}/response/`)).length).toBeGreaterThan(0);
    }
    expect(fields.length).toBeGreaterThan(30);
  });

  it('is nowhere in the Temporal histories, search attributes or memos read without the codec', async () => {
    let workflows = 0;
    for (const node of [a, b]) {
      const client = new Client({ connection: temporal, namespace: node.namespace });
      for await (const wf of client.workflow.list()) {
        workflows += 1;
        const handle = client.workflow.getHandle(wf.workflowId, wf.runId);
        const history = await handle.fetchHistory();
        const described = await handle.describe();
        const text = [...textOf(history), ...textOf(described.raw)].join('\n');
        expect(markers.foundIn(text), `${node.party} ${wf.workflowId}`).toEqual([]);
      }
    }
    expect(workflows).toBeGreaterThanOrEqual(2 * TYPES.length);
  });

  it('is in no log line of either node', () => {
    for (const node of [a, b]) {
      const output = node.cli.output();
      expect(output.split('\n').length).toBeGreaterThan(100);
      expect(markers.foundIn(output), node.party).toEqual([]);
    }
  });

  it('is not in /metrics', async () => {
    for (const node of [a, b]) {
      const res = await call(node.url, 'GET', '/metrics');
      expect(res.status).toBe(200);
      expect(markers.foundIn(String(res.body)), node.party).toEqual([]);
    }
  });

  it('is not repeated in the errors of refused calls', () => {
    expect(refusals.length).toBe(2 * TYPES.length);
    for (const { what, res } of refusals) {
      expect(res.status, what).toBeGreaterThanOrEqual(400);
      expect(markers.foundIn(JSON.stringify(res.body)), what).toEqual([]);
    }
  });

  it('shows in a route’s answer exactly when the policy lets the role see the content', async () => {
    const routes: [PolicyRoute, (id: string) => string][] = [
      ['GET /v1/requests', () => '/v1/requests'],
      ['GET /v1/requests/:id', (id) => `/v1/requests/${id}`],
      ['GET /v1/requests/:id/geojson', (id) => `/v1/requests/${id}/geojson`],
      ['GET /v1/requests/:id/evidence', (id) => `/v1/requests/${id}/evidence`],
      ['GET /v1/outbox', () => '/v1/outbox'],
      ['GET /v1/supervisor/requests', () => '/v1/supervisor/requests'],
      ['GET /v1/supervisor/summary', () => '/v1/supervisor/summary'],
      [
        'GET /v1/supervisor/requests/:id/timeline',
        (id) => `/v1/supervisor/requests/${id}/timeline`,
      ],
      ['GET /dashboard/notifications.json', () => '/dashboard/notifications.json'],
    ];
    const wrong: string[] = [];
    for (const node of [a, b])
      for (const [route, pathFor] of routes)
        for (const row of await scanRoute(node, pathFor)) {
          const allowed = routeShowsContent(route, [row.role], row.type);
          // A route that may show content must show it when it answers (geojson: the records of
          // mine maps and the burial sites of grave requests; identification requests have none).
          const expectContent =
            allowed &&
            row.status === 200 &&
            (route !== 'GET /v1/requests/:id/geojson' || row.type !== 'identification_result');
          if (row.found.length && route !== 'GET /v1/requests')
            shown(node, row.role, route, ids.get(row.type)!);
          if (!allowed && row.found.length)
            wrong.push(
              `${node.party} ${route} ${row.role} ${row.type}: leaks ${row.found.join(',')}`,
            );
          if (expectContent && !row.found.length)
            wrong.push(
              `${node.party} ${route} ${row.role} ${row.type}: content missing (${row.status})`,
            );
        }
    expect(wrong).toEqual([]);
  });

  it('shows a stored message’s content only to roles that may see its request’s', async () => {
    const wrong: string[] = [];
    for (const node of [a, b])
      for (const type of TYPES) {
        const officer = await call(node.url, 'GET', `/v1/requests/${ids.get(type)!}`, {
          token: await node.token('officer'),
        });
        const digests = (officer.body as { timeline: { detail: { digest?: unknown } }[] }).timeline
          .map((e) => e.detail.digest)
          .filter((d): d is string => typeof d === 'string');
        expect(digests.length).toBeGreaterThan(3);
        for (const digest of new Set(digests))
          for (const role of ROLES) {
            const res = await call(node.url, 'GET', `/v1/messages/${digest}`, {
              token: await node.token(role),
            });
            const found = markers.foundIn(JSON.stringify(res.body));
            if (found.length) shown(node, role, 'GET /v1/messages/:ref', ids.get(type)!);
            const allowed = routeShowsContent('GET /v1/messages/:ref', [role], type);
            if (!allowed && found.length)
              wrong.push(
                `${node.party} ${type} ${digest.slice(0, 8)} ${role}: leaks ${found.join(',')}`,
              );
            // Reminders and receipts are the nodes' own words: no free text, nothing to find.
            const kind = (res.body as { kind?: string }).kind;
            const carriesMarkers = kind !== 'reminder' && kind !== 'receipt';
            if (allowed && res.status === 200 && carriesMarkers && !found.length)
              wrong.push(
                `${node.party} ${type} ${kind} ${digest.slice(0, 8)} ${role}: content missing`,
              );
          }
      }
    expect(wrong).toEqual([]);
  });

  it('holds no personal data in the access log, the audit routes or the partner registry', async () => {
    for (const node of [a, b]) {
      const admin = await node.token('admin');
      for (const p of [
        '/v1/admin/access-log?limit=500',
        '/v1/audit/checkpoints',
        '/v1/audit/verify',
        '/v1/audit/alerts',
        '/v1/admin/partners',
      ]) {
        const res = await call(node.url, 'GET', p, { token: admin });
        expect(res.status, `${node.party} ${p}`).toBe(200);
        expect(markers.foundIn(JSON.stringify(res.body)), `${node.party} ${p}`).toEqual([]);
      }
    }
  });

  it('is readable through the codec endpoint by an admin only, and the read is logged', async () => {
    const client = new Client({ connection: temporal, namespace: a.namespace });
    const id = ids.get('identification_result')!;
    const handle = client.workflow.getHandle(`request-${id}`);
    const history = await handle.fetchHistory();
    const payloads: { metadata: Record<string, string>; data: string }[] = [];
    const collect = (v: unknown): void => {
      if (v === null || typeof v !== 'object') return;
      const o = v as { metadata?: Record<string, Uint8Array>; data?: Uint8Array };
      if (o.metadata && o.data instanceof Uint8Array) {
        payloads.push({
          metadata: Object.fromEntries(
            Object.entries(o.metadata).map(([k, x]) => [k, Buffer.from(x).toString('base64')]),
          ),
          data: Buffer.from(o.data).toString('base64'),
        });
        return;
      }
      Object.values(o).forEach(collect);
    };
    collect(history);
    expect(payloads.length).toBeGreaterThan(0);
    const decode = async (role: Role) =>
      call(a.url, 'POST', '/codec/decode', {
        token: await a.token(role),
        headers: { 'x-namespace': a.namespace },
        json: { payloads },
      });
    const bySupervisor = await decode('supervisor');
    expect(bySupervisor.status).toBe(403);
    expect(markers.foundIn(JSON.stringify(bySupervisor.body))).toEqual([]);
    const byAdmin = await decode('admin');
    expect(byAdmin.status).toBe(200);
    const decoded = (byAdmin.body as { payloads: { data?: string }[] }).payloads
      .map((p) => Buffer.from(p.data ?? '', 'base64').toString('utf8'))
      .join('\n');
    expect(markers.foundIn(decoded).length).toBeGreaterThan(0);
    const log = await accessLog(a);
    expect(log.filter((r) => r.route === 'POST /codec/decode')).toEqual([
      expect.objectContaining({ sub: 'admin-party-a', reqId: null }),
    ]);
  });

  it('has every read that showed content in the access log, by who, which route and request', async () => {
    let reads = 0;
    for (const node of [a, b]) {
      const log = new Set((await accessLog(node)).map((r) => `${r.sub} ${r.route} ${r.reqId}`));
      for (const read of contentReads.get(node) ?? []) {
        reads += 1;
        expect(log.has(read), `${node.party}: ${read}`).toBe(true);
      }
      // The log names requests and routes, never what was read.
      expect(markers.foundIn(JSON.stringify([...log])), node.party).toEqual([]);
    }
    expect(reads).toBeGreaterThan(20);
  });
});
