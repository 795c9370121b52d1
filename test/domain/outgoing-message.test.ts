// What an officer's body becomes before it is signed, and what is refused: decimals given as JSON
// numbers are normalised to strings, numbers the message could not carry are refused
// `not_canonical` with their paths, and whatever passes is accepted by the partner's own checks of
// the bytes (canonical JSON, the protocol schema, the response against its request).
import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import {
  checkOutgoingBody,
  normaliseBody,
  parseOfficerBody,
  type OutgoingRequest,
} from '../../domain/outgoing-message.js';
import { checkAgainstRequest } from '../../domain/responses.js';
import { canonicalBytes, parseCanonical } from '../../protocol/canonical-json.js';
import { MessageBodies } from '../../schemas/envelope.js';
import { CreateRequestBody } from '../../schemas/requests-api.js';
import { finalFor, subjectFor } from '../helpers/domain.js';

const request: OutgoingRequest = {
  id: '01JCB2S4T6V8W0X2Y4Z6A8B0C2',
  type: 'mine_map',
  subject: subjectFor('mine_map') as OutgoingRequest['subject'],
  direction: 'incoming',
  requester: 'party-a',
  responder: 'party-b',
};

/** The corridor's final response with its decimals written as JSON numbers. */
function withNumbers(): Record<string, any> {
  const body = finalFor('mine_map') as Record<string, any>;
  const record = body.records[0];
  record.perimeter.coordinates = record.perimeter.coordinates.map((ring: string[][]) =>
    ring.map((p) => p.map(Number)),
  );
  record.accuracy_m = 0.5;
  record.reference_points[0].point.coordinates = [24.758041, 46.602013, 318.4];
  return body;
}

const refusal = (f: () => unknown): AppError => {
  try {
    f();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('not refused');
};

const outgoing = (kind: Parameters<typeof normaliseBody>[0], input: unknown) =>
  checkOutgoingBody(kind, request, normaliseBody(kind, request.type, input), []);

describe('an officer body on its way to be signed', () => {
  it('writes decimals given as JSON numbers as decimal strings, which the partner accepts', () => {
    const { body, gaps } = outgoing('response', withNumbers());
    const record = (body.records as any[])[0];
    expect(record.accuracy_m).toBe('0.5');
    expect(record.reference_points[0].point.coordinates).toEqual([
      '24.758041',
      '46.602013',
      '318.4',
    ]);
    expect(record.perimeter.coordinates[0][0]).toEqual(['24.758512', '46.599034']);
    // The same body as the fixture that was written with strings, and integers stay integers.
    expect(body).toEqual(outgoing('response', finalFor('mine_map')).body);
    expect(record.devices[0].quantity).toBe(40);
    // What the partner does with the bytes: canonical, its kind's schema, fits the request.
    const received = parseCanonical(canonicalBytes({ body })) as { body: unknown };
    expect(MessageBodies.response.safeParse(received.body).success).toBe(true);
    expect(checkAgainstRequest('response', request, received.body, []).gaps).toEqual(gaps);
  });

  it.each([
    ['a non-integer where an integer goes', '/records/0/devices/0/quantity', 40.5],
    ['a non-integer in an unknown member', '/records/0/weight', 1.5],
  ])('refuses %s with not_canonical and its path', (_what, path, value) => {
    const body = finalFor('mine_map') as Record<string, any>;
    const [, , , ...rest] = path.split('/');
    let target = body.records[0];
    for (const key of rest.slice(0, -1)) target = target[key];
    target[rest.at(-1)!] = value;
    const err = refusal(() => outgoing('response', body));
    expect(err.code).toBe('not_canonical');
    expect(err.errors?.map((e) => e.path)).toEqual([path]);
  });

  it('refuses an integer beyond 2^53 even where a decimal string goes: its digits are gone', () => {
    const body = finalFor('mine_map') as Record<string, any>;
    body.records[0].accuracy_m = 2 ** 60;
    const err = refusal(() => outgoing('response', body));
    expect(err.code).toBe('not_canonical');
    expect(err.errors?.map((e) => e.path)).toEqual(['/records/0/accuracy_m']);
  });

  it('refuses a non-integer in a body of another kind with not_canonical', () => {
    const err = refusal(() => outgoing('decline', { reason: 2.5 }));
    expect(err.code).toBe('not_canonical');
    expect(err.errors?.map((e) => e.path)).toEqual(['/reason']);
  });

  it('refuses a body nested deeper than the partner reads with too_deep', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 40; i++) deep = [deep];
    const body = finalFor('mine_map') as Record<string, any>;
    body.records[0].remarks = deep;
    expect(refusal(() => outgoing('response', body)).code).toBe('too_deep');
  });

  it('refuses records of another type with schema_invalid, paths into the body', () => {
    const body = { final: false, records: [{ record_id: 'GS-1', covers: ['corridor'] }] };
    const err = refusal(() => outgoing('response', body));
    expect(err.code).toBe('schema_invalid');
    expect(err.errors?.every((e) => e.path.startsWith('/records/0'))).toBe(true);
  });

  it('refuses a final response leaving an item unaccounted for with response_incomplete', () => {
    const err = refusal(() => outgoing('response', { final: true, records: [], outcomes: [] }));
    expect(err.code).toBe('response_incomplete');
    expect(err.errors?.map((e) => e.path)).toEqual(['/outcomes']);
  });

  it('trims text and leaves bodies without numbers as they are', () => {
    expect(outgoing('decline', { reason: '  out of scope ' }).body).toEqual({
      reason: 'out of scope',
    });
    expect(outgoing('acknowledgement', {}).body).toEqual({});
  });
});

describe('the number rule on a request body (POST /v1/requests)', () => {
  const create = (first: unknown) => {
    const subject = subjectFor('mine_map') as Record<string, any>;
    subject.items[0].geometry.coordinates[0][0] = first;
    subject.items[0].geometry.coordinates[0][4] = first;
    return { type: 'mine_map', counterparty: 'party-b', priority: 'routine', subject };
  };

  it('writes coordinates given as JSON numbers as decimal strings', () => {
    const body = parseOfficerBody(CreateRequestBody, create([24.755, 46.597]), 'the request');
    expect((body.subject as any).items[0].geometry.coordinates[0][0]).toEqual(['24.755', '46.597']);
  });

  it('refuses an integer beyond 2^53 where a decimal goes, with not_canonical and its path', () => {
    const err = refusal(() =>
      parseOfficerBody(CreateRequestBody, create([2 ** 60, 46.597]), 'the request'),
    );
    expect(err.code).toBe('not_canonical');
    expect(err.errors?.map((e) => e.path)).toEqual([
      '/subject/items/0/geometry/coordinates/0/0/0',
      '/subject/items/0/geometry/coordinates/0/4/0',
    ]);
  });
});
