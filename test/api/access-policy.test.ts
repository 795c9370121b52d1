// One access policy on every route, and the read audit, between two live nodes: for each request
// type and role, what the request detail, the list, a stored message, a file, the GeoJSON export
// and the evidence bundle show; a supervisor's evidence bundle of an identification request holds
// none of its personal data and still verifies offline, by digest; every read of content is in
// the access log with its route and request, refused reads are not; only admins list the log.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle, type TrustAnchors } from '../../audit/verify-bundle.js';
import type { RequestType, Role } from '../../schemas/common.js';
import { EvidenceBundle } from '../../schemas/evidence.js';
import { REPORT_R0412 } from '../fixtures/domain/attachments.js';
import { r0412, resultsSubject } from '../fixtures/domain/identifications.js';
import { finalFor, subjectFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { registerPartner } from '../helpers/partners.js';
import { uploadFixtures, untilIn } from '../helpers/requests.js';

let a: TestNode;
let b: TestNode;
let trust: TrustAnchors;
const ids = {} as Record<RequestType, string>;
const TYPES: RequestType[] = ['mine_map', 'grave_information', 'identification_result'];
const ROLES: Role[] = ['officer', 'supervisor', 'admin'];

/** Who may see the content of each type, as the README's "Who sees what" says. */
const SEES_CONTENT: Record<RequestType, Role[]> = {
  mine_map: ['officer', 'supervisor', 'admin'],
  grave_information: ['officer', 'supervisor'],
  identification_result: ['officer'],
};

/** The identification request's personal data: none of it may reach a role without content. */
const ID_MARKERS = [
  'MP-2024-00123',
  'MP-2024-00187',
  'R-2024-0457',
  'R-2024-0412',
  'Regional Forensic DNA Laboratory',
  'Family consent for MP pending',
  'identification_report',
];
const identificationFinal = {
  final: true,
  records: [r0412],
  outcomes: [
    { item_id: 'case-1', outcome: 'found' },
    { item_id: 'case-2', outcome: 'withheld', reason: 'Family consent for MP pending' },
    { item_id: 'remains-1', outcome: 'not_found' },
  ],
};

const run = promisify(execFile);
const reader = (role: Role) => `${role}-reader`;
const tokenOf = (node: TestNode, role: Role) => node.token(role, reader(role));

async function accessLog(query: string) {
  const res = await call(a.url, 'GET', `/v1/admin/access-log${query}`, {
    token: await a.token('admin', 'auditing-admin'),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as {
    items: {
      id: string;
      sub: string;
      roles: string[];
      route: string;
      reqId: string | null;
      parts: string[];
      ref: string | null;
      at: string;
    }[];
    nextCursor: string | null;
  };
}

beforeAll(async () => {
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1', ATTACHMENT_MEDIA_TYPES: 'text/plain' };
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

  const officerB = await b.token('officer', 'officer-bogdan');
  for (const type of TYPES) {
    const subject = type === 'identification_result' ? resultsSubject : subjectFor(type);
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: await a.token('officer', 'officer-amira'),
      json: { type, counterparty: 'party-b', priority: 'routine', subject },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    ids[type] = created.body.id as string;
  }
  for (const type of TYPES) {
    const id = ids[type];
    await untilIn(b, id, 'delivered');
    const ack = await call(b.url, 'POST', `/v1/requests/${id}/acknowledge`, {
      token: officerB,
      json: {},
    });
    expect(ack.status, JSON.stringify(ack.body)).toBe(200);
    const body = type === 'identification_result' ? identificationFinal : finalFor(type);
    await uploadFixtures(b, officerB, body);
    const answered = await call(b.url, 'POST', `/v1/requests/${id}/responses`, {
      token: officerB,
      json: body,
    });
    expect(answered.status, JSON.stringify(answered.body)).toBe(200);
    // The action's answer holds the request in its summary form only.
    expect(JSON.stringify(answered.body.request.subject)).not.toMatch(/MP-20|R-20/);
  }
  for (const type of TYPES) await untilIn(a, ids[type], 'answered');
}, 180_000);
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
});

describe.each(TYPES)('a %s request', (type) => {
  it.each(ROLES)('shows %s what the policy allows on every route', async (role) => {
    const id = ids[type];
    const token = await tokenOf(a, role);
    const content = SEES_CONTENT[type].includes(role);

    // The request itself: officers and supervisors; content or the summary form.
    const detail = await call(a.url, 'GET', `/v1/requests/${id}`, { token });
    if (role === 'admin') expect([detail.status, detail.body.code]).toEqual([403, 'forbidden']);
    else {
      expect(detail.status).toBe(200);
      const items = detail.body.subject.items as Record<string, unknown>[];
      if (content) expect(items.some((i) => Object.keys(i).length > 2)).toBe(true);
      else expect(items.every((i) => Object.keys(i).sort().join() === 'item_id,kind')).toBe(true);
      // The bodies of the messages exchanged (here B's response with its records): officers only.
      const messages = detail.body.messages as { kind: string; from: string }[] | undefined;
      if (role === 'officer')
        expect(messages?.map((m) => `${m.kind} from ${m.from}`)).toEqual(['response from partner']);
      else expect(messages).toBeUndefined();
      if (type === 'identification_result') {
        const withheld = (detail.body.coverage as { reason?: string }[]).find(
          (c) => c.reason !== undefined,
        );
        expect(withheld?.reason !== undefined).toBe(content);
        if (!content)
          for (const m of ID_MARKERS) expect(JSON.stringify(detail.body)).not.toContain(m);
      }
    }

    // The list: every request in its summary form, for every role that lists.
    const list = await call(a.url, 'GET', '/v1/requests', { token });
    if (role === 'admin') expect(list.status).toBe(403);
    else
      for (const r of list.body.items as { subject: { items: object[] } }[])
        for (const i of r.subject.items) expect(Object.keys(i).sort()).toEqual(['item_id', 'kind']);

    // The evidence bundle: full to a role that may see the content, by digest to the others.
    const ev = await call(a.url, 'GET', `/v1/requests/${id}/evidence`, { token });
    expect(ev.status, JSON.stringify(ev.body)).toBe(200);
    const bundle = EvidenceBundle.parse(ev.body);
    expect(bundle.manifest.content).toBe(content ? 'full' : 'digests');
    expect(bundle.envelopes.every((e) => 'token' in e === content)).toBe(true);
    const report = await verifyBundle(bundle, trust);
    expect(report.verdicts.filter((v) => !v.ok)).toEqual([]);
    const envelopeVerdicts = report.verdicts.filter((v) => v.item.startsWith('envelope '));
    expect(envelopeVerdicts.length).toBe(bundle.envelopes.length);
    for (const v of envelopeVerdicts) expect(v.checked).toBe(content ? 'full' : 'digest');

    // A stored message (A's request message): admins only; its token and payload with content.
    const { rows } = await a.database.pool.query<{ msg_id: string }>(
      "SELECT msg_id FROM outbox_messages WHERE req_id = $1 AND kind = 'request'",
      [id],
    );
    const message = await call(a.url, 'GET', `/v1/messages/${rows[0]!.msg_id}`, { token });
    if (role !== 'admin') expect([message.status, message.body.code]).toEqual([403, 'forbidden']);
    else {
      expect(message.status).toBe(200);
      expect(message.body).toMatchObject({ msgId: rows[0]!.msg_id, kind: 'request', reqId: id });
      expect('token' in message.body).toBe(content);
      expect(message.body.withheld).toBe(content ? undefined : 'access_policy');
    }

    // The file of the identification record: only to who may see the content.
    if (type === 'identification_result') {
      const file = await fetch(`${a.url}/v1/attachments/sha256:${REPORT_R0412.sha256}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(file.status).toBe(content ? 200 : 403);
    }
    // The map exports (mine-map records, burial sites): officers only; none of an identification.
    if (type !== 'identification_result') {
      const geo = await call(a.url, 'GET', `/v1/requests/${id}/geojson`, { token });
      expect(geo.status).toBe(role === 'officer' ? 200 : 403);
    }
    if (type === 'grave_information') {
      const gpkg = await fetch(`${a.url}/v1/requests/${id}/export.gpkg`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(gpkg.status).toBe(role === 'officer' ? 200 : 403);
    } else if (type === 'identification_result' && role === 'officer') {
      const none = await call(a.url, 'GET', `/v1/requests/${id}/export.gpkg`, { token });
      expect([none.status, none.body.code]).toEqual([404, 'not_found']);
    }
  });
});

describe('the evidence bundle of an identification request fetched by a supervisor', () => {
  it('holds none of its personal data and verifies offline, every envelope by digest', async () => {
    const res = await call(a.url, 'GET', `/v1/requests/${ids.identification_result}/evidence`, {
      token: await a.token('supervisor', 'sup-evidence'),
    });
    expect(res.status).toBe(200);
    const text = JSON.stringify(res.body);
    for (const m of ID_MARKERS) expect(text).not.toContain(m);
    // Nor in the base64url of the payloads: there are no payloads.
    const bundle = EvidenceBundle.parse(res.body);
    expect(bundle.envelopes.length).toBeGreaterThanOrEqual(3);
    expect(bundle.attachments).toEqual([]);
    const report = await verifyBundle(bundle, trust);
    expect(report.ok).toBe(true);
    expect(report.checked.full).toBe(bundle.receipts.length);
    expect(report.checked.digest).toBe(bundle.envelopes.length);
    // The command a third party runs says which items it checked by digest only.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-evidence-'));
    const file = path.join(dir, 'evidence.json');
    await fs.writeFile(file, JSON.stringify(res.body));
    const trustArgs = Object.entries(trust).flatMap(([p, k]) => ['--trust', `${p}=${k.join(',')}`]);
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'cli/parley.ts', 'evidence', 'verify', file, ...trustArgs],
      { env: { PATH: process.env.PATH ?? '' } },
    );
    await fs.rm(dir, { recursive: true, force: true });
    expect(stdout).toContain('VERIFIED');
    expect(
      stdout.split('\n').filter((l) => /^ok {4}envelope .* \[digest only\]: /.test(l)),
    ).toHaveLength(bundle.envelopes.length);
    expect(stdout).toContain(
      `checked fully (signature and payload): ${bundle.receipts.length}; by digest only (content withheld or erased; proven by the log): ${bundle.envelopes.length}.`,
    );
    // The officer's bundle of the same request carries the content, checked fully.
    const full = await call(a.url, 'GET', `/v1/requests/${ids.identification_result}/evidence`, {
      token: await a.token('officer', 'officer-evidence'),
    });
    const fullReport = await verifyBundle(full.body, trust);
    expect(fullReport.ok).toBe(true);
    expect(fullReport.checked.digest).toBe(0);
    // An officer may ask for the digest-only bundle too, to hand to a third party.
    const asked = await call(
      a.url,
      'GET',
      `/v1/requests/${ids.identification_result}/evidence?content=digests`,
      { token: await a.token('officer', 'officer-evidence') },
    );
    expect(asked.body.manifest.content).toBe('digests');
  });
});

describe('the access log', () => {
  it('holds every read of content with its route and request, and no refused read', async () => {
    const expected: { type: RequestType; route: string; role: Role }[] = [];
    for (const type of TYPES)
      for (const role of SEES_CONTENT[type]) {
        if (role !== 'admin') expected.push({ type, route: 'GET /v1/requests/:id', role });
        expected.push({ type, route: 'GET /v1/requests/:id/evidence', role });
        if (role === 'admin') expected.push({ type, route: 'GET /v1/messages/:ref', role });
        if (type === 'identification_result')
          expected.push({ type, route: 'GET /v1/attachments/:id', role });
        if (type !== 'identification_result' && role === 'officer')
          expected.push({ type, route: 'GET /v1/requests/:id/geojson', role });
        if (type === 'grave_information' && role === 'officer')
          expected.push({ type, route: 'GET /v1/requests/:id/export.gpkg', role });
      }
    for (const type of TYPES) {
      const rows = (await accessLog(`?request=${ids[type]}&limit=500`)).items.filter((r) =>
        ROLES.some((role) => r.sub === reader(role)),
      );
      const seen = rows.map((r) => `${r.route} ${r.sub}`).sort();
      const want = expected
        .filter((e) => e.type === type)
        .map((e) => `${e.route} ${reader(e.role)}`)
        .sort();
      expect(seen, type).toEqual(want);
      for (const r of rows) {
        expect(r.reqId).toBe(ids[type]);
        expect(r.roles).toEqual([r.sub.replace('-reader', '')]);
        expect(r.parts.length).toBeGreaterThan(0);
      }
    }
    // The records hold ids and part names, never what was read.
    const all = JSON.stringify(await accessLog('?limit=500'));
    for (const m of ID_MARKERS) expect(all).not.toContain(m);
  });

  it('records nothing for a refused read: wrong role, unknown id', async () => {
    const before = (await accessLog('?limit=1')).items[0]?.id;
    const sup = await a.token('supervisor', 'refused-sup');
    const off = await a.token('officer', 'refused-officer');
    const refused = [
      await call(a.url, 'GET', `/v1/requests/01ARZ3NDEKTSV4RRFFQ69G5FAV`, { token: off }),
      await call(a.url, 'GET', `/v1/requests/01ARZ3NDEKTSV4RRFFQ69G5FAV/evidence`, { token: off }),
      await call(a.url, 'GET', `/v1/requests/${ids.mine_map}/geojson`, { token: sup }),
      await call(a.url, 'GET', `/v1/attachments/sha256:${REPORT_R0412.sha256}`, { token: sup }),
      await call(a.url, 'GET', `/v1/attachments/sha256:${'1'.repeat(64)}`, { token: off }),
      await call(a.url, 'GET', `/v1/messages/${'2'.repeat(64)}`, {
        token: await a.token('admin', 'refused-admin'),
      }),
    ];
    expect(refused.map((r) => r.status)).toEqual([404, 404, 403, 403, 404, 404]);
    // A read of no content (the supervisor's view of an identification request) is not one either.
    expect(
      (await call(a.url, 'GET', `/v1/requests/${ids.identification_result}`, { token: sup }))
        .status,
    ).toBe(200);
    expect((await accessLog('?limit=1')).items[0]?.id).toBe(before);
  });

  it('records codec decodes by an admin, by payload count', async () => {
    const payload = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from('"hello"').toString('base64'),
    };
    const res = await call(a.url, 'POST', '/codec/decode', {
      token: await a.token('admin', 'codec-admin'),
      json: { payloads: [payload, payload] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const { items } = await accessLog('?subject=codec-admin');
    expect(items).toEqual([
      expect.objectContaining({
        route: 'POST /codec/decode',
        reqId: null,
        parts: ['temporal_payloads'],
        ref: 'payloads:2',
      }),
    ]);
  });

  it('is listed to admins only, filtered and paged', async () => {
    for (const role of ['officer', 'supervisor'] as const) {
      const res = await call(a.url, 'GET', '/v1/admin/access-log', {
        token: await a.token(role),
      });
      expect([res.status, res.body.code]).toEqual([403, 'forbidden']);
    }
    expect((await call(a.url, 'GET', '/v1/admin/access-log')).status).toBe(401);
    for (const bad of ['?limit=0', '?request=nope', '?since=yesterday', '?colour=red']) {
      const res = await call(a.url, 'GET', `/v1/admin/access-log${bad}`, {
        token: await a.token('admin'),
      });
      expect([res.status, res.body.code], bad).toEqual([400, 'schema_invalid']);
    }
    const officerReads = await accessLog(`?subject=${reader('officer')}&limit=500`);
    expect(officerReads.items.length).toBeGreaterThanOrEqual(6);
    expect(new Set(officerReads.items.map((r) => r.sub))).toEqual(new Set([reader('officer')]));
    // Pages of one, newest first, follow the cursor to the end without repeating a row.
    const paged: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = await accessLog(
        `?subject=${reader('officer')}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      paged.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
    }
    expect(paged).toEqual(officerReads.items.map((r) => r.id));
    const evidence = await accessLog(
      `?route=${encodeURIComponent('GET /v1/requests/:id/evidence')}&limit=500`,
    );
    expect(evidence.items.every((r) => r.route === 'GET /v1/requests/:id/evidence')).toBe(true);
    const newest = officerReads.items[0]!.at;
    const later = new Date(Date.parse(newest) + 1).toISOString();
    expect((await accessLog(`?subject=${reader('officer')}&since=${later}`)).items).toEqual([]);
    expect(
      (await accessLog(`?subject=${reader('officer')}&until=${later}&limit=500`)).items.length,
    ).toBe(officerReads.items.length);
  });
});

describe('a read whose record cannot be stored', () => {
  it('is refused: no content leaves without its record', async () => {
    const pool = a.database.pool;
    await pool.query(`CREATE FUNCTION refuse_reads() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'no room for the record'; END; $$`);
    await pool.query(
      'CREATE TRIGGER refuse_reads BEFORE INSERT ON access_log FOR EACH ROW EXECUTE FUNCTION refuse_reads()',
    );
    try {
      const officer = await a.token('officer', 'unrecorded');
      for (const path of [
        `/v1/requests/${ids.identification_result}`,
        `/v1/requests/${ids.identification_result}/evidence`,
        `/v1/attachments/sha256:${REPORT_R0412.sha256}`,
      ]) {
        const res = await call(a.url, 'GET', path, { token: officer });
        expect(res.status, path).toBe(500);
        expect(res.body.code).toBe('internal');
        for (const m of ID_MARKERS) expect(JSON.stringify(res.body)).not.toContain(m);
      }
      // What holds no content is answered as before.
      const sup = await a.token('supervisor', 'unrecorded');
      expect(
        (await call(a.url, 'GET', `/v1/requests/${ids.identification_result}`, { token: sup }))
          .status,
      ).toBe(200);
    } finally {
      await pool.query('DROP TRIGGER refuse_reads ON access_log');
      await pool.query('DROP FUNCTION refuse_reads()');
    }
    expect((await accessLog('?subject=unrecorded')).items).toEqual([]);
  });
});

describe('an erased envelope', () => {
  it('comes out of the bundle by digest whoever asks, and the bundle still verifies', async () => {
    // Erasure (another part of the node) leaves no token: here a marker stands in its place.
    const id = ids.grave_information;
    await a.database.pool.query(
      `UPDATE outbox_versions SET token = 'erased' WHERE msg_id IN
         (SELECT msg_id FROM outbox_messages WHERE req_id = $1 AND kind = 'request')`,
      [id],
    );
    const res = await call(a.url, 'GET', `/v1/requests/${id}/evidence`, {
      token: await a.token('officer', 'after-erasure'),
    });
    const bundle = EvidenceBundle.parse(res.body);
    const erased = bundle.envelopes.filter((e) => 'withheld' in e);
    expect(erased).toEqual([expect.objectContaining({ direction: 'sent', withheld: 'erased' })]);
    const report = await verifyBundle(bundle, trust);
    expect(report.verdicts.filter((v) => !v.ok)).toEqual([]);
    expect(report.checked.digest).toBe(1);
    expect(report.verdicts.find((v) => v.checked === 'digest')?.detail).toMatch(/erased/);
  });

  it('is shown to admins by its ids and digest only, and its read is not recorded', async () => {
    const { rows } = await a.database.pool.query<{ msg_id: string; digest: string }>(
      `UPDATE outbox_messages SET token = NULL, erased_at = now()
       WHERE req_id = $1 AND kind = 'request' RETURNING msg_id, digest`,
      [ids.mine_map],
    );
    const res = await call(a.url, 'GET', `/v1/messages/${rows[0]!.msg_id}`, {
      token: await a.token('admin', 'admin-after-erasure'),
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ digest: rows[0]!.digest, withheld: 'erased' });
    expect(res.body).not.toHaveProperty('token');
    expect(res.body).not.toHaveProperty('payload');
    expect((await accessLog('?subject=admin-after-erasure')).items).toEqual([]);
  });
});
