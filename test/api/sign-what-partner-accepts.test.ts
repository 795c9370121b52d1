// A node signs only what its partner will accept: between two live nodes, a response whose
// records give decimals as JSON numbers is normalised, signed, delivered and accepted; a response
// the partner would refuse is refused by the officer route with the partner's own code and paths
// (the partner's answer to the same body, signed by hand, is the reference), and nothing is signed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDraft } from '../../protocol/sign.js';
import { ENVELOPE_MEDIA_TYPE } from '../../schemas/envelope.js';
import { RequestDetailView } from '../../schemas/requests-api.js';
import { gs031 } from '../fixtures/domain/graves.js';
import { finalFor, subjectFor, withoutAttachments } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';

let a: TestNode;
let b: TestNode;
let id: string;

/** The request as an officer of `node` sees it; undefined while the node does not hold it. */
async function view(node: TestNode, reqId: string) {
  const res = await call(node.url, 'GET', `/v1/requests/${reqId}`, {
    token: await node.token('officer', 'officer-x'),
  });
  return res.status === 200 ? RequestDetailView.parse(res.body) : undefined;
}

async function detail(node: TestNode, reqId: string) {
  const r = await view(node, reqId);
  if (!r) throw new Error(`${node.config.partyId} does not hold request ${reqId}`);
  return r;
}

const until = (node: TestNode, pred: (r: RequestDetailView) => boolean, what: string) =>
  eventually(
    async () => {
      const r = await view(node, id);
      return r && pred(r) ? r : undefined;
    },
    30_000,
    `${node.config.partyId}: ${what}`,
  );

/** B's officer sends a response through its API. */
async function respond(body: unknown) {
  return call(b.url, 'POST', `/v1/requests/${id}/responses`, {
    token: await b.token('officer', 'officer-bogdan'),
    json: body,
  });
}

/** The same body signed by B's own key and posted straight to A's inbox: A's verdict on it. */
async function partnerVerdict(body: Record<string, unknown>) {
  const signed = await signDraft(
    { kind: 'response', iss: 'party-b', aud: 'party-a', req_id: id, body } as never,
    b.exchange.outbox.keyring.signerFor('response'),
  );
  return call(a.url, 'POST', '/v1/messages', {
    raw: signed.token,
    headers: { 'content-type': ENVELOPE_MEDIA_TYPE },
  });
}

/** B's outgoing responses about the request, as operators see them in the outbox. */
async function sentResponses() {
  const res = await call(b.url, 'GET', '/v1/outbox?partner=party-a', {
    token: await b.token('supervisor'),
  });
  expect(res.status).toBe(200);
  return (
    res.body.items as { reqId: string; kind: string; msgId: string; status: string }[]
  ).filter((m) => m.reqId === id && m.kind === 'response');
}

/** The corridor's final response with every decimal of its record written as a JSON number. */
function withNumbers(): Record<string, any> {
  const body = finalFor('mine_map') as Record<string, any>;
  const record = body.records[0];
  record.perimeter.coordinates = record.perimeter.coordinates.map((ring: string[][]) =>
    ring.map((p) => p.map(Number)),
  );
  record.reference_points = record.reference_points.map((r: any) => ({
    ...r,
    point: { ...r.point, coordinates: r.point.coordinates.map(Number) },
  }));
  record.accuracy_m = Number(record.accuracy_m);
  return body;
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
      type: 'mine_map',
      counterparty: 'party-b',
      priority: 'routine',
      subject: subjectFor('mine_map'),
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  id = created.body.id as string;
  await until(b, (r) => r.status === 'delivered', 'request arrived');
  const ack = await call(b.url, 'POST', `/v1/requests/${id}/acknowledge`, {
    token: await b.token('officer', 'officer-bogdan'),
    json: {},
  });
  expect(ack.status, JSON.stringify(ack.body)).toBe(200);
  await until(a, (r) => r.status === 'acknowledged', 'acknowledgement arrived');
}, 180_000);
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
});

describe('a response the partner would refuse', () => {
  const wrongType = { final: false, records: [withoutAttachments(gs031)] };
  const missingItem = { final: true, records: [], outcomes: [] };
  const fractionalCount = (() => {
    const body = finalFor('mine_map') as Record<string, any>;
    body.records[0].devices[0].quantity = 40.5;
    return body;
  })();

  it.each([
    ['records of another request type', wrongType, 400, 'schema_invalid'],
    ['a final response leaving the item unaccounted for', missingItem, 422, 'response_incomplete'],
  ])(
    'is refused at the officer route as the partner refuses it: %s',
    async (_what, body, status, code) => {
      const partner = await partnerVerdict(body);
      expect(partner.status, JSON.stringify(partner.body)).toBe(status);
      expect(partner.body.code).toBe(code);
      const officer = await respond(body);
      expect(officer.status, JSON.stringify(officer.body)).toBe(status);
      expect(officer.body.code).toBe(code);
      expect(officer.body.errors.length).toBeGreaterThan(0);
      expect(officer.body.errors.map((e: { path: string }) => e.path)).toEqual(
        partner.body.errors.map((e: { path: string }) => e.path),
      );
    },
  );

  it('with a non-integer where no decimal goes, is not_canonical on both sides, with its path here', async () => {
    const partner = await partnerVerdict(fractionalCount);
    expect(partner.status).toBe(400);
    expect(partner.body.code).toBe('not_canonical');
    const officer = await respond(fractionalCount);
    expect(officer.status, JSON.stringify(officer.body)).toBe(400);
    expect(officer.body.code).toBe('not_canonical');
    expect(officer.body.errors.map((e: { path: string }) => e.path)).toEqual([
      '/records/0/devices/0/quantity',
    ]);
  });

  it('leaves nothing signed and the request as it was, on both sides', async () => {
    expect(await sentResponses()).toEqual([]);
    expect((await detail(b, id)).status).toBe('acknowledged');
    expect((await detail(a, id)).status).toBe('acknowledged');
  });
});

describe('a response whose records give decimals as JSON numbers', () => {
  it('is refused on the wire, as it stands, by the partner: numbers are not normalised there', async () => {
    const partner = await partnerVerdict(withNumbers());
    expect(partner.status).toBe(400);
    expect(partner.body.code).toBe('not_canonical');
  });

  it('is normalised by the officer route, delivered, and accepted by the partner', async () => {
    const res = await respond(withNumbers());
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('answered');
    const msgId = res.body.msgId as string;

    // The sender's outbox: delivered with the partner's receipt, not rejected.
    const sent = await eventually(
      async () => {
        const m = (await sentResponses()).find((x) => x.msgId === msgId);
        return m && m.status !== 'pending' ? m : undefined;
      },
      30_000,
      'the response delivered',
    );
    expect(sent.status).toBe('delivered');

    // The partner's view: answered, the item covered by that message.
    const atA = await until(a, (r) => r.status === 'answered', 'answered at A');
    expect(atA.coverage).toEqual([
      expect.objectContaining({ item_id: 'corridor', state: 'answered', by: [msgId] }),
    ]);
    expect((await detail(b, id)).status).toBe('answered');

    // What A holds is what was written, decimals as strings: exactly the fixture's record.
    const stored = await call(a.url, 'GET', `/v1/messages/${res.body.digest as string}`, {
      token: await a.token('admin'),
    });
    expect(stored.status).toBe(200);
    expect(stored.body.payload.body).toEqual(finalFor('mine_map'));
  });
});
