// Coverage: per request item, whether it is answered, outstanding, not found or withheld and by
// which message; the refusal of a final response that leaves an item unaccounted for; and the
// gaps of records against the legal minimums, as clarification items.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkFinalResponse,
  checkResponseItems,
  clarificationQuestions,
  coverageMatrix,
  domainSchemas,
  minimumGaps,
  responseGaps,
  type CoverageResponse,
  type Gap,
} from '../../schemas/domain/index.js';
import { graves, identifications, mineMaps } from '../fixtures/domain/index.js';

const clock = () => Date.UTC(2026, 10, 28, 12);
const mm = domainSchemas('mine_map', clock);
const gr = domainSchemas('grave_information', clock);
const id = domainSchemas('identification_result', clock);

const [partialMsg, finalMsg] = mineMaps.mineMapExchanges[0].responses;

describe('coverage matrix', () => {
  it('shows each item of a request as answered, withheld, not found or outstanding, by message', () => {
    const subject = mm.subject.parse(mineMaps.roadsideSubject);
    const responses = mineMaps.mineMapExchanges[0].responses.map((r) => ({
      msg_id: r.msg_id,
      ...mm.response.parse(r.body),
    }));
    expect(coverageMatrix(subject.items, responses.slice(0, 1))).toEqual([
      { item_id: 'area-1', state: 'answered', by: [partialMsg.msg_id] },
      { item_id: 'area-2', state: 'outstanding', by: [] },
      { item_id: 'area-3', state: 'outstanding', by: [] },
    ]);
    expect(coverageMatrix(subject.items, responses)).toEqual([
      { item_id: 'area-1', state: 'answered', by: [partialMsg.msg_id, finalMsg.msg_id] },
      { item_id: 'area-2', state: 'answered', by: [finalMsg.msg_id] },
      {
        item_id: 'area-3',
        state: 'withheld',
        by: [finalMsg.msg_id],
        reason: 'Held by the military archive and under declassification review until 2027.',
      },
    ]);
  });

  it('keeps an item answered once a record covered it; otherwise the latest statement counts', () => {
    const responses: CoverageResponse[] = [
      {
        msg_id: 'm1',
        records: [],
        outcomes: [
          { item_id: 'a', outcome: 'not_found' },
          { item_id: 'b', outcome: 'not_found' },
        ],
      },
      {
        msg_id: 'm2',
        records: [{ covers: ['a'] }],
        outcomes: [{ item_id: 'b', outcome: 'withheld', reason: 'under review' }],
      },
      { msg_id: 'm3', records: [], outcomes: [{ item_id: 'a', outcome: 'not_found' }] },
    ];
    expect(coverageMatrix(['a', 'b', 'c'], responses)).toEqual([
      { item_id: 'a', state: 'answered', by: ['m2'] },
      { item_id: 'b', state: 'withheld', by: ['m2'], reason: 'under review' },
      { item_id: 'c', state: 'outstanding', by: [] },
    ]);
  });

  it('ignores item ids the request does not have', () => {
    const rows = coverageMatrix(
      [{ item_id: 'a' }],
      [
        {
          msg_id: 'm1',
          records: [{ covers: ['x'] }],
          outcomes: [{ item_id: 'y', outcome: 'found' }],
        },
      ],
    );
    expect(rows).toEqual([{ item_id: 'a', state: 'outstanding', by: [] }]);
  });

  const itemIds = fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), {
    minLength: 1,
  });
  const responsesOver = (ids: string[]) =>
    fc.array(
      fc.record({
        records: fc.array(
          fc.record({ covers: fc.uniqueArray(fc.constantFrom(...ids, 'zz'), { minLength: 1 }) }),
          { maxLength: 3 },
        ),
        outcomes: fc.uniqueArray(
          fc.record({
            item_id: fc.constantFrom(...ids),
            outcome: fc.constantFrom('found' as const, 'not_found' as const, 'withheld' as const),
          }),
          { selector: (o) => o.item_id },
        ),
      }),
      { maxLength: 5 },
    );

  it('has one row per request item, answered exactly when some record covers it', () => {
    fc.assert(
      fc.property(
        itemIds.chain((ids) => fc.tuple(fc.constant(ids), responsesOver(ids))),
        ([ids, bodies]) => {
          const responses = bodies.map((b, i) => ({ msg_id: `m${i}`, ...b }));
          const rows = coverageMatrix(ids, responses);
          expect(rows.map((r) => r.item_id)).toEqual(ids);
          for (const row of rows) {
            const coveringMsgs = responses
              .filter((r) => r.records.some((rec) => rec.covers.includes(row.item_id)))
              .map((r) => r.msg_id);
            if (coveringMsgs.length)
              expect(row).toEqual({ ...row, state: 'answered', by: coveringMsgs });
            else expect(row.state).not.toBe('answered');
            if (row.state === 'outstanding') expect(row.by).toEqual([]);
          }
        },
      ),
    );
  });
});

describe('final response', () => {
  it('accepts a final response that accounts for every item', () => {
    const subject = mm.subject.parse(mineMaps.roadsideSubject);
    const earlier = mm.response.parse(mineMaps.roadsidePartial);
    const final = mm.response.parse(mineMaps.roadsideFinal);
    expect(checkFinalResponse(subject, final, [earlier])).toEqual([]);
  });

  it('refuses one that leaves items unaccounted for, naming each in the order asked', () => {
    const subject = gr.subject.parse(graves.casesSubject);
    const final = gr.response.parse({
      ...graves.casesFinal,
      outcomes: [graves.casesFinal.outcomes![1]],
    });
    expect(checkFinalResponse(subject, final)).toEqual([
      {
        code: 'unaccounted',
        item_id: 'case-1',
        path: '/outcomes',
        message: 'an outcome for item "case-1": found, not_found, or withheld with a reason',
      },
      {
        code: 'unaccounted',
        item_id: 'incident-1',
        path: '/outcomes',
        message: 'an outcome for item "incident-1": found, not_found, or withheld with a reason',
      },
    ]);
  });

  it('counts records of earlier responses behind a "found"', () => {
    const subject = gr.subject.parse(graves.areaSubject);
    const partial = gr.response.parse(graves.areaPartial);
    const final = gr.response.parse(graves.areaFinal);
    expect(checkFinalResponse(subject, final, [partial])).toEqual([]);
    expect(checkFinalResponse(subject, final)).toEqual([
      {
        code: 'found_without_record',
        item_id: 'plateau',
        path: '/outcomes/0/outcome',
        message:
          'not_found or withheld: no record of this or an earlier response covers item "plateau"',
      },
    ]);
  });

  it('refuses "not found" for an item a record of the same response covers', () => {
    const subject = id.subject.parse(identifications.resultsSubject);
    const final = id.response.parse(identifications.resultsFinal);
    final.outcomes![1] = { item_id: 'case-2', outcome: 'not_found' };
    expect(checkFinalResponse(subject, final)).toEqual([
      {
        code: 'outcome_contradicts_records',
        item_id: 'case-2',
        path: '/outcomes/1/outcome',
        message: 'found: a record of this response covers item "case-2"',
      },
    ]);
  });

  it('refuses outcomes for items the request does not have', () => {
    const final = {
      final: true,
      records: [],
      outcomes: [
        { item_id: 'a', outcome: 'not_found' as const },
        { item_id: 'q', outcome: 'not_found' as const },
      ],
    };
    expect(checkFinalResponse(['a'], final)).toEqual([
      {
        code: 'unknown_item',
        item_id: 'q',
        path: '/outcomes/1/item_id',
        message: 'an item of the request: it has no item "q"',
      },
    ]);
    expect(checkResponseItems(['a', 'q'], final)).toEqual([]);
  });

  it('any consistent final response passes, and dropping one outcome is refused for that item', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        fc.nat(),
        (ids, covered, k) => {
          const records = ids.filter((_, i) => covered[i]).map((item) => ({ covers: [item] }));
          const outcomes = ids.map((item_id, i) => ({
            item_id,
            outcome: covered[i] ? ('found' as const) : ('not_found' as const),
          }));
          expect(checkFinalResponse(ids, { records, outcomes })).toEqual([]);
          const dropped = k % ids.length;
          const issues = checkFinalResponse(ids, {
            records,
            outcomes: outcomes.filter((_, i) => i !== dropped),
          });
          expect(issues.map((x) => [x.code, x.item_id])).toEqual([['unaccounted', ids[dropped]]]);
        },
      ),
    );
  });
});

describe('gaps against the legal minimums', () => {
  it('finds none in complete records', () => {
    expect(minimumGaps('mine_map', mm.record.parse(mineMaps.mf0142))).toEqual([]);
    expect(minimumGaps('mine_map', mm.record.parse(mineMaps.cmsa0009))).toEqual([]);
    expect(minimumGaps('grave_information', gr.record.parse(graves.gs031))).toEqual([]);
    expect(minimumGaps('identification_result', id.record.parse(identifications.r0412))).toEqual(
      [],
    );
  });

  it('lists every gap of a thin record, as clarification items', () => {
    expect(minimumGaps('mine_map', mm.record.parse(mineMaps.mf0177))).toEqual([
      {
        code: 'reference_points_too_few',
        path: '/reference_points',
        message: 'at least two reference points (landmark and coordinates); the record has 1',
      },
      {
        code: 'datum_missing',
        path: '/datum',
        message: 'the datum the original record was drawn in',
      },
      {
        code: 'accuracy_missing',
        path: '/accuracy_m',
        message: 'the accuracy of the positions in metres',
      },
      {
        code: 'laying_date_missing',
        path: '/laying/period',
        message: 'the date or period of laying',
      },
    ]);
  });

  it('asks the record of an identification for what the conclusion rests on', () => {
    const bare = id.record.parse({
      covers: ['case-1'],
      remains: { remains_id: 'R-2024-0999' },
      case_id: 'MP-2024-00123',
      conclusion: 'identified',
      methods: [{ method: 'dna', marker_systems: ['autosomal_str'] }],
    });
    expect(minimumGaps('identification_result', bare).map((g) => g.code)).toEqual([
      'report_missing',
      'dna_likelihood_ratio_missing',
      'dna_posterior_missing',
      'dna_relatives_missing',
      'dna_laboratory_missing',
    ]);
  });

  it('places the gaps of a response under /records/<index>', () => {
    const response = mm.response.parse(mineMaps.roadsideFinal);
    const gaps = responseGaps('mine_map', response);
    expect(gaps.map((g) => g.path)).toEqual([
      '/records/1/reference_points',
      '/records/1/datum',
      '/records/1/accuracy_m',
      '/records/1/laying/period',
    ]);
  });

  it('turns gaps into the questions of a clarification request, at most 50', () => {
    const response = mm.response.parse(mineMaps.roadsideFinal);
    expect(clarificationQuestions(responseGaps('mine_map', response))[0]).toBe(
      '/records/1/reference_points: at least two reference points (landmark and coordinates); ' +
        'the record has 1 [reference_points_too_few]',
    );
    const many: Gap[] = Array.from({ length: 70 }, (_, i) => ({
      code: 'datum_missing',
      path: `/records/${i}/datum`,
      message: 'the datum the original record was drawn in',
    }));
    const questions = clarificationQuestions(many);
    expect(questions).toHaveLength(50);
    expect(questions[49]).toBe('and 21 more gaps of the same response');
  });
});
