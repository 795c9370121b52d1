// The node's OpenAPI 3.1 document, built from the zod schemas (the single source of every body,
// view and payload), served at `GET /openapi.json`, and a same-origin Swagger UI at `GET /docs`.
import {
  MediatedQuery,
  MediatedRequestView,
  MediatorNoticeInput,
  MediatorNoticeView,
  MediatorNotification,
  MediatorNotificationsQuery,
  PauseConsentView,
  RelayedQuery,
} from '../schemas/mediator-api.js';
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
import { EvidenceBundle, RelayProofs, RelayProofsRequest } from '../schemas/evidence.js';
import { AccessLogPage, AccessLogQuery } from '../schemas/access-log-api.js';
import { DeadlinePolicy } from '../schemas/policy.js';
import { RequestListItem } from '../schemas/officer-list.js';
import { PublicationQuery, PublishedIdentification } from '../schemas/publication-api.js';
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
import {
  Asked,
  BurialType,
  Conclusion,
  Confidence,
  CoverageRow,
  CoverageState,
  Datum,
  Decimal,
  Deposition,
  DeviceCategory,
  FuzeType,
  GraveRecord,
  GraveResponse,
  GraveSubject,
  HazardType,
  IdentificationRecord,
  IdentificationResponse,
  IdentificationSubject,
  ItemOutcome,
  MarkerSystem,
  MineMapRecord,
  MineMapResponse,
  MineMapSubject,
  Outcome,
  Relationship,
  Reliability,
} from '../schemas/domain/index.js';
import { AuditEntry, CheckpointPayload, CosignaturePayload } from '../schemas/audit.js';
import { EvidenceKey } from '../schemas/evidence.js';
import {
  AUDIT_ENTRY_EXAMPLES,
  CHECKPOINT_PAYLOAD_EXAMPLE,
  COSIGNATURE_PAYLOAD_EXAMPLE,
  CREATE_REQUEST_EXAMPLES,
  PAYLOAD_EXAMPLES,
  RECORD_EXAMPLES,
  RESPONSE_EXAMPLES,
  SUBJECT_EXAMPLES,
  WITNESS_REQUEST_EXAMPLE,
  WITNESS_RESPONSE_EXAMPLE,
} from '../schemas/examples.js';
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

/**
 * The domain data model (schemas/domain/): what a request of each type asks and what a response's
 * records must hold, in wire form (decimals as strings), with the enums partners must use.
 */
const DOMAIN: Record<string, z.ZodType> = {
  MineMapSubject,
  GraveSubject,
  IdentificationSubject,
  MineMapRecord,
  GraveRecord,
  IdentificationRecord,
  MineMapResponse,
  GraveResponse,
  IdentificationResponse,
  ItemOutcome,
  Outcome,
  CoverageRow,
  CoverageState,
  Decimal,
  Datum,
  HazardType,
  Confidence,
  DeviceCategory,
  FuzeType,
  BurialType,
  Deposition,
  Reliability,
  Asked,
  Conclusion,
  MarkerSystem,
  Relationship,
};

/** Keys, the audit log's leaves, checkpoints and cosignatures: what evidence bundles carry. */
const AUDIT_FORMATS: Record<string, z.ZodType> = {
  KeyRole,
  EvidenceKey,
  AuditEntry,
  CheckpointPayload,
  CosignaturePayload,
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
  RelayProofsRequest,
  MediatorNoticeInput,
};
const OUTPUTS: Record<string, z.ZodType> = {
  ...Object.fromEntries(Payload.options.map((o) => [`Payload.${o.shape.kind.value}`, o])),
  Payload,
  ProtectedHeader,
  InReplyTo,
  ...DOMAIN,
  ...AUDIT_FORMATS,
  EvidenceBundle,
  CheckpointView,
  InclusionProof: InclusionProofView.extend({
    checkpoint: z.string().describe('the checkpoint (compact JWS) the proof leads to'),
  }),
  ConsistencyProofView,
  WitnessResponse,
  RelayProofs,
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
  RequestListItem,
  RequestDetailView,
  PublishedIdentification,
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
  MediatedRequestView,
  MediatorNoticeView,
  MediatorNotification,
  PauseConsentView,
  RelayedItem: z.object({
    digest: Sha256Hex,
    msgId: Ulid,
    kind: MessageKind,
    reqId: Ulid.nullable(),
    from: PartyId,
    to: PartyId,
    sealed: z.boolean().describe('whether its personal content is sealed to the recipient'),
    receivedAt: Instant.describe('when this mediator took it (its relay receipt says so)'),
    attempts: z.int().min(0).describe('forwarding attempts to the recipient'),
    lastError: z.string().nullable().describe('the last attempt’s error or the recipient’s code'),
    recipientStatus: z
      .int()
      .nullable()
      .describe('the HTTP status of the recipient’s answer to the last attempt (null: no answer)'),
    recipientReceivedAt: Instant.nullable().describe(
      'the recipient’s receipt time, once it took it',
    ),
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

const DECIMAL_RULE =
  'Every non-integer quantity (coordinates, bearings, distances, accuracies, likelihood ratios, probabilities) is a decimal string (`Decimal`), never a JSON number: signed payloads hold integers only. Counts, device quantities and depths in centimetres are JSON integers.';
const RECORD_RULE = (type: string, subject: string) =>
  `One record of a \`response\` to a \`${type}\` request (\`body.records[]\` of \`Payload.response\`, checked against this schema once the receiver knows the request’s type; a record that breaks it is refused \`schema_invalid\` with \`errors[]\` paths into \`body\`). \`covers\` names the ids of the items of the request’s subject (\`${subject}\`) the record answers: an id the request does not have is refused \`422 response_incomplete\`. Dates may not lie in the future (a date counts as future only once it has begun in UTC+14). ${DECIMAL_RULE}`;

/** What the zod schemas cannot say, and the examples, of components (wire form). */
const COMPONENT_DOCS: Record<string, { description?: string; examples?: readonly unknown[] }> = {
  MineMapSubject: {
    description: `The \`subject\` of a \`mine_map\` request (in \`Payload.request\` and \`CreateRequestBody\`): the areas asked about, each an item (\`item_id\`, unique in the request) every final response must account for; a drawn area (\`kind: area\`, GeoJSON Polygon or MultiPolygon, WGS 84) or a named one (\`kind: admin_area\`). ${DECIMAL_RULE}`,
    examples: [SUBJECT_EXAMPLES.mine_map],
  },
  GraveSubject: {
    description:
      'The `subject` of a `grave_information` request: missing-person cases, areas, incidents or periods, each an item (`item_id`, unique in the request) every final response must account for.',
    examples: [SUBJECT_EXAMPLES.grave_information],
  },
  IdentificationSubject: {
    description:
      'The `subject` of an `identification_result` request: missing-person cases and sets of remains (items), and what is `asked`. DNA profiles travel in a response only when `asked` holds `dna_profiles`.',
    examples: [SUBJECT_EXAMPLES.identification_result],
  },
  MineMapRecord: {
    description: `${RECORD_RULE('mine_map', 'MineMapSubject')} Also checked: each turning point’s \`from_ref\` names one of the record’s reference points (\`ref_id\` unique); each reference point lies within 5000 m of the perimeter (else of the nearest row or device). Not refused but returned to the officer as \`clarification_items\` to ask about: no perimeter, fewer than two reference points, no \`datum\` (or \`local\` without \`datum_note\`), no \`accuracy_m\`, and for minefields, mined and booby-trapped areas no \`devices\` or no laying period.`,
    examples: [RECORD_EXAMPLES.mine_map],
  },
  GraveRecord: {
    description: `${RECORD_RULE('grave_information', 'GraveSubject')} Also checked: a \`Point\` location gives \`uncertainty_m\`; \`individuals.min\` ≤ \`max\`; a transfer is not before the exhumation; a case appears once in \`linked_cases\`. Returned as \`clarification_items\` when missing: location, individuals, sources, burial period.`,
    examples: [RECORD_EXAMPLES.grave_information],
  },
  IdentificationRecord: {
    description: `${RECORD_RULE('identification_result', 'IdentificationSubject')} Also checked: \`case_id\` is given when the conclusion is \`identified\` or \`excluded\`; \`family_notified\` is \`true\` when \`family_notified_on\` is given; a reference DNA profile names the donor’s \`relationship\`; \`dna_profiles\` only when the request asked for \`dna_profiles\` (else \`422 response_incomplete\`). Returned as \`clarification_items\` when a conclusive record lacks methods, report, report attachment, or a DNA method’s likelihood ratio, posterior, reference relatives, laboratory or accreditation.`,
    examples: [RECORD_EXAMPLES.identification_result],
  },
  MineMapResponse: {
    description:
      'The `body` of a `response` to a `mine_map` request. A final response (`final: true`) states an outcome for every item of the request (`422 response_incomplete` otherwise); a partial one carries at least one record or outcome. An item a record `covers` is `found`.',
    examples: [RESPONSE_EXAMPLES.mine_map],
  },
  GraveResponse: {
    description:
      'The `body` of a `response` to a `grave_information` request (see `MineMapResponse`).',
    examples: [RESPONSE_EXAMPLES.grave_information],
  },
  IdentificationResponse: {
    description:
      'The `body` of a `response` to an `identification_result` request (see `MineMapResponse`).',
    examples: [RESPONSE_EXAMPLES.identification_result],
  },
  ItemOutcome: {
    description:
      'What a response says about one item of the request: `found`, `not_found`, or `withheld` with the `reason` (required). Outcomes name each item once.',
    examples: [{ item_id: 'case-1', outcome: 'withheld', reason: 'Under investigation.' }],
  },
  Outcome: {
    description:
      '`found`: records answer the item (in this or another response); `not_found`: nothing on record; `withheld`: known but not released, `reason` says why.',
  },
  CoverageState: {
    description:
      'Where a request item stands across all responses received: `answered` once any record covers it (a delivered record stays delivered), else the latest `not_found` or `withheld` outcome, else `outstanding`.',
  },
  CoverageRow: {
    description: 'One row of a request’s coverage matrix (`RequestDetailView.coverage`).',
    examples: [{ item_id: 'corridor', state: 'answered', by: ['01JD4000000000000000000003'] }],
  },
  Decimal: { description: DECIMAL_RULE, examples: ['24.758512', '-3', '0.99999'] },
  Datum: {
    description:
      'The geodetic datum the original record was drawn in (SK-42 is Pulkovo 1942; `local` needs a `datum_note`). Coordinates in the record are WGS 84 whatever the datum.',
  },
  KeyRole: {
    description:
      'What a key may sign: `message` every message kind except `receipt`; `receipt` receipts; `log` audit checkpoints and cosignatures only. A node starts with two Ed25519 keys: its message key with roles `[message, receipt]` and its log key with `[log]`, both published in `/.well-known/jwks.json` (`parley_roles`). A partner registers keys with the roles they sign with; the witness endpoint and the bundle verifier accept only `log` keys.',
  },
  EvidenceKey: {
    description:
      'A public key in an evidence bundle: `kid` is the RFC 7638 SHA-256 thumbprint of `public_jwk`; the reader trusts a key when its `kid` is among the fingerprints obtained from the party out of band.',
  },
  AuditEntry: {
    description:
      'One leaf of a node’s audit log: RFC 8785 canonical JSON; leaf hash SHA-256(0x00 ‖ UTF-8 bytes). Digests and ids only, never personal data.',
    examples: AUDIT_ENTRY_EXAMPLES,
  },
  CheckpointPayload: {
    description:
      'The payload of a checkpoint: a compact JWS with header `{alg, kid, typ: "parley-checkpoint+jws"}` signed by a `log` key of the node `log`, over RFC 8785 canonical JSON: the log had `size` leaves with RFC 6962 root `root` at `at` (when the node signed it).',
    examples: [CHECKPOINT_PAYLOAD_EXAMPLE],
  },
  CosignaturePayload: {
    description:
      'The payload of a cosignature: a compact JWS with header `{alg, kid, typ: "parley-cosignature+jws"}` signed by a `log` key of the `witness` (the partner), over RFC 8785 canonical JSON. `log`, `size` and `root` repeat the checkpoint’s; `checkpoint_digest` is the SHA-256 (hex) of the checkpoint’s signing input `header64.payload64`; `at` is when the witness countersigned (its clock, RFC 3339 UTC), not the checkpoint’s time.',
    examples: [COSIGNATURE_PAYLOAD_EXAMPLE],
  },
  EvidenceBundle: {
    description:
      'A request’s history, verifiable offline with nothing but this file and the parties’ key fingerprints (`parley evidence verify`). `format` is `parley-evidence/1`. `log.checkpoint.token` is the node’s checkpoint (`CheckpointPayload`) every `log.entries[]` item (`AuditEntry` text, index, RFC 9162 inclusion proof) is proven against; `log.checkpoint.cosignatures[]` are the partner’s cosignatures (`CosignaturePayload`) of that checkpoint (or the mediator’s). A mediated request’s bundle has `mediator`: the mediator’s relay receipts for its envelopes and its own log’s proofs of them (`RelayProofs`), checked with the mediator’s keys too. **A bundle verifies only when the partner has countersigned its checkpoint**: with no cosignature the verifier reports “not yet countersigned” and fails. Cosignatures arrive by cross-witnessing: after each checkpoint the node posts it to the partner’s witness URL, the origin of the partner’s registered inbox URL with the path `/v1/audit/witness` (inbox `https://b.example/v1/messages` → `https://b.example/v1/audit/witness`), so a partner that wants bundles about its requests to verify must serve that route (`witnessCheckpoint`). The README, section _Evidence bundles_, lists every check.',
  },
  WitnessRequest: {
    description:
      'A node’s checkpoint (compact JWS, `CheckpointPayload`) with an RFC 6962 consistency proof from `from_size`, the size of the last checkpoint of that node this witness countersigned (0: none yet).',
    examples: [WITNESS_REQUEST_EXAMPLE],
  },
  WitnessResponse: {
    description: 'The witness’s cosignature: a compact JWS whose payload is `CosignaturePayload`.',
    examples: [WITNESS_RESPONSE_EXAMPLE],
  },
  MediatorNoticeInput: {
    description:
      'A reminder of a deadline (`to` one party or both, the default), or a pause of both parties’ clocks (`pause`), or the end of the open pause (`resume`).',
    examples: [
      { action: 'pause' },
      { action: 'reminder', deadline: 'response', to: 'responder' },
      { action: 'resume' },
    ],
  },
  RelayProofsRequest: {
    description:
      'Digests (SHA-256 hex of the signing input) of messages a mediator relayed: a party of the request holds them, nobody else knows them.',
  },
  RelayProofs: {
    description:
      'A mediator’s log proofs of what it relayed: `proofs.entries[]` are its `message_relayed` and `relay_receipt_received` entries (`AuditEntry`) for the digests asked, each with its inclusion proof in `proofs.checkpoint.token` (`CheckpointPayload` of the log `log`), with the cosignatures (`CosignaturePayload`) of the parties it relays for. An evidence bundle of a mediated request carries it as `mediator.log`.',
  },
  CreateRequestBody: {
    examples: Object.values(CREATE_REQUEST_EXAMPLES),
  },
  ...Object.fromEntries(
    Object.entries(PAYLOAD_EXAMPLES).map(([name, examples]) => [name, { examples }]),
  ),
  Problem: {
    examples: [
      {
        type: 'urn:parley:error:schema_invalid',
        title: 'schema invalid',
        status: 400,
        code: 'schema_invalid',
        detail: 'the response records do not match the schema of the request type',
        errors: [
          {
            path: '/body/records/0/perimeter/coordinates/0/0/0',
            message:
              'a decimal number written as a string, such as "24.725" or "-3": digits with an optional fraction after ".", no exponent, no "+", no leading zeros',
          },
        ],
      },
    ],
  },
  ReplayProblem: {
    examples: [
      {
        type: 'urn:parley:error:replay',
        title: 'replay',
        status: 409,
        code: 'replay',
        detail: 'this message (same digest, or same sender and msg_id) was already received',
        receipt: 'eyJhbGciOiJFZDI1NTE5In0.eyJ2IjoxfQ.c2lnbmF0dXJl',
        original_digest: 'a1'.repeat(32),
      },
    ],
  },
};

/** The zod schema behind each component that has examples, and the examples (for the tests). */
export function componentExamples(): { name: string; schema: z.ZodType; examples: unknown[] }[] {
  return Object.entries(COMPONENT_DOCS)
    .filter(([, d]) => d.examples)
    .map(([name, d]) => ({
      name,
      schema: (OUTPUTS[name] ?? INPUTS[name])!,
      examples: [...d.examples!],
    }));
}

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
  /** Named examples of a JSON body (OpenAPI Example Objects: `summary`, `value`). */
  bodyExamples?: Record<string, { summary: string; value: unknown }>;
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

function requestBody(body: NonNullable<Operation['body']>, examples?: Json): Json {
  if (typeof body === 'string')
    return {
      required: true,
      content: { 'application/json': { schema: ref(body), ...(examples ? { examples } : {}) } },
    };
  const { media, schema, description } = body;
  return { required: true, description, content: { [media]: { schema } } };
}

function operation(op: Operation, method: string): Json {
  const codes = declaredCodes(op, method);
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
    ...(op.body ? { requestBody: requestBody(op.body, op.bodyExamples) } : {}),
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

/** One named example per request type. */
const byRequestType = (examples: Record<string, unknown>, what: string) =>
  Object.fromEntries(
    Object.entries(examples).map(([type, value]) => [
      type,
      { summary: `A ${what} of type ${type}`, value },
    ]),
  );

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

const HTML_PAGE = {
  '200': {
    description: 'The web UI’s page (one document; its script draws the view of the path)',
    content: { 'text/html': { schema: { type: 'string' } } },
  },
};

/** The web UI's own routes: its pages, what its script reads, browser sign-in, the codec. */
function webUiPaths(): Record<string, Record<string, Operation>> {
  const page = (id: string, summary: string): Record<string, Operation> => ({
    get: { id, tag: 'Web UI', summary, stateful: false, ok: HTML_PAGE },
  });
  const codec = (op: 'encode' | 'decode'): Record<string, Operation> => ({
    post: {
      id: `codec_${op}`,
      tag: 'Web UI',
      summary: `${op === 'decode' ? 'Decrypt' : 'Encrypt'} Temporal payloads (the Temporal Web UI’s remote codec)`,
      description:
        'Answers browsers of the Temporal Web UI’s origin (`TEMPORAL_CODEC_CORS_ORIGIN`, else the embedded or configured UI’s), with CORS. `X-Namespace`, when sent, must be this node’s namespace. A decode is recorded in the access log (by count: a payload names no request).',
      roles: ['admin'],
      body: {
        media: 'application/json',
        schema: {
          type: 'object',
          properties: { payloads: { type: 'array', items: { type: 'object' } } },
          required: ['payloads'],
        },
        description: 'Temporal payloads in their JSON form (`metadata`, `data`, base64)',
      },
      ok: { '200': answer('The payloads, encoded or decoded', { type: 'object' }) },
      errors: ['unsupported_media_type', 'malformed_json', 'schema_invalid', 'too_large'],
    },
  });
  return {
    '/dashboard': page(
      'dashboardOverview',
      'The web UI: supervisors’ overview (officers go to their work list)',
    ),
    '/dashboard/sign-in': page('dashboardSignIn', 'The web UI: sign-in page'),
    '/dashboard/requests': page(
      'dashboardRequests',
      'The web UI: officers’ work list and requests',
    ),
    '/dashboard/requests/{id}': {
      get: {
        ...page('dashboardRequest', 'The web UI: one request (`new`: the new-request form)').get!,
        params: [pathParam('id', z.string(), 'the request id (ULID), or `new`')],
      },
    },
    '/dashboard/mediated': page(
      'dashboardMediated',
      'The web UI: on a mediator, the requests it relays as both parties see them (supervisors)',
    ),
    '/dashboard/mediated/{id}': {
      get: {
        ...page('dashboardMediatedRequest', 'The web UI: on a mediator, one request it relays')
          .get!,
        params: [pathParam('id', z.string(), 'the request id (ULID)')],
      },
    },
    '/dashboard/config.json': {
      get: {
        id: 'dashboardConfig',
        tag: 'Web UI',
        summary: 'What the web UI needs to know about this node',
        stateful: false,
        ok: {
          '200': answer('Party, namespace, Temporal UI, sign-in, map tiles', {
            type: 'object',
            properties: {
              partyId: { type: 'string' },
              temporalUiUrl: { type: ['string', 'null'] },
              namespace: { type: 'string' },
              signIn: { type: 'boolean' },
              mapTileUrl: { type: ['string', 'null'] },
            },
            required: ['partyId', 'temporalUiUrl', 'namespace', 'signIn', 'mapTileUrl'],
          }),
        },
      },
    },
    '/dashboard/session.json': {
      get: {
        id: 'dashboardSession',
        tag: 'Web UI',
        summary: 'Who the caller is, as this node verified it',
        description:
          'The subject and roles of the token or session; signed in through the browser, the name to show and the CSRF token to send with state-changing calls (`x-csrf-token`).',
        roles: ['officer', 'supervisor', 'admin'],
        ok: {
          '200': answer('The caller', {
            type: 'object',
            properties: {
              sub: { type: 'string' },
              roles: { type: 'array', items: { type: 'string' } },
              name: { type: 'string' },
              csrfToken: { type: 'string' },
            },
            required: ['sub', 'roles'],
          }),
        },
      },
    },
    '/dashboard/notifications.json': {
      get: {
        id: 'dashboardNotifications',
        tag: 'Web UI',
        summary: 'The latest escalations and near deadlines (no subject)',
        roles: ['supervisor', 'admin'],
        ok: {
          '200': answer('Notifications, newest first', {
            type: 'object',
            properties: { notifications: { type: 'array', items: { type: 'object' } } },
            required: ['notifications'],
          }),
        },
      },
    },
    '/dashboard/vendor/i18next/i18next.js': {
      get: {
        id: 'dashboardI18next',
        tag: 'Web UI',
        summary: 'The i18next module the web UI’s message catalogs load with (served, no CDN)',
        stateful: false,
        ok: {
          '200': {
            description: 'JavaScript module',
            content: { 'text/javascript': { schema: { type: 'string' } } },
          },
        },
      },
    },
    '/auth/login': {
      get: {
        id: 'signInStart',
        tag: 'Web UI',
        summary: 'Browser sign-in: to the OpenID provider (authorization code with PKCE)',
        description:
          'Mounted when sign-in is configured. `next`: the dashboard path to return to. Answers `303` to the provider.',
        stateful: false,
        ok: { '303': { description: 'To the OpenID provider' } },
        errors: ['unavailable'],
      },
    },
    '/auth/callback': {
      get: {
        id: 'signInCallback',
        tag: 'Web UI',
        summary: 'Browser sign-in: the provider’s answer; sets the session cookie',
        description:
          'Answers `303` to the dashboard, signed in (an httpOnly, SameSite=Strict session cookie), or to the sign-in page with the reason.',
        ok: {
          '200': {
            description:
              'Signed in: a page of this origin that continues to the dashboard (a SameSite=Strict cookie is not sent on a redirect chain that began at the provider)',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
          '303': { description: 'Not signed in: back to the sign-in page with the reason' },
        },
      },
    },
    '/auth/session': {
      get: {
        id: 'signInSession',
        tag: 'Web UI',
        summary: 'Whether this browser is signed in (never a 401)',
        ok: {
          '200': answer('Signed in, with who and the CSRF token; or not, with why', {
            type: 'object',
            properties: { signedIn: { type: 'boolean' }, reason: { type: 'string' } },
            required: ['signedIn'],
          }),
        },
      },
    },
    '/auth/logout': {
      post: {
        id: 'signOut',
        tag: 'Web UI',
        summary: 'Signs this browser out (with the session’s `x-csrf-token`)',
        ok: { '204': { description: 'Signed out: the session is gone' } },
        errors: ['csrf_invalid'],
      },
    },
    '/codec/decode': codec('decode'),
    '/codec/encode': codec('encode'),
  };
}

/**
 * Every route of the node, declared once: method and path, roles, body, parameters, answers and the
 * error codes it gives. The express routes are built from these declarations (api/routes.ts) and
 * so is the OpenAPI document (below): neither can name a route, a role or a body the other lacks.
 */
function operationTable(partyId: string): Record<string, Record<string, Operation>> {
  return {
    '/v1/messages': {
      post: {
        id: 'receiveMessage',
        tag: 'Protocol',
        summary: 'Receive a signed message (partner inbox)',
        description: messagesDescription(partyId),
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
          '`counterparty` must be another party than this node (`schema_invalid`). `priority` defaults to `routine`. `mediator`, when given, must be the registry’s `via` or one of the `mediators` for the counterparty (`mediator_not_agreed`); absent, the request goes through the `via`, else directly.',
        roles: ['officer'],
        params: [
          idempotencyHeader(
            'Makes a retry safe: the key names one request, even after its workflow has ended.',
          ),
        ],
        body: 'CreateRequestBody',
        bodyExamples: byRequestType(CREATE_REQUEST_EXAMPLES, 'request'),
        ok: { '201': created('request', 'RequestView') },
        errors: [
          ...JSON_BODY,
          'not_canonical',
          'too_deep',
          'unknown_party',
          'encryption_key_missing',
          'mediator_not_agreed',
          'idempotency_key_reused',
          'update_timeout',
        ],
      },
      get: {
        id: 'listRequests',
        tag: 'Requests',
        summary: 'List requests, newest first',
        description:
          'Each request in its summary form for every role: the subject’s title and its items’ ids and kinds (the detail shows what the caller’s roles may see), with `nextStep`: who owes the request’s next step (us or the partner), as in the supervisors’ list; the officers’ work list shows those owed by us.',
        roles: OFFICERS,
        params: queryParams(ListRequestsQuery),
        ok: { '200': answer('The requests', items('RequestListItem')) },
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
            ...(r.kind === 'response'
              ? { bodyExamples: byRequestType(RESPONSE_EXAMPLES, 'response') }
              : {}),
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
              'encryption_key_missing',
              'idempotency_key_reused',
              'update_timeout',
              ...(r.kind === 'response'
                ? ['response_incomplete', 'unknown_attachment', 'consent_scope']
                : []),
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
          'The subject and the withheld reasons of the coverage matrix to a role that may see the request’s content (officers: every type; supervisors: mine maps and grave information); others get the summary subject (title, items’ ids and kinds) and coverage without reasons. A read of content is recorded in the access log before the answer. `allowedActions` lists the actions this node’s officers may take now, by the action table (the status, an open question, a pending extension); empty for callers without the officer role.',
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
        summary: 'The records of a mine-map or grave request as one RFC 7946 FeatureCollection',
        description:
          'Perimeters, mine rows, devices, reference and turning points of every mine-map record exchanged so far, or the burial sites of a grave request (a point site with an `uncertainty_circle` of its stated radius, an area site as its area), WGS 84, one feature each with a `feature_type`; opens in QGIS as it is. Not for identification requests. Each export is recorded in the access log.',
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
    '/v1/requests/{id}/export.kml': {
      get: {
        id: 'getRequestKml',
        tag: 'Requests',
        summary: 'The records of a mine-map or grave request as KML',
        description:
          'The GeoJSON export’s features as KML Placemarks (WGS 84), each named by its record and kind, with its attributes as ExtendedData (an unknown attribute is left out). Mine-map and grave requests. Each export is recorded in the access log.',
        roles: ['officer'],
        params: [pathParam('id', Ulid, 'the request id (ULID)')],
        ok: {
          '200': {
            description: 'The KML document',
            content: { 'application/vnd.google-earth.kml+xml': { schema: { type: 'string' } } },
          },
        },
        errors: ['request_not_found', 'not_found'],
      },
    },
    '/v1/requests/{id}/export.zip': {
      get: {
        id: 'getRequestShapefiles',
        tag: 'Requests',
        summary: 'The records of a mine-map or grave request as ESRI Shapefiles, zipped',
        description:
          'One Shapefile per geometry type, since a Shapefile holds one: `points` (devices, reference and turning points, accidents), `lines` (mine rows), `areas` (perimeters, burial-site areas and uncertainty circles); each with its `.prj` (WGS 84) and `.cpg` (UTF-8), attribute names cut to the 10 characters DBF allows. A type with no feature has no file. Mine-map and grave requests. Each export is recorded in the access log.',
        roles: ['officer'],
        params: [pathParam('id', Ulid, 'the request id (ULID)')],
        ok: {
          '200': {
            description: 'A zip of the Shapefiles',
            content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } },
          },
        },
        errors: ['request_not_found', 'not_found'],
      },
    },
    '/v1/requests/{id}/export.gpkg': {
      get: {
        id: 'getRequestGeoPackage',
        tag: 'Requests',
        summary: 'The records of a mine-map or grave request as a GeoPackage',
        description:
          'The GeoJSON export’s features in an OGC GeoPackage: one feature table per geometry type (`points`, `lines`, `areas` as multipolygons; a type with no feature has no table), WGS 84 (EPSG:4326), each attribute a typed column, `feature_id` the feature’s id. Mine-map and grave requests. Each export is recorded in the access log.',
        roles: ['officer'],
        params: [pathParam('id', Ulid, 'the request id (ULID)')],
        ok: {
          '200': {
            description: 'The GeoPackage (SQLite)',
            content: {
              'application/geopackage+sqlite3': { schema: { type: 'string', format: 'binary' } },
            },
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
    '/v1/publication/identifications': {
      get: {
        id: 'listPublishedIdentifications',
        tag: 'Supervision',
        summary: 'The identification records whose consent allows publication',
        description:
          'Every identification record, sent or received, whose signed `consent.scope` is `publication`, in its published form: remains and case ids, conclusion, report date, handover without its place, family notification and the consent. No DNA profile, file, method, burial or holding place or confirming official, and no record of another scope, for any role. Only responses both parties hold: received, or sent with the partner’s receipt; of those, a later response about the same remains of the same request supersedes an earlier one, so a consent taken back takes the record off the list. Newest response first, each record with the response that carries it (`msgId`, envelope `digest`, signer and time). `limit`: the newest records. Each answer is recorded in the access log, once per request it draws on.',
        roles: ['officer', 'supervisor', 'admin'],
        params: queryParams(PublicationQuery),
        ok: { '200': answer('The published records', items('PublishedIdentification')) },
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
    '/v1/relayed': {
      get: {
        id: 'listRelayed',
        tag: 'Exchange',
        summary: 'On a mediator: the messages it relayed between parties, newest first',
        description:
          'Ids, kinds, parties, times and outcomes only: never tokens or content (README, _Mediated exchange_).',
        roles: OPERATORS,
        params: queryParams(RelayedQuery),
        ok: { '200': answer('The relayed messages', items('RelayedItem')) },
        errors: ['schema_invalid'],
      },
    },
    '/v1/mediated': {
      get: {
        id: 'listMediated',
        tag: 'Exchange',
        summary: 'On a mediator: the requests it relays, each as both parties see it',
        description:
          'The most recently active first (`overdue=true`: only those with a deadline passed). Each request’s state as the requester shows it and as the responder shows it, derived by the convergence rule from the messages this node relayed and the receipts it passed back, the state both reach once nothing is in transit, and the deadlines counted as the parties count them when this node holds the policy they agreed (same digest). Ids, kinds, times and deadlines only: never content (README, _Mediated exchange_).',
        roles: OPERATORS,
        params: queryParams(MediatedQuery),
        ok: { '200': answer('The mediated requests', items('MediatedRequestView')) },
        errors: ['schema_invalid'],
      },
    },
    '/v1/mediated/{id}': {
      get: {
        id: 'getMediated',
        tag: 'Exchange',
        summary: 'On a mediator: one request it relays, as both parties see it',
        roles: OPERATORS,
        params: [pathParam('id', Ulid, 'the request id (ULID)')],
        ok: { '200': answer('The request', ref('MediatedRequestView')) },
        errors: ['schema_invalid', 'unknown_request'],
      },
    },
    '/v1/mediated/{id}/notices': {
      post: {
        id: 'sendMediatorNotice',
        tag: 'Exchange',
        summary: 'On a mediator: remind the parties of a deadline, or pause or resume both clocks',
        description:
          'Signs a `mediation` message to each party (a reminder: to one when `to` says so), stores them, and delivers each party’s in order, from now on and at the watch’s passes (backoff up to an hour, 20 rounds). A pause stops both parties’ acknowledgement and response clocks from the instant signed; a resume restarts them (README, _Mediated exchange_). The mediator pauses only on both parties’ word: it does not ask them. `invalid_state` before the request reached the responder, once it ended, for a pause while one is open and a resume with none open. What each party did with its copy shows in `GET /v1/mediated/{id}` (`notices`). A reminder of a deadline to a party that had one of it less than `MEDIATOR_REMINDER_SECONDS` (default an hour) ago is `429 rate_limited`, with `Retry-After`.',
        roles: OPERATORS,
        params: [pathParam('id', Ulid, 'the request id (ULID)')],
        body: 'MediatorNoticeInput',
        ok: { '201': answer('The notices signed', items('MediatorNoticeView')) },
        errors: [...JSON_BODY, 'unknown_request', 'invalid_state', 'pause_consent', 'rate_limited'],
      },
    },
    '/v1/requests/{id}/pause-consent': {
      post: {
        id: 'givePauseConsent',
        tag: 'Requests',
        summary: 'Agree that the request’s mediator may pause both parties’ clocks',
        description:
          'On a party of a request that goes through a mediator: signs this node’s consent (a `mediation` message, `{"action": "consent", "to": "pause"}`) and posts it to the mediator at once. The mediator pauses only with both parties’ consents, and its pause carries them, so neither party’s clocks stop without its word (README, _Mediated exchange_). Asked again before a pause carried it: the same consent (sent again if the mediator did not hold it yet). `201` with `heldSince` once the mediator holds it; `202` with `heldSince: null` when the mediator could not be reached: the consent is kept, ask again to send it. `invalid_state` for an ended request, one that does not go through a mediator, or a consent the mediator refused.',
        roles: ['officer', 'supervisor'],
        params: [pathParam('id', Ulid, 'the request id (ULID)')],
        ok: {
          '201': answer('The mediator holds the consent', ref('PauseConsentView')),
          '202': answer('Kept; the mediator could not be reached yet', ref('PauseConsentView')),
        },
        errors: ['schema_invalid', 'unknown_request', 'invalid_state', 'unknown_party'],
      },
      delete: {
        id: 'withdrawPauseConsent',
        tag: 'Requests',
        summary: 'Withdraw this party’s consent to a pause before the mediator used it',
        description:
          'On a party of a request that goes through a mediator: signs the withdrawal of this node’s consents (a `mediation` message, `{"action": "withdraw_consent"}`) and posts it to the mediator at once. The mediator’s next pause then needs a consent given after it (`409 pause_consent` at the mediator until then); a pause that carried the consent already stands. `200` with `heldSince` once the mediator holds the withdrawal; `202` with `heldSince: null` when it could not be reached: the withdrawal is kept, ask again to send it (until then the mediator may still use the consent). `invalid_state` when no consent is outstanding (none given, or used or withdrawn already), for an ended request, one that does not go through a mediator, or a withdrawal the mediator refused.',
        roles: ['officer', 'supervisor'],
        params: [pathParam('id', Ulid, 'the request id (ULID)')],
        ok: {
          '200': answer('The mediator holds the withdrawal', ref('PauseConsentView')),
          '202': answer('Kept; the mediator could not be reached yet', ref('PauseConsentView')),
        },
        errors: ['schema_invalid', 'unknown_request', 'invalid_state', 'unknown_party'],
      },
    },
    '/v1/mediator/notifications': {
      get: {
        id: 'listMediatorNotifications',
        tag: 'Exchange',
        summary: 'On a mediator: the deadlines of relayed requests that passed, newest first',
        description:
          'One per request, deadline and escalation level, found by the mediator’s watch (every `MEDIATOR_WATCH_SECONDS`) from its view of the request (`GET /v1/mediated/{id}`), and posted to the node’s webhooks (`NOTIFY_WEBHOOK_URLS`) until each target took it. Ids and times only.',
        roles: OPERATORS,
        params: queryParams(MediatorNotificationsQuery),
        ok: { '200': answer('The notifications', items('MediatorNotification')) },
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
          'Authenticated by the checkpoint’s signature: a registered key of the partner with role `log`. A node posts each new checkpoint here on every partner: at the origin of the partner’s registered inbox URL with this path (inbox `https://b.example/v1/messages` → `https://b.example/v1/audit/witness`). The cosignature answered (`CosignaturePayload`: `at` is the witness’s time of countersigning) goes into the evidence bundles of the requests between the two; a bundle whose checkpoint no partner countersigned does not verify. The consistency proof starts from the last checkpoint this node countersigned for that partner (`witness_base_mismatch` says which). A checkpoint contradicting an earlier one is refused with `fork_detected` and raised to supervisors.',
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
    '/v1/relayed/proofs': {
      post: {
        id: 'relayProofs',
        tag: 'Audit',
        summary: 'Node to node, on a mediator: its log’s proofs of the messages it relayed',
        description:
          'A party making the evidence bundle of a mediated request asks its mediator here, at the origin of the mediator’s registered inbox URL with this path (README, _Mediated exchange_). The mediator makes a fresh checkpoint of its log, shows it to the parties it relays for to countersign, and answers its `message_relayed` and `relay_receipt_received` entries for the digests asked, proven in the checkpoint the most of them countersigned, with only the cosignatures of the two parties of those messages (`schema_invalid` when the digests name messages between different pairs). Concurrent askers share one witness round. Not authenticated: the digests are the credential (only the parties of a message know its digest), and the entries hold ids, digests and times only. `unknown_message` when it relayed none of them. One address may ask `RELAY_PROOFS_PER_MINUTE` times a minute (and as many at once): beyond, `429 rate_limited` with `Retry-After`.',
        body: 'RelayProofsRequest',
        ok: { '200': answer('The mediator’s proofs', ref('RelayProofs')) },
        errors: [...JSON_BODY, 'unknown_message', 'rate_limited'],
      },
    },
    '/v1/requests/{id}/evidence': {
      get: {
        id: 'evidenceBundle',
        tag: 'Audit',
        summary: 'The evidence bundle of a request, verifiable offline (format: `EvidenceBundle`)',
        description:
          'It verifies only once the partner has countersigned the checkpoint it is proven against (`log.checkpoint.cosignatures`, see `EvidenceBundle`). The full bundle (envelopes with their payloads, file names, bytes with `attachments=true`) to a role that may see the request’s content, recorded in the access log; the digest-only bundle (`manifest.content: "digests"`: envelopes by digest, proven by their log entries, no files) to the others, and to anyone asking `content=digests`. Both verify offline.',
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
        errors: [
          'token_missing',
          'token_invalid',
          'token_expired',
          'unknown_key',
          'alg_mismatch',
          'key_not_valid',
          'signature_invalid',
          'issuer_mismatch',
          'key_role_mismatch',
          'wrong_audience',
          'digest_mismatch',
          'relay_pending',
        ],
      },
      put: {
        id: 'partnerUploadAttachment',
        tag: 'Attachments',
        summary: 'Node to node: a file a message to this node refers to, pushed before the message',
        description:
          'Authenticated by a `Parley-Attachment-Token` header (see HEAD); the token names this file’s digest, size and media type. From a party registered as sealing its content, the body is the file sealed to this node: `Content-Type: application/jose` and a compact JWE (`alg` ECDH-ES+A256KW, `enc` A256GCM, `kid` one of this node’s encryption keys, `typ` parley-file+jwe) whose plaintext is the file; digest and size are checked on the opened bytes (`undecryptable` when it does not open, `not_sealed` when such a party sends a file in clear).',
        params: [ATTACHMENT_ID],
        body: {
          media: '*/*',
          schema: { type: 'string', format: 'binary' },
          description: 'the file, or the file sealed to this node (`application/jose`)',
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
          'undecryptable',
          'not_sealed',
          'relay_pending',
          'alg_mismatch',
          'key_not_valid',
          'key_role_mismatch',
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
    '/metrics': {
      get: {
        id: 'metrics',
        tag: 'Operations',
        summary: 'Prometheus metrics of the node (and of its Temporal SDK worker)',
        description:
          'Open unless `METRICS_TOKEN` is set; then `Authorization: Bearer <METRICS_TOKEN>` (a shared secret for the scraper, not a JWT). Counts, latencies and states only: no personal data, no request ids.',
        ok: {
          '200': {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
        errors: ['token_missing', 'token_invalid'],
      },
    },
    ...webUiPaths(),
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
}

/** A declared route: its operation, method and path (OpenAPI form), and every code it may answer. */
export interface DeclaredRoute {
  id: string;
  method: 'get' | 'head' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  roles: readonly Role[] | undefined;
  /** Whether the route takes a JSON body (checked by `requireJson`, parsed by the app). */
  jsonBody: boolean;
  codes: ReadonlySet<ErrorCode>;
}

/** Every code an operation's declaration lets it answer, as its OpenAPI responses list them. */
function declaredCodes(op: Operation, method: string): ErrorCode[] {
  return [
    ...(op.errors ?? []),
    ...(op.roles ? AUTH : []),
    // A signed-in browser's call that changes state without the session's CSRF token.
    ...(op.roles && method !== 'get' && method !== 'head' ? ['csrf_invalid' as const] : []),
    ...(op.stateful === false ? [] : ['unavailable' as const]),
    'internal' as const,
  ];
}

/** The node's routes by operation id (descriptions name no party: only the shape is used). */
export function declaredRoutes(): Map<string, DeclaredRoute> {
  const out = new Map<string, DeclaredRoute>();
  for (const [path, ops] of Object.entries(operationTable('this-node')))
    for (const [method, op] of Object.entries(ops))
      out.set(op.id, {
        id: op.id,
        method: method as DeclaredRoute['method'],
        path,
        roles: op.roles,
        jsonBody: typeof op.body === 'string',
        codes: new Set(declaredCodes(op, method)),
      });
  return out;
}

export function buildOpenApiDocument(opts: { partyId: string; serverUrl?: string }): Json {
  const paths = operationTable(opts.partyId);

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
      { name: 'Operations', description: 'Health, metrics and documentation' },
      {
        name: 'Web UI',
        description:
          'The browser UI’s pages, what its script reads, browser sign-in (OpenID Connect), the Temporal Web UI’s payload codec',
      },
    ],
    paths: Object.fromEntries(
      Object.entries(paths).map(([path, ops]) => [
        path,
        Object.fromEntries(Object.entries(ops).map(([m, op]) => [m, operation(op, m)])),
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
        // A response's records follow the schema of the request's type (checked once the
        // request is known): say which, rather than "any object".
        const response = schemas['Payload.response'] as { properties: { body: Json } };
        const body = response.properties.body as { properties: Record<string, Json> };
        body.properties.records = {
          ...body.properties.records,
          description:
            'the records, each of the schema of the request’s type: `MineMapRecord`, `GraveRecord` or `IdentificationRecord` (the whole body: `MineMapResponse`, `GraveResponse`, `IdentificationResponse`)',
          items: {
            anyOf: [ref('MineMapRecord'), ref('GraveRecord'), ref('IdentificationRecord')],
          },
        };
        for (const [name, { description, examples }] of Object.entries(COMPONENT_DOCS)) {
          const schema = schemas[name];
          if (!schema) throw new Error(`no component ${name} to document`);
          schemas[name] = {
            ...schema,
            ...(description ? { description } : {}),
            ...(examples ? { examples } : {}),
          };
        }
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
