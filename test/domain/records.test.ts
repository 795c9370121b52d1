// The three kinds of record: every fixture is accepted and, parsed, can be signed (canonical JSON
// holds no number but a safe integer); each invalid variant is refused at the JSON path of the fault
// with a message that says what is expected; legal minimums that are missing come back as gaps
// (clarification items) and a response that does not fit its request as issues.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError, issueDetails } from '../../errors.js';
import { canonicalBytes, parseCanonical } from '../../protocol/canonical-json.js';
import type { RequestType } from '../../schemas/common.js';
import {
  checkResponse,
  dateBounds,
  domainSchemas,
  isFuture,
  minimumGaps,
  recordSchema,
  DECIMAL_MESSAGE,
  DECIMAL_PATTERN,
  referencedAttachments,
  responseSchema,
  subjectSchema,
} from '../../schemas/domain/index.js';
import {
  domainFixtures,
  fixtureAttachments,
  graves,
  identifications,
  mineMaps,
} from '../fixtures/domain/index.js';

/** The day these tests pretend it is: fixtures are all in its past, 2027 is in its future. */
const NOW = Date.UTC(2026, 10, 28, 12);
const clock = () => NOW;
const TYPES: RequestType[] = ['mine_map', 'grave_information', 'identification_result'];

const details = (schema: z.ZodType, value: unknown) => {
  const r = schema.safeParse(value);
  return r.success ? [] : issueDetails(r.error.issues);
};

const copy = <T>(v: T): any => structuredClone(v);

/** Whether a value could be the body of a signed message (protocol/canonical-json.ts). */
const signable = (value: unknown): true => {
  parseCanonical(canonicalBytes(value));
  return true;
};

describe('fixtures', () => {
  it.each(TYPES)('%s: every subject, record and response is accepted', (type) => {
    const f = domainFixtures[type];
    for (const s of [domainSchemas(type, clock), domainSchemas(type)]) {
      for (const subject of f.subjects) expect(details(s.subject, subject)).toEqual([]);
      for (const record of f.records) expect(details(s.record, record)).toEqual([]);
      for (const exchange of f.exchanges)
        for (const { body } of exchange.responses) expect(details(s.response, body)).toEqual([]);
    }
  });

  it.each(TYPES)(
    '%s: every subject and response, parsed, passes the canonical JSON check of signed payloads',
    (type) => {
      const s = domainSchemas(type, clock);
      const f = domainFixtures[type];
      for (const subject of f.subjects) expect(signable(s.subject.parse(subject))).toBe(true);
      for (const record of f.records) expect(signable(s.record.parse(record))).toBe(true);
      for (const exchange of f.exchanges)
        for (const { body } of exchange.responses)
          expect(signable(s.response.parse(body))).toBe(true);
    },
  );

  it.each(TYPES)(
    '%s: the fixtures are already in wire form (parsing changes nothing, so they sign as they are)',
    (type) => {
      const s = domainSchemas(type, clock);
      const f = domainFixtures[type];
      for (const subject of f.subjects) {
        expect(signable(subject)).toBe(true);
        expect(s.subject.parse(subject)).toEqual(subject);
      }
      for (const exchange of f.exchanges)
        for (const { body } of exchange.responses) {
          expect(signable(body)).toBe(true);
          expect(s.response.parse(body)).toEqual(body);
        }
    },
  );

  it.each(TYPES)('%s: at least 2 subjects, 3 records and a final response', (type) => {
    const f = domainFixtures[type];
    expect(f.subjects.length).toBeGreaterThanOrEqual(2);
    expect(f.records.length).toBeGreaterThanOrEqual(3);
    const bodies = f.exchanges.flatMap((e) => e.responses.map((r) => r.body));
    expect(bodies.some((b) => b.final)).toBe(true);
  });

  it.each(TYPES)('%s: every exchange fits its request (nothing to refuse)', (type) => {
    const s = domainSchemas(type, clock);
    for (const exchange of domainFixtures[type].exchanges) {
      const subject = s.subject.parse(exchange.subject);
      const earlier: any[] = [];
      for (const { body } of exchange.responses) {
        const response = s.response.parse(body);
        expect(checkResponse(type, subject as any, response, earlier)).toEqual([]);
        earlier.push(response);
      }
    }
  });

  it('attachment references point to the fixture files, by their real digests', () => {
    const records = TYPES.flatMap((t) => [...domainFixtures[t].records]);
    const referenced = referencedAttachments(records);
    expect(new Set(referenced)).toEqual(new Set(fixtureAttachments.map((a) => a.sha256)));
  });

  it('the schemas by type are the ones each module exports', () => {
    expect(subjectSchema('mine_map').safeParse(mineMaps.roadsideSubject).success).toBe(true);
    expect(recordSchema('grave_information').safeParse(graves.gs044).success).toBe(true);
    expect(
      responseSchema('identification_result').safeParse(identifications.resultsFinal).success,
    ).toBe(true);
    expect(subjectSchema('mine_map').safeParse(graves.casesSubject).success).toBe(false);
  });
});

interface Variant {
  name: string;
  type: RequestType;
  target: 'subject' | 'record' | 'response';
  base: unknown;
  change: (v: any) => void;
  /**
   * `schema`: parsing fails with exactly this issue; `gap`: parsing succeeds and the record has
   * this gap; `request`: the response parses but does not fit `subject`.
   */
  via: 'schema' | 'gap' | 'request';
  path: string;
  message: string | RegExp;
  code?: string;
  subject?: unknown;
}

const swapCorners = (ring: number[][]) => ([ring[1], ring[2]] = [ring[2]!, ring[1]!]);
const ENUM = /^Invalid option: expected one of/;
const MISSING_STRING = 'Invalid input: expected string, received undefined';
const NOT_FUTURE = 'a date not in the future';

const variants: Variant[] = [
  // Mine maps: records.
  {
    name: 'latitude out of range',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.perimeter.coordinates[0][2][1] = '95.0001'),
    via: 'schema',
    path: '/perimeter/coordinates/0/2/1',
    message: 'a latitude in degrees between -90 and 90 (WGS 84)',
  },
  {
    name: 'longitude out of range in a device point',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.device_points[0].point.coordinates[0] = 204.721), // a number, converted
    via: 'schema',
    path: '/device_points/0/point/coordinates/0',
    message: 'a longitude in degrees between -180 and 180 (WGS 84)',
  },
  {
    name: 'open ring',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => v.perimeter.coordinates[0].pop(),
    via: 'schema',
    path: '/perimeter/coordinates/0',
    message: 'a closed ring: the last position must repeat the first',
  },
  {
    name: 'self-intersecting ring',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => swapCorners(v.perimeter.coordinates[0]),
    via: 'schema',
    path: '/perimeter/coordinates/0',
    message: 'a simple ring: edges 0 and 2 cross or touch (self-intersection)',
  },
  {
    name: 'self-intersecting ring in one part of a multipolygon',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0171,
    change: (v) => swapCorners(v.perimeter.coordinates[1][0]),
    via: 'schema',
    path: '/perimeter/coordinates/1/0',
    message: /self-intersection/,
  },
  {
    name: 'one reference point (a gap, not a refusal)',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => {
      v.reference_points.pop();
      v.turning_points = v.turning_points.filter((t: any) => t.from_ref === 'RP1');
    },
    via: 'gap',
    code: 'reference_points_too_few',
    path: '/reference_points',
    message: 'at least two reference points (landmark and coordinates); the record has 1',
  },
  {
    name: 'no perimeter (a gap)',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => delete v.perimeter,
    via: 'gap',
    code: 'perimeter_missing',
    path: '/perimeter',
    message: 'the perimeter of the hazardous area',
  },
  {
    name: 'no datum (a gap)',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => {
      delete v.datum;
      delete v.datum_note;
    },
    via: 'gap',
    code: 'datum_missing',
    path: '/datum',
    message: 'the datum the original record was drawn in',
  },
  {
    name: 'reference point 200 km away',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.reference_points[1].point.coordinates = ['27.35', '46.58']),
    via: 'schema',
    path: '/reference_points/1/point/coordinates',
    message: /^a reference point within 5000 m of the perimeter \(this one is 20\d{4} m away\)$/,
  },
  {
    name: 'reference point 200 km from the rows of a record without perimeter',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => {
      delete v.perimeter;
      v.reference_points[0].point.coordinates = ['24.72', '44.78'];
    },
    via: 'schema',
    path: '/reference_points/0/point/coordinates',
    message: /^a reference point within 5000 m of the perimeter/,
  },
  {
    name: 'negative quantity',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.devices[0].quantity = -5),
    via: 'schema',
    path: '/devices/0/quantity',
    message: 'a quantity of 0 or more',
  },
  {
    name: 'fractional quantity',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.devices[1].quantity = 36.5),
    via: 'schema',
    path: '/devices/1/quantity',
    message: 'a whole number of devices',
  },
  {
    name: 'anti-handling neither yes, no nor unknown',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.devices[0].anti_handling = 'maybe'),
    via: 'schema',
    path: '/devices/0/anti_handling',
    message: ENUM,
  },
  {
    name: 'future laying date',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.laying.period.to = '2027-03'),
    via: 'schema',
    path: '/laying/period/to',
    message: NOT_FUTURE,
  },
  {
    name: 'future accident date',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.known_accidents[0].date = '2026-12-24'),
    via: 'schema',
    path: '/known_accidents/0/date',
    message: NOT_FUTURE,
  },
  {
    name: 'a date that does not exist',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.laying.period.from = '1993-02-30'),
    via: 'schema',
    path: '/laying/period/from',
    message: 'a date that exists in the calendar',
  },
  {
    name: 'a period that ends before it starts',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.laying.period = { from: '1993-06', to: '1993-04' }),
    via: 'schema',
    path: '/laying/period/to',
    message: 'an end not before the start',
  },
  {
    name: 'a date and a period at once',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0171,
    change: (v) => (v.laying.period.from = '1994-08'),
    via: 'schema',
    path: '/laying/period',
    message: 'either a date, or a period (from and/or to), not both',
  },
  {
    name: 'turning point from an unknown reference point',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.turning_points[0].from_ref = 'RP9'),
    via: 'schema',
    path: '/turning_points/0/from_ref',
    message: 'the ref_id of one of this record\'s reference points (no "RP9")',
  },
  {
    name: 'bearing of 360 degrees',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.turning_points[0].bearing_deg = '360'),
    via: 'schema',
    path: '/turning_points/0/bearing_deg',
    message: 'a bearing in degrees from 0 up to 360',
  },
  {
    name: 'depth range upside down',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.laying.depth.min_cm = 20),
    via: 'schema',
    path: '/laying/depth/max_cm',
    message: 'a maximum not below min_cm',
  },
  {
    name: 'attachment reference that is not a SHA-256',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.attachments[0].ref = 'md5:9e107d9d372bb6826bd81d3542a419d6'),
    via: 'schema',
    path: '/attachments/0/ref',
    message: 'sha256: followed by 64 lowercase hex characters',
  },
  {
    name: 'attachment file name with a directory',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.attachments[0].file_name = '../etc/passwd'),
    via: 'schema',
    path: '/attachments/0/file_name',
    message: 'a file name without a directory or control characters',
  },
  {
    name: 'unknown field (strict)',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.colour = 'red'),
    via: 'schema',
    path: '/colour',
    message: 'unknown member: not allowed here',
  },
  {
    name: 'unknown field in a nested object (strict)',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.devices[0].colour = 'green'),
    via: 'schema',
    path: '/devices/0/colour',
    message: 'unknown member: not allowed here',
  },
  // Decimals: strings in one spelling only, integers where the quantity is whole.
  ...(
    [
      [
        '1e5',
        '/turning_points/0/bearing_deg',
        (v: any, x: string) => (v.turning_points[0].bearing_deg = x),
      ],
      [
        '+1',
        '/turning_points/1/distance_m',
        (v: any, x: string) => (v.turning_points[1].distance_m = x),
      ],
      ['1.', '/accuracy_m', (v: any, x: string) => (v.accuracy_m = x)],
      ['01.5', '/rows/0/spacing_m', (v: any, x: string) => (v.rows[0].spacing_m = x)],
      [
        '.5',
        '/perimeter/coordinates/0/1/0',
        (v: any, x: string) => (v.perimeter.coordinates[0][1][0] = x),
      ],
      [
        '46,58',
        '/reference_points/0/point/coordinates/1',
        (v: any, x: string) => (v.reference_points[0].point.coordinates[1] = x),
      ],
    ] as const
  ).map(([bad, path, put]): Variant => ({
    name: `malformed decimal ${JSON.stringify(bad)}`,
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => put(v, bad),
    via: 'schema',
    path,
    message: DECIMAL_MESSAGE,
  })),
  {
    name: 'turning point distance of 0 m',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.turning_points[0].distance_m = '0.0'),
    via: 'schema',
    path: '/turning_points/0/distance_m',
    message: 'a distance in metres greater than 0 and at most 10000',
  },
  {
    name: 'a count of devices as a decimal string',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.devices[0].quantity = '120'),
    via: 'schema',
    path: '/devices/0/quantity',
    message: 'Invalid input: expected number, received string',
  },
  {
    name: 'fractional depth in centimetres',
    type: 'mine_map',
    target: 'record',
    base: mineMaps.mf0142,
    change: (v) => (v.laying.depth.max_cm = 15.5),
    via: 'schema',
    path: '/laying/depth/max_cm',
    message: 'a whole number of centimetres',
  },
  {
    name: 'requested precision of 0 m',
    type: 'mine_map',
    target: 'subject',
    base: mineMaps.roadsideSubject,
    change: (v) => (v.requested_precision_m = '0'),
    via: 'schema',
    path: '/requested_precision_m',
    message: 'a precision in metres greater than 0 and at most 10000',
  },
  {
    name: 'malformed decimal in an area of interest',
    type: 'mine_map',
    target: 'subject',
    base: mineMaps.corridorSubject,
    change: (v) => (v.items[0].geometry.coordinates[0][2][1] = '46.604e0'),
    via: 'schema',
    path: '/items/0/geometry/coordinates/0/2/1',
    message: DECIMAL_MESSAGE,
  },
  // Mine maps: subjects and responses.
  {
    name: 'duplicate item id',
    type: 'mine_map',
    target: 'subject',
    base: mineMaps.roadsideSubject,
    change: (v) => (v.items[1].item_id = 'area-1'),
    via: 'schema',
    path: '/items/1/item_id',
    message: 'item id "area-1" appears twice',
  },
  {
    name: 'self-intersecting area of interest',
    type: 'mine_map',
    target: 'subject',
    base: mineMaps.roadsideSubject,
    change: (v) => swapCorners(v.items[0].geometry.coordinates[0]),
    via: 'schema',
    path: '/items/0/geometry/coordinates/0',
    message: /self-intersection/,
  },
  {
    name: 'unknown purpose',
    type: 'mine_map',
    target: 'subject',
    base: mineMaps.roadsideSubject,
    change: (v) => (v.purpose = 'sightseeing'),
    via: 'schema',
    path: '/purpose',
    message: ENUM,
  },
  {
    name: 'unknown field in a subject (strict)',
    type: 'mine_map',
    target: 'subject',
    base: mineMaps.roadsideSubject,
    change: (v) => (v.requester_name = 'someone'),
    via: 'schema',
    path: '/requester_name',
    message: 'unknown member: not allowed here',
  },
  {
    name: 'final response without outcomes',
    type: 'mine_map',
    target: 'response',
    base: mineMaps.roadsideFinal,
    change: (v) => delete v.outcomes,
    via: 'schema',
    path: '/outcomes',
    message: 'a final response states found, not_found or withheld for every item of the request',
  },
  {
    name: 'withheld without a reason',
    type: 'mine_map',
    target: 'response',
    base: mineMaps.roadsideFinal,
    change: (v) => delete v.outcomes[2].reason,
    via: 'schema',
    path: '/outcomes/2/reason',
    message: 'a reason: an item that is withheld must say why',
  },
  {
    name: 'two outcomes for one item',
    type: 'mine_map',
    target: 'response',
    base: mineMaps.roadsideFinal,
    change: (v) => (v.outcomes[1].item_id = 'area-1'),
    via: 'schema',
    path: '/outcomes/1/item_id',
    message: 'an outcome for item "area-1" appears twice',
  },
  {
    name: 'record covering no item',
    type: 'mine_map',
    target: 'response',
    base: mineMaps.roadsidePartial,
    change: (v) => (v.records[0].covers = []),
    via: 'schema',
    path: '/records/0/covers',
    message: 'the ids of the request items this record answers (at least one)',
  },
  {
    name: 'final response leaving an item unaccounted for',
    type: 'mine_map',
    target: 'response',
    base: mineMaps.roadsideFinal,
    subject: mineMaps.roadsideSubject,
    change: (v) => v.outcomes.pop(),
    via: 'request',
    code: 'unaccounted',
    path: '/outcomes',
    message: 'an outcome for item "area-3": found, not_found, or withheld with a reason',
  },
  {
    name: 'record covering an item the request does not have',
    type: 'mine_map',
    target: 'response',
    base: mineMaps.roadsidePartial,
    subject: mineMaps.roadsideSubject,
    change: (v) => v.records[0].covers.push('area-9'),
    via: 'request',
    code: 'unknown_item',
    path: '/records/0/covers/1',
    message: 'an item of the request: it has no item "area-9"',
  },
  // Graves.
  {
    name: 'min > max individuals',
    type: 'grave_information',
    target: 'record',
    base: graves.gs031,
    change: (v) => (v.individuals = { min: 12, max: 7 }),
    via: 'schema',
    path: '/individuals/max',
    message: 'a maximum not below the minimum (12)',
  },
  {
    name: 'negative number of individuals',
    type: 'grave_information',
    target: 'record',
    base: graves.gs031,
    change: (v) => (v.individuals.min = -1),
    via: 'schema',
    path: '/individuals/min',
    message: 'a number of individuals, 0 or more',
  },
  {
    name: 'future exhumation date',
    type: 'grave_information',
    target: 'record',
    base: graves.gs031,
    change: (v) => (v.status.exhumed_on = '2026-12-24'),
    via: 'schema',
    path: '/status/exhumed_on',
    message: NOT_FUTURE,
  },
  {
    name: 'exhumed without a team',
    type: 'grave_information',
    target: 'record',
    base: graves.gs031,
    change: (v) => delete v.status.team,
    via: 'schema',
    path: '/status/team',
    message: MISSING_STRING,
  },
  {
    name: 'remains transferred before they were exhumed',
    type: 'grave_information',
    target: 'record',
    base: graves.gs044,
    change: (v) => (v.status.transferred_on = '2021-08-01'),
    via: 'schema',
    path: '/status/transferred_on',
    message: 'a transfer not before the exhumation',
  },
  {
    name: 'point location without an uncertainty radius',
    type: 'grave_information',
    target: 'record',
    base: graves.gs044,
    change: (v) => delete v.location.uncertainty_m,
    via: 'schema',
    path: '/location/uncertainty_m',
    message: 'the uncertainty radius in metres of a point location',
  },
  {
    name: 'reliability grade off the scale',
    type: 'grave_information',
    target: 'record',
    base: graves.gs031,
    change: (v) => (v.sources[0].reliability = 'G'),
    via: 'schema',
    path: '/sources/0/reliability',
    message: ENUM,
  },
  {
    name: 'the same case linked twice',
    type: 'grave_information',
    target: 'record',
    base: graves.gs031,
    change: (v) => v.linked_cases.push({ case_id: 'MP-2024-00123', link: 'confirmed' }),
    via: 'schema',
    path: '/linked_cases/1/case_id',
    message: 'case id "MP-2024-00123" appears twice',
  },
  {
    name: 'no sources (a gap)',
    type: 'grave_information',
    target: 'record',
    base: graves.gs031,
    change: (v) => delete v.sources,
    via: 'gap',
    code: 'sources_missing',
    path: '/sources',
    message: 'the sources of the information, graded',
  },
  {
    name: 'no location (a gap)',
    type: 'grave_information',
    target: 'record',
    base: graves.gs044,
    change: (v) => delete v.location,
    via: 'gap',
    code: 'location_missing',
    path: '/location',
    message: 'the location of the site (point or area)',
  },
  {
    name: 'case id with spaces',
    type: 'grave_information',
    target: 'subject',
    base: graves.casesSubject,
    change: (v) => (v.items[0].case_id = 'MP 2024 00123'),
    via: 'schema',
    path: '/items/0/case_id',
    message:
      'an identifier of 1 to 80 characters: letters, digits and . _ : / -, starting with a letter or digit',
  },
  {
    name: 'unknown kind of item',
    type: 'grave_information',
    target: 'subject',
    base: graves.casesSubject,
    change: (v) => (v.items[2].kind = 'rumour'),
    via: 'schema',
    path: '/items/2/kind',
    message: /^Invalid discriminator value/,
  },
  {
    name: 'malformed uncertainty radius',
    type: 'grave_information',
    target: 'record',
    base: graves.gs044,
    change: (v) => (v.location.uncertainty_m = '25m'),
    via: 'schema',
    path: '/location/uncertainty_m',
    message: DECIMAL_MESSAGE,
  },
  {
    name: 'negative uncertainty radius',
    type: 'grave_information',
    target: 'record',
    base: graves.gs044,
    change: (v) => (v.location.uncertainty_m = '-25'),
    via: 'schema',
    path: '/location/uncertainty_m',
    message: 'an uncertainty radius in metres, 0 or more and at most 100000',
  },
  // Identifications.
  {
    name: 'posterior probability above 1',
    type: 'identification_result',
    target: 'record',
    base: identifications.r0412,
    change: (v) => (v.methods[0].posterior_probability = '1.2'),
    via: 'schema',
    path: '/methods/0/posterior_probability',
    message: 'a probability between 0 and 1',
  },
  {
    name: 'negative likelihood ratio',
    type: 'identification_result',
    target: 'record',
    base: identifications.r0412,
    change: (v) => (v.methods[0].likelihood_ratio = '-3'),
    via: 'schema',
    path: '/methods/0/likelihood_ratio',
    message: 'a likelihood ratio greater than 0',
  },
  {
    name: 'likelihood ratio in exponent notation',
    type: 'identification_result',
    target: 'record',
    base: identifications.r0412,
    change: (v) => (v.methods[0].likelihood_ratio = '1.2e9'),
    via: 'schema',
    path: '/methods/0/likelihood_ratio',
    message: DECIMAL_MESSAGE,
  },
  {
    name: 'prior probability with a leading +',
    type: 'identification_result',
    target: 'record',
    base: identifications.r0412,
    change: (v) => (v.methods[0].prior_probability = '+0.01'),
    via: 'schema',
    path: '/methods/0/prior_probability',
    message: DECIMAL_MESSAGE,
  },
  {
    name: 'posterior probability with a trailing dot',
    type: 'identification_result',
    target: 'record',
    base: identifications.r0412,
    change: (v) => (v.methods[0].posterior_probability = '1.'),
    via: 'schema',
    path: '/methods/0/posterior_probability',
    message: DECIMAL_MESSAGE,
  },
  {
    name: 'a fractional number of reference relatives',
    type: 'identification_result',
    target: 'record',
    base: identifications.r0412,
    change: (v) => (v.methods[0].reference_relatives[1].count = 1.5),
    via: 'schema',
    path: '/methods/0/reference_relatives/1/count',
    message: /^Invalid input: expected int, received number/,
  },
  {
    name: 'identified without the case it concerns',
    type: 'identification_result',
    target: 'record',
    base: identifications.r0412,
    change: (v) => delete v.case_id,
    via: 'schema',
    path: '/case_id',
    message: 'the missing-person case an identification concerns',
  },
  {
    name: 'future report date',
    type: 'identification_result',
    target: 'record',
    base: identifications.r0412,
    change: (v) => (v.report.reported_on = '2027-02-11'),
    via: 'schema',
    path: '/report/reported_on',
    message: NOT_FUTURE,
  },
  {
    name: 'repatriation done on a future date (planned is fine)',
    type: 'identification_result',
    target: 'record',
    base: identifications.r0412,
    change: (v) => (v.handover.status = 'done'),
    via: 'schema',
    path: '/handover/date',
    message: NOT_FUTURE,
  },
  {
    name: 'unknown relationship of a reference relative',
    type: 'identification_result',
    target: 'record',
    base: identifications.r0412,
    change: (v) => (v.methods[0].reference_relatives[0].relationship = 'neighbour'),
    via: 'schema',
    path: '/methods/0/reference_relatives/0/relationship',
    message: ENUM,
  },
  {
    name: 'malformed allele',
    type: 'identification_result',
    target: 'record',
    base: identifications.r0133,
    change: (v) => (v.dna_profiles[0].loci[0].alleles[0] = '15a'),
    via: 'schema',
    path: '/dna_profiles/0/loci/0/alleles/0',
    message: 'an allele such as 12, 9.3, X, Y or a base A/C/G/T',
  },
  {
    name: 'reference profile without the donor relationship',
    type: 'identification_result',
    target: 'record',
    base: identifications.r0133,
    change: (v) => (v.dna_profiles[0].source = 'reference'),
    via: 'schema',
    path: '/dna_profiles/0/relationship',
    message: "the reference donor's relationship to the missing person",
  },
  {
    name: 'DNA identification without a likelihood ratio (a gap)',
    type: 'identification_result',
    target: 'record',
    base: identifications.r0412,
    change: (v) => delete v.methods[0].likelihood_ratio,
    via: 'gap',
    code: 'dna_likelihood_ratio_missing',
    path: '/methods/0/likelihood_ratio',
    message: 'the likelihood ratio',
  },
  {
    name: 'laboratory without accreditation (a gap)',
    type: 'identification_result',
    target: 'record',
    base: identifications.r0412,
    change: (v) => delete v.methods[0].laboratory.accreditation,
    via: 'gap',
    code: 'dna_accreditation_missing',
    path: '/methods/0/laboratory/accreditation',
    message: "the laboratory's accreditation",
  },
  {
    name: 'identified without the report attached (a gap)',
    type: 'identification_result',
    target: 'record',
    base: identifications.r0412,
    change: (v) => delete v.report.attachment,
    via: 'gap',
    code: 'report_attachment_missing',
    path: '/report/attachment',
    message: 'the identification report',
  },
  {
    name: 'nothing asked',
    type: 'identification_result',
    target: 'subject',
    base: identifications.resultsSubject,
    change: (v) => (v.asked = []),
    via: 'schema',
    path: '/asked',
    message: 'what is asked: identification_results, dna_profiles and/or remains_status',
  },
  {
    name: 'the same thing asked twice',
    type: 'identification_result',
    target: 'subject',
    base: identifications.crossMatchSubject,
    change: (v) => v.asked.push('dna_profiles'),
    via: 'schema',
    path: '/asked/2',
    message: 'asked "dna_profiles" appears twice',
  },
  {
    name: 'DNA profiles in a response to a request that did not ask for them',
    type: 'identification_result',
    target: 'response',
    base: identifications.resultsFinal,
    subject: identifications.resultsSubject,
    change: (v) => (v.records[1].dna_profiles = copy(identifications.r0133.dna_profiles)),
    via: 'request',
    code: 'dna_profiles_not_requested',
    path: '/records/1/dna_profiles',
    message: 'no DNA profiles: the request did not ask for dna_profiles',
  },
];

describe('invalid variants', () => {
  it.each(variants)('$name → $via at $path', (v) => {
    const s = domainSchemas(v.type, clock);
    const value = copy(v.base);
    v.change(value);
    const message = typeof v.message === 'string' ? v.message : expect.stringMatching(v.message);
    if (v.via === 'schema') {
      expect(details(s[v.target], value)).toEqual([{ path: v.path, message }]);
      return;
    }
    const parsed = s[v.target].parse(value);
    if (v.via === 'gap') {
      expect(minimumGaps(v.type, parsed as any)).toContainEqual({
        code: v.code,
        path: v.path,
        message,
      });
      expect(minimumGaps(v.type, s.record.parse(copy(v.base)) as any)).not.toContainEqual(
        expect.objectContaining({ code: v.code }),
      );
      return;
    }
    const subject = s.subject.parse(v.subject);
    expect(checkResponse(v.type, subject as any, parsed as any)).toEqual([
      expect.objectContaining({ code: v.code, path: v.path, message }),
    ]);
  });

  it('the same response with DNA profiles is fine when the request asked for them', () => {
    const s = domainSchemas('identification_result', clock);
    const subject = s.subject.parse(identifications.crossMatchSubject);
    const response = s.response.parse(identifications.crossMatchPartial);
    expect(response.records[0]?.dna_profiles?.length).toBe(1);
    expect(checkResponse('identification_result', subject, response)).toEqual([]);
  });
});

describe('decimals', () => {
  it('normalises JSON numbers to canonical decimal strings, so the parsed record can be signed', () => {
    const input = copy(identifications.r0430);
    input.methods[0].likelihood_ratio = 3.1e-5;
    input.methods[0].prior_probability = 0.5;
    input.methods[0].posterior_probability = 1e-7;
    expect(() => parseCanonical(canonicalBytes(input))).toThrow(
      new AppError(
        'not_canonical',
        'numbers must be integers within ±(2^53 - 1); send decimals as strings',
      ),
    );
    const parsed = domainSchemas('identification_result', clock).record.parse(input);
    expect(parsed.methods?.[0]).toMatchObject({
      likelihood_ratio: '0.000031',
      prior_probability: '0.5',
      posterior_probability: '0.0000001',
    });
    expect(signable(parsed)).toBe(true);
  });

  it('normalises every kind of measure of a mine-map record given as numbers', () => {
    const input = copy(mineMaps.mf0142);
    input.turning_points[1].bearing_deg = 78.5;
    input.turning_points[1].distance_m = 1.2e3;
    input.accuracy_m = 15;
    input.rows[0].spacing_m = 4.25;
    input.device_points[2].point.coordinates = [24.7231, 46.5811, 412.4];
    const parsed = domainSchemas('mine_map', clock).record.parse(input);
    expect(parsed.turning_points?.[1]).toMatchObject({ bearing_deg: '78.5', distance_m: '1200' });
    expect(parsed.accuracy_m).toBe('15');
    expect(parsed.rows?.[0]?.spacing_m).toBe('4.25');
    expect(parsed.device_points?.[2]?.point.coordinates).toEqual(['24.7231', '46.5811', '412.4']);
    expect(signable(parsed)).toBe(true);
  });

  it('keeps decimal strings exactly as written: trailing zeros state the precision of the source', () => {
    const input = copy(graves.gs044);
    input.location.geometry.coordinates = ['24.740200', '46.596800'];
    input.location.uncertainty_m = '25.0';
    const parsed = domainSchemas('grave_information', clock).record.parse(input);
    expect(parsed.location).toEqual({
      geometry: { type: 'Point', coordinates: ['24.740200', '46.596800'] },
      uncertainty_m: '25.0',
    });
  });
});

describe('dates', () => {
  it('knows how much of a partial date means', () => {
    expect(dateBounds('1994')).toEqual({
      start: Date.UTC(1994, 0, 1),
      end: Date.UTC(1995, 0, 1) - 1,
    });
    expect(dateBounds('1994-02')?.end).toBe(Date.UTC(1994, 2, 1) - 1);
    expect(dateBounds('1996-02-29')?.start).toBe(Date.UTC(1996, 1, 29));
    expect(dateBounds('1995-02-29')).toBeUndefined();
    expect(dateBounds('94-02')).toBeUndefined();
  });

  it("accepts today's date in the easternmost time zone, refuses the day after", () => {
    // NOW is 2026-11-28 12:00 UTC: it is already the 29th in UTC+13 and UTC+14.
    expect(isFuture('2026-11-28', clock)).toBe(false);
    expect(isFuture('2026-11-29', clock)).toBe(false);
    expect(isFuture('2026-11-30', clock)).toBe(true);
    expect(isFuture('2026', clock)).toBe(false);
    expect(isFuture('2027', clock)).toBe(true);
  });

  it('judges "not in the future" by the clock the schemas were built with', () => {
    const record = copy(graves.gs031);
    record.status.exhumed_on = '2026-06-14';
    expect(domainSchemas('grave_information', clock).record.safeParse(record).success).toBe(true);
    const earlier = () => Date.UTC(2026, 0, 1);
    expect(details(domainSchemas('grave_information', earlier).record, record)).toEqual([
      { path: '/status/exhumed_on', message: NOT_FUTURE },
    ]);
  });
});

describe('OpenAPI', () => {
  it.each(TYPES)('%s: every schema has a JSON Schema (input and output)', (type) => {
    const s = domainSchemas(type);
    for (const schema of [s.subject, s.record, s.response])
      for (const io of ['input', 'output'] as const) {
        const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io }) as any;
        expect(json.type).toBe('object');
        expect(json.additionalProperties).toBe(false);
      }
  });

  it.each(TYPES)(
    '%s: the parsed (signed) form has integers and decimal strings, never other numbers',
    (type) => {
      const s = domainSchemas(type);
      for (const schema of [s.subject, s.record, s.response])
        expect(JSON.stringify(z.toJSONSchema(schema, { io: 'output' }))).not.toContain(
          '"type":"number"',
        );
      // Every record has decimals: strings with the pattern when parsed; a JSON number is also
      // accepted as input, for the convenience of API callers.
      for (const schema of [s.record, s.response]) {
        const output = JSON.stringify(z.toJSONSchema(schema, { io: 'output' }));
        expect(output).toContain(JSON.stringify(DECIMAL_PATTERN.source));
        expect(JSON.stringify(z.toJSONSchema(schema, { io: 'input' }))).toContain(
          '"type":"number"',
        );
      }
    },
  );
});
