// The personal-data scan through a mediator (issue 15): A and B, each on its own node, namespace
// and database, exchange a full lifecycle of each request type through M with sealed content,
// markers in the subjects, the records and every free text. Then M, which relayed all of it, is
// searched for the markers: every row of its database, every line of its log (at debug level),
// its Temporal histories, search attributes and memos read without the codec, `/metrics`, and the
// answer of every GET route its OpenAPI document names, for each of its roles. None may appear.
// The markers reached B and A (checked), so a scan that finds none is not a scan of nothing.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestType, Role } from '../../schemas/common.js';
import { responseSchema } from '../../schemas/domain/index.js';
import { CreateRequestBody } from '../../schemas/requests-api.js';
import { finalFor, subjectFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import type { TestNode } from '../helpers/node.js';
import {
  act,
  everyRowOf,
  officerOf,
  startMediatedTrio,
  untilRequest,
  untilStatus,
  type MediatedTrio,
} from '../helpers/mediated.js';
import { requestDetail } from '../helpers/requests.js';
import { fits, Markers } from './markers.js';

const TYPES: readonly RequestType[] = ['mine_map', 'grave_information', 'identification_result'];
const ROLES: readonly Role[] = ['officer', 'supervisor', 'admin'];

const markers = new Markers();
/** Every line M logged, at debug level. */
const mLines: string[] = [];
const ids = new Map<RequestType, string>();
let trio: MediatedTrio;
let a: TestNode;
let m: TestNode;
let b: TestNode;

/** Until `node`'s timeline of the request holds an event of `type`. */
const seen = (node: TestNode, id: string, type: string) =>
  untilRequest(node, id, (r) => r.timeline.some((e) => e.type === type), type);

/** A whole lifecycle of `type` from A to B through M, a marker in every field that takes one. */
async function lifecycle(type: RequestType): Promise<string> {
  const create = (subject: unknown) => ({
    type,
    counterparty: 'party-b',
    priority: 'routine',
    subject,
  });
  const subject = markers.mark(
    subjectFor(type, `Scan through M of a ${type} request`),
    (s) => CreateRequestBody.safeParse(create(s)).success,
    `${type}/subject`,
  );
  const created = await call(a.url, 'POST', '/v1/requests', {
    token: officerOf(a),
    json: create(subject),
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = (created.body as { id: string }).id;
  const ok = async (node: TestNode, action: string, json: unknown) => {
    const res = await act(node, id, action, json);
    expect(res.status, `${action}: ${JSON.stringify(res.body)}`).toBe(200);
  };

  await untilStatus(b, id, 'delivered', `${type} reached B`);
  await ok(b, 'acknowledge', { note: markers.text(`${type}/acknowledgement`) });
  await ok(b, 'clarification-requests', { questions: [markers.text(`${type}/question`)] });
  await seen(a, id, 'ask_clarification');
  await ok(a, 'clarifications', { answers: [markers.text(`${type}/answer`)] });
  await seen(b, id, 'answer_clarification');
  const response = markers.mark(
    { ...finalFor(type), note: markers.text(`${type}/response-note`) },
    fits(responseSchema(type)),
    `${type}/response`,
  );
  await ok(b, 'responses', response);
  await untilStatus(a, id, 'answered', `${type} answered at A`);
  await ok(a, 'close', { outcome: 'accepted', reason: markers.text(`${type}/closure`) });
  await untilStatus(b, id, 'closed', `${type} closed at B`);
  return id;
}

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      mLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  trio = await startMediatedTrio({
    sealContent: true,
    mLog: pino({ level: 'debug' }, sink),
  });
  ({ a, m, b } = trio);
  for (const type of TYPES) ids.set(type, await lifecycle(type));
}, 600_000);
afterAll(async () => {
  await trio?.stop();
});

describe('a mediator that relayed every request type holds no personal data', () => {
  it('relayed every message of each lifecycle, whose markers reached the parties', async () => {
    const { rows } = await m.database.pool.query<{ req_id: string; n: number }>(
      'SELECT req_id, count(*)::int AS n FROM relayed_messages GROUP BY req_id',
    );
    for (const type of TYPES) {
      const id = ids.get(type)!;
      // request, acknowledgement, question, answer, response, closure
      expect(rows.find((r) => r.req_id === id)?.n, type).toBe(6);
      // The markers are there to be found: in the request as both parties' officers see it.
      for (const node of [a, b]) {
        const detail = await call(node.url, 'GET', `/v1/requests/${id}`, {
          token: officerOf(node),
        });
        expect(markers.foundIn(JSON.stringify(detail.body)).length, type).toBeGreaterThan(3);
      }
    }
    expect(markers.placed.size).toBeGreaterThan(30);
  });

  it('is in no row of any table of M’s database', async () => {
    expect(markers.foundIn(await everyRowOf(b)).length).toBeGreaterThan(0);
    expect(markers.foundIn(await everyRowOf(m))).toEqual([]);
  });

  it('is in no line of M’s log', () => {
    // One line per message relayed (six per lifecycle), besides its HTTP lines.
    const relayed = mLines.filter(
      (l) => (JSON.parse(l) as { msg: string }).msg === 'message relayed',
    );
    expect(relayed).toHaveLength(6 * TYPES.length);
    expect(markers.foundIn(mLines.join('\n'))).toEqual([]);
  });

  it('is nowhere in M’s Temporal namespace, read without the codec', async () => {
    // What M relays never enters a workflow: M's namespace holds no history of it. Whatever it
    // holds (nothing, as built) is read raw, histories, search attributes and memos.
    const client = m.temporal.client;
    expect(client.options.namespace).toBe(m.namespace);
    const ran: string[] = [];
    for await (const wf of client.workflow.list()) {
      ran.push(wf.workflowId);
      const handle = client.workflow.getHandle(wf.workflowId, wf.runId);
      const history = await handle.fetchHistory();
      const described = await handle.describe();
      const text = JSON.stringify([history, described.raw], (_k, v: unknown) =>
        v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v,
      );
      expect(markers.foundIn(text), wf.workflowId).toEqual([]);
    }
    for (const id of ids.values()) expect(ran.join(' ')).not.toContain(id);
    // The parties' own namespaces do hold the requests' workflows (encrypted: see the scan of
    // two nodes, test/privacy/personal-data-scan.test.ts).
    const atA: string[] = [];
    for await (const wf of a.temporal.client.workflow.list()) atA.push(wf.workflowId);
    for (const id of ids.values()) expect(atA.join(' ')).toContain(id);
  });

  it('is not in M’s /metrics', async () => {
    const res = await call(m.url, 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(markers.foundIn(String(res.body))).toEqual([]);
  });

  it('is in no answer of any GET route of M, for any of its roles', async () => {
    const doc = await call(m.url, 'GET', '/openapi.json');
    expect(doc.status).toBe(200);
    const paths = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)
      .filter(([, ops]) => 'get' in ops)
      .map(([p]) => p);
    expect(paths.length).toBeGreaterThan(20);
    const { rows } = await m.database.pool.query<{ digest: string }>(
      'SELECT digest FROM relayed_messages',
    );
    // Each path with each request's id, and each relayed digest where it names a message.
    const concrete = new Set<string>();
    for (const p of paths) {
      if (!p.includes('{')) {
        concrete.add(p);
        continue;
      }
      for (const id of ids.values()) concrete.add(p.replace(/\{[^}]+\}/g, id));
      for (const { digest } of rows) concrete.add(p.replace(/\{[^}]+\}/g, digest));
    }
    let answered = 0;
    const leaks: string[] = [];
    for (const role of ROLES) {
      const token = await m.token(role, `${role}-of-m`);
      for (const p of concrete) {
        const res = await call(m.url, 'GET', p, { token });
        if (res.status === 200) answered += 1;
        const found = markers.foundIn(
          typeof res.body === 'string' ? res.body : JSON.stringify(res.body),
        );
        if (found.length) leaks.push(`${role} ${p}: ${found.join(',')}`);
      }
    }
    expect(leaks).toEqual([]);
    // M's own routes answered (its view of the requests, what it relayed, its log, …).
    expect(answered).toBeGreaterThan(30);
    // And what M's supervisors see of a mediated request names it, without the content.
    const view = await call(m.url, 'GET', `/v1/mediated/${ids.get('identification_result')!}`, {
      token: await m.token('supervisor'),
    });
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ type: 'identification_result', settledStatus: 'closed' });
    expect(await requestDetail(m, ids.get('mine_map')!)).toBeUndefined();
  });
});
