// What a consent to publication lets out (domain/publication.ts): only records scoped
// `publication`, each cut to its published form, whatever else the record holds.
import { describe, expect, it } from 'vitest';
import { publishedForm, publishedIdentifications } from '../../domain/publication.js';
import { PublishedIdentification } from '../../schemas/publication-api.js';
import { r0133, r0412, r0430, r0457 } from '../fixtures/domain/identifications.js';

const PUBLICATION = { scope: 'publication', given_by: 'family', given_on: '2025-02-20' } as const;

/** Strings of r0412 and r0133 that no published form may hold. */
const NOT_PUBLISHED = [
  'GS-031', // the grave site
  '2024-06-12', // recovered on
  'Regional Forensic DNA Laboratory',
  'healed fracture',
  'Wristwatch',
  'Chief forensic pathologist',
  'Regional forensic mortuary', // held at
  'Valea Rece', // the handover's place
  '1993-10', // estimated death
  '2025-02-20', // family notified on (the consent's own date is left out below)
  'sha256', // the report's file
  'D8S1179', // a DNA locus
];

describe('the published form of a record', () => {
  it('is nothing for every scope but publication, and for no scope at all', () => {
    for (const record of [r0412, r0457, r0430, r0133]) {
      expect(publishedForm(record)).toBeUndefined();
      for (const scope of ['requesting_authority', 'mediator', 'everyone'])
        expect(publishedForm({ ...record, consent: { scope, given_by: 'family' } })).toBe(
          undefined,
        );
    }
    for (const junk of [undefined, null, 'R-1', [], { consent: 'publication' }])
      expect(publishedForm(junk)).toBeUndefined();
  });

  it('keeps ids, conclusion, report date, handover without its place, notification, consent', () => {
    const published = publishedForm({
      ...r0412,
      consent: { scope: 'publication', given_by: 'family', given_on: '2025-03-01' },
    });
    expect(published).toEqual({
      remains_id: 'R-2024-0412',
      case_id: 'MP-2024-00123',
      conclusion: 'identified',
      reported_on: '2025-02-11',
      handover: { kind: 'repatriation', status: 'planned', date: '2027-01-15' },
      family_notified: true,
      consent: { scope: 'publication', given_by: 'family', given_on: '2025-03-01' },
    });
    for (const s of NOT_PUBLISHED) expect(JSON.stringify(published)).not.toContain(s);
  });

  it('leaves out DNA profiles, files and any member it does not name', () => {
    const published = publishedForm({
      ...r0133,
      consent: { scope: 'publication', given_by: 'court' },
      // A member a later schema might add: not published until the published form names it.
      next_of_kin: 'Amra Hodžić',
    });
    expect(published).toEqual({
      remains_id: 'R-2022-0133',
      conclusion: 'inconclusive',
      consent: { scope: 'publication', given_by: 'court' },
    });
    expect(JSON.stringify(published)).not.toMatch(/Hodžić|D8S1179|loci|alleles|dna/);
  });
});

describe('the published records of responses', () => {
  it('lists each publication record with its response, newest response first', () => {
    const older = {
      reqId: '01JQ0000000000000000000001',
      msgId: '01JQ0000000000000000000011',
      digest: 'a'.repeat(64),
      signedBy: 'party-b',
      signedAt: new Date('2025-03-01T10:00:00Z'),
      body: {
        records: [
          r0457,
          { ...r0430, consent: PUBLICATION },
          { ...r0412, consent: { ...PUBLICATION, scope: 'mediator' } },
        ],
      },
    };
    const newer = {
      reqId: '01JQ0000000000000000000002',
      msgId: '01JQ0000000000000000000012',
      digest: 'b'.repeat(64),
      signedBy: 'party-a',
      signedAt: new Date('2025-03-02T10:00:00Z'),
      body: { records: [{ ...r0412, consent: PUBLICATION }] },
    };
    const listed = publishedIdentifications([older, newer, { ...newer, body: {} }]);
    expect(listed.map((i) => [i.msgId, i.record.remains_id])).toEqual([
      [newer.msgId, 'R-2024-0412'],
      [older.msgId, 'R-2024-0430'],
    ]);
    expect(listed[1]).toMatchObject({
      requestId: older.reqId,
      digest: older.digest,
      signedBy: 'party-b',
      signedAt: '2025-03-01T10:00:00.000Z',
    });
    // Each item is what the API documents.
    for (const item of listed) PublishedIdentification.parse(item);

    // A later response of the first request about the same remains: its record alone counts. The
    // family's consent to publish R-2024-0430 is taken back; R-2024-0457 may now be published.
    const correction = {
      ...older,
      msgId: '01JQ0000000000000000000013',
      digest: 'c'.repeat(64),
      signedAt: new Date('2025-03-03T10:00:00Z'),
      body: {
        records: [
          { ...r0430, consent: { scope: 'requesting_authority', given_by: 'family' } },
          { ...r0457, consent: PUBLICATION },
        ],
      },
    };
    // In whatever order the responses are read.
    for (const order of [
      [older, newer, correction],
      [correction, newer, older],
    ])
      expect(publishedIdentifications(order).map((i) => [i.msgId, i.record.remains_id])).toEqual([
        [correction.msgId, 'R-2024-0457'],
        [newer.msgId, 'R-2024-0412'],
      ]);
    // One response with two records about the same remains (one per case it concludes on): both
    // count, and a later response about those remains replaces both.
    const twoCases = {
      ...older,
      msgId: '01JQ0000000000000000000014',
      signedAt: new Date('2025-03-04T10:00:00Z'),
      body: {
        records: [
          { ...r0412, consent: PUBLICATION },
          { ...r0412, case_id: 'MP-2024-00999', conclusion: 'excluded', consent: PUBLICATION },
        ],
      },
    };
    expect(
      publishedIdentifications([older, twoCases]).map((i) => [i.msgId, i.record.case_id]),
    ).toEqual([
      [twoCases.msgId, 'MP-2024-00123'],
      [twoCases.msgId, 'MP-2024-00999'],
      [older.msgId, 'MP-2024-00187'],
    ]);
    const narrowed = {
      ...twoCases,
      msgId: '01JQ0000000000000000000015',
      signedAt: new Date('2025-03-05T10:00:00Z'),
      body: { records: [{ ...r0412, consent: { scope: 'mediator', given_by: 'family' } }] },
    };
    expect(
      publishedIdentifications([older, twoCases, narrowed]).map((i) => i.record.remains_id),
    ).toEqual(['R-2024-0430']);
    // The same remains in another request is another record.
    const elsewhere = { ...correction, reqId: '01JQ0000000000000000000003' };
    expect(publishedIdentifications([older, elsewhere]).map((i) => i.record.remains_id)).toEqual([
      'R-2024-0457',
      'R-2024-0430',
    ]);
  });
});
