// Mine maps: what a request for minefield and hazardous-area records asks about, and the records a
// response carries, after the recording rules of the CCW Amended Protocol II technical annex and
// the data mine-action information systems (IMSMA) keep. A record must be usable by a deminer
// without a phone call: where the hazard is, how it was recorded, what is in the ground.
import { z } from 'zod';
import { SubjectBase as RequestSubject } from '../common.js';
import {
  areaValue,
  distanceMetres,
  distanceToAreaMetres,
  distanceToLineMetres,
  GeoArea,
  GeoLineString,
  GeoPoint,
  positionValue,
  ringValue,
  type Position,
} from './geo.js';
import {
  AdminArea,
  Attachments,
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
import { safeIdentifier } from '../text.js';

/**
 * How far a reference point may lie from the perimeter it anchors. Field records take bearings
 * from a landmark in sight of the minefield; kilometres further means a wrong datum or a typo.
 */
export const MAX_REFERENCE_POINT_DISTANCE_M = 5_000;
/** The longest leg a turning point is measured along from its reference point. */
export const MAX_TURNING_POINT_DISTANCE_M = 10_000;

export const HazardType = z.enum([
  'minefield',
  'mined_area',
  'booby_trapped_area',
  'unexploded_ordnance',
  'cluster_munition_strike_area',
]);
export type HazardType = z.infer<typeof HazardType>;

export const MapPurpose = z.enum([
  'clearance_planning',
  'return_of_civilians',
  'infrastructure',
  'other',
]);

/** The geodetic datum the original record was drawn in; SK-42 is Pulkovo 1942. */
export const Datum = z
  .enum(['WGS84', 'ETRS89', 'SK-42', 'SK-63', 'ED50', 'NAD27', 'local', 'unknown'])
  .describe('datum of the original record (SK-42 = Pulkovo 1942); coordinates here are WGS 84');
export type Datum = z.infer<typeof Datum>;

export const DeviceCategory = z.enum(['anti_personnel', 'anti_tank', 'other']);
export const QuantityBasis = z.enum(['exact', 'estimated']);
export const FuzeType = z.enum([
  'pressure',
  'tripwire',
  'tilt_rod',
  'pressure_release',
  'magnetic_influence',
  'seismic',
  'command',
  'time',
  'other',
  'unknown',
]);
export const YesNoUnknown = z.enum(['yes', 'no', 'unknown']);
export const LayingMethod = z.enum(['hand', 'mechanical', 'remote', 'unknown']);
export const LayingPattern = z.enum([
  'regular_rows',
  'irregular',
  'cluster',
  'point',
  'nuisance',
  'unknown',
]);
export const Placement = z.enum(['surface', 'buried', 'mixed', 'unknown']);
export const MarkingStatus = z.enum(['none', 'partial', 'complete', 'unknown']);
export const Confidence = z.enum(['confirmed', 'suspected']);
/** Which north a field bearing was measured from: the record says, the reader must not guess. */
export const BearingReference = z.enum(['true', 'magnetic', 'grid']);

/** A short label as written on a field sketch: a reference point "RP1", a turning point "T3". */
const Label = safeIdentifier({
  pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$/,
  message: 'a label of 1 to 20 letters, digits and . _ -',
});

// ---------------------------------------------------------------------------------------------
// Request subject
// ---------------------------------------------------------------------------------------------

/** One area asked about: drawn, or named. Each is an item the response must account for. */
export const MineMapItem = z.discriminatedUnion('kind', [
  z.strictObject({
    item_id: ItemId,
    kind: z.literal('area'),
    label: Text(200).optional(),
    geometry: GeoArea,
  }),
  z.strictObject({ item_id: ItemId, kind: z.literal('admin_area'), admin_area: AdminArea }),
]);
export type MineMapItem = z.infer<typeof MineMapItem>;

// ---------------------------------------------------------------------------------------------
// Response record
// ---------------------------------------------------------------------------------------------

export const ReferencePoint = z.strictObject({
  ref_id: Label,
  landmark: Text(500).describe('the landmark as described in the record, e.g. a bridge pier'),
  point: GeoPoint,
});

/** A corner of the perimeter as the field record gave it: bearing and distance from a landmark. */
export const TurningPoint = z.strictObject({
  label: Label,
  from_ref: Label.describe('ref_id of the reference point the bearing is taken from'),
  bearing_deg: decimalIn({ min: 0, lt: 360 }, 'a bearing in degrees from 0 up to 360'),
  bearing_reference: BearingReference,
  distance_m: decimalIn(
    { gt: 0, max: MAX_TURNING_POINT_DISTANCE_M },
    `a distance in metres greater than 0 and at most ${MAX_TURNING_POINT_DISTANCE_M}`,
  ),
});

export const MineRow = z.strictObject({
  row_id: Label,
  line: GeoLineString,
  device_count: z
    .number()
    .int('a whole number of devices')
    .min(0, 'a count of 0 or more')
    .optional(),
  spacing_m: decimalIn(
    { gt: 0, max: 1_000 },
    'a spacing in metres greater than 0 and at most 1000',
  ).optional(),
});

export const DevicePoint = z.strictObject({
  point: GeoPoint,
  model: Text(60).optional(),
  note: Prose(500).optional(),
});

export const Device = z.strictObject({
  category: DeviceCategory,
  model: Text(60).describe('designation such as PMN-2, TM-62M or POM-2'),
  quantity: z.number().int('a whole number of devices').min(0, 'a quantity of 0 or more'),
  quantity_basis: QuantityBasis,
  fuze_type: FuzeType.optional(),
  anti_handling: YesNoUnknown.describe('whether anti-handling devices were fitted'),
});

/** Whole centimetres: no record measures a mine's depth more finely. */
const DepthCm = z
  .number()
  .int('a whole number of centimetres')
  .min(0, 'a depth of 0 cm or more')
  .max(500, 'a depth of at most 500 cm');

export const Depth = z
  .strictObject({
    placement: Placement,
    min_cm: DepthCm.optional(),
    max_cm: DepthCm.optional(),
  })
  .superRefine((d, ctx) => {
    if (d.min_cm !== undefined && d.max_cm !== undefined && d.min_cm > d.max_cm)
      ctx.addIssue({ code: 'custom', path: ['max_cm'], message: 'a maximum not below min_cm' });
  });

export interface MineMapSchemas {
  subject: ReturnType<typeof buildSubject>;
  record: ReturnType<typeof buildRecord>;
  response: ReturnType<typeof responseOf<ReturnType<typeof buildRecord>>>;
}

function buildSubject() {
  return RequestSubject.extend({
    items: z.array(MineMapItem).min(1, 'at least one area').max(200),
    laying_period: dateOrPeriod().optional(),
    hazard_types: z
      .array(HazardType)
      .min(1)
      .superRefine((t, ctx) => checkUnique(ctx, t, (i) => [i], 'hazard type'))
      .optional(),
    purpose: MapPurpose,
    purpose_note: Prose(2_000).optional(),
    requested_precision_m: decimalIn(
      { gt: 0, max: 10_000 },
      'a precision in metres greater than 0 and at most 10000',
    ).optional(),
  }).superRefine(uniqueItemIds);
}

function buildRecord(clock: Clock) {
  const Laying = z.strictObject({
    period: dateOrPeriod(clock).optional(),
    method: LayingMethod,
    pattern: LayingPattern.optional(),
    pattern_note: Prose(1_000).optional(),
    depth: Depth.optional(),
  });
  const Marking = z.strictObject({
    marking: MarkingStatus,
    fencing: MarkingStatus,
    checked_on: pastIsoDate(clock).optional(),
  });
  const Accident = z.strictObject({
    date: pastPartialDate(clock).optional(),
    killed: z.number().int('a whole number of people').min(0, 'a count of 0 or more').optional(),
    injured: z.number().int('a whole number of people').min(0, 'a count of 0 or more').optional(),
    description: Prose(2_000),
    point: GeoPoint.optional(),
  });
  const SourceDocument = z.strictObject({
    reference: Text(200).describe("the document's reference number or archive signature"),
    title: Text(300).optional(),
    date: pastPartialDate(clock).optional(),
    issued_by: Text(300).optional(),
  });

  return z
    .strictObject({
      record_id: ExternalId.describe("the responder's own id of the record"),
      covers: Covers,
      source_document: SourceDocument,
      hazard_type: HazardType,
      confidence: Confidence,
      perimeter: GeoArea.optional(),
      rows: z.array(MineRow).max(1_000).optional(),
      device_points: z.array(DevicePoint).max(10_000).optional(),
      // Fewer than two is a gap to ask about, not a reason to refuse the record.
      reference_points: z.array(ReferencePoint).max(50).optional(),
      turning_points: z.array(TurningPoint).max(1_000).optional(),
      datum: Datum.optional(),
      datum_note: Prose(500).optional(),
      accuracy_m: decimalIn(
        { min: 0, max: 100_000 },
        'an accuracy in metres, 0 or more and at most 100000',
      ).optional(),
      devices: z.array(Device).max(200).optional(),
      laying: Laying.optional(),
      marking: Marking.optional(),
      known_accidents: z.array(Accident).max(500).optional(),
      remarks: Prose(10_000).optional(),
      attachments: Attachments.optional(),
    })
    .superRefine((r, ctx) => {
      const refs = (r.reference_points ?? []).map((p) => p.ref_id);
      checkUnique(ctx, refs, (i) => ['reference_points', i, 'ref_id'], 'ref_id');
      (r.turning_points ?? []).forEach((t, i) => {
        if (!refs.includes(t.from_ref))
          ctx.addIssue({
            code: 'custom',
            path: ['turning_points', i, 'from_ref'],
            message: `the ref_id of one of this record's reference points (no "${t.from_ref}")`,
          });
      });
    })
    .superRefine(
      (r, ctx) => {
        (r.reference_points ?? []).forEach((p, i) => {
          const d = distanceToMapped(r, p.point.coordinates);
          if (d !== undefined && d > MAX_REFERENCE_POINT_DISTANCE_M)
            ctx.addIssue({
              code: 'custom',
              path: ['reference_points', i, 'point', 'coordinates'],
              message: `a reference point within ${MAX_REFERENCE_POINT_DISTANCE_M} m of the perimeter (this one is ${Math.round(d)} m away)`,
            });
        });
      },
      // Distances mean something only once every geometry is valid.
      { when: (payload) => payload.issues.length === 0 },
    );
}

/**
 * Distance from a reference point to what the record maps: the perimeter if there is one, else
 * the nearest row or device; undefined when the record maps nothing to measure against.
 */
function distanceToMapped(
  r: {
    perimeter?: GeoArea | undefined;
    rows?: readonly { line: GeoLineString }[] | undefined;
    device_points?: readonly { point: GeoPoint }[] | undefined;
  },
  position: Position,
): number | undefined {
  const p = positionValue(position);
  if (r.perimeter) return distanceToAreaMetres(p, areaValue(r.perimeter));
  const distances = [
    ...(r.rows ?? []).map((row) => distanceToLineMetres(p, ringValue(row.line.coordinates))),
    ...(r.device_points ?? []).map((d) => distanceMetres(p, positionValue(d.point.coordinates))),
  ];
  return distances.length ? Math.min(...distances) : undefined;
}

/**
 * The mine-map schemas, with "not in the future" judged by `clock` at parse time. The exported
 * constants use the system clock; tests and replays build their own.
 */
export function mineMapSchemas(clock: Clock = systemClock): MineMapSchemas {
  const record = buildRecord(clock);
  return { subject: buildSubject(), record, response: responseOf(record) };
}

const defaults = mineMapSchemas();
export const MineMapSubject = defaults.subject;
export type MineMapSubject = z.infer<typeof MineMapSubject>;
export const MineMapRecord = defaults.record;
export type MineMapRecord = z.infer<typeof MineMapRecord>;
export const MineMapResponse = defaults.response;
export type MineMapResponse = z.infer<typeof MineMapResponse>;

/** The item ids of a mine-map request, in the order asked. */
export const mineMapItemIds = (subject: MineMapSubject): string[] =>
  subject.items.map((i) => i.item_id);

/** The kinds of hazard whose record the technical annex expects to list devices for. */
const MINED: readonly HazardType[] = ['minefield', 'mined_area', 'booby_trapped_area'];

/**
 * Gaps against the recording minimums (paths into the record): what a deminer needs before the
 * record can be used, asked for rather than refused.
 */
export function mineMapGaps(r: MineMapRecord): Gap[] {
  const gaps: Gap[] = [];
  const refs = r.reference_points ?? [];
  if (!r.perimeter)
    gaps.push(gap('perimeter_missing', ['perimeter'], 'the perimeter of the hazardous area'));
  if (refs.length < 2)
    gaps.push(
      gap(
        'reference_points_too_few',
        ['reference_points'],
        `at least two reference points (landmark and coordinates); the record has ${refs.length}`,
      ),
    );
  if (!r.datum)
    gaps.push(gap('datum_missing', ['datum'], 'the datum the original record was drawn in'));
  else if (r.datum === 'local' && !r.datum_note)
    gaps.push(gap('datum_undescribed', ['datum_note'], 'a description of the local datum'));
  if (r.accuracy_m === undefined)
    gaps.push(gap('accuracy_missing', ['accuracy_m'], 'the accuracy of the positions in metres'));
  if (MINED.includes(r.hazard_type) && !r.devices?.length)
    gaps.push(gap('devices_missing', ['devices'], 'the types and quantities of devices laid'));
  if (MINED.includes(r.hazard_type) && !r.laying?.period)
    gaps.push(gap('laying_date_missing', ['laying', 'period'], 'the date or period of laying'));
  return gaps;
}
