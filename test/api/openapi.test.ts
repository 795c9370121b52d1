// The OpenAPI document and the docs page: structure, completeness against the real routers,
// the wire profile of POST /v1/messages, every error code, and JSON Schemas that agree with zod.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import express, { type Router } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthRouter } from '../../api/health.js';
import { inboxRouter } from '../../api/inbox.js';
import { componentExamples, openapiRouter } from '../../api/openapi.js';
import { INBOX_CHECKS } from '../../api/openapi-protocol.js';
import { KeyRole } from '../../schemas/envelope.js';
import {
  CoverageState,
  Datum,
  HazardType,
  Outcome,
  Reliability,
  Conclusion,
} from '../../schemas/domain/index.js';
import { RequestType } from '../../schemas/common.js';
import { outboxRouter } from '../../api/outbox.js';
import { partnersRouter } from '../../api/partners.js';
import { requestActionsRouter } from '../../api/request-actions.js';
import { requestsRouter } from '../../api/requests.js';
import { publicationRouter } from '../../api/publication.js';
import { supervisorRouter } from '../../api/supervisor.js';
import { auditRouter } from '../../api/audit.js';
import { attachmentsRouter } from '../../api/attachments.js';
import { erasureRouter } from '../../api/erasure.js';
import { accessLogRouter } from '../../api/access-log.js';
import { codecRouter } from '../../api/codec.js';
import { dashboardRouter } from '../../api/dashboard.js';
import { metricsRouter } from '../../api/metrics.js';
import { createSignIn } from '../../api/session.js';
import { ERROR_STATUS, type ErrorCode } from '../../errors.js';
import { generateSigningKey, loadSigningKey } from '../../protocol/keys.js';
import { signDraft } from '../../protocol/sign.js';
import { MessageKind, Payload, ProtectedHeader } from '../../schemas/envelope.js';
import { CreateRequestBody } from '../../schemas/requests-api.js';
import { subjectFor } from '../helpers/domain.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

let server: Server;
let base: string;
let doc: any;

beforeAll(async () => {
  const app = express();
  app.use(openapiRouter({ partyId: 'party-a' }));
  server = app.listen(0, '127.0.0.1');
  // The tests between two fetches can keep this process busy for seconds (schema validation): the
  // server's 5 s keep-alive timer and fetch's own 4 s one then fire together, and fetch may reuse
  // a socket the server is closing (ECONNRESET). Idle sockets stay open; close() still ends them.
  server.keepAliveTimeout = 0;
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const res = await fetch(`${base}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = await res.json();
});
afterAll(() => new Promise((r) => server?.close(r)));

/** Resolves a local JSON Pointer reference (`#/a/b`) within the document. */
function resolve(ref: string): any {
  expect(ref.startsWith('#/'), ref).toBe(true);
  return ref
    .slice(2)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((node: any, token): unknown => (node === undefined ? undefined : node[token]), doc);
}

const deref = (schema: any): any => (schema?.$ref ? deref(resolve(schema.$ref)) : schema);

function* walk(node: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(node)) for (const n of node) yield* walk(n);
  else if (node && typeof node === 'object') {
    yield node as Record<string, unknown>;
    for (const v of Object.values(node)) yield* walk(v);
  }
}

function operations(): { method: string; path: string; op: any }[] {
  return Object.entries(doc.paths as Record<string, any>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => METHODS.includes(m))
      .map(([method, op]) => ({ method, path, op })),
  );
}

/** The error codes a problem schema admits (narrowed enums, or ReplayProblem's const). */
function problemCodes(schema: any): string[] {
  const s = deref(schema);
  if (s.oneOf) return (s.oneOf as unknown[]).flatMap(problemCodes);
  if (s.allOf)
    // The narrowing member only: the referenced base Problem admits every code.
    return (s.allOf as any[])
      .filter((p) => !p.$ref)
      .flatMap((p) => (p.properties?.code?.enum ?? []) as string[]);
  return (s.properties.code.const ? [s.properties.code.const] : s.properties.code.enum) as string[];
}

function ajv() {
  const a = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  a.addSchema({ ...doc, $id: 'https://parley.test/openapi.json' });
  return a;
}
const component = (name: string) =>
  ajv().getSchema(`https://parley.test/openapi.json#/components/schemas/${name}`)!;

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document whose operations all have responses and whose refs resolve', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toContain('party-a');
    expect(typeof doc.info.version).toBe('string');
    expect(Object.keys(doc.paths).length).toBeGreaterThan(10);
    for (const [path, item] of Object.entries(doc.paths as Record<string, any>)) {
      const ops = Object.keys(item).filter((k) => METHODS.includes(k));
      expect(ops.length, path).toBeGreaterThan(0);
      for (const m of ops) {
        const op = item[m];
        expect(Object.keys(op.responses).length, `${m} ${path}`).toBeGreaterThan(0);
        for (const r of Object.values(op.responses))
          expect(typeof (r as any).description).toBe('string');
        // Every path template variable is a required path parameter.
        for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
          const p = op.parameters?.find((x: any) => x.in === 'path' && x.name === name);
          expect(p?.required, `${m} ${path} {${name}}`).toBe(true);
        }
        for (const req of op.security ?? [])
          for (const scheme of Object.keys(req))
            expect(doc.components.securitySchemes[scheme]).toBeDefined();
      }
    }
    const ids = operations().map((o) => String(o.op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    let refs = 0;
    for (const node of walk(doc)) {
      if (typeof node.$ref !== 'string') continue;
      refs++;
      expect(resolve(node.$ref), node.$ref).toBeDefined();
    }
    expect(refs).toBeGreaterThan(20);
    expect(JSON.stringify(doc)).not.toContain('"$schema"');
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
  });

  it('documents every route of the routers app.ts mounts, and nothing else', () => {
    const deps = { auth: {} } as any;
    const mounted: [string, Router][] = [
      ['', healthRouter(deps)],
      ['', inboxRouter(deps)],
      ['', outboxRouter(deps)],
      ['/v1/admin/partners', partnersRouter(deps)],
      ['/v1/requests', requestsRouter(deps)],
      ['/v1/requests', requestActionsRouter(deps)],
      ['/v1/supervisor', supervisorRouter(deps)],
      ['/v1/publication', publicationRouter(deps)],
      ['/v1/admin/requests', erasureRouter(deps)],
      ['', auditRouter(deps)],
      ['', attachmentsRouter({ ...deps, inbox: {} })],
      ['', accessLogRouter(deps)],
      ['', metricsRouter(deps)],
      ['', dashboardRouter(deps)],
      ['', createSignIn(deps).router],
      ['/codec', codecRouter({ ...deps, corsOrigins: [] })],
    ];
    const routes = mounted.flatMap(([prefix, router]) =>
      (router.stack as any[])
        .filter((layer) => layer.route)
        .flatMap((layer) =>
          // CORS preflights (the codec's) are the browser's, not operations of the API.
          Object.keys(layer.route.methods)
            .filter((m) => m !== 'options')
            .map((m) => {
              const path = (prefix + layer.route.path)
                .replace(/\/$/, '')
                .replace(/:(\w+)/g, '{$1}');
              return `${m} ${path}`;
            }),
        ),
    );
    expect(routes.length).toBeGreaterThan(15);
    const documented = operations().map((o) => `${o.method} ${o.path}`);
    expect(documented.sort()).toEqual(
      [...routes, 'get /openapi.json', 'get /docs', 'get /v1/policy'].sort(),
    );

    for (const { method, path, op } of operations()) {
      const open =
        [
          '/healthz',
          '/readyz',
          '/.well-known/jwks.json',
          '/openapi.json',
          '/docs',
          '/v1/policy',
          // A shared scraper secret when METRICS_TOKEN is set, not a role's JWT.
          '/metrics',
        ].includes(path) ||
        // The web UI's pages and assets, and browser sign-in (its session is what it creates).
        (path.startsWith('/dashboard') &&
          !path.endsWith('session.json') &&
          !path.endsWith('notifications.json')) ||
        path.startsWith('/auth/') ||
        (method === 'post' && path === '/v1/messages') ||
        // Node to node, authenticated by signatures in the request, not bearer tokens.
        path === '/v1/audit/witness' ||
        path.startsWith('/v1/partner-attachments/') ||
        // Node to node on a mediator: the digests asked for are the credential.
        path === '/v1/relayed/proofs';
      expect(op.security, `${method} ${path}`).toEqual(open ? [] : [{ bearerAuth: [] }]);
      if (!open) {
        expect(op.description).toMatch(/Roles:\*\* (officer|supervisor|admin)/);
        expect(op.responses['401']).toBeDefined();
        expect(op.responses['403']).toBeDefined();
      }
    }
    expect(doc.paths['/v1/requests'].post.description).toContain('officer');
    expect(doc.paths['/v1/admin/partners'].post.description).toContain('admin');
  });

  it('takes query parameters from the zod query schemas', () => {
    const params = doc.paths['/v1/requests'].get.parameters;
    expect(params.map((p: any) => String(p.name)).sort()).toEqual(
      ['counterparty', 'direction', 'limit', 'status', 'type'].sort(),
    );
    const limit = params.find((p: any) => p.name === 'limit');
    expect(limit).toMatchObject({ in: 'query', required: false });
    expect(limit.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 200, default: 50 });
    const partner = doc.paths['/v1/admin/exchange/export'].get.parameters[0];
    expect(partner).toMatchObject({ name: 'partner', in: 'query', required: true });
  });

  it('documents POST /v1/messages as application/jose with the exact wire profile', () => {
    const op = doc.paths['/v1/messages'].post;
    const body = deref(op.requestBody.content['application/jose'].schema);
    expect(body.type).toBe('string');
    expect(body.maxLength).toBe(1024 * 1024);
    expect(new RegExp(body.pattern).test('eyJh.eyJ2.c2ln')).toBe(true);
    expect(new RegExp(body.pattern).test('{"payload":"x"}')).toBe(false);
    expect(op.requestBody.content['application/json']).toBeUndefined();
    expect(op.responses['202'].content['application/jose']).toBeDefined();
    for (const fact of [
      'compact serialization',
      'parley-msg+jws',
      'RFC 8785',
      'RFC 7638',
      'Ed25519',
      'EdDSA',
      'ES256',
      '1048576',
      '300',
      '900',
      '2^53',
      'header64.payload64',
      'UNIQUE(iss, msg_id)',
      'UNIQUE(digest)',
      '`message`',
      '`receipt`',
      'original_digest',
    ]) {
      expect(op.description, fact).toContain(fact);
    }
    // The refusal table is in verification order.
    const order = ['unsupported_media_type', 'too_large', 'malformed_envelope', 'bad_header']
      .concat(['unknown_key', 'alg_mismatch', 'key_not_valid', 'signature_invalid'])
      .concat(['not_canonical', 'too_deep', 'issuer_mismatch', 'wrong_audience', 'stale'])
      .concat(['key_role_mismatch', 'replay', 'reply_mismatch', 'policy_mismatch', 'conflict'])
      .map((c) => (op.description as string).indexOf(`| \`${c}\` |`));
    expect(order.every((i: number) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);

    const replay = deref(op.responses['409'].content['application/problem+json'].schema.oneOf[0]);
    expect(replay.properties.code.const).toBe('replay');
    expect(replay.properties).toHaveProperty('receipt');
    expect(replay.properties).toHaveProperty('original_digest');

    const payload = doc.components.schemas.Payload;
    expect(payload.discriminator.propertyName).toBe('kind');
    expect(Object.keys(payload.discriminator.mapping).sort()).toEqual(
      [...MessageKind.options].sort(),
    );
    expect(doc.components.schemas.ProtectedHeader.required.sort()).toEqual(['alg', 'kid', 'typ']);
    const jwk = deref(
      doc.paths['/.well-known/jwks.json'].get.responses['200'].content['application/json'].schema,
    ).properties.keys.items.anyOf[0];
    expect(jwk.required).toEqual(
      expect.arrayContaining([
        'kid',
        'alg',
        'parley_roles',
        'parley_valid_from',
        'parley_valid_until',
      ]),
    );
  });

  it('names every error code, and each problem answer lists only codes of its status', () => {
    const text = JSON.stringify(doc);
    for (const code of CODES) expect(text, code).toMatch(new RegExp(`[\`"]${code}[\`"]`));
    expect([...doc.components.schemas.Problem.properties.code.enum].sort()).toEqual(
      [...CODES].sort(),
    );
    for (const code of CODES)
      expect(doc.info.description).toContain(`| \`${code}\` | ${ERROR_STATUS[code]} |`);
    for (const { method, path, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
        const schema = response.content?.['application/problem+json']?.schema;
        if (!schema) continue;
        const codes = problemCodes(schema);
        expect(codes.length, `${method} ${path} ${status}`).toBeGreaterThan(0);
        for (const c of codes)
          expect(ERROR_STATUS[c as ErrorCode], `${method} ${path} ${status} ${c}`).toBe(
            Number(status),
          );
      }
    }
  });

  it('gives CreateRequestBody a JSON Schema that accepts and refuses what zod does', () => {
    const ref = doc.paths['/v1/requests'].post.requestBody.content['application/json'].schema.$ref;
    expect(ref).toBe('#/components/schemas/CreateRequestBody');
    const validate = component('CreateRequestBody');
    const subject = subjectFor('mine_map', 'Mine map of sector 7');
    const cases: [unknown, boolean][] = [
      [{ type: 'mine_map', counterparty: 'party-b', subject }, true],
      [
        {
          type: 'grave_information',
          counterparty: 'party-b',
          priority: 'urgent',
          subject: subjectFor('grave_information'),
        },
        true,
      ],
      // A mine-map subject for a grave request: the type picks the subject's schema.
      [{ type: 'grave_information', counterparty: 'party-b', subject }, false],
      [
        {
          type: 'identification_result',
          counterparty: 'b2',
          priority: 'critical',
          subject: subjectFor('identification_result', 'Case 42'),
        },
        true,
      ],
      [{ type: 'mine_map', counterparty: 'party-b', subject, extra: 1 }, false],
      [{ type: 'mine_map', counterparty: 'party-b', priority: 'asap', subject }, false],
      [{ type: 'mine_map', counterparty: 'Party B', subject }, false],
      [{ type: 'mine_map', counterparty: 'party-b', subject: { ...subject, title: 'ab' } }, false],
      [{ type: 'mine_map', counterparty: 'party-b', subject: { ...subject, items: [] } }, false],
      [{ type: 'mine_map', counterparty: 'party-b' }, false],
    ];
    for (const [example, valid] of cases) {
      expect(CreateRequestBody.safeParse(example).success, JSON.stringify(example)).toBe(valid);
      expect(validate(example), JSON.stringify(example)).toBe(valid);
    }
  });

  it('gives envelope header and payloads JSON Schemas that agree with zod on real envelopes', async () => {
    const key = await loadSigningKey(
      await generateSigningKey({ alg: 'Ed25519', roles: ['message', 'receipt'] }),
    );
    const request = await signDraft(
      {
        kind: 'request',
        iss: 'party-b',
        aud: 'party-a',
        req_id: '01JD0000000000000000000000',
        body: {
          request_type: 'mine_map',
          priority: 'routine',
          subject: subjectFor('mine_map', 'Sector 7') as never,
          policy_digest: 'a'.repeat(64),
        },
      },
      key,
    );
    const receipt = await signDraft(
      {
        kind: 'receipt',
        iss: 'party-a',
        aud: 'party-b',
        in_reply_to: { msg_id: request.payload.msg_id, digest: request.digest },
        body: { digest: request.digest, received_at: new Date().toISOString() },
      },
      key,
    );
    const envelope = component('Envelope');
    const header = component('ProtectedHeader');
    const payload = component('Payload');
    for (const signed of [request, receipt]) {
      expect(envelope(signed.token)).toBe(true);
      const [h64 = '', p64 = ''] = signed.token.split('.');
      const h = JSON.parse(Buffer.from(h64, 'base64url').toString('utf8'));
      const p = JSON.parse(Buffer.from(p64, 'base64url').toString('utf8'));
      expect(ProtectedHeader.safeParse(h).success && header(h)).toBe(true);
      expect(Payload.safeParse(p).success && payload(p)).toBe(true);
    }
    const wrong = [
      {
        ...request.payload,
        in_reply_to: { msg_id: request.payload.msg_id, digest: request.digest },
      },
      { ...receipt.payload, in_reply_to: undefined },
      { ...request.payload, kind: 'gossip' },
      { ...request.payload, body: { ...request.payload.body, extra: true } },
    ].map((p) => JSON.parse(JSON.stringify(p)) as unknown);
    for (const p of wrong) {
      expect(Payload.safeParse(p).success, JSON.stringify(p)).toBe(false);
      expect(payload(p), JSON.stringify(p)).toBe(false);
    }
    expect(header({ alg: 'HS256', kid: key.kid, typ: 'parley-msg+jws' })).toBe(false);
    expect(header({ alg: 'Ed25519', kid: key.kid, typ: 'parley-msg+jws', crit: [] })).toBe(false);
  });
});

describe('the contract a partner implements from /openapi.json alone', () => {
  it('passes an OpenAPI 3.1 validator', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('holds every record schema, subject, response body and enum a partner needs', () => {
    const schemas = doc.components.schemas;
    for (const name of [
      'MineMapSubject',
      'GraveSubject',
      'IdentificationSubject',
      'MineMapRecord',
      'GraveRecord',
      'IdentificationRecord',
      'MineMapResponse',
      'GraveResponse',
      'IdentificationResponse',
      'ItemOutcome',
      'CoverageRow',
      'Decimal',
      'AuditEntry',
      'CheckpointPayload',
      'CosignaturePayload',
      'EvidenceKey',
      'EvidenceBundle',
      'WitnessRequest',
      'WitnessResponse',
    ])
      expect(schemas[name]?.description, name).toEqual(expect.any(String));
    for (const [name, zodEnum] of [
      ['Datum', Datum],
      ['HazardType', HazardType],
      ['Reliability', Reliability],
      ['Conclusion', Conclusion],
      ['Outcome', Outcome],
      ['CoverageState', CoverageState],
      ['KeyRole', KeyRole],
    ] as const)
      expect(schemas[name].enum, name).toEqual(zodEnum.options);
    expect(schemas.Datum.enum).toContain('SK-42');
    // The records refer to the enums, so a partner sees the datum list where it is used.
    expect(schemas.MineMapRecord.properties.datum).toEqual({
      $ref: '#/components/schemas/Datum',
    });
    // The request subjects of each type, from the request payload.
    const requestBodies = deref(schemas['Payload.request'].properties.body).oneOf;
    expect(requestBodies.map((b: any) => b.properties.subject.$ref)).toEqual([
      '#/components/schemas/MineMapSubject',
      '#/components/schemas/GraveSubject',
      '#/components/schemas/IdentificationSubject',
    ]);
    // A response's records: the record schema of the request's type, not "any object".
    expect(schemas['Payload.response'].properties.body.properties.records.items.anyOf).toEqual([
      { $ref: '#/components/schemas/MineMapRecord' },
      { $ref: '#/components/schemas/GraveRecord' },
      { $ref: '#/components/schemas/IdentificationRecord' },
    ]);
    expect(schemas.KeyRole.description).toContain('`[message, receipt]`');
    expect(schemas.KeyRole.description).toContain('`[log]`');
    // Cosignature `at`, the witness URL, and that a bundle needs witnessing to verify.
    expect(schemas.CosignaturePayload.required).toContain('at');
    expect(schemas.CosignaturePayload.description).toMatch(
      /`at` is when the witness countersigned/,
    );
    expect(schemas.EvidenceBundle.description).toContain('/v1/audit/witness');
    expect(schemas.EvidenceBundle.description).toContain(
      'A bundle verifies only when the partner has countersigned its checkpoint',
    );
    expect(doc.paths['/v1/audit/witness'].post.description).toContain(
      'origin of the partner’s registered inbox URL',
    );
  });

  it('gives an example per request type and message kind, each valid for zod and for the document', () => {
    const all = componentExamples();
    const names = all.map((e) => e.name);
    for (const kind of MessageKind.options) expect(names, kind).toContain(`Payload.${kind}`);
    for (const name of [
      'MineMapSubject',
      'GraveSubject',
      'IdentificationSubject',
      'MineMapRecord',
      'GraveRecord',
      'IdentificationRecord',
      'MineMapResponse',
      'GraveResponse',
      'IdentificationResponse',
      'CreateRequestBody',
      'CheckpointPayload',
      'CosignaturePayload',
      'WitnessRequest',
      'WitnessResponse',
      'Problem',
      'ReplayProblem',
    ])
      expect(names, name).toContain(name);
    const a = ajv();
    for (const { name, schema, examples } of all) {
      expect(examples.length, name).toBeGreaterThan(0);
      expect(doc.components.schemas[name].examples, name).toEqual(examples);
      const validate = a.getSchema(`https://parley.test/openapi.json#/components/schemas/${name}`)!;
      for (const example of examples) {
        const parsed = schema.safeParse(example);
        expect(parsed.error?.issues ?? [], `${name}: ${JSON.stringify(example)}`).toEqual([]);
        expect(validate(example), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true);
      }
    }
    // Wire examples are as signed: parsing changes nothing (decimals already strings, defaults given).
    for (const { name, schema, examples } of all.filter((e) => e.name !== 'CreateRequestBody'))
      for (const example of examples) expect(schema.parse(example), name).toEqual(example);
    // A request and a response of every type.
    const requestTypes = (ex: any[]) => ex.map((p) => p.body.request_type as string);
    const byName = Object.fromEntries(all.map((e) => [e.name, e.examples as any[]]));
    expect(requestTypes(byName['Payload.request']!)).toEqual(RequestType.options);
    expect(byName['Payload.response']!.map((p) => p.body.records[0].covers)).toEqual([
      ['corridor'],
      ['case-2'],
      ['case-1'],
    ]);
    expect(byName.CreateRequestBody!.map((b) => b.type)).toEqual(RequestType.options);
    // Officers' bodies, named per request type where they are sent.
    const create = doc.paths['/v1/requests'].post.requestBody.content['application/json'];
    expect(Object.keys(create.examples)).toEqual(RequestType.options);
    const respond =
      doc.paths['/v1/requests/{id}/responses'].post.requestBody.content['application/json'];
    expect(Object.keys(respond.examples)).toEqual(RequestType.options);
    const respondValidate = a.getSchema(
      `https://parley.test/openapi.json#/components/schemas/Action.response`,
    )!;
    for (const { value } of Object.values<{ value: unknown }>(respond.examples))
      expect(respondValidate(value), JSON.stringify(respondValidate.errors)).toBe(true);
  });

  it('says coordinates are decimal strings, never integers such as micro-degrees', () => {
    const text = doc.paths['/v1/messages'].post.description as string;
    expect(text).not.toMatch(/micro-?degrees as integers|integers such as micro-degrees/);
    expect(text).toContain('**decimal string**');
    expect(text).toContain('["24.758512","46.599034"]');
    expect(doc.components.schemas.Decimal.pattern).toBe('^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$');
  });

  it('documents what a refused 413/415 leaves behind, and `conflict` for a reused req_id', () => {
    const text = doc.paths['/v1/messages'].post.description as string;
    expect(text).toContain('leaves **no `inbox_rejections` row**');
    expect(text).toMatch(/\| `too_large` \| 413 \|[^\n]*no `inbox_rejections` sample row/);
    expect(text).toMatch(
      /\| `conflict` \| 409 \| a new `request`[^\n]*`req_id` this node already holds/,
    );
    expect(doc.paths['/v1/messages'].post.responses['409'].description).toContain('`conflict`');
  });

  it('and the README list the inbox refusals in the order the node checks them', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Wire protocol v1'));
    const table = section.slice(section.indexOf('| code '), section.indexOf('**Refusals**'));
    const readmeOrder = [...table.matchAll(/^\| `([a-z_]+)`/gm)].map((m) => m[1]!);
    expect(readmeOrder.length).toBeGreaterThan(15);
    // The README's rows are a subsequence of the document's (which splits some codes by cause).
    let at = 0;
    for (const code of readmeOrder) {
      const found = INBOX_CHECKS.findIndex(([c], i) => i >= at && c === code);
      expect(found, `README row ${code} out of the node's order`).toBeGreaterThanOrEqual(0);
      at = found;
    }
    expect(readmeOrder.indexOf('unsupported_media_type')).toBeLessThan(
      readmeOrder.indexOf('too_large'),
    );
    expect(readmeOrder.indexOf('replay')).toBeLessThan(readmeOrder.indexOf('reply_mismatch'));
    expect(table).toContain('no `inbox_rejections` row');
  });
});

describe('GET /docs', () => {
  it('serves a same-origin Swagger UI page that loads /openapi.json', async () => {
    const res = await fetch(`${base}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('/openapi.json');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const urls = [...html.matchAll(/(?:src|href)="(\/docs\/[^"]+)"/g)].map((m) => m[1]!);
    expect(urls).toContain('/docs/assets/swagger-ui-bundle.js');
    for (const url of urls) {
      const asset = await fetch(base + url);
      expect(asset.status, url).toBe(200);
      await asset.arrayBuffer();
    }
    const bundle = await fetch(`${base}/docs/assets/swagger-ui-bundle.js`);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
  });

  it('serves only the assets the page needs', async () => {
    for (const path of [
      '/docs/assets/index.html',
      '/docs/assets/swagger-initializer.js',
      '/docs/assets/../package.json',
    ]) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(404);
      await res.arrayBuffer();
    }
  });
});
