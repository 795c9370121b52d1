// Erasure of a request's personal content between two live nodes: a whole identification request
// (marker strings in the subject, the response's records and a file) is run to closure, erased at
// A, and then looked for everywhere A holds data (every Postgres table as text, tokens decoded,
// file bytes as hex; Temporal's histories): gone, while the audit log, its checkpoints and the
// request's evidence bundle still verify. Open requests are refused without a change, other roles
// get 403, and the retention sweep erases what its policy says and nothing else.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle, type TrustAnchors } from '../../audit/verify-bundle.js';
import { integrateAudit } from '../../db/audit.js';
import { EvidenceBundle } from '../../schemas/evidence.js';
import { ErasureView, RequestDetailView } from '../../schemas/requests-api.js';
import { resultsSubject, r0412 } from '../fixtures/domain/identifications.js';
import { subjectFor, notFoundFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { writeTestPolicy } from '../helpers/policy.js';
import type { RequestType } from '../../schemas/common.js';

const DAY = 86_400;
let a: TestNode;
let b: TestNode;
let trust: TrustAnchors;

async function detail(node: TestNode, id: string): Promise<RequestDetailView | undefined> {
  const res = await call(node.url, 'GET', `/v1/requests/${id}`, {
    token: await node.token('officer', 'officer-x'),
  });
  return res.status === 200 ? RequestDetailView.parse(res.body) : undefined;
}
const until = (node: TestNode, id: string, pred: (r: RequestDetailView) => boolean, what: string) =>
  eventually(
    async () => {
      const r = await detail(node, id);
      return r && pred(r) ? r : undefined;
    },
    60_000,
    `${node.config.partyId}: ${what}`,
  );

/** Waits until the request's workflow at `node` has finished (nothing more will be exchanged). */
const workflowDone = (node: TestNode, id: string) =>
  eventually(
    async () => {
      const d = await node.temporal.client.workflow.getHandle(`request-${id}`).describe();
      return d.status.name === 'RUNNING' ? undefined : d.status.name;
    },
    60_000,
    `${node.config.partyId}: workflow of ${id} ended`,
  );

async function act(node: TestNode, id: string, action: string, json: unknown, sub: string) {
  const res = await call(node.url, 'POST', `/v1/requests/${id}/${action}`, {
    token: await node.token('officer', sub),
    json,
  });
  expect(res.status, `${action}: ${JSON.stringify(res.body)}`).toBe(200);
  return res.body as { msgId: string };
}

async function create(type: RequestType, subject: unknown): Promise<string> {
  const res = await call(a.url, 'POST', '/v1/requests', {
    token: await a.token('officer', 'officer-amira'),
    json: { type, counterparty: 'party-b', priority: 'routine', subject },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

/** A request of `type` answered with `response` and closed (accepted) on both sides. */
async function closed(type: RequestType, subject: unknown, response: unknown): Promise<string> {
  const id = await create(type, subject);
  await until(b, id, (r) => r.status === 'delivered', 'delivered');
  await act(b, id, 'acknowledge', {}, 'officer-bogdan');
  await act(b, id, 'responses', response, 'officer-bogdan');
  await until(a, id, (r) => r.status === 'answered', 'answered');
  await act(a, id, 'close', { outcome: 'accepted' }, 'officer-amira');
  await until(b, id, (r) => r.status === 'closed', 'closed at B');
  await workflowDone(a, id);
  return id;
}

async function erase(node: TestNode, id: string, role: 'admin' | 'officer' | 'supervisor') {
  return call(node.url, 'POST', `/v1/admin/requests/${id}/erase`, {
    token: await node.token(role, `${role}-erin`),
  });
}

/**
 * Every place in A's database where `marker` appears: each table's rows as text, the payloads of
 * the signed tokens in them decoded, and bytea (file bytes) as Postgres prints it (hex).
 */
async function findInPostgres(node: TestNode, marker: string): Promise<string[]> {
  const pool = node.database.pool;
  const { rows: tables } = await pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const hex = Buffer.from(marker, 'utf8').toString('hex');
  const found: string[] = [];
  for (const { table_name } of tables) {
    const { rows } = await pool.query<{ row: string }>(
      `SELECT t::text AS row FROM "${table_name.replaceAll('"', '""')}" t`,
    );
    for (const { row } of rows) {
      const decoded = [...row.matchAll(/[\w-]{8,}\.([\w-]{8,})\.[\w-]{8,}/g)].map((m) =>
        Buffer.from(m[1]!, 'base64url').toString('utf8'),
      );
      if ([row, ...decoded].some((t) => t.includes(marker)) || row.includes(hex))
        found.push(table_name);
    }
  }
  return [...new Set(found)];
}

async function historyGone(node: TestNode, id: string): Promise<boolean> {
  try {
    await node.temporal.client.workflow.getHandle(`request-${id}`).fetchHistory();
    return false;
  } catch (err) {
    return /not ?found/i.test(`${(err as Error).name} ${(err as Error).message}`);
  }
}

beforeAll(async () => {
  const file = await writeTestPolicy();
  const policy = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  // Identification results kept a day after closure, mine maps ten; grave information kept.
  policy.retention = {
    identification_result: { after_closure_seconds: DAY },
    mine_map: { after_closure_seconds: 10 * DAY, after_other_end_seconds: DAY },
  };
  await fs.writeFile(file, JSON.stringify(policy));
  const env = {
    DELIVERY_MAX_BACKOFF_SECONDS: '1',
    AUDIT_CHECKPOINT_SECONDS: '1',
    ATTACHMENT_MEDIA_TYPES: 'text/plain,application/pdf',
    PARLEY_POLICY_FILE: file,
    RETENTION_SWEEP_SECONDS: '0',
  };
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', env }),
    startTestNode({ partyId: 'party-b', env }),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
  const kids = async (node: TestNode) =>
    ((await call(node.url, 'GET', '/.well-known/jwks.json')).body.keys as { kid: string }[]).map(
      (k) => k.kid,
    );
  trust = { 'party-a': await kids(a), 'party-b': await kids(b) };
}, 180_000);
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
});

describe('erasing a closed request', () => {
  const marker = `ERASEME${crypto.randomBytes(5).toString('hex').toUpperCase()}`;
  const file = Buffer.from(`Identification report for case MP-${marker}: remains identified.\n`);
  const sha256 = crypto.createHash('sha256').update(file).digest('hex');
  let id: string;

  it('removes the subject, records, file and histories everywhere, and keeps the proof', async () => {
    const subject = structuredClone<typeof resultsSubject>(resultsSubject);
    subject.title = `Identification results ${marker}`;
    subject.items = [
      { item_id: 'case-1', kind: 'case', case_id: `MP-${marker}` },
      { item_id: 'remains-1', kind: 'remains', remains_id: `R-${marker}` },
    ];
    const record = structuredClone(r0412) as Record<string, unknown>;
    record.case_id = `MP-${marker}`;
    record.report = {
      reported_on: '2025-02-11',
      confirmed_by: `Pathologist ${marker}`,
      attachment: {
        ref: `sha256:${sha256}`,
        media_type: 'text/plain',
        file_name: `report-${marker}.txt`,
      },
    };
    const put = await fetch(`${b.url}/v1/attachments/sha256:${sha256}`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${await b.token('officer', 'officer-bogdan')}`,
        'content-type': 'text/plain',
      },
      body: file,
    });
    expect(put.status).toBe(201);
    id = await closed('identification_result', subject, {
      final: true,
      records: [record],
      outcomes: [
        { item_id: 'case-1', outcome: 'found' },
        { item_id: 'remains-1', outcome: 'not_found' },
      ],
      note: `Family of ${marker} informed.`,
    });
    // The search finds what is there: every kind of place holds the markers before.
    const before = await findInPostgres(a, marker);
    expect(before).toEqual(
      expect.arrayContaining(['requests', 'inbox_messages', 'outbox_messages', 'attachments']),
    );
    expect(await historyGone(a, id)).toBe(false);
    const auditBefore = (await a.database.pool.query('SELECT count(*)::int AS n FROM audit_log'))
      .rows[0].n as number;

    const res = await erase(a, id, 'admin');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const erased = ErasureView.parse(res.body);
    expect(erased).toMatchObject({ requestId: id, state: 'erased', trigger: 'admin' });
    expect(erased.by).toBe('admin-erin');
    expect(erased.attachments).toEqual([sha256]);
    expect(erased.messages.length).toBeGreaterThanOrEqual(3);

    expect(await findInPostgres(a, marker)).toEqual([]);
    // Temporal deletes a closed workflow's history in a background task of its own: seconds on a
    // quiet machine, longer on a loaded one.
    await eventually(
      async () => ((await historyGone(a, id)) ? true : undefined),
      120_000,
      'the request’s Temporal history deleted',
    );
    // The file's bytes are gone: the officers' download finds nothing.
    const fetched = await call(a.url, 'GET', `/v1/attachments/sha256:${sha256}`, {
      token: await a.token('officer', 'officer-amira'),
    });
    expect(fetched.status).toBe(404);

    // The request as officers now see it: erased, no subject, its timeline with ids and digests.
    const after = (await detail(a, id))!;
    expect(after.subject).toBeNull();
    expect(after.status).toBe('closed');
    expect(after.erasure).toMatchObject({ trigger: 'admin' });
    expect(after.timeline.at(-1)).toMatchObject({ type: 'erased', actor: 'admin-erin' });
    // The timeline keeps the digests of the messages whose bodies went (a reminder the node sent
    // meanwhile may be among them, in any place of the list).
    expect(after.timeline.some((e) => erased.messages.includes(e.detail.digest as string))).toBe(
      true,
    );

    // The log grew by the erasure (an event and its entry), and still checks out whole.
    const entries = await a.database.pool.query<{ entry: string }>(
      'SELECT entry FROM audit_log WHERE idx >= $1 ORDER BY idx',
      [auditBefore],
    );
    const logged = entries.rows.map((r) => JSON.parse(r.entry) as Record<string, unknown>);
    const entry = logged.find((e) => e.type === 'request_erased')!;
    expect(entry).toMatchObject({ req_id: id, trigger: 'admin', attachments: [sha256] });
    expect(JSON.stringify(logged)).not.toContain(marker);
    const verified = await call(a.url, 'GET', '/v1/audit/verify', {
      token: await a.token('supervisor'),
    });
    expect(verified.body).toMatchObject({ ok: true, problems: [] });
    await eventually(
      async () => {
        const r = await call(a.url, 'POST', '/v1/audit/checkpoints', {
          token: await a.token('admin'),
        });
        return r.status < 300 && (r.body as { size: number }).size > auditBefore ? r : undefined;
      },
      20_000,
      'a checkpoint over the erasure',
    );

    // Its evidence still proves who sent what and when, by digest, offline.
    const ev = await call(a.url, 'GET', `/v1/requests/${id}/evidence`, {
      token: await a.token('admin'),
    });
    expect(ev.status, JSON.stringify(ev.body)).toBe(200);
    expect(JSON.stringify(ev.body)).not.toContain(marker);
    const bundle = EvidenceBundle.parse(ev.body);
    expect(bundle.envelopes.every((e) => 'withheld' in e && e.withheld === 'erased')).toBe(true);
    const report = await verifyBundle(bundle, trust);
    expect(report.verdicts.filter((v) => !v.ok)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checked.digest).toBeGreaterThanOrEqual(erased.messages.length);

    // Erasing again is the same answer, and changes nothing.
    const again = await erase(a, id, 'admin');
    expect(again.status).toBe(200);
    expect(again.body).toEqual(res.body);
    // The partner keeps its own copy: erasure is this node's.
    expect((await detail(b, id))?.subject).not.toBeNull();
  }, 240_000);

  it('is an admin’s action only', async () => {
    for (const role of ['officer', 'supervisor'] as const) {
      const res = await erase(a, id, role);
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbidden');
    }
    expect((await erase(a, '01JBXKQ6W3V2Z8N4PRT5YHGM9A', 'admin')).body.code).toBe(
      'request_not_found',
    );
  });
});

describe('an open request', () => {
  it('is refused request_open, and nothing changes', async () => {
    const id = await create('grave_information', subjectFor('grave_information'));
    await until(b, id, (r) => r.status === 'delivered', 'delivered');
    // A's view once it holds B's receipt: nothing else happens to the request until it is acted on.
    await until(a, id, (r) => r.status === 'delivered', 'delivered at A');
    const before = await detail(a, id);
    // The request's own entries (the log as a whole also grows by witnessed checkpoints).
    const auditSize = async () => {
      await integrateAudit(a.database.pool);
      return (
        await a.database.pool.query('SELECT count(*)::int AS n FROM audit_log WHERE req_id = $1', [
          id,
        ])
      ).rows[0].n as number;
    };
    const sizeBefore = await auditSize();
    const res = await erase(a, id, 'admin');
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('request_open');
    expect(await detail(a, id)).toEqual(before);
    expect(await auditSize()).toBe(sizeBefore);
    expect(
      (await a.database.pool.query('SELECT 1 FROM request_erasures WHERE req_id = $1', [id]))
        .rowCount,
    ).toBe(0);
    expect(await historyGone(a, id)).toBe(false);
    // Once withdrawn (and settled with the partner), it can be.
    await act(a, id, 'withdraw', {}, 'officer-amira');
    await workflowDone(a, id);
    expect((await erase(a, id, 'admin')).status).toBe(200);
  });
});

describe('the retention sweep', () => {
  it('erases a request whose retention passed and keeps one whose retention has not', async () => {
    const identification = await closed(
      'identification_result',
      subjectFor('identification_result'),
      notFoundFor('identification_result'),
    );
    const mineMap = await closed('mine_map', subjectFor('mine_map'), notFoundFor('mine_map'));
    const grave = await closed(
      'grave_information',
      subjectFor('grave_information'),
      notFoundFor('grave_information'),
    );
    const open = await create('identification_result', subjectFor('identification_result'));

    // Two days on: the identification request's day has passed, the mine map's ten days have not,
    // grave information has no retention, and an open request is never erased by the sweep.
    const twoDaysOn = new Date(Date.now() + 2 * DAY * 1000);
    const pass = await a.retention.sweep(twoDaysOn);
    expect(pass.erased).toContain(identification);
    for (const kept of [mineMap, grave, open]) expect(pass.erased).not.toContain(kept);
    expect((await detail(a, identification))?.erasure).toMatchObject({ trigger: 'retention' });
    expect((await detail(a, mineMap))?.subject).not.toBeNull();
    expect((await detail(a, grave))?.subject).not.toBeNull();
    expect((await detail(a, open))?.subject).not.toBeNull();

    // Eleven days on, the mine map goes too; nothing is erased twice.
    const later = await a.retention.sweep(new Date(Date.now() + 11 * DAY * 1000));
    expect(later.erased).toContain(mineMap);
    expect(later.erased).not.toContain(identification);
    expect(later.erased).not.toContain(grave);
    expect((await detail(a, mineMap))?.erasure).toMatchObject({ trigger: 'retention' });
  });
});
