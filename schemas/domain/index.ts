// The domain data model of the three request types in one place: the schemas of a request's
// subject, of a response record and of a response body, chosen by request type, and the checks
// of a response against its request.
import type { RequestType } from '../common.js';
import { checkFinalResponse, checkResponseItems } from './coverage.js';
import { graveSchemas, type GraveSchemas, type GraveSubject } from './grave.js';
import {
  checkResponseAgainstRequest,
  identificationSchemas,
  type IdentificationSchemas,
  type IdentificationSubject,
} from './identification.js';
import { mineMapSchemas, type MineMapSchemas, type MineMapSubject } from './mine-map.js';
import { systemClock, type Clock, type ResponseIssue } from './shared.js';

export * from './coverage.js';
export * from './geo.js';
export * from './grave.js';
export * from './identification.js';
export * from './mine-map.js';
export * from './shared.js';

export interface SchemasByType {
  mine_map: MineMapSchemas;
  grave_information: GraveSchemas;
  identification_result: IdentificationSchemas;
}

export interface SubjectByType {
  mine_map: MineMapSubject;
  grave_information: GraveSubject;
  identification_result: IdentificationSubject;
}

const builders: { [T in RequestType]: (clock: Clock) => SchemasByType[T] } = {
  mine_map: mineMapSchemas,
  grave_information: graveSchemas,
  identification_result: identificationSchemas,
};

/** Schemas on the system clock, built once. */
const standard: SchemasByType = {
  mine_map: mineMapSchemas(systemClock),
  grave_information: graveSchemas(systemClock),
  identification_result: identificationSchemas(systemClock),
};

/**
 * All three schemas of a request type. With a clock, "not in the future" is judged against it
 * (tests, replays of old messages); without one, against the system clock.
 */
export function domainSchemas<T extends RequestType>(type: T, clock?: Clock): SchemasByType[T] {
  return clock ? builders[type](clock) : standard[type];
}

/** The schema of a request's subject (title, description and the typed items). */
export function subjectSchema<T extends RequestType>(type: T): SchemasByType[T]['subject'] {
  return standard[type].subject;
}

/** The schema of one record of a response. */
export function recordSchema<T extends RequestType>(
  type: T,
  clock?: Clock,
): SchemasByType[T]['record'] {
  return domainSchemas(type, clock).record;
}

/** The schema of a response body: final flag, records, per-item outcomes, note. */
export function responseSchema<T extends RequestType>(
  type: T,
  clock?: Clock,
): SchemasByType[T]['response'] {
  return domainSchemas(type, clock).response;
}

/** The item ids of any request subject, in the order asked. */
export const requestItemIds = (subject: { items: readonly { item_id: string }[] }): string[] =>
  subject.items.map((i) => i.item_id);

/** A parsed response body as the checks read it. */
interface CheckedResponse {
  final: boolean;
  records: readonly { covers: readonly string[]; dna_profiles?: readonly unknown[] }[];
  outcomes?: readonly { item_id: string; outcome: 'found' | 'not_found' | 'withheld' }[];
}

/**
 * Why a parsed response must be refused given its request, empty if none: items the request does
 * not have; for a final response, items left unaccounted for or outcomes that contradict the
 * records (counting `earlier` responses); for identifications, DNA profiles not asked for.
 */
export function checkResponse<T extends RequestType>(
  type: T,
  subject: SubjectByType[T],
  response: CheckedResponse,
  earlier: readonly CheckedResponse[] = [],
): ResponseIssue[] {
  const issues = response.final
    ? checkFinalResponse(subject.items, response, earlier)
    : checkResponseItems(subject.items, response);
  if (type === 'identification_result')
    issues.push(...checkResponseAgainstRequest(subject as IdentificationSubject, response));
  return issues;
}
