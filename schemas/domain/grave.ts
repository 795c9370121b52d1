// Grave information: what a request about burial sites asks (by missing-person case, area,
// incident or period) and the site records a response carries, so a forensic team can plan an
// exhumation and a family liaison can say what is known, without a phone call.
import { z } from 'zod';
import { SubjectBase as RequestSubject } from '../common.js';
import { GeoArea, GeoMultiPolygon, GeoPoint, GeoPolygon } from './geo.js';
import {
  AdminArea,
  Attachments,
  CaseId,
  checkUnique,
  type Clock,
  Covers,
  dateOrPeriod,
  decimalIn,
  ExternalId,
  gap,
  type Gap,
  ItemId,
  pastIsoDate,
  pastPartialDate,
  responseOf,
  systemClock,
  Prose,
  Text,
  uniqueItemIds,
} from './shared.js';

export const BurialType = z.enum(['individual', 'mass', 'commingled']);
/** Primary: as first buried; secondary or tertiary: disturbed or relocated once or more. */
export const Deposition = z.enum(['primary', 'secondary', 'tertiary', 'unknown']);
export const SourceType = z.enum(['witness', 'document', 'imagery', 'earlier_exhumation', 'other']);
/** The intelligence "admiralty" grade of a source: A completely reliable … F cannot be judged. */
export const Reliability = z
  .enum(['A', 'B', 'C', 'D', 'E', 'F'])
  .describe('reliability of the source: A completely reliable … E unreliable, F cannot be judged');
export const CaseLink = z.enum(['tentative', 'confirmed']);

// ---------------------------------------------------------------------------------------------
// Request subject
// ---------------------------------------------------------------------------------------------

export const GraveItem = z.discriminatedUnion('kind', [
  z.strictObject({ item_id: ItemId, kind: z.literal('case'), case_id: CaseId }),
  z.strictObject({
    item_id: ItemId,
    kind: z.literal('area'),
    label: Text(200).optional(),
    geometry: GeoArea,
  }),
  z.strictObject({ item_id: ItemId, kind: z.literal('admin_area'), admin_area: AdminArea }),
  z.strictObject({
    item_id: ItemId,
    kind: z.literal('incident'),
    description: Prose(2_000).describe('the incident or event, without personal data'),
    when: dateOrPeriod().optional(),
    place: Text(300).optional(),
  }),
  z.strictObject({
    item_id: ItemId,
    kind: z.literal('period'),
    period: dateOrPeriod(),
    admin_area: AdminArea.optional(),
  }),
]);
export type GraveItem = z.infer<typeof GraveItem>;

function buildSubject() {
  return RequestSubject.extend({
    items: z.array(GraveItem).min(1, 'at least one case, area, incident or period').max(500),
  }).superRefine(uniqueItemIds);
}

// ---------------------------------------------------------------------------------------------
// Response record
// ---------------------------------------------------------------------------------------------

/** A point is only as good as its uncertainty radius, so a point location must state one. */
export const GraveLocation = z
  .strictObject({
    geometry: z.discriminatedUnion('type', [GeoPoint, GeoPolygon, GeoMultiPolygon]),
    uncertainty_m: decimalIn(
      { min: 0, max: 100_000 },
      'an uncertainty radius in metres, 0 or more and at most 100000',
    ).optional(),
  })
  .superRefine((l, ctx) => {
    if (l.geometry.type === 'Point' && l.uncertainty_m === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['uncertainty_m'],
        message: 'the uncertainty radius in metres of a point location',
      });
  });

export const Individuals = z
  .strictObject({
    min: z
      .number()
      .int('a whole number of individuals')
      .min(0, 'a number of individuals, 0 or more'),
    max: z
      .number()
      .int('a whole number of individuals')
      .min(0, 'a number of individuals, 0 or more'),
  })
  .superRefine((n, ctx) => {
    if (n.min > n.max)
      ctx.addIssue({
        code: 'custom',
        path: ['max'],
        message: `a maximum not below the minimum (${n.min})`,
      });
  });

function buildRecord(clock: Clock) {
  const Source = z.strictObject({
    type: SourceType,
    description: Prose(2_000),
    reliability: Reliability,
    date: pastPartialDate(clock).optional(),
  });
  const Exhumation = {
    exhumed_on: pastIsoDate(clock).describe('the day the exhumation ended'),
    team: Text(300).describe('the team or institution that exhumed'),
  };
  const Status = z.discriminatedUnion('state', [
    z.strictObject({ state: z.literal('unverified') }),
    z.strictObject({
      state: z.literal('verified'),
      verified_on: pastIsoDate(clock).optional(),
      verified_by: Text(300).optional(),
    }),
    z.strictObject({ state: z.literal('exhumed'), ...Exhumation }),
    z
      .strictObject({
        state: z.literal('remains_transferred'),
        ...Exhumation,
        transferred_on: pastIsoDate(clock),
        transferred_to: Text(300).describe('the mortuary or institution that holds the remains'),
      })
      .superRefine((s, ctx) => {
        if (s.transferred_on < s.exhumed_on)
          ctx.addIssue({
            code: 'custom',
            path: ['transferred_on'],
            message: 'a transfer not before the exhumation',
          });
      }),
  ]);

  return z
    .strictObject({
      site_id: ExternalId.describe("the responder's id of the site"),
      covers: Covers,
      location: GraveLocation.optional(),
      description: Prose(5_000),
      site_type: z.strictObject({ burial: BurialType, deposition: Deposition }),
      individuals: Individuals.optional(),
      burial_period: dateOrPeriod(clock).optional(),
      circumstances: Prose(5_000).optional(),
      sources: z.array(Source).max(100).optional(),
      linked_cases: z
        .array(z.strictObject({ case_id: CaseId, link: CaseLink }))
        .max(1_000)
        .optional(),
      status: Status,
      attachments: Attachments.optional(),
    })
    .superRefine((r, ctx) =>
      checkUnique(
        ctx,
        (r.linked_cases ?? []).map((c) => c.case_id),
        (i) => ['linked_cases', i, 'case_id'],
        'case id',
      ),
    );
}

export interface GraveSchemas {
  subject: ReturnType<typeof buildSubject>;
  record: ReturnType<typeof buildRecord>;
  response: ReturnType<typeof responseOf<ReturnType<typeof buildRecord>>>;
}

/** The grave schemas, with "not in the future" judged by `clock` at parse time. */
export function graveSchemas(clock: Clock = systemClock): GraveSchemas {
  const record = buildRecord(clock);
  return { subject: buildSubject(), record, response: responseOf(record) };
}

const defaults = graveSchemas();
export const GraveSubject = defaults.subject;
export type GraveSubject = z.infer<typeof GraveSubject>;
export const GraveRecord = defaults.record;
export type GraveRecord = z.infer<typeof GraveRecord>;
export const GraveResponse = defaults.response;
export type GraveResponse = z.infer<typeof GraveResponse>;

export const graveItemIds = (subject: GraveSubject): string[] =>
  subject.items.map((i) => i.item_id);

/** Gaps against what a team needs to find and assess a site (paths into the record). */
export function graveGaps(r: GraveRecord): Gap[] {
  const gaps: Gap[] = [];
  if (!r.location)
    gaps.push(gap('location_missing', ['location'], 'the location of the site (point or area)'));
  if (!r.individuals)
    gaps.push(
      gap('individuals_missing', ['individuals'], 'the estimated number of individuals (min, max)'),
    );
  if (!r.sources?.length)
    gaps.push(gap('sources_missing', ['sources'], 'the sources of the information, graded'));
  if (!r.burial_period)
    gaps.push(gap('burial_period_missing', ['burial_period'], 'the date or period of burial'));
  return gaps;
}
