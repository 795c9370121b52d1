// The access policy as a table: per role and request type, who sees content, what each route
// shows, and the redacted forms (pure functions; the routes' use of them is in
// test/api/access-policy.test.ts).
import { describe, expect, it } from 'vitest';
import {
  AUDITED_ROUTES,
  evidenceFormFor,
  mayReadAttachment,
  mayReadMessageBodies,
  maySeeContent,
  messageFormFor,
  requestDetailFor,
  requestSummary,
  routeShowsContent,
  ROUTES,
} from '../../domain/access-policy.js';
import { buildOpenApiDocument } from '../../api/openapi.js';
import type { RequestType, Role } from '../../schemas/common.js';
import type { RequestDetailView } from '../../schemas/requests-api.js';
import { resultsSubject } from '../fixtures/domain/identifications.js';

const TYPES: RequestType[] = ['mine_map', 'grave_information', 'identification_result'];

describe('who sees the content of a request', () => {
  it.each([
    ['officer', [true, true, true]],
    ['supervisor', [true, true, false]],
    ['admin', [true, false, false]],
  ] as const)('%s: mine map, grave information, identification', (role, expected) => {
    expect(TYPES.map((t) => maySeeContent([role], t))).toEqual(expected);
    expect(TYPES.map((t) => evidenceFormFor([role], t))).toEqual(
      expected.map((c) => (c ? 'full' : 'digests')),
    );
    expect(TYPES.map((t) => messageFormFor([role], { kind: 'response', type: t }))).toEqual(
      expected.map((c) => (c ? 'full' : 'withheld')),
    );
  });

  it('gives a token holding several roles what the widest of them may see', () => {
    expect(maySeeContent(['admin', 'officer'], 'identification_result')).toBe(true);
    expect(maySeeContent([], 'mine_map')).toBe(false);
  });

  it('gives the digest-only bundle to anyone who asks for it', () => {
    expect(evidenceFormFor(['officer'], 'mine_map', 'digests')).toBe('digests');
  });

  it('shows receipts to everyone, and a message of no known request to nobody', () => {
    expect(messageFormFor(['admin'], { kind: 'receipt', type: undefined })).toBe('full');
    expect(messageFormFor(['officer'], { kind: 'response', type: undefined })).toBe('withheld');
  });

  it('lets a file be read only by who may see every request naming it', () => {
    expect(mayReadAttachment(['supervisor'], ['grave_information'])).toBe(true);
    expect(mayReadAttachment(['supervisor'], ['grave_information', 'identification_result'])).toBe(
      false,
    );
    expect(mayReadAttachment(['officer'], [])).toBe(false);
    // A message of a request not held here may be of any type: officers only.
    expect(mayReadAttachment(['officer'], [undefined])).toBe(true);
    expect(mayReadAttachment(['supervisor', 'admin'], [undefined])).toBe(false);
  });
});

describe('the routes', () => {
  it('audits every route that can answer with content, and only those', () => {
    expect([...AUDITED_ROUTES].sort()).toEqual([
      'GET /v1/admin/exchange/export',
      'GET /v1/attachments/:id',
      'GET /v1/messages/:ref',
      'GET /v1/publication/identifications',
      'GET /v1/requests/:id',
      'GET /v1/requests/:id/evidence',
      'GET /v1/requests/:id/export.gpkg',
      'GET /v1/requests/:id/export.kml',
      'GET /v1/requests/:id/export.zip',
      'GET /v1/requests/:id/geojson',
      'POST /codec/decode',
    ]);
  });

  it('admits the roles the OpenAPI document says each route admits', () => {
    const doc = buildOpenApiDocument({ partyId: 'party-a' }) as {
      paths: Record<string, Record<string, { description?: string }>>;
    };
    let compared = 0;
    for (const [route, policy] of Object.entries(ROUTES)) {
      const [method, path] = route.split(' ') as [string, string];
      const op = doc.paths[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
      if (!op) continue; // the codec endpoint and the dashboard are documented elsewhere
      const roles = /\*\*Roles:\*\* ([a-z, ]+) \(bearer JWT\)/.exec(op.description ?? '')?.[1];
      expect(roles?.split(', ').sort(), route).toEqual([...policy.roles].sort());
      compared++;
    }
    expect(compared).toBeGreaterThan(12);
  });

  it('never shows content through a route that does not admit the role', () => {
    for (const route of Object.keys(ROUTES) as (keyof typeof ROUTES)[])
      for (const role of ['officer', 'supervisor', 'admin'] as Role[])
        if (!(ROUTES[route].roles as readonly Role[]).includes(role))
          for (const t of TYPES) expect(routeShowsContent(route, [role], t), route).toBe(false);
  });

  it.each([
    ['GET /v1/requests', 'officer', 'mine_map', false],
    ['GET /v1/requests/:id', 'supervisor', 'identification_result', false],
    ['GET /v1/requests/:id', 'supervisor', 'grave_information', true],
    ['GET /v1/messages/:ref', 'admin', 'grave_information', false],
    ['GET /v1/requests/:id/evidence', 'admin', 'mine_map', true],
    ['GET /v1/supervisor/requests/:id/timeline', 'admin', 'mine_map', false],
    ['POST /codec/decode', 'admin', undefined, true],
    // The map exports: burial sites are personal data, officers only, as mine-map records.
    ['GET /v1/requests/:id/geojson', 'officer', 'grave_information', true],
    ['GET /v1/requests/:id/export.gpkg', 'officer', 'grave_information', true],
    ['GET /v1/requests/:id/export.gpkg', 'officer', 'mine_map', true],
    ['GET /v1/requests/:id/export.gpkg', 'supervisor', 'grave_information', false],
    ['GET /v1/requests/:id/export.kml', 'supervisor', 'grave_information', false],
    ['GET /v1/requests/:id/export.zip', 'admin', 'mine_map', false],
  ] as const)('%s as %s for a %s request shows content: %s', (route, role, type, shows) => {
    expect(routeShowsContent(route, [role], type)).toBe(shows);
  });
});

describe('the redacted forms', () => {
  const detail = {
    id: '01JD3Q8Z5X4M2N7P9R6T0V1W2A',
    type: 'identification_result',
    subject: resultsSubject,
    coverage: [
      { item_id: 'case-1', state: 'withheld', by: ['m1'], reason: 'Family consent pending' },
    ],
  } as unknown as RequestDetailView;

  it('keeps the title and the items’ ids and kinds, and drops withheld reasons', () => {
    const { view, parts } = requestDetailFor(detail, ['supervisor']);
    expect(parts).toEqual([]);
    expect(view.subject).toEqual({
      title: resultsSubject.title,
      items: [
        { item_id: 'case-1', kind: 'case' },
        { item_id: 'case-2', kind: 'case' },
        { item_id: 'remains-1', kind: 'remains' },
      ],
    });
    expect(JSON.stringify(view)).not.toMatch(/MP-20|R-20|consent/);
    expect(requestSummary(detail).subject).toEqual(view.subject);
  });

  it('names what an officer read: the subject and the withheld reasons', () => {
    expect(requestDetailFor(detail, ['officer'])).toEqual({
      view: detail,
      parts: ['subject', 'outcomes'],
    });
    expect(requestDetailFor({ ...detail, subject: null }, ['officer']).parts).toEqual(['outcomes']);
  });
});

describe('the clarification questions, answers and responses on a request’s detail', () => {
  const messages = [
    {
      msgId: 'm1',
      kind: 'clarification_request',
      from: 'partner',
      at: '2026-05-01T10:00:00Z',
      body: { questions: ['Which datum?'] },
    },
    {
      msgId: 'm2',
      kind: 'clarification',
      from: 'us',
      at: '2026-05-01T11:00:00Z',
      body: { answers: ['WGS 84'] },
    },
  ] as const;
  const detailOf = (type: RequestType) =>
    ({
      id: '01JD3Q8Z5X4M2N7P9R6T0V1W2A',
      type,
      subject: null,
      coverage: [],
      messages,
    }) as unknown as RequestDetailView;

  it.each([
    ['officer', [true, true, true]],
    ['supervisor', [false, false, false]],
    ['admin', [false, false, false]],
  ] as const)('%s reads them: mine map, grave information, identification', (role, expected) => {
    expect(TYPES.map((t) => mayReadMessageBodies([role], t))).toEqual(expected);
    for (const [i, t] of TYPES.entries()) {
      const { view, parts } = requestDetailFor(detailOf(t), [role]);
      expect(view.messages, `${role} ${t}`).toEqual(expected[i] ? messages : undefined);
      expect(parts.includes('message'), `${role} ${t}`).toBe(expected[i]);
      if (!expected[i]) expect(JSON.stringify(view)).not.toMatch(/datum|WGS/);
    }
  });

  it('records the read of messages only when there were some', () => {
    const none = { ...detailOf('mine_map'), messages: [] };
    expect(requestDetailFor(none, ['officer']).parts).toEqual([]);
  });
});
