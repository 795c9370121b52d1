import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { RequestDetailView, RequestView } from '../../schemas/requests-api.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerOfflinePartner } from '../helpers/partners.js';
import { subjectFor } from '../helpers/domain.js';

const run = promisify(execFile);

const validBody = {
  type: 'grave_information',
  counterparty: 'party-b',
  priority: 'urgent',
  subject: {
    ...subjectFor('grave_information', 'Burial sites reported near the old quarry'),
    description: 'Area between the two villages.',
  },
};

let node: TestNode;
let officer: string;

async function requestCount(): Promise<number> {
  const { rows } = await node.database.pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM requests',
  );
  return Number(rows[0]!.n);
}

async function workflowCount(): Promise<number> {
  const { count } = await node.temporal.client.workflow.count('WorkflowType = "outgoingRequest"');
  return count;
}

beforeAll(async () => {
  node = await startTestNode({ partyId: 'party-a' });
  await registerOfflinePartner(node);
  officer = await node.token('officer', 'officer-alice');
});
afterAll(() => node?.destroy());

describe('POST /v1/requests', () => {
  it('creates the request in Postgres and starts workflow request-<id> that the Temporal CLI lists', async () => {
    const res = await call(node.url, 'POST', '/v1/requests', { token: officer, json: validBody });
    expect(res.status).toBe(201);
    const created = RequestView.parse(res.body);
    expect(created).toMatchObject({
      direction: 'outgoing',
      type: 'grave_information',
      requester: 'party-a',
      responder: 'party-b',
      priority: 'urgent',
      status: 'submitted',
      createdBy: 'officer-alice',
      subject: validBody.subject,
    });
    expect(created.workflowId).toBe(`request-${created.id}`);
    expect(res.headers.get('location')).toBe(`/v1/requests/${created.id}`);

    const { rows } = await node.database.pool.query(
      'SELECT status, counterparty FROM requests WHERE req_id = $1',
      [created.id],
    );
    expect(rows).toEqual([{ status: 'submitted', counterparty: 'party-b' }]);

    const described = await node.temporal.client.workflow.getHandle(created.workflowId).describe();
    expect(described.status.name).toBe('RUNNING');
    expect(described.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
      expect.arrayContaining([
        ['ParleyStatus', 'submitted'],
        ['ParleyRequestType', 'grave_information'],
        ['ParleyPartner', 'party-b'],
        ['ParleyPriority', 'urgent'],
      ]),
    );

    // The official CLI, on the dev server's address, sees the same workflow by search attribute.
    const { stdout } = await run(inject('temporalCliPath'), [
      'workflow',
      'list',
      '--address',
      node.temporal.address,
      '--namespace',
      node.namespace,
      '--query',
      `ParleyStatus='submitted' AND ParleyPartner='party-b'`,
      '--output',
      'json',
    ]);
    const listed = (JSON.parse(stdout) as { execution: { workflowId: string } }[]).map(
      (w) => w.execution.workflowId,
    );
    expect(listed).toContain(created.workflowId);
  });

  it('shows the request with its status and timeline to officers and supervisors', async () => {
    const created = RequestView.parse(
      (await call(node.url, 'POST', '/v1/requests', { token: officer, json: validBody })).body,
    );
    for (const role of ['officer', 'supervisor'] as const) {
      const res = await call(node.url, 'GET', `/v1/requests/${created.id}`, {
        token: await node.token(role),
      });
      expect(res.status).toBe(200);
      const detail = RequestDetailView.parse(res.body);
      expect(detail.status).toBe('submitted');
      expect(detail.partnerRefusal).toBeNull();
      expect(detail.timeline).toEqual([
        expect.objectContaining({
          seq: 1,
          type: 'created',
          actor: 'officer-alice',
          status: 'submitted',
        }),
      ]);
    }
    const list = await call<{ items: RequestView[] }>(
      node.url,
      'GET',
      '/v1/requests?status=submitted&type=grave_information',
      { token: officer },
    );
    expect(list.status).toBe(200);
    expect(list.body.items.map((r) => r.id)).toContain(created.id);
  });

  it('refuses a body that breaks the schema with schema_invalid, naming each bad path, and creates nothing', async () => {
    const before = [await requestCount(), await workflowCount()];
    const res = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: {
        type: 'grave_information',
        counterparty: 'Party B',
        priority: 7,
        subject: { ...validBody.subject, title: '' },
        extra: true,
      },
    });
    expect(res.status).toBe(400);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body.code).toBe('schema_invalid');
    const paths = (res.body.errors as { path: string }[]).map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining(['/counterparty', '/priority', '/subject/title', '/extra']),
    );
    expect([await requestCount(), await workflowCount()]).toEqual(before);
  });

  it.each([
    [
      'an unknown request type',
      { json: { ...validBody, type: 'mine_maps' } },
      400,
      'schema_invalid',
    ],
    [
      'a subject that is not of the request’s type (a grave subject for a mine map)',
      { json: { ...validBody, type: 'mine_map' } },
      400,
      'schema_invalid',
    ],
    [
      'a request with no items',
      { json: { ...validBody, subject: { ...validBody.subject, items: [] } } },
      400,
      'schema_invalid',
    ],
    [
      'malformed JSON',
      { raw: '{"type": "mine_map",', headers: { 'content-type': 'application/json' } },
      400,
      'malformed_json',
    ],
    [
      'a body over 256 kB',
      { json: { ...validBody, subject: { ...validBody.subject, title: 'x'.repeat(300_000) } } },
      413,
      'too_large',
    ],
    [
      'a body that is not JSON',
      { raw: 'type=mine_map', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      'unsupported_media_type',
    ],
    [
      'a request to its own party',
      { json: { ...validBody, counterparty: 'party-a' } },
      400,
      'schema_invalid',
    ],
  ])('refuses %s with %i %s and creates nothing', async (_what, opts, status, code) => {
    const before = [await requestCount(), await workflowCount()];
    const res = await call(node.url, 'POST', '/v1/requests', { token: officer, ...opts });
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    expect([await requestCount(), await workflowCount()]).toEqual(before);
  });
});

describe('POST /v1/requests: the number rule of what gets signed', () => {
  /** A mine-map request whose first corner (and the ring's closing one) is `corner`. */
  const mineMap = (corner: unknown) => {
    const subject = subjectFor('mine_map') as {
      items: { geometry: { coordinates: unknown[][] } }[];
    };
    const ring = subject.items[0]!.geometry.coordinates[0]!;
    ring[0] = corner;
    ring[ring.length - 1] = corner;
    return { type: 'mine_map', counterparty: 'party-b', priority: 'routine', subject };
  };

  it('writes coordinates given as JSON numbers as decimal strings, as they will be signed', async () => {
    const res = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: mineMap([24.755, 46.597]),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const created = RequestView.parse(res.body);
    const ring = (created.subject as { items: { geometry: { coordinates: unknown[][] } }[] })
      .items[0]!.geometry.coordinates[0]!;
    expect(ring[0]).toEqual(['24.755', '46.597']);
  });

  it('refuses an integer beyond 2^53 with 400 not_canonical at its paths (no rounding), and creates nothing', async () => {
    const before = [await requestCount(), await workflowCount()];
    const res = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: mineMap([2 ** 60, 46.597]),
    });
    expect(res.status).toBe(400);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body.code).toBe('not_canonical');
    const last =
      (subjectFor('mine_map') as { items: { geometry: { coordinates: unknown[][] } }[] }).items[0]!
        .geometry.coordinates[0]!.length - 1;
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([
      '/subject/items/0/geometry/coordinates/0/0/0',
      `/subject/items/0/geometry/coordinates/0/${last}/0`,
    ]);
    // Anywhere in the body, even in a member the schema would refuse: the partner checks first.
    const elsewhere = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: { ...validBody, extra: 2 ** 53 },
    });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body).toMatchObject({ code: 'not_canonical', errors: [{ path: '/extra' }] });
    expect([await requestCount(), await workflowCount()]).toEqual(before);
  });

  it('refuses a body nested deeper than a payload may be with 400 too_deep', async () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 40; i++) deep = [deep];
    const before = await requestCount();
    const res = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: { ...validBody, subject: { ...validBody.subject, description: deep } },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('too_deep');
    expect(await requestCount()).toBe(before);
  });
});

describe('POST /v1/requests with Idempotency-Key', () => {
  it('returns the same request for the same key and starts nothing twice', async () => {
    const headers = { 'idempotency-key': 'officer-alice:2026-11-28:001' };
    const first = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: validBody,
      headers,
    });
    const second = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: validBody,
      headers,
    });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.id).toBe(first.body.id);
    // The workflow signs and queues the request message just after the 201: wait for it, then make
    // sure the second call did not queue another one.
    const queued = async () => {
      const { rows } = await node.database.pool.query(
        'SELECT count(*)::int AS n FROM outbox_messages WHERE req_id = $1',
        [first.body.id],
      );
      return rows[0].n as number;
    };
    await eventually(async () => ((await queued()) > 0 ? true : undefined), 20_000, 'queued');
    await new Promise((r) => setTimeout(r, 500));
    expect(await queued()).toBe(1);
    const other = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: validBody,
      headers: { 'idempotency-key': 'officer-alice:2026-11-28:002' },
    });
    expect(other.body.id).not.toBe(first.body.id);
  });

  it('refuses the same key with another body with 422 idempotency_key_reused and creates nothing', async () => {
    const headers = { 'idempotency-key': 'officer-alice:2026-11-28:003' };
    const first = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: validBody,
      headers,
    });
    expect(first.status).toBe(201);
    // Temporal's visibility lists a started workflow a moment later: count once it lists every
    // request's workflow (each request of this node is outgoing, with one workflow).
    await eventually(
      async () => ((await workflowCount()) === (await requestCount()) ? true : undefined),
      30_000,
      'every workflow listed',
    );
    const before = [await requestCount(), await workflowCount()];
    const other = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: { ...validBody, priority: 'critical' },
      headers,
    });
    expect(other.status).toBe(422);
    expect(other.contentType).toContain('application/problem+json');
    expect(other.body.code).toBe('idempotency_key_reused');
    expect([await requestCount(), await workflowCount()]).toEqual(before);

    // The same request written differently (members in another order) is the same body.
    const reordered = Object.fromEntries(Object.entries(validBody).reverse());
    const again = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: reordered,
      headers,
    });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
  });

  it('answers a retry after the request’s workflow ended with the request, never a second run', async () => {
    const headers = { 'idempotency-key': 'officer-alice:2026-11-28:004' };
    const first = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: validBody,
      headers,
    });
    expect(first.status).toBe(201);
    const handle = node.temporal.client.workflow.getHandle(first.body.workflowId as string);
    const { runId } = await handle.describe();
    await handle.terminate('the test ends the workflow');
    const retry = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: validBody,
      headers,
    });
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    expect(retry.body.id).toBe(first.body.id);
    // The latest run of the request's workflow is still the first one, ended.
    const latest = await handle.describe();
    expect(latest.runId).toBe(runId);
    expect(latest.status.name).toBe('TERMINATED');
  });

  it('acts once for an action sent again with its Idempotency-Key, at once or later', async () => {
    const created = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: validBody,
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const withdraw = (key: string, reason = 'Sent to the wrong office') =>
      call(node.url, 'POST', `/v1/requests/${id}/withdraw`, {
        token: officer,
        json: { reason },
        headers: { 'idempotency-key': key },
      });
    const [one, two] = await Promise.all([
      withdraw('officer-alice:withdraw:01'),
      withdraw('officer-alice:withdraw:01'),
    ]);
    const later = await withdraw('officer-alice:withdraw:01');
    for (const res of [one, two, later]) expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(new Set([one, two, later].map((r) => r.body.msgId)).size).toBe(1);
    const { rows } = await node.database.pool.query(
      `SELECT count(*)::int AS n FROM outbox_messages WHERE req_id = $1 AND kind = 'withdrawal'`,
      [id],
    );
    expect(rows[0].n).toBe(1);
    // The same key with another body is refused; without a key the action is simply not allowed now.
    const other = await withdraw('officer-alice:withdraw:01', 'Another reason');
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
    const again = await call(node.url, 'POST', `/v1/requests/${id}/withdraw`, {
      token: officer,
      json: { reason: 'Sent to the wrong office' },
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('invalid_state');
  });

  it('refuses a malformed key with schema_invalid and creates nothing', async () => {
    const before = await requestCount();
    const res = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: validBody,
      headers: { 'idempotency-key': 'short' },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('schema_invalid');
    expect(await requestCount()).toBe(before);
  });

  it('refuses a counterparty that is not a registered partner with unknown_party', async () => {
    const before = await requestCount();
    const res = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: { ...validBody, counterparty: 'party-z' },
    });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('unknown_party');
    expect(await requestCount()).toBe(before);
  });
});

describe('POST /v1/requests with text that cannot be stored or shown safely', () => {
  it.each([
    ['a NUL', '\u0000', 'contains control character U+0000'],
    ['a lone surrogate', '\ud800', 'contains lone surrogate U+D800 (not valid Unicode text)'],
    ['a BEL', '\u0007', 'contains control character U+0007'],
    ['an ESC', '\u001b', 'contains control character U+001B'],
    ['a right-to-left override', '\u202e', 'contains bidirectional control character U+202E'],
  ])(
    'refuses a title with %s: 400 schema_invalid at /subject/title, at once, and creates nothing',
    async (_what, ch, message) => {
      const before = [await requestCount(), await workflowCount()];
      const title = `Burial sites ${ch} near the old quarry`;
      const started = performance.now();
      const res = await call(node.url, 'POST', '/v1/requests', {
        token: officer,
        json: { ...validBody, subject: { ...validBody.subject, title } },
      });
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(res.status).toBe(400);
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body.code).toBe('schema_invalid');
      expect(res.body.errors).toEqual([{ path: '/subject/title', message }]);
      // The problem names the character, never the text around it.
      expect(JSON.stringify(res.body)).not.toContain('quarry');
      expect([await requestCount(), await workflowCount()]).toEqual(before);
      const list = await call<{ items: RequestView[] }>(node.url, 'GET', '/v1/requests', {
        token: officer,
      });
      expect(list.body.items.map((r) => r.subject?.title)).not.toContain(title);
    },
  );

  it('refuses such a character anywhere in the body, even where the schema would refuse the member', async () => {
    const before = await requestCount();
    const res = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: { ...validBody, extra: { notes: ['fine', 'x\u0000'] } },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('schema_invalid');
    expect(res.body.errors).toEqual([
      { path: '/extra/notes/1', message: 'contains control character U+0000' },
    ]);
    const key = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: { ...validBody, ['evil\u2066']: 1 },
    });
    expect(key.status).toBe(400);
    expect(key.body.errors).toEqual([
      { path: '', message: 'a member name contains bidirectional control character U+2066' },
    ]);
    expect(await requestCount()).toBe(before);
  });

  it('refuses a line break in a title but keeps one in a description', async () => {
    const bad = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: { ...validBody, subject: { ...validBody.subject, title: 'Burial sites\nnear' } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      { path: '/subject/title', message: 'contains control character U+000A' },
    ]);
    const description = 'Area between the two villages.\nSouth of the old road.';
    const ok = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: { ...validBody, subject: { ...validBody.subject, description } },
    });
    expect(ok.status).toBe(201);
    const detail = await call(node.url, 'GET', `/v1/requests/${ok.body.id}`, { token: officer });
    expect(detail.body.subject.description).toBe(description);
  });
});

describe('GET /v1/requests/:id', () => {
  it.each(['01ARZ3NDEKTSV4RRFFQ69G5FAV', 'not-a-ulid', "1' OR '1'='1"])(
    'answers 404 request_not_found for %s',
    async (id) => {
      const res = await call(node.url, 'GET', `/v1/requests/${encodeURIComponent(id)}`, {
        token: officer,
      });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('request_not_found');
    },
  );

  it('refuses a list query with an unknown filter value', async () => {
    const res = await call(node.url, 'GET', '/v1/requests?status=lost', { token: officer });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('schema_invalid');
    expect(res.body.errors[0].path).toBe('/status');
  });
});
