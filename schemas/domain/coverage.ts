// Which items of a request the responses have covered: a matrix per item (answered, outstanding,
// not found, withheld, and by which message), the check that a final response accounts for every
// item, and the gaps of records against the legal minimums, to be sent back as clarification
// items rather than accepted in silence. Pure functions over parsed bodies; no I/O.
import { z } from 'zod';
import { jsonPointer } from '../../errors.js';
import type { RequestType } from '../common.js';
import { graveGaps, type GraveRecord } from './grave.js';
import { identificationGaps, type IdentificationRecord } from './identification.js';
import { mineMapGaps, type MineMapRecord } from './mine-map.js';
import { ItemId, Prose, type Gap, type Outcome, type ResponseIssue } from './shared.js';

export const CoverageState = z.enum(['answered', 'outstanding', 'not_found', 'withheld']);
export type CoverageState = z.infer<typeof CoverageState>;

/** One row of the coverage matrix: where an item stands and which messages put it there. */
export const CoverageRow = z.object({
  item_id: ItemId,
  state: CoverageState,
  by: z.array(z.string()).describe('msg_id of each response that answered or accounted for it'),
  reason: Prose(2_000).optional().describe('why the item is withheld'),
});
export type CoverageRow = z.infer<typeof CoverageRow>;

/** A response as coverage sees it: its message id, its records' covered items, its outcomes. */
export interface CoverageResponse {
  msg_id: string;
  final?: boolean;
  records: readonly { covers: readonly string[] }[];
  outcomes?: readonly { item_id: string; outcome: Outcome; reason?: string | undefined }[];
}

/** A request's items: the subject's `items`, or just their ids. */
export type RequestItems = readonly (string | { item_id: string })[];
const idsOf = (items: RequestItems) => items.map((i) => (typeof i === 'string' ? i : i.item_id));

/**
 * Per request item, in the request's order: `answered` once any record covers it (a record
 * delivered stays delivered), else the latest `not_found` or `withheld` outcome, else
 * `outstanding`. Responses are taken in the order they were received.
 */
export function coverageMatrix(
  requestItems: RequestItems,
  responses: readonly CoverageResponse[],
): CoverageRow[] {
  const ids = idsOf(requestItems);
  const answeredBy = new Map<string, string[]>(ids.map((id) => [id, []]));
  const stated = new Map<
    string,
    { state: 'not_found' | 'withheld'; by: string; reason?: string }
  >();
  for (const response of responses) {
    for (const record of response.records)
      for (const id of record.covers) {
        const by = answeredBy.get(id);
        if (by && !by.includes(response.msg_id)) by.push(response.msg_id);
      }
    for (const o of response.outcomes ?? [])
      if (answeredBy.has(o.item_id) && o.outcome !== 'found')
        stated.set(o.item_id, {
          state: o.outcome,
          by: response.msg_id,
          ...(o.reason === undefined ? {} : { reason: o.reason }),
        });
  }
  return ids.map((item_id) => {
    const by = answeredBy.get(item_id)!;
    if (by.length) return { item_id, state: 'answered', by };
    const s = stated.get(item_id);
    if (s)
      return {
        item_id,
        state: s.state,
        by: [s.by],
        ...(s.reason === undefined ? {} : { reason: s.reason }),
      };
    return { item_id, state: 'outstanding', by: [] };
  });
}

/** Item ids a response names (in records or outcomes) that the request does not have. */
export function checkResponseItems(
  requestItems: RequestItems,
  response: Omit<CoverageResponse, 'msg_id'>,
): ResponseIssue[] {
  const known = new Set(idsOf(requestItems));
  const issues: ResponseIssue[] = [];
  const unknown = (item_id: string, path: PropertyKey[]) =>
    issues.push({
      code: 'unknown_item',
      item_id,
      path: jsonPointer(path),
      message: `an item of the request: it has no item "${item_id}"`,
    });
  response.records.forEach((r, i) =>
    r.covers.forEach((id, j) => {
      if (!known.has(id)) unknown(id, ['records', i, 'covers', j]);
    }),
  );
  (response.outcomes ?? []).forEach((o, i) => {
    if (!known.has(o.item_id)) unknown(o.item_id, ['outcomes', i, 'item_id']);
  });
  return issues;
}

/**
 * Why a response offered as final must be refused, empty if it may be accepted: every request
 * item needs an outcome; an outcome must agree with the records (not `not_found` for an item a
 * record of the same response covers, not `found` for one no record ever covered, counting the
 * `earlier` responses of the request); and no item may be one the request does not have.
 */
export function checkFinalResponse(
  request: { items: readonly { item_id: string }[] } | RequestItems,
  response: Omit<CoverageResponse, 'msg_id'>,
  earlier: readonly Omit<CoverageResponse, 'msg_id'>[] = [],
): ResponseIssue[] {
  const items = 'items' in request ? request.items : request;
  const issues = checkResponseItems(items, response);
  const coveredHere = new Set(response.records.flatMap((r) => r.covers));
  const coveredEver = new Set([
    ...coveredHere,
    ...earlier.flatMap((e) => e.records.flatMap((r) => r.covers)),
  ]);
  const outcomes = response.outcomes ?? [];
  for (const item_id of idsOf(items)) {
    const at = outcomes.findIndex((o) => o.item_id === item_id);
    const o = outcomes[at];
    if (!o) {
      issues.push({
        code: 'unaccounted',
        item_id,
        path: jsonPointer(['outcomes']),
        message: `an outcome for item "${item_id}": found, not_found, or withheld with a reason`,
      });
      continue;
    }
    if (o.outcome !== 'found' && coveredHere.has(item_id))
      issues.push({
        code: 'outcome_contradicts_records',
        item_id,
        path: jsonPointer(['outcomes', at, 'outcome']),
        message: `found: a record of this response covers item "${item_id}"`,
      });
    if (o.outcome === 'found' && !coveredEver.has(item_id))
      issues.push({
        code: 'found_without_record',
        item_id,
        path: jsonPointer(['outcomes', at, 'outcome']),
        message: `not_found or withheld: no record of this or an earlier response covers item "${item_id}"`,
      });
  }
  return issues;
}

/** The record type of each request type. */
export interface RecordByType {
  mine_map: MineMapRecord;
  grave_information: GraveRecord;
  identification_result: IdentificationRecord;
}

/** Gaps of one record against the legal minimums of its kind; paths into the record. */
export function minimumGaps<T extends RequestType>(kind: T, record: RecordByType[T]): Gap[] {
  switch (kind) {
    case 'mine_map':
      return mineMapGaps(record as MineMapRecord);
    case 'grave_information':
      return graveGaps(record as GraveRecord);
    case 'identification_result':
      return identificationGaps(record as IdentificationRecord);
  }
  throw new Error(`unknown request type ${String(kind)}`);
}

/** Gaps of every record of a response, with paths into the response body (`/records/3/…`). */
export function responseGaps<T extends RequestType>(
  kind: T,
  response: { records: readonly RecordByType[T][] },
): Gap[] {
  return response.records.flatMap((r, i) =>
    minimumGaps(kind, r).map((g) => ({ ...g, path: jsonPointer(['records', i]) + g.path })),
  );
}

/** Most questions a clarification request may carry (the envelope's limit). */
const MAX_QUESTIONS = 50;

/**
 * Gaps as the questions of a clarification request, one per gap, each naming its path so the
 * responder's answer can be matched to it; beyond the message's limit, the last one says how many
 * more there are.
 */
export function clarificationQuestions(gaps: readonly Gap[]): string[] {
  const lines = gaps.map((g) => `${g.path}: ${g.message} [${g.code}]`);
  if (lines.length <= MAX_QUESTIONS) return lines;
  const shown = lines.slice(0, MAX_QUESTIONS - 1);
  return [...shown, `and ${lines.length - shown.length} more gaps of the same response`];
}
