// The publication list between two live nodes (README, _Consent scopes_): B answers A's
// identification request with three records, one the family agreed to publish, one for the
// mediator, one with no consent. Both nodes list the same one record, in its published form, to
// every role; nothing else of the response leaves; each read is in the access log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../schemas/common.js';
import { PublishedIdentification } from '../../schemas/publication-api.js';
import { r0412, r0430, r0457, resultsSubject } from '../fixtures/domain/identifications.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { uploadFixtures, untilIn } from '../helpers/requests.js';

let a: TestNode;
let b: TestNode;
let reqId: string;
let responseMsgId: string;

const CONSENT = { scope: 'publication', given_by: 'family', given_on: '2025-02-21' } as const;
const answer = {
  final: true,
  records: [
    { ...r0457, consent: { scope: 'mediator', given_by: 'holder' } },
    { ...r0412, consent: CONSENT },
    r0430,
  ],
  outcomes: [
    { item_id: 'case-1', outcome: 'found' },
    { item_id: 'case-2', outcome: 'found' },
    { item_id: 'remains-1', outcome: 'found' },
  ],
};
/** The response's personal data beyond the published form: none of it may be listed. */
const NOT_PUBLISHED = [
  'R-2024-0457',
  'R-2024-0430',
  'MP-2024-00187',
  'GS-031',
  'Regional Forensic DNA Laboratory',
  'Regional forensic mortuary',
  'Chief forensic pathologist',
  'Valea Rece',
  'Wristwatch',
];

async function published(node: TestNode, role: Role, query = '') {
  return call(node.url, 'GET', `/v1/publication/identifications${query}`, {
    token: await node.token(role, `${role}-publisher`),
  });
}

beforeAll(async () => {
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1' };
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', env }),
    startTestNode({ partyId: 'party-b', env }),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
  const created = await call(a.url, 'POST', '/v1/requests', {
    token: await a.token('officer', 'officer-amira'),
    json: {
      type: 'identification_result',
      counterparty: 'party-b',
      priority: 'routine',
      subject: resultsSubject,
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  reqId = created.body.id as string;
  await untilIn(b, reqId, 'delivered');
  const officerB = await b.token('officer', 'officer-bogdan');
  await uploadFixtures(b, officerB, answer);
  const answered = await call(b.url, 'POST', `/v1/requests/${reqId}/responses`, {
    token: officerB,
    json: answer,
  });
  expect(answered.status, JSON.stringify(answered.body)).toBe(200);
  responseMsgId = answered.body.msgId as string;
  await untilIn(a, reqId, 'answered');
}, 180_000);
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
});

describe('the publication list', () => {
  it('lists, on both nodes, only the record the family agreed to publish, in its published form', async () => {
    const atA = await published(a, 'supervisor');
    expect(atA.status, JSON.stringify(atA.body)).toBe(200);
    const items = PublishedIdentification.array().parse(atA.body.items);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      requestId: reqId,
      msgId: responseMsgId,
      signedBy: 'party-b',
      record: {
        remains_id: 'R-2024-0412',
        case_id: 'MP-2024-00123',
        conclusion: 'identified',
        reported_on: '2025-02-11',
        handover: { kind: 'repatriation', status: 'planned', date: '2027-01-15' },
        family_notified: true,
        consent: CONSENT,
      },
    });
    for (const s of NOT_PUBLISHED) expect(JSON.stringify(atA.body)).not.toContain(s);
    // B lists the same, once it holds A's receipt of the response: both sides agree.
    const atB = await eventually(
      async () => {
        const res = await published(b, 'supervisor');
        return res.status === 200 && (res.body.items as unknown[]).length > 0 ? res : undefined;
      },
      30_000,
      'B holding A’s receipt of the response',
    );
    expect(atB.body).toEqual(atA.body);
    // The digest is the response envelope's, as A took it in.
    const { rows } = await a.database.pool.query<{ digest: string }>(
      'SELECT digest FROM inbox_messages WHERE msg_id = $1',
      [responseMsgId],
    );
    expect(items[0]!.digest).toBe(rows[0]!.digest);
  });

  it('gives it to every role that follows requests, while the records stay officers’ elsewhere', async () => {
    const bySupervisor = await published(a, 'supervisor');
    for (const role of ['officer', 'admin'] as const) {
      const res = await published(a, role);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual(bySupervisor.body);
    }
    // The supervisor's request detail still holds no record (identification: officers only).
    const detail = await call(a.url, 'GET', `/v1/requests/${reqId}`, {
      token: await a.token('supervisor', 'supervisor-publisher'),
    });
    expect(detail.status).toBe(200);
    expect(detail.body.messages).toBeUndefined();
    expect(JSON.stringify(detail.body)).not.toContain('R-2024-0412');
  });

  it('filters by conclusion and refuses what does not fit', async () => {
    const identified = await published(a, 'officer', '?conclusion=identified');
    expect((identified.body.items as unknown[]).length).toBe(1);
    // r0430 is excluded, but without a consent to publication: not listed.
    const excluded = await published(a, 'officer', '?conclusion=excluded');
    expect(excluded.status).toBe(200);
    expect(excluded.body.items).toEqual([]);
    const none = await published(a, 'officer', '?limit=1');
    expect((none.body.items as unknown[]).length).toBe(1);
    for (const q of ['?conclusion=found', '?limit=0', '?limit=1001', '?scope=mediator']) {
      const res = await published(a, 'officer', q);
      expect([res.status, res.body.code], q).toEqual([400, 'schema_invalid']);
    }
    const anonymous = await call(a.url, 'GET', '/v1/publication/identifications');
    expect([anonymous.status, anonymous.body.code]).toEqual([401, 'token_missing']);
  });

  it('records each answer in the access log, by request and part, never the data', async () => {
    await published(a, 'supervisor');
    const log = await call(
      a.url,
      'GET',
      `/v1/admin/access-log?subject=supervisor-publisher&route=${encodeURIComponent('GET /v1/publication/identifications')}`,
      { token: await a.token('admin', 'auditing-admin') },
    );
    expect(log.status, JSON.stringify(log.body)).toBe(200);
    const reads = log.body.items as { reqId: string; parts: string[]; roles: string[] }[];
    expect(reads.length).toBeGreaterThan(0);
    for (const r of reads) {
      expect(r).toMatchObject({ reqId, parts: ['publication'], roles: ['supervisor'] });
      expect(JSON.stringify(r)).not.toContain('R-2024-0412');
    }
    // An answer that holds nothing is no read.
    await published(a, 'officer', '?conclusion=excluded');
    const empty = await call(
      a.url,
      'GET',
      `/v1/admin/access-log?subject=officer-publisher&route=${encodeURIComponent('GET /v1/publication/identifications')}`,
      { token: await a.token('admin', 'auditing-admin') },
    );
    const officerReads = empty.body.items as unknown[];
    // The officer's earlier answers held the record; the empty one added no read.
    expect(officerReads.length).toBe(3);
  });
});
