// Examples of the wire and API contracts, in wire form (decimals as strings, as signed): one per
// request type (subject, record, response, request and response payloads, officer request body)
// and one per message kind, for the OpenAPI document (api/openapi.ts, `examples` of each
// component) and partners writing their own node. Invented data, taken from the domain fixtures
// (test/fixtures/domain/): no real person, grave or minefield. Each example is checked against
// its zod schema by test/api/openapi.test.ts.
import type { z } from 'zod';
import type { RequestType } from './common.js';
import type { GraveRecord, GraveResponse, GraveSubject } from './domain/grave.js';
import type {
  IdentificationRecord,
  IdentificationResponse,
  IdentificationSubject,
} from './domain/identification.js';
import type { MineMapRecord, MineMapResponse, MineMapSubject } from './domain/mine-map.js';
import type { MessageKind } from './envelope.js';

// ---------------------------------------------------------------------------------------------
// Request subjects
// ---------------------------------------------------------------------------------------------

/** A power line is to be repaired; its corridor was hit by cluster munitions. */
export const mineMapSubjectExample: z.input<typeof MineMapSubject> = {
  title: 'Hazards in the 110 kV line corridor, pylons 40 to 46',
  items: [
    {
      item_id: 'corridor',
      kind: 'area',
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            ['24.755', '46.597'],
            ['24.768', '46.597'],
            ['24.768', '46.604'],
            ['24.755', '46.604'],
            ['24.755', '46.597'],
          ],
        ],
      },
    },
    {
      item_id: 'commune',
      kind: 'admin_area',
      admin_area: { name: 'Dealu Mare commune', country: 'RO', code: 'DM-04' },
    },
  ],
  laying_period: { from: '1992', to: '1995' },
  hazard_types: ['cluster_munition_strike_area', 'unexploded_ordnance'],
  purpose: 'infrastructure',
  purpose_note: 'Repair of the 110 kV line; work crews need safe access lanes to each pylon.',
  requested_precision_m: '10',
};

/** Two missing persons, last seen at a detention site. */
export const graveSubjectExample: z.input<typeof GraveSubject> = {
  title: 'Burial places of persons detained at the Valea Rece school, autumn 1993',
  items: [
    { item_id: 'case-1', kind: 'case', case_id: 'MP-2024-00123' },
    { item_id: 'case-2', kind: 'case', case_id: 'MP-2024-00187' },
    {
      item_id: 'incident-1',
      kind: 'incident',
      description: 'Detention of civilians at the Valea Rece school and their removal by truck',
      when: { from: '1993-09', to: '1993-11' },
      place: 'Valea Rece village school',
    },
  ],
};

/** Results for two cases and the status of one set of remains; no DNA profiles asked. */
export const identificationSubjectExample: z.input<typeof IdentificationSubject> = {
  title: 'Identification results for cases linked to site GS-031',
  items: [
    { item_id: 'case-1', kind: 'case', case_id: 'MP-2024-00123' },
    { item_id: 'case-2', kind: 'case', case_id: 'MP-2024-00187' },
    { item_id: 'remains-1', kind: 'remains', remains_id: 'R-2024-0457' },
  ],
  asked: ['identification_results', 'remains_status'],
};

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

/**
 * A cluster munition strike across the power-line corridor, resurveyed with GNSS: positions to six
 * decimals (about 0.1 m), altitude as a third member, sub-metre accuracy.
 */
export const mineMapRecordExample: z.input<typeof MineMapRecord> = {
  record_id: 'CMSA-0009',
  covers: ['corridor'],
  source_document: { reference: 'Strike report 7/94', date: '1994-03-14' },
  hazard_type: 'cluster_munition_strike_area',
  confidence: 'confirmed',
  perimeter: {
    type: 'Polygon',
    coordinates: [
      [
        ['24.758512', '46.599034'],
        ['24.762497', '46.599018'],
        ['24.762531', '46.601522'],
        ['24.758486', '46.601497'],
        ['24.758512', '46.599034'],
      ],
    ],
  },
  reference_points: [
    {
      ref_id: 'P42',
      landmark: 'Transmission pylon no. 42',
      point: { type: 'Point', coordinates: ['24.758041', '46.602013', '318.4'] },
    },
    {
      ref_id: 'P43',
      landmark: 'Transmission pylon no. 43',
      point: { type: 'Point', coordinates: ['24.764022', '46.602187', '321.9'] },
    },
  ],
  turning_points: [
    {
      label: 'T1',
      from_ref: 'P42',
      bearing_deg: '168.5',
      bearing_reference: 'magnetic',
      distance_m: '330',
    },
  ],
  datum: 'WGS84',
  accuracy_m: '0.5',
  devices: [
    {
      category: 'other',
      model: '9N235 submunition',
      quantity: 40,
      quantity_basis: 'estimated',
      fuze_type: 'other',
      anti_handling: 'no',
    },
  ],
  laying: { period: { date: '1994-03-14' }, method: 'remote', pattern: 'cluster' },
  marking: { marking: 'complete', fencing: 'partial', checked_on: '2026-04-22' },
};

/** An individual primary grave; the remains already transferred. */
export const graveRecordExample: z.input<typeof GraveRecord> = {
  site_id: 'GS-044',
  covers: ['case-2'],
  location: {
    geometry: { type: 'Point', coordinates: ['24.7402', '46.5968'] },
    uncertainty_m: '25',
  },
  description: 'Single grave under a wild pear tree by the field path.',
  site_type: { burial: 'individual', deposition: 'primary' },
  individuals: { min: 1, max: 1 },
  burial_period: { date: '1993-11' },
  sources: [
    {
      type: 'earlier_exhumation',
      description: 'Commission exhumation report 14/2021',
      reliability: 'A',
      date: '2021-08-30',
    },
  ],
  linked_cases: [{ case_id: 'MP-2024-00187', link: 'confirmed' }],
  status: {
    state: 'remains_transferred',
    exhumed_on: '2021-08-27',
    team: 'Joint Exhumation Team 1',
    transferred_on: '2021-09-02',
    transferred_to: 'Regional forensic mortuary',
  },
};

/** The identification report the identification example refers to (its bytes travel apart). */
const REPORT = {
  sha256: '545212cba4410a5290dd157b9b5ed5051e2b53c24e7505cef29e3ff523dec64f',
  size: 422,
  media_type: 'text/plain',
  name: 'R-2024-0412_identification_report.txt',
} as const;

/** An identification by DNA and anthropology; repatriation planned. */
export const identificationRecordExample: z.input<typeof IdentificationRecord> = {
  covers: ['case-1'],
  remains: { remains_id: 'R-2024-0412', site_id: 'GS-031', recovered_on: '2024-06-12' },
  case_id: 'MP-2024-00123',
  conclusion: 'identified',
  methods: [
    {
      method: 'dna',
      marker_systems: ['autosomal_str', 'y_str'],
      reference_relatives: [
        { relationship: 'mother', count: 1 },
        { relationship: 'full_sibling', count: 2 },
      ],
      likelihood_ratio: '1200000000',
      prior_probability: '0.01',
      posterior_probability: '0.99999',
      laboratory: {
        name: 'Regional Forensic DNA Laboratory',
        accreditation: {
          standard: 'ISO/IEC 17025',
          body: 'National Accreditation Body',
          certificate: 'LI-0192',
        },
      },
    },
    {
      method: 'anthropology',
      summary: 'Male, 35 to 50 years, healed fracture of the left tibia, consistent with records.',
    },
  ],
  report: {
    reported_on: '2025-02-11',
    confirmed_by: 'Chief forensic pathologist, Joint Identification Commission',
    attachment: {
      ref: `sha256:${REPORT.sha256}`,
      media_type: REPORT.media_type,
      file_name: REPORT.name,
    },
  },
  estimated_death: { from: '1993-10', to: '1993-11' },
  held_at: 'Regional forensic mortuary',
  handover: {
    kind: 'repatriation',
    status: 'planned',
    date: '2027-01-15',
    place: 'Border crossing point Valea Rece',
  },
  family_notified: true,
  family_notified_on: '2025-02-20',
};

/** Remains still under analysis. */
const pendingRemains: z.input<typeof IdentificationRecord> = {
  covers: ['remains-1'],
  remains: { remains_id: 'R-2024-0457', site_id: 'GS-031', recovered_on: '2024-06-13' },
  conclusion: 'pending',
  methods: [{ method: 'odontology', summary: 'Dental chart prepared; no ante-mortem data yet.' }],
  held_at: 'Regional forensic mortuary',
};

// ---------------------------------------------------------------------------------------------
// Responses (the body of a `response` message, by the request's type)
// ---------------------------------------------------------------------------------------------

/** Final: the record found, and the named area with nothing on record. */
export const mineMapResponseExample: z.input<typeof MineMapResponse> = {
  final: true,
  records: [mineMapRecordExample],
  outcomes: [
    { item_id: 'corridor', outcome: 'found' },
    { item_id: 'commune', outcome: 'not_found' },
  ],
};

/** Final: one site found, one case withheld with its reason, the incident not found. */
export const graveResponseExample: z.input<typeof GraveResponse> = {
  final: true,
  records: [graveRecordExample],
  outcomes: [
    {
      item_id: 'case-1',
      outcome: 'withheld',
      reason: 'Under investigation by the prosecutor; to be released after the indictment.',
    },
    { item_id: 'case-2', outcome: 'found' },
    { item_id: 'incident-1', outcome: 'not_found' },
  ],
  note: 'Site GS-031 is still being exhumed; a further response will follow.',
};

/** Partial: two records, no outcomes yet (a final response must state one for every item). */
export const identificationResponseExample: z.input<typeof IdentificationResponse> = {
  final: false,
  records: [identificationRecordExample, pendingRemains],
};

export const SUBJECT_EXAMPLES = {
  mine_map: mineMapSubjectExample,
  grave_information: graveSubjectExample,
  identification_result: identificationSubjectExample,
} as const satisfies Record<RequestType, unknown>;

export const RECORD_EXAMPLES = {
  mine_map: mineMapRecordExample,
  grave_information: graveRecordExample,
  identification_result: identificationRecordExample,
} as const satisfies Record<RequestType, unknown>;

export const RESPONSE_EXAMPLES = {
  mine_map: mineMapResponseExample,
  grave_information: graveResponseExample,
  identification_result: identificationResponseExample,
} as const satisfies Record<RequestType, unknown>;

/** The files a response example's records name, as the envelope's `attachments` lists them. */
const RESPONSE_ATTACHMENTS: Record<RequestType, readonly (typeof REPORT)[]> = {
  mine_map: [],
  grave_information: [],
  identification_result: [REPORT],
};

// ---------------------------------------------------------------------------------------------
// Officer request bodies (POST /v1/requests)
// ---------------------------------------------------------------------------------------------

export const CREATE_REQUEST_EXAMPLES = {
  mine_map: { type: 'mine_map', counterparty: 'party-b', subject: mineMapSubjectExample },
  grave_information: {
    type: 'grave_information',
    counterparty: 'party-b',
    priority: 'urgent',
    subject: graveSubjectExample,
  },
  identification_result: {
    type: 'identification_result',
    counterparty: 'party-b',
    priority: 'routine',
    subject: identificationSubjectExample,
  },
} as const satisfies Record<RequestType, unknown>;

// ---------------------------------------------------------------------------------------------
// Payloads: one per message kind (and per request type for `request` and `response`)
// ---------------------------------------------------------------------------------------------

/** The agreed deadline policy's digest (`GET /v1/policy`). */
const POLICY_DIGEST = '3f1c0e4b7a9d2c5e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e';
const REQ_ID = '01JD3Q8Z5X4M2N7P9R6T0V1W2A';
const REQUEST_MSG = { msg_id: '01JD3Q8Z5X4M2N7P9R6T0V1W2B', digest: 'a1'.repeat(32) };
const QUESTION_MSG = { msg_id: '01JD3R1A2B3C4D5E6F7G8H9J0K', digest: 'b2'.repeat(32) };
const EXTENSION_MSG = { msg_id: '01JD3S2B3C4D5E6F7G8H9J0K1M', digest: 'c3'.repeat(32) };
/** Seconds since the epoch; every example is signed for 300 s. */
const T0 = 1_764_806_400; // 2025-12-04T00:00:00Z

/** A payload as signed: the members every kind carries, then the kind's own. */
function payload(
  kind: MessageKind,
  n: number,
  from: 'requester' | 'responder',
  rest: { body: unknown; in_reply_to?: unknown; attachments?: readonly unknown[]; seq?: number },
): Record<string, unknown> {
  const [iss, aud] = from === 'requester' ? ['party-a', 'party-b'] : ['party-b', 'party-a'];
  const iat = T0 + n * 3_600;
  return {
    v: 1,
    msg_id: `01JD40000000000000000000${String(n).padStart(2, '0')}`,
    iss,
    aud,
    iat,
    exp: iat + 300,
    kind,
    req_id: REQ_ID,
    ...(rest.in_reply_to ? { in_reply_to: rest.in_reply_to } : {}),
    ...(kind === 'receipt' ? {} : { seq: rest.seq ?? 2, seen: 1, sent_at: iat }),
    body: rest.body,
    attachments: rest.attachments ?? [],
  };
}

const requestPayload = (type: RequestType) =>
  payload('request', 1, 'requester', {
    seq: 1,
    body: {
      request_type: type,
      priority: (CREATE_REQUEST_EXAMPLES[type] as { priority?: string }).priority ?? 'routine',
      subject: SUBJECT_EXAMPLES[type],
      policy_digest: POLICY_DIGEST,
    },
  });

const responsePayload = (type: RequestType) =>
  payload('response', 3, 'responder', {
    body: RESPONSE_EXAMPLES[type],
    attachments: RESPONSE_ATTACHMENTS[type],
  });

/** Two compact JWS standing for the parties' signed consents (not real signatures). */
const CONSENT_OF_A =
  'eyJhbGciOiJFZERTQSIsImtpZCI6ImEiLCJ0eXAiOiJwYXJsZXktbXNnK2p3cyJ9.eyJraW5kIjoibWVkaWF0aW9uIn0.c2lnbmF0dXJlLW9mLXBhcnR5LWE';
const CONSENT_OF_B =
  'eyJhbGciOiJFZERTQSIsImtpZCI6ImIiLCJ0eXAiOiJwYXJsZXktbXNnK2p3cyJ9.eyJraW5kIjoibWVkaWF0aW9uIn0.c2lnbmF0dXJlLW9mLXBhcnR5LWI';

/** A mediator's notice to one party: no order members (the party numbers them as they arrive). */
function mediationPayload(n: number, aud: string, body: unknown): Record<string, unknown> {
  const {
    seq: _seq,
    seen: _seen,
    sent_at: _sentAt,
    ...rest
  } = payload('mediation', n, 'requester', {
    body,
  });
  return { ...rest, iss: 'icrc-geneva', aud };
}

/**
 * Payload examples by component name (`Payload.<kind>`): a request and a response of each type,
 * one payload of every other kind.
 */
export const PAYLOAD_EXAMPLES: Record<`Payload.${MessageKind}`, readonly unknown[]> = {
  'Payload.request': [
    requestPayload('mine_map'),
    requestPayload('grave_information'),
    requestPayload('identification_result'),
  ],
  'Payload.acknowledgement': [
    payload('acknowledgement', 2, 'responder', {
      seq: 1,
      body: {
        expected_by: '2025-12-18T00:00:00Z',
        note: 'The engineer archive is being searched.',
      },
    }),
  ],
  'Payload.response': [
    responsePayload('mine_map'),
    responsePayload('grave_information'),
    responsePayload('identification_result'),
  ],
  'Payload.clarification_request': [
    payload('clarification_request', 4, 'responder', {
      seq: 3,
      body: { questions: ['Is the school building or the sports ground meant by "the school"?'] },
    }),
  ],
  'Payload.clarification': [
    payload('clarification', 5, 'requester', {
      in_reply_to: QUESTION_MSG,
      body: { answers: ['The sports ground behind the school building.'] },
    }),
  ],
  'Payload.extension_request': [
    payload('extension_request', 6, 'responder', {
      seq: 4,
      body: {
        reason: 'The military archive answers requests within 60 days.',
        proposed_deadline: '2026-02-15T00:00:00Z',
      },
    }),
  ],
  'Payload.extension_decision': [
    payload('extension_decision', 7, 'requester', {
      seq: 3,
      in_reply_to: EXTENSION_MSG,
      body: { granted: true, new_deadline: '2026-02-15T00:00:00Z' },
    }),
  ],
  'Payload.decline': [
    payload('decline', 8, 'responder', {
      body: { reason: 'The area lies outside the territory our records cover.' },
    }),
  ],
  'Payload.withdrawal': [
    payload('withdrawal', 9, 'requester', {
      body: { reason: 'The families found the information through another channel.' },
    }),
  ],
  'Payload.reminder': [
    payload('reminder', 10, 'requester', {
      body: { deadline: 'response', due_at: '2026-01-05T00:00:00Z' },
    }),
  ],
  'Payload.closure': [
    payload('closure', 11, 'requester', { seq: 4, body: { outcome: 'accepted' } }),
  ],
  'Payload.mediation': [
    mediationPayload(13, 'party-a', {
      action: 'pause',
      pause_id: '01JD5A0000000000000000PA5E',
      from: '2025-12-05T09:00:00Z',
      // The parties' consents as they signed them (shortened here: each is a whole compact JWS).
      consents: [CONSENT_OF_A, CONSENT_OF_B],
    }),
    mediationPayload(14, 'party-b', {
      action: 'reminder',
      deadline: 'response',
      due_at: '2026-01-05T00:00:00Z',
    }),
    // A party's consent to its mediator: from party-a to icrc-geneva.
    (() => {
      const {
        seq: _seq,
        seen: _seen,
        sent_at: _sentAt,
        ...rest
      } = payload('mediation', 15, 'requester', {
        body: { action: 'consent', to: 'pause' },
      });
      return { ...rest, aud: 'icrc-geneva' };
    })(),
  ],
  'Payload.receipt': [
    payload('receipt', 12, 'responder', {
      in_reply_to: REQUEST_MSG,
      body: { digest: REQUEST_MSG.digest, received_at: '2025-12-04T01:00:02.137Z', sent: 0 },
    }),
  ],
};

// ---------------------------------------------------------------------------------------------
// The audit log: checkpoints, cosignatures, witnessing
// ---------------------------------------------------------------------------------------------

const ROOT = '7d1a54127b222502f5b79b5fb0803061152a44f92b37e23c6527baf665d4da9a';

export const CHECKPOINT_PAYLOAD_EXAMPLE = {
  log: 'party-a',
  size: 1042,
  root: ROOT,
  at: '2025-12-04T12:00:00.000Z',
};

export const COSIGNATURE_PAYLOAD_EXAMPLE = {
  witness: 'party-b',
  log: 'party-a',
  size: 1042,
  root: ROOT,
  checkpoint_digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  at: '2025-12-04T12:00:01.250Z',
};

/** An illustrative compact JWS (its signature does not verify: examples are not signed). */
const jws = (typ: string, payload: unknown) =>
  [
    Buffer.from(
      JSON.stringify({ alg: 'Ed25519', kid: 'q0CX8sT7vB2nM4kL9hJ6gF3dS1aZ5xC7vB8nM0kL2jH', typ }),
    ).toString('base64url'),
    Buffer.from(JSON.stringify(payload)).toString('base64url'),
    'c2lnbmF0dXJlLW9mLTY0LWJ5dGVzLW5vdC1hLXJlYWwtc2lnbmF0dXJlLWV4YW1wbGUtb25seQ',
  ].join('.');

export const WITNESS_REQUEST_EXAMPLE = {
  checkpoint: jws('parley-checkpoint+jws', CHECKPOINT_PAYLOAD_EXAMPLE),
  from_size: 1000,
  proof: [
    '5f2d7c8b9a0e1d2c3b4a59687766554433221100ffeeddccbbaa998877665544',
    '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9',
  ],
};

export const WITNESS_RESPONSE_EXAMPLE = {
  cosignature: jws('parley-cosignature+jws', COSIGNATURE_PAYLOAD_EXAMPLE),
};

export const AUDIT_ENTRY_EXAMPLES = [
  {
    v: 1,
    type: 'message_received',
    at: '2025-12-04T01:00:02.137Z',
    digest: REQUEST_MSG.digest,
    msg_id: REQUEST_MSG.msg_id,
    kind: 'request',
    req_id: REQ_ID,
    iss: 'party-a',
    kid: 'q0CX8sT7vB2nM4kL9hJ6gF3dS1aZ5xC7vB8nM0kL2jH',
    via: 'online',
  },
  {
    v: 1,
    type: 'checkpoint_witnessed',
    at: '2025-12-04T12:00:01.250Z',
    party_id: 'party-b',
    size: 977,
    root: '9c1185a5c5e9fc54612808977ee8f548b2258d31b5d2e4f1a6b9d3c7e8f0a1b2',
  },
];
