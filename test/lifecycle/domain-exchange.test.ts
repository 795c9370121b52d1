// What is exchanged, end to end between two live nodes, for each kind of request: the subject
// with its items, responses whose records follow their type's schema, the files they refer to
// (arriving byte for byte), the coverage matrix on both sides, refusals of responses that do not
// fit the request, and the mine-map export as a file QGIS opens.
import crypto from 'node:crypto';
import { check as checkGeojson } from '@placemarkio/check-geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '../../audit/verify-bundle.js';
import { referencedAttachments } from '../../schemas/domain/shared.js';
import type { EvidenceBundle } from '../../schemas/evidence.js';
import { RequestDetailView } from '../../schemas/requests-api.js';
import { graveExchanges } from '../fixtures/domain/graves.js';
import { identificationExchanges } from '../fixtures/domain/identifications.js';
import { mineMapExchanges } from '../fixtures/domain/mine-maps.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { uploadFixtures } from '../helpers/requests.js';

let a: TestNode;
let b: TestNode;

async function detail(node: TestNode, id: string, role: 'officer' | 'supervisor' = 'officer') {
  const res = await call(node.url, 'GET', `/v1/requests/${id}`, {
    token: await node.token(role, `${role}-x`),
  });
  return res.status === 200 ? RequestDetailView.parse(res.body) : undefined;
}
const until = (node: TestNode, id: string, pred: (r: RequestDetailView) => boolean, what: string) =>
  eventually(
    async () => {
      const r = await detail(node, id);
      return r && pred(r) ? r : undefined;
    },
    30_000,
    `${node.config.partyId}: ${what}`,
  );

/** Uploads, at `node`, the fixture files a body refers to. */
const upload = async (node: TestNode, body: unknown) =>
  uploadFixtures(node, await node.token('officer', 'officer-bogdan'), body);

beforeAll(async () => {
  // The fixtures' map sheets are SVG drawings, which a node accepts only when configured to.
  const env = {
    DELIVERY_MAX_BACKOFF_SECONDS: '1',
    ATTACHMENT_MEDIA_TYPES: 'image/svg+xml,text/plain,application/pdf',
  };
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', env }),
    startTestNode({ partyId: 'party-b', env }),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
}, 120_000);
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
});

describe.each([
  ['mine_map', mineMapExchanges[0]],
  ['grave_information', graveExchanges[0]],
  ['identification_result', identificationExchanges[0]],
] as const)('a %s exchange', (type, exchange) => {
  it('carries the subject, the records and their files, and shows every item accounted for', async () => {
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: await a.token('officer', 'officer-amira'),
      json: { type, counterparty: 'party-b', priority: 'routine', subject: exchange.subject },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    const atB = await until(b, id, (r) => r.status === 'delivered', 'request arrived');
    expect(atB.subject).toEqual(created.body.subject);
    expect(atB.coverage.map((c) => c.state)).toEqual(
      exchange.subject.items.map(() => 'outstanding'),
    );
    const officerB = await b.token('officer', 'officer-bogdan');
    expect(
      (await call(b.url, 'POST', `/v1/requests/${id}/acknowledge`, { token: officerB, json: {} }))
        .status,
    ).toBe(200);

    // A final response that leaves an item unaccounted for is refused, and nothing is sent.
    const incomplete = await call(b.url, 'POST', `/v1/requests/${id}/responses`, {
      token: officerB,
      json: { final: true, records: [], outcomes: [] },
    });
    expect(incomplete.status).toBe(422);
    expect(incomplete.body.code).toBe('response_incomplete');
    expect(incomplete.body.errors.length).toBe(exchange.subject.items.length);
    // A record covering an item the request does not have is refused too.
    const stranger = structuredClone(exchange.responses[0].body) as {
      records: { covers: string[] }[];
    };
    if (stranger.records[0]) {
      stranger.records[0].covers = ['no-such-item'];
      const refused = await call(b.url, 'POST', `/v1/requests/${id}/responses`, {
        token: officerB,
        json: stranger,
      });
      expect(refused.status).toBe(422);
    }

    const sentMsgIds: string[] = [];
    for (const { body } of exchange.responses) {
      // Files first: a response naming a file not uploaded yet is refused, and nothing is sent.
      if (referencedAttachments(body).length) {
        const early = await call(b.url, 'POST', `/v1/requests/${id}/responses`, {
          token: officerB,
          json: body,
        });
        expect(early.status).toBe(404);
        expect(early.body.code).toBe('unknown_attachment');
        await upload(b, body);
      }
      const res = await call(b.url, 'POST', `/v1/requests/${id}/responses`, {
        token: officerB,
        json: body,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(Array.isArray(res.body.clarification_items)).toBe(true);
      sentMsgIds.push(res.body.msgId as string);
    }

    const atA = await until(a, id, (r) => r.status === 'answered', 'answered at A');
    // Every item is accounted for, on both sides alike, each by the messages that did it.
    expect(atA.coverage.every((c) => c.state !== 'outstanding')).toBe(true);
    const endB = await until(b, id, (r) => r.status === 'answered', 'answered at B');
    expect(endB.coverage).toEqual(atA.coverage);
    for (const row of atA.coverage) for (const msgId of row.by) expect(sentMsgIds).toContain(msgId);

    // The records arrived as sent: A's stored messages hold B's bodies exactly.
    const { rows } = await a.database.pool.query<{ body: unknown; attachments: unknown[] }>(
      "SELECT payload->'body' AS body, payload->'attachments' AS attachments FROM inbox_messages WHERE req_id = $1 AND kind = 'response' ORDER BY received_at",
      [id],
    );
    expect(rows.map((r) => r.body)).toEqual(exchange.responses.map((r) => r.body));

    // Every file a record refers to is at A, byte for byte, and listed in the envelope.
    const officerA = await a.token('officer', 'officer-amira');
    for (const [i, { body }] of exchange.responses.entries()) {
      const refs = referencedAttachments(body);
      expect(
        (rows[i]!.attachments ?? []).map((x) => (x as { sha256: string }).sha256).sort(),
      ).toEqual([...refs].sort());
      for (const sha of refs) {
        const res = await fetch(`${a.url}/v1/attachments/sha256:${sha}`, {
          headers: { authorization: `Bearer ${officerA}` },
        });
        expect(res.status).toBe(200);
        const bytes = Buffer.from(await res.arrayBuffer());
        expect(crypto.createHash('sha256').update(bytes).digest('hex')).toBe(sha);
      }
    }

    // The evidence bundle with its files verifies offline, the files included byte for byte.
    const kids = async (node: TestNode) =>
      ((await call(node.url, 'GET', '/.well-known/jwks.json')).body.keys as { kid: string }[]).map(
        (k) => k.kid,
      );
    // Officers get the full bundle of every type (supervisors, by digest for identifications).
    const evidence = await call(a.url, 'GET', `/v1/requests/${id}/evidence?attachments=true`, {
      token: await a.token('officer'),
    });
    expect(evidence.status).toBe(200);
    const verdict = await verifyBundle(evidence.body, {
      'party-a': await kids(a),
      'party-b': await kids(b),
    });
    expect(verdict.verdicts.filter((v) => !v.ok)).toEqual([]);
    const files = (evidence.body as EvidenceBundle).attachments;
    expect(files.map((f) => f.sha256).sort()).toEqual(
      [...new Set(exchange.responses.flatMap((r) => referencedAttachments(r.body)))].sort(),
    );
    for (const f of files) expect(f.content_base64).toBeDefined();

    if (type === 'mine_map') {
      const geo = await call(a.url, 'GET', `/v1/requests/${id}/geojson`, { token: officerA });
      expect(geo.status).toBe(200);
      expect(geo.contentType).toContain('application/geo+json');
      const collection = checkGeojson(JSON.stringify(geo.body));
      expect(collection.type).toBe('FeatureCollection');
      expect((collection as { features: unknown[] }).features.length).toBeGreaterThan(0);
    }
    if (type === 'identification_result') {
      // Supervisors see which items there are, not whose case or which remains.
      const sup = (await detail(a, id, 'supervisor'))!;
      expect(JSON.stringify(sup.subject)).not.toMatch(/MP-20|R-20/);
      expect(sup.coverage).toEqual(atA.coverage);
    }
  });
});
