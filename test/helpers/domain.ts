// Valid subjects and responses of each request type, from the domain fixtures, for tests that
// exercise the lifecycle rather than the records themselves.
import type { RequestType } from '../../schemas/common.js';
import { casesFinal, casesSubject, gs031 } from '../fixtures/domain/graves.js';
import { r0412, resultsFinal, resultsSubject } from '../fixtures/domain/identifications.js';
import { cmsa0009, corridorFinal, corridorSubject } from '../fixtures/domain/mine-maps.js';

const SUBJECTS = {
  mine_map: corridorSubject,
  grave_information: casesSubject,
  identification_result: resultsSubject,
} as const;

/** A subject of `type` with the given title (the rest from the fixtures). */
export function subjectFor(type: RequestType, title?: string): Record<string, unknown> {
  return { ...structuredClone(SUBJECTS[type]), ...(title ? { title } : {}) };
}

/**
 * The records without their attachment references: lifecycle tests need not upload files first
 * (test/lifecycle/domain-exchange.test.ts carries them).
 */
export function withoutAttachments<T>(value: T): T {
  const copy = structuredClone(value) as unknown;
  const strip = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(strip);
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    delete o.attachments;
    delete o.attachment;
    Object.values(o).forEach(strip);
  };
  strip(copy);
  return copy as T;
}

const PARTIAL_RECORDS = {
  mine_map: cmsa0009,
  grave_information: gs031,
  identification_result: r0412,
};

/** A partial response: one record covering one item of `subjectFor(type)`. */
export function partialFor(type: RequestType): Record<string, unknown> {
  return { final: false, records: [withoutAttachments(PARTIAL_RECORDS[type])] };
}

const FINALS = {
  mine_map: corridorFinal,
  grave_information: casesFinal,
  identification_result: resultsFinal,
} as const;

/** A final response with records, accounting for every item of `subjectFor(type)`. */
export function finalFor(type: RequestType): Record<string, unknown> {
  return withoutAttachments(FINALS[type]);
}

/** A final response without records: every item of `subjectFor(type)` not found. */
export function notFoundFor(type: RequestType): Record<string, unknown> {
  return {
    final: true,
    records: [],
    outcomes: SUBJECTS[type].items.map((i) => ({ item_id: i.item_id, outcome: 'not_found' })),
  };
}
