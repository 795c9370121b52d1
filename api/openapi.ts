// The node's OpenAPI 3.1 document, built from the zod schemas (the single source of every body,
// view and payload), served at `GET /openapi.json`, and a same-origin Swagger UI at `GET /docs`.
import { createRequire } from 'node:module';
import express, { Router } from 'express';
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../errors.js';
import { MAX_ENVELOPE_BYTES } from '../protocol/verify.js';
import { Bundle, ImportResult } from '../schemas/bundle.js';
import { PartyId, RequestStatus, Ulid, type Role } from '../schemas/common.js';
import {
  ENVELOPE_MEDIA_TYPE,
  InReplyTo,
  Kid,
  KeyRole,
  MessageBodies,
  MessageKind,
  Payload,
  ProtectedHeader,
  Sha256Hex,
  SignatureAlg,
} from '../schemas/envelope.js';
import {
  AddPartnerBody,
  KeysInput,
  PartnerView,
  PublicJwk,
  RegistryChangeView,
  RevokeKeyBody,
  UpdatePartnerBody,
} from '../schemas/partners-api.js';
import {
  CheckpointView,
  ConsistencyProofView,
  InclusionProofView,
  WitnessRequest,
  WitnessResponse,
} from '../schemas/audit.js';
import { EvidenceBundle } from '../schemas/evidence.js';
import { AccessLogPage, AccessLogQuery } from '../schemas/access-log-api.js';
import { DeadlinePolicy } from '../schemas/policy.js';
import {
  CreateRequestBody,
  ErasureView,
  ListRequestsQuery,
  RequestDetailView,
  RequestView,
} from '../schemas/requests-api.js';
import {
  SupervisorListQuery,
  SupervisorRequestPage,
  SupervisorSummary,
  SupervisorTimeline,
} from '../schemas/supervisor-api.js';
import { Gap } from '../schemas/domain/shared.js';
import { ACTION_ROUTES } from '../workflows/actions.js';
import {
  ERROR_MEANINGS,
  INBOX_CHECKS,
  JWKS_DESCRIPTION,
  actionDescription,
  apiDescription,
  messagesDescription,
} from './openapi-protocol.js';

type Json = Record<string, unknown>;

// Views the routers build inline (no zod schema of their own yet), described in zod here.
const Instant = z.iso.datetime();
const Envelope = z
  .string()
  .max(MAX_ENVELOPE_BYTES)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
  .describe(
    'One JWS in compact serialization: header64.payload64.signature64 (unpadded base64url)',
  );
const Via = z.enum(['online', 'import']);
/** Mirrors the (unexported) query schemas of api/outbox.ts. */
const OutboxStatus = z.enum(['pending', 'delivered', 'rejected', 'abandoned']);
const OutboxQuery = z.strictObject({
  status: OutboxStatus.optional(),
  partner: PartyId.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const ExportQuery = z.strictObject({ partner: PartyId });
const Check = z.object({
  ok: z.boolean(),
  latencyMs: z.int().min(0),
  error: z.string().optional(),
});
const ProblemBase = z.looseObject({
  type: z.string().describe('urn:parley:error:<code>'),
  title: z.string(),
  status: z.int().min(400).max(599),
  code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
  detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
const PublishedKey = {
  kid: Kid,
  alg: SignatureAlg,
  use: z.literal('sig'),
  parley_roles: z.array(KeyRole).min(1),
  parley_valid_from: Instant,
  parley_valid_until: Instant.nullable(),
};

/** Component schemas rendered as request bodies (zod input) and as answers (zod output). */
const INPUTS: Record<string, z.ZodType> = {
  ...Object.fromEntries(ACTION_ROUTES.map((r) => [`Action.${r.kind}`, MessageBodies[r.kind]])),
  CreateRequestBody,
  AddPartnerBody,
  KeysInput,
  UpdatePartnerBody,
  RevokeKeyBody,
  Bundle,
  WitnessRequest,
};
const OUTPUTS: Record<string, z.ZodType> = {
  ...Object.fromEntries(Payload.options.map((o) => [`Payload.${o.shape.kind.value}`, o])),
  Payload,
  ProtectedHeader,
  InReplyTo,
  EvidenceBundle,
  CheckpointView,
  InclusionProof: InclusionProofView.extend({
    checkpoint: z.string().describe('the checkpoint (compact JWS) the proof leads to'),
  }),
  ConsistencyProofView,
  WitnessResponse,
  Envelope,
  Problem: ProblemBase.describe('RFC 9457 problem document; `code` is stable'),
  ReplayProblem: ProblemBase.extend({
    code: z.literal('replay'),
    receipt: Envelope.optional().describe('the receipt owed for the original message'),
    original_digest: Sha256Hex.optional().describe('digest of the message received first'),
  }),
  Jwks: z.object({
    keys: z.array(z.union(PublicJwk.options.map((o) => o.extend(PublishedKey)))),
  }),
  Health: z.object({ status: z.literal('ok'), party: PartyId }),
  Readiness: z.object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.object({ postgres: Check, temporal: Check }),
    inbox: z
      .object({
        undispatched: z.number().int().min(0),
        oldestAgeSeconds: z.number().int().min(0).nullable(),
      })
      .nullable()
      .describe(
        'stored messages not yet handed to their workflows (the relay retries every few seconds); a backlog never makes the node unready; null when Postgres does not answer',
      ),
  }),
  RequestView,
  RequestDetailView,
  ErasureView,
  SupervisorRequestPage,
  SupervisorSummary,
  SupervisorTimeline,
  ActionResult: z.object({
    status: RequestStatus,
    msgId: Ulid.describe('the message that carries the action to the partner'),
    digest: Sha256Hex,
    clarification_items: z
      .array(Gap)
      .optional()
      .describe(
        'responses only: gaps of the records against the legal minimums, ready to ask about',
      ),
    request: RequestView,
  }),
  PolicyAnswer: z.object({
    digest: Sha256Hex.describe(
      'SHA-256 of the RFC 8785 form of the policy file; carried in every request',
    ),
    policy: DeadlinePolicy,
  }),
  PartnerView,
  PartnerDetailView: PartnerView.extend({ changes: z.array(RegistryChangeView) }),
  OutboxItem: z.object({
    msgId: Ulid,
    to: PartyId,
    kind: MessageKind,
    reqId: Ulid.nullable(),
    digest: Sha256Hex,
    status: OutboxStatus,
    attempts: z.int().min(0),
    lastAttemptAt: Instant.nullable(),
    lastError: z.string().nullable().describe('the last failed attempt’s error code'),
    deliveredAt: Instant.nullable(),
    deliveredVia: Via.nullable(),
    receiptReceivedAt: Instant.nullable(),
  }),
  StoredMessage: z.discriminatedUnion('direction', [
    z.object({
      direction: z.literal('out'),
      msgId: Ulid,
      digest: Sha256Hex,
      kind: MessageKind,
      reqId: Ulid.nullable(),
      to: PartyId,
      status: OutboxStatus,
      token: Envelope.optional().describe('absent when `withheld`'),
      payload: Payload.optional().describe('absent when `withheld`'),
      withheld: z
        .enum(['access_policy', 'erased'])
        .optional()
        .describe(
          '`access_policy`: the caller’s roles may not see this request’s content; `erased`: the content is gone. Ids and digest only',
        ),
      receipt: Envelope.nullable().describe('the partner’s receipt, once delivered'),
    }),
    z.object({
      direction: z.literal('in'),
      msgId: Ulid,
      digest: Sha256Hex,
      kind: MessageKind,
      reqId: Ulid.nullable(),
      from: PartyId,
      via: Via,
      receivedAt: Instant,
      token: Envelope.optional().describe('absent when `withheld`'),
      payload: Payload.optional().describe('absent when `withheld`'),
      withheld: z
        .enum(['access_policy', 'erased'])
        .optional()
        .describe(
          '`access_policy`: the caller’s roles may not see this request’s content; `erased`: the content is gone. Ids and digest only',
        ),
      receipt: Envelope.describe('the receipt this node signed'),
    }),
  ]),
  AccessLogPage,
  ImportAnswer: z.object({
    results: z.array(ImportResult),
    reply: Bundle.describe('receipts to carry back to the sender'),
  }),
};

/** zod has no JSON Schema for `undefined`; as a member it means "absent", i.e. no value fits. */
const unrepresentable = (ctx: { zodSchema: z.core.$ZodType }) =>
  ctx.zodSchema._zod.def.type === 'undefined' ? { not: {} } : ('any' as const);

/** JSON Schemas (2020-12) of a set of zod schemas, referring to each other as components. */
function componentSchemas(
  entries: Record<string, z.ZodType>,
  io: 'input' | 'output',
): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(entries)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable,
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...rest }]) => [id, rest]),
  );
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ 'application/json': { schema } });
const codeList = (codes: readonly ErrorCode[]) =>
  codes.map((c) => `- \`${c}\`: ${ERROR_MEANINGS[c]}`).join('\n');

/** Problem answers of an operation: one per status, `code` narrowed to the codes it can produce. */
function problems(codes: readonly ErrorCode[]): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of new Set(codes))
    byStatus.set(ERROR_STATUS[c], [...(byStatus.get(ERROR_STATUS[c]) ?? []), c]);
  return Object.fromEntries(
    [...byStatus].map(([status, group]) => {
      const plain = group.filter((c) => c !== 'replay');
      const narrowed = { allOf: [ref('Problem'), { properties: { code: { enum: plain } } }] };
      const alternatives = [
        ...(group.includes('replay') ? [ref('ReplayProblem')] : []),
        ...(plain.length ? [narrowed] : []),
      ];
      const schema = alternatives.length === 1 ? alternatives[0] : { oneOf: alternatives };
      return [
        String(status),
        { description: codeList(group), content: { 'application/problem+json': { schema } } },
      ];
    }),
  );
}

/** The JSON Schema of what a zod schema accepts, standalone (parameters). */
function inputSchema(schema: z.ZodType): Json {
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable,
  });
  return rest;
}

/** Query parameters from a zod object schema (as parsed: zod input). */
/** The optional `Idempotency-Key` header of officers' writes (api/idempotency.ts). */
function idempotencyHeader(what: string): Json {
  return {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description: `${what} Sent again by the same caller with the same key and body, it is the same operation (the first one's answer); with another body, \`422 idempotency_key_reused\`.`,
    schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{8,128}$' },
  };
}

function queryParams(schema: z.ZodType): Json[] {
  const js = inputSchema(schema);
  const required = new Set((js.required as string[] | undefined) ?? []);
  return Object.entries((js.properties ?? {}) as Record<string, Json>).map(([name, s]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema: s,
  }));
}

const pathParam = (name: string, schema: z.ZodType, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: inputSchema(schema),
});

interface Operation {
  id: string;
  tag: string;
  summary: string;
  description?: string;
  /** Roles admitted (bearer JWT); none: public. */
  roles?: readonly Role[];
  params?: Json[];
  /** Component name of a JSON body, or a body of another media type. */
  body?: string | { media: string; schema: Json; description: string };
  ok: Record<string, Json>;
  errors?: readonly ErrorCode[];
  /** Whether the route needs Postgres or Temporal (adds `unavailable`). */
  stateful?: boolean;
}

const JSON_BODY: readonly ErrorCode[] = [
  'malformed_json',
  'too_large',
  'unsupported_media_type',
  'schema_invalid',
];
const AUTH: readonly ErrorCode[] = ['token_missing', 'token_invalid', 'token_expired', 'forbidden'];

function requestBody(body: NonNullable<Operation['body']>): Json {
  if (typeof body === 'string') return { required: true, content: json(ref(body)) };
  const { media, schema, description } = body;
  return { required: true, description, content: { [media]: { schema } } };
}

function operation(op: Operation): Json {
  const codes = [
    ...(op.errors ?? []),
    ...(op.roles ? AUTH : []),
    ...(op.stateful === false ? [] : ['unavailable' as const]),
    'internal' as const,
  ];
  const who = op.roles
    ? `**Roles:** ${op.roles.join(', ')} (bearer JWT).`
    : '**No authentication.**';
  return {
    operationId: op.id,
    tags: [op.tag],
    summary: op.summary,
    description: [who, op.description].filter(Boolean).join('\n\n'),
    security: op.roles ? [{ bearerAuth: [] }] : [],
    ...(op.params ? { parameters: op.params } : {}),
    ...(op.body ? { requestBody: requestBody(op.body) } : {}),
    responses: { ...op.ok, ...problems(codes) },
  };
}

const answer = (description: string, schema?: Json, extra: Json = {}) => ({
  description,
  ...(schema ? { content: json(schema) } : {}),
  ...extra,
});
const items = (name: string) => ({
  type: 'object',
  properties: { items: { type: 'array', items: ref(name) } },
  required: ['items'],
});
const created = (what: string, schema: string) =>
  answer(`${what} created`, ref(schema), {
    headers: { Location: { description: `URL of the new ${what}`, schema: { type: 'string' } } },
  });

const OFFICERS: Role[] = ['officer', 'supervisor'];
const OPERATORS: Role[] = ['admin', 'supervisor'];
const ADMIN: Role[] = ['admin'];
const SUPERVISORS: Role[] = ['supervisor', 'admin'];
const partyParam = pathParam('partyId', PartyId, 'the partner’s party id');

const ATTACHMENT_ID = pathParam(
  'id',
  z.string().regex(/^sha256:[0-9a-f]{64}$/),
  'the attachment: `sha256:` and the SHA-256 of its bytes (64 lowercase hex)',
);
const BYTES = { '*/*': { schema: { type: 'string', format: 'binary' } } };

export function buildOpenApiDocument(opts: { partyId: string; serverUrl?: string }): Json {
  const paths: Record<string, Record<string, Operation>> = {
    '/v1/messages': {
      post: {
        id: 'receiveMessage',
        tag: 'Protocol',
        summary: 'Receive a signed message (partner inbox)',
        description: messagesDescription(opts.partyId),
        body: {
          media: ENVELOPE_MEDIA_TYPE,
          schema: ref('Envelope'),
          description: 'One signed envelope: a JWS in compact serialization, nothing else.',
        },
        ok: {
          '202': {
            description:
              'Stored. The body is the receiver’s signed `receipt` envelope (payload `Payload.receipt`).',
            content: { [ENVELOPE_MEDIA_TYPE]: { schema: ref('Envelope') } },
          },
        },
        errors: INBOX_CHECKS.map(([code]) => code),
      },
    },
    '/.well-known/jwks.json': {
      get: {
        id: 'getJwks',
        tag: 'Protocol',
        summary: 'This node’s public signing keys',
        description: JWKS_DESCRIPTION,
        stateful: false,
        ok: {
          '200': answer('The JWK Set', ref('Jwks'), {
            headers: { 'Cache-Control': { schema: { type: 'string', const: 'max-age=300' } } },
          }),
        },
      },
    },
    '/v1/requests': {
      post: {
        id: 'createRequest',
        tag: 'Requests',
        summary: 'Create and submit a request to a counterparty',
        description:
          '`counterparty` must be another party than this node (`schema_invalid`). `priority` defaults to `routine`.',
        roles: ['officer'],
        params: [
          idempotencyHeader(
            'Makes a retry safe: the key names one request, even after its workflow has ended.',
          ),
        ],
        body: 'CreateRequestBody',
        ok: { '201': created('request', 'RequestView') },
        errors: [
          ...JSON_BODY,
          'not_canonical',
          'too_deep',
          'unknown_party',
          'idempotency_key_reused',
          'update_timeout',
        ],
      },
      get: {
        id: 'listRequests',
        tag: 'Requests',
        summary: 'List requests, newest first',
        description:
          'Each request in its summary form for every role: the subject’s title and its items’ ids and kinds (the detail shows what the caller’s roles may see).',
        roles: OFFICERS,
        params: queryParams(ListRequestsQuery),
        ok: { '200': answer('The requests', items('RequestView')) },
        errors: ['schema_invalid'],
      },
    },
    ...Object.fromEntries(
      ACTION_ROUTES.map((r) => [
        `/v1/requests/{id}/${r.path}`,
        {
          post: {
            id: `requestAction_${r.path.replace(/-/g, '_')}`,
            tag: 'Requests',
            summary: r.summary,
            description: actionDescription(r),
            roles: ['officer'] as Role[],
            params: [
              pathParam('id', Ulid, 'the request id (ULID)'),
              idempotencyHeader(
                'Makes a retry safe: the action is taken once (while the request’s workflow runs in its current history) and a retry gets the same `msgId`.',
              ),
            ],
            body: `Action.${r.kind}`,
            ok: {
              '200': answer(
                'What happened: the new status and the message sent',
                ref('ActionResult'),
              ),
            },
            errors: [
              ...JSON_BODY,
              'not_canonical',
              'too_deep',
              'request_not_found',
              'invalid_state',
              'idempotency_key_reused',
              'update_timeout',
              ...(r.kind === 'response' ? ['response_incomplete', 'unknown_attachment'] : []),
            ] as ErrorCode[],
          },
        },
      ]),
    ),
    '/v1/policy': {
      get: {
        id: 'getPolicy',
        tag: 'Protocol',
        summary: 'The deadline policy this node applies, and its digest',
        description:
          'Partners compare the digest with their own before exchanging requests; a request naming another digest is refused with `policy_mismatch`.',
        stateful: false,
        ok: { '200': answer('The policy', ref('PolicyAnswer')) },
      },
    },
    '/v1/requests/{id}': {
      get: {
        id: 'getRequest',
        tag: 'Requests',
        summary: 'One request with its timeline',
        description:
          'The subject and the withheld reasons of the coverage matrix to a role that may see the request’s content (officers: every type; supervisors: mine maps and grave information); others get the summary subject (title, items’ ids and kinds) and coverage without reasons. A read of content is recorded in the access log before the answer.',
        roles: OFFICERS,
        params: [pathParam('id', Ulid, 'the request id (ULID)')],
        ok: { '200': answer('The request', ref('RequestDetailView')) },
        errors: ['request_not_found'],
      },
    },
    '/v1/requests/{id}/geojson': {
      get: {
        id: 'getRequestGeojson',
        tag: 'Requests',
        summary: 'The mine-map records of a request as one RFC 7946 FeatureCollection',
        description:
          'Perimeters, mine rows, devices, reference and turning points of every record exchanged so far, WGS 84, one feature each with a `feature_type`; opens in QGIS as it is. Mine-map requests only. Each export is recorded in the access log.',
        roles: ['officer'],
        params: [pathParam('id', Ulid, 'the request id (ULID)')],
        ok: {
          '200': {
            description: 'The FeatureCollection',
            content: { 'application/geo+json': { schema: { type: 'object' } } },
          },
        },
        errors: ['request_not_found', 'not_found'],
      },
    },
    '/v1/supervisor/requests': {
      get: {
        id: 'supervisorListRequests',
        tag: 'Supervision',
        summary: 'Every request at a glance: filtered, sorted, a page at a time',
        description:
          'Filters combine (all must hold); list-valued ones take `a,b` or the parameter repeated. Pages follow `nextCursor` (keyset: stable while requests are added; with `sort=updated_at` a request updated meanwhile can move). No subject text or creator: the subject may hold personal data.',
        roles: SUPERVISORS,
        params: queryParams(SupervisorListQuery),
        ok: { '200': answer('One page of requests', ref('SupervisorRequestPage')) },
        errors: ['schema_invalid'],
      },
    },
    '/v1/supervisor/summary': {
      get: {
        id: 'supervisorSummary',
        tag: 'Supervision',
        summary: 'Counts, overdue, upcoming deadlines and reply times of all requests',
        description:
          'Computed from the read model at most every few seconds and served from memory in between; `asOf` says when.',
        roles: SUPERVISORS,
        ok: { '200': answer('The summary', ref('SupervisorSummary')) },
        errors: ['schema_invalid'],
      },
    },
    '/v1/supervisor/requests/{id}/timeline': {
      get: {
        id: 'supervisorTimeline',
        tag: 'Supervision',
        summary: 'One request and its timeline, in order',
        roles: SUPERVISORS,
        params: [pathParam('id', Ulid, 'the request id (ULID)')],
        ok: { '200': answer('The request and its events', ref('SupervisorTimeline')) },
        errors: ['schema_invalid', 'unknown_request'],
      },
    },
    '/v1/admin/partners': {
      get: {
        id: 'listPartners',
        tag: 'Partners',
        summary: 'List registered partners with their keys',
        roles: OPERATORS,
        ok: { '200': answer('The partners', items('PartnerView')) },
      },
      post: {
        id: 'addPartner',
        tag: 'Partners',
        summary: 'Register a partner with its name, inbox URL and keys',
        description:
          'Roles and validity apply to every key unless the key carries its own `parley_*` members. A `kid`, when given, must be the key’s RFC 7638 thumbprint; `alg` must fit the key.',
        roles: ADMIN,
        body: 'AddPartnerBody',
        ok: { '201': created('partner', 'PartnerView') },
        errors: [...JSON_BODY, 'conflict'],
      },
    },
    '/v1/admin/partners/{partyId}': {
      get: {
        id: 'getPartner',
        tag: 'Partners',
        summary: 'One partner with its keys and change history',
        roles: OPERATORS,
        params: [partyParam],
        ok: { '200': answer('The partner', ref('PartnerDetailView')) },
        errors: ['unknown_party'],
      },
      patch: {
        id: 'updatePartner',
        tag: 'Partners',
        summary: 'Change a partner’s name or inbox URL',
        roles: ADMIN,
        params: [partyParam],
        body: 'UpdatePartnerBody',
        ok: { '200': answer('The partner', ref('PartnerView')) },
        errors: [...JSON_BODY, 'unknown_party'],
      },
    },
    '/v1/admin/partners/{partyId}/keys': {
      post: {
        id: 'addPartnerKeys',
        tag: 'Partners',
        summary: 'Add keys to a partner (rotation)',
        roles: ADMIN,
        params: [partyParam],
        body: 'KeysInput',
        ok: { '201': answer('The partner', ref('PartnerView')) },
        errors: [...JSON_BODY, 'unknown_party', 'conflict'],
      },
    },
    '/v1/admin/requests/{id}/erase': {
      post: {
        id: 'eraseRequest',
        tag: 'Erasure',
        summary: 'Erase a request’s personal content, keeping its evidence',
        description:
          'For a request that has ended (closed, declined or withdrawn, its messages settled with the partner): removes its subject, the bodies of its messages, the bytes of files no other request names and its Temporal histories, and logs a `request_erased` audit entry. Ids, parties, times, status, timeline, digests, receipts and the audit log stay, so its evidence bundle still verifies (envelopes by digest). Idempotent: sent again, the same answer. See the README, _Retention and erasure_.',
        roles: ADMIN,
        params: [pathParam('id', Ulid, 'the request id (ULID)')],
        ok: { '200': answer('The erasure', ref('ErasureView')) },
        errors: ['request_not_found', 'request_open'],
      },
    },
    '/v1/admin/requests/{id}/erasure': {
      get: {
        id: 'getErasure',
        tag: 'Erasure',
        summary: 'The erasure of a request, once made',
        roles: ADMIN,
        params: [pathParam('id', Ulid, 'the request id (ULID)')],
        ok: { '200': answer('The erasure', ref('ErasureView')) },
        errors: ['request_not_found', 'not_found'],
      },
    },
    '/v1/admin/partners/{partyId}/keys/{kid}/revoke': {
      post: {
        id: 'revokePartnerKey',
        tag: 'Partners',
        summary: 'Revoke a partner key from a given time (default: now)',
        roles: ADMIN,
        params: [partyParam, pathParam('kid', Kid, 'the key’s RFC 7638 thumbprint')],
        body: 'RevokeKeyBody',
        ok: { '200': answer('The partner', ref('PartnerView')) },
        errors: [...JSON_BODY, 'unknown_party', 'unknown_key', 'conflict'],
      },
    },
    '/v1/outbox': {
      get: {
        id: 'listOutbox',
        tag: 'Exchange',
        summary: 'Outgoing messages and their delivery state',
        roles: OPERATORS,
        params: queryParams(OutboxQuery),
        ok: { '200': answer('The messages', items('OutboxItem')) },
        errors: ['schema_invalid'],
      },
    },
    '/v1/messages/{ref}': {
      get: {
        id: 'getStoredMessage',
        tag: 'Exchange',
        summary: 'A stored message exactly as exchanged',
        description:
          'By `msg_id` (a message this node sent) or by digest (a message it received). Its token and payload only when the caller’s roles may see its request’s content (admins: mine maps; receipts always), and that read is recorded in the access log; otherwise `withheld: "access_policy"` with its ids, kind, digest and status.',
        roles: ADMIN,
        params: [pathParam('ref', z.union([Ulid, Sha256Hex]), 'msg_id (ULID) or digest (64 hex)')],
        ok: { '200': answer('The message', ref('StoredMessage')) },
        errors: ['unknown_message'],
      },
    },
    '/v1/admin/exchange/export': {
      get: {
        id: 'exportBundle',
        tag: 'Exchange',
        summary: 'Export pending envelopes and owed receipts for a partner as a bundle file',
        description:
          'The envelopes carry their content (they are for transport); the export is recorded in the access log once per request it carries.',
        roles: ADMIN,
        params: queryParams(ExportQuery),
        ok: {
          '200': answer('The bundle', ref('Bundle'), {
            headers: {
              'Content-Disposition': {
                schema: { type: 'string' },
                description: 'attachment; filename="parley-<from>-to-<to>.json"',
              },
            },
          }),
        },
        errors: ['schema_invalid'],
      },
    },
    '/v1/admin/access-log': {
      get: {
        id: 'listAccessLog',
        tag: 'Audit',
        summary: 'Who read which request’s content, when, and through which route (newest first)',
        description:
          'Every read of request content by a human caller (request detail with content, GeoJSON, attachment downloads, stored messages, full evidence bundles, exchange exports, codec decodes), recorded before the answer was sent. Ids and part names only, never the data read. Filters combine; pages follow `nextCursor`.',
        roles: ADMIN,
        params: queryParams(AccessLogQuery),
        ok: { '200': answer('The recorded reads', ref('AccessLogPage')) },
        errors: ['schema_invalid'],
      },
    },
    '/v1/admin/exchange/import': {
      post: {
        id: 'importBundle',
        tag: 'Exchange',
        summary:
          'Import a bundle: verify every envelope as online (freshness relaxed) and apply receipts',
        description:
          'The body may be up to 64 MB. Each envelope and receipt gets a result (`accepted`, `applied`, or the error code that refused it); `reply` holds the receipts to carry back.',
        roles: ADMIN,
        body: 'Bundle',
        ok: { '200': answer('Per-token results and the reply bundle', ref('ImportAnswer')) },
        errors: [...JSON_BODY, 'wrong_audience'],
      },
    },
    '/v1/audit/checkpoints': {
      get: {
        id: 'listCheckpoints',
        tag: 'Audit',
        summary: 'The newest 100 signed checkpoints of this node’s audit log, with cosignatures',
        roles: SUPERVISORS,
        ok: {
          '200': answer('Checkpoints, newest first', {
            type: 'object',
            properties: { checkpoints: { type: 'array', items: ref('CheckpointView') } },
            required: ['checkpoints'],
          }),
        },
      },
      post: {
        id: 'signCheckpoint',
        tag: 'Audit',
        summary: 'Sign a checkpoint of the log as it stands now',
        description:
          'Refused with `log_tampered` (and a security alert) when the log no longer extends the last checkpoint.',
        roles: ADMIN,
        ok: { '201': answer('The checkpoint', ref('CheckpointView')) },
        errors: ['log_tampered'],
      },
    },
    '/v1/audit/entries/{index}/proof': {
      get: {
        id: 'inclusionProof',
        tag: 'Audit',
        summary: 'An entry of the log with its RFC 6962 inclusion proof',
        description:
          'Against `tree_size` when given (a checkpoint’s size), else the first checkpoint that covers the entry.',
        roles: SUPERVISORS,
        params: [
          pathParam('index', z.coerce.number().int().nonnegative(), 'the entry’s index (from 0)'),
          ...queryParams(z.object({ tree_size: z.coerce.number().int().nonnegative().optional() })),
        ],
        ok: { '200': answer('The entry and its proof', ref('InclusionProof')) },
        errors: ['schema_invalid', 'unknown_entry', 'unknown_checkpoint'],
      },
    },
    '/v1/audit/consistency': {
      get: {
        id: 'consistencyProof',
        tag: 'Audit',
        summary: 'RFC 6962 consistency proof between two tree sizes of the log',
        roles: SUPERVISORS,
        params: queryParams(
          z.object({
            from: z.coerce.number().int().nonnegative(),
            to: z.coerce.number().int().nonnegative(),
          }),
        ),
        ok: { '200': answer('The proof', ref('ConsistencyProofView')) },
        errors: ['schema_invalid', 'unknown_checkpoint'],
      },
    },
    '/v1/audit/verify': {
      get: {
        id: 'verifyLog',
        tag: 'Audit',
        summary: 'Recheck every entry and every signed checkpoint of the log from the table',
        roles: SUPERVISORS,
        ok: { '200': answer('`ok`, the size, and each problem found') },
      },
    },
    '/v1/audit/alerts': {
      get: {
        id: 'securityAlerts',
        tag: 'Audit',
        summary:
          'Security alerts: this log altered (`log_tampered`), a partner’s fork (`partner_fork`)',
        roles: SUPERVISORS,
        ok: { '200': answer('The alerts, oldest first') },
      },
    },
    '/v1/audit/witness': {
      post: {
        id: 'witnessCheckpoint',
        tag: 'Audit',
        summary: 'Node to node: a partner’s checkpoint to check and countersign',
        description:
          'Authenticated by the checkpoint’s signature: a registered key of the partner with role `log`. The consistency proof starts from the last checkpoint this node countersigned for that partner (`witness_base_mismatch` says which). A checkpoint contradicting an earlier one is refused with `fork_detected` and raised to supervisors.',
        body: 'WitnessRequest',
        ok: { '200': answer('This node’s cosignature (compact JWS)', ref('WitnessResponse')) },
        errors: [
          ...JSON_BODY,
          'unknown_key',
          'signature_invalid',
          'issuer_mismatch',
          'witness_base_mismatch',
          'fork_detected',
        ],
      },
    },
    '/v1/requests/{id}/evidence': {
      get: {
        id: 'evidenceBundle',
        tag: 'Audit',
        summary: 'The evidence bundle of a request, verifiable offline (format in the README)',
        description:
          'The full bundle (envelopes with their payloads, file names, bytes with `attachments=true`) to a role that may see the request’s content, recorded in the access log; the digest-only bundle (`manifest.content: "digests"`: envelopes by digest, proven by their log entries, no files) to the others, and to anyone asking `content=digests`. Both verify offline.',
        roles: ['officer', 'supervisor', 'admin'],
        params: [
          pathParam('id', Ulid, 'the request id (ULID)'),
          ...queryParams(
            z.object({
              attachments: z.enum(['true', 'false']).optional(),
              content: z.enum(['full', 'digests']).optional(),
            }),
          ),
        ],
        ok: { '200': answer('The bundle', ref('EvidenceBundle')) },
        errors: ['schema_invalid', 'unknown_request'],
      },
    },
    '/v1/attachments/{id}': {
      put: {
        id: 'uploadAttachment',
        tag: 'Attachments',
        summary: 'Upload a file by its SHA-256, hashed while it streams in',
        description:
          'The body is the file; `Content-Type` is its media type (from the node’s allowed list). Idempotent: the same bytes again answer 200.',
        roles: ['officer'],
        params: [ATTACHMENT_ID],
        body: {
          media: '*/*',
          schema: { type: 'string', format: 'binary' },
          description: 'the file',
        },
        ok: { '200': answer('Stored before'), '201': answer('Stored') },
        errors: ['schema_invalid', 'digest_mismatch', 'too_large', 'unsupported_media_type'],
      },
      get: {
        id: 'getAttachment',
        tag: 'Attachments',
        summary: 'A file named by a message this node holds',
        description:
          'Only to a role that may see the content of every request whose messages name the file (`forbidden` otherwise); each download is recorded in the access log.',
        roles: OFFICERS,
        params: [ATTACHMENT_ID],
        ok: { '200': { description: 'The bytes, with their media type', content: BYTES } },
        errors: ['schema_invalid', 'unknown_attachment'],
      },
    },
    '/v1/partner-attachments/{id}': {
      head: {
        id: 'partnerHasAttachment',
        tag: 'Attachments',
        summary: 'Node to node: whether this node already holds a file from the asking partner',
        description:
          'Authenticated by a `Parley-Attachment-Token` header: a compact JWS (`typ: parley-attachment+jws`) signed with the partner’s message key over `{iss, aud, sha256, size, media_type, iat, exp}`.',
        params: [ATTACHMENT_ID],
        ok: { '200': answer('Held'), '404': answer('Not held') },
        errors: ['token_missing', 'token_invalid', 'token_expired', 'unknown_key'],
      },
      put: {
        id: 'partnerUploadAttachment',
        tag: 'Attachments',
        summary: 'Node to node: a file a message to this node refers to, pushed before the message',
        description:
          'Authenticated by a `Parley-Attachment-Token` header (see HEAD); the token names this file’s digest, size and media type.',
        params: [ATTACHMENT_ID],
        body: {
          media: '*/*',
          schema: { type: 'string', format: 'binary' },
          description: 'the file',
        },
        ok: { '200': answer('Stored before'), '201': answer('Stored') },
        errors: [
          'token_missing',
          'token_invalid',
          'token_expired',
          'unknown_key',
          'signature_invalid',
          'wrong_audience',
          'issuer_mismatch',
          'digest_mismatch',
          'too_large',
          'unsupported_media_type',
        ],
      },
    },
    '/healthz': {
      get: {
        id: 'health',
        tag: 'Operations',
        summary: 'Liveness: the process answers',
        stateful: false,
        ok: { '200': answer('Alive', ref('Health')) },
      },
    },
    '/readyz': {
      get: {
        id: 'readiness',
        tag: 'Operations',
        summary: 'Readiness: Postgres and Temporal answer',
        stateful: false,
        ok: {
          '200': answer('Ready', ref('Readiness')),
          '503': answer('Not ready; each check says why', ref('Readiness')),
        },
      },
    },
    '/openapi.json': {
      get: {
        id: 'openapi',
        tag: 'Operations',
        summary: 'This document',
        stateful: false,
        ok: { '200': answer('OpenAPI 3.1', { type: 'object' }) },
      },
    },
    '/docs': {
      get: {
        id: 'docs',
        tag: 'Operations',
        summary: 'This document as a web page',
        stateful: false,
        ok: {
          '200': {
            description: 'HTML page',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
        },
      },
    },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: `Parley node ${opts.partyId}`,
      version: '1',
      description: apiDescription(opts.partyId),
    },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    tags: [
      {
        name: 'Protocol',
        description: 'Partner systems: the signed-message inbox and this node’s keys',
      },
      { name: 'Requests', description: 'Officers: requests to and from other parties' },
      { name: 'Supervision', description: 'Supervisors: every request, read-only' },
      { name: 'Partners', description: 'Admins: the partner registry' },
      {
        name: 'Erasure',
        description: 'Admins: erasing a request’s personal content while its evidence stays',
      },
      { name: 'Exchange', description: 'Operators: message traffic and store-and-forward bundles' },
      {
        name: 'Audit',
        description:
          'The tamper-evident log: checkpoints, proofs, cross-witnessing between nodes, evidence bundles',
      },
      {
        name: 'Attachments',
        description: 'Files records refer to, by SHA-256; pushed node to node before their message',
      },
      { name: 'Operations', description: 'Health and documentation' },
    ],
    paths: Object.fromEntries(
      Object.entries(paths).map(([path, ops]) => [
        path,
        Object.fromEntries(Object.entries(ops).map(([m, op]) => [m, operation(op)])),
      ]),
    ),
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A JWT from the node’s configured issuer; roles in the configured claim (default `roles`).',
        },
      },
      schemas: (() => {
        const schemas = {
          ...componentSchemas(OUTPUTS, 'output'),
          ...componentSchemas(INPUTS, 'input'),
        };
        const mapping = Object.fromEntries(
          MessageKind.options.map((k) => [k, `#/components/schemas/Payload.${k}`]),
        );
        schemas.Payload = {
          ...schemas.Payload,
          description: 'An envelope’s payload; `kind` selects the body.',
          discriminator: { propertyName: 'kind', mapping },
        };
        return schemas;
      })(),
    },
  };
}

/** Files of swagger-ui-dist the page loads; nothing else of the package is served. */
const DOCS_ASSETS = new Set([
  'swagger-ui.css',
  'swagger-ui-bundle.js',
  'favicon-32x32.png',
  'favicon-16x16.png',
]);
const DOCS_INIT = `SwaggerUIBundle({
  url: document.getElementById('swagger-ui').dataset.url,
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
`;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function openapiRouter(opts: { partyId: string; serverUrl?: string }): Router {
  const router = Router();
  const document = JSON.stringify(buildOpenApiDocument(opts));
  // `absolutePath()` of swagger-ui-dist, loaded alone: its main module would load the browser bundle.
  const require = createRequire(import.meta.url);
  const assetDir = (require('swagger-ui-dist/absolute-path.js') as () => string)();
  const assets = express.static(assetDir, { index: false, maxAge: '1d' });
  const title = escapeHtml(`Parley node ${opts.partyId}: API`);
  const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<noscript>This page needs JavaScript. The OpenAPI document is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="swagger-ui" data-url="/openapi.json"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

  router.get('/openapi.json', (_req, res) => {
    res.set('access-control-allow-origin', '*').type('application/json').send(document);
  });
  router.get('/docs', (_req, res) => {
    res.type('html').send(page);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('text/javascript').send(DOCS_INIT);
  });
  router.use('/docs/assets', (req, res, next) => {
    if (DOCS_ASSETS.has(req.path.slice(1))) assets(req, res, next);
    else next();
  });
  return router;
}
