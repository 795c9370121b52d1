// Identification results: what a request about missing persons or remains asks for, and the
// forensic and DNA identification records a response carries. The most sensitive data in the
// system (genetic data, identities): only officers see it; it never goes to logs, search
// attributes or aggregate views, and DNA profiles travel only when the request asked for them.
import { z } from 'zod';
import { SubjectBase as RequestSubject } from '../common.js';
import {
  AttachmentRef,
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
  IsoDate,
  isFuture,
  ItemId,
  NOT_FUTURE,
  pastIsoDate,
  RemainsId,
  responseOf,
  type ResponseIssue,
  systemClock,
  Prose,
  Text,
  uniqueItemIds,
} from './shared.js';

/** What a request can ask about its cases and remains. */
export const Asked = z.enum(['identification_results', 'dna_profiles', 'remains_status']);
export type Asked = z.infer<typeof Asked>;

export const Conclusion = z.enum(['identified', 'excluded', 'inconclusive', 'pending']);
export const MarkerSystem = z.enum(['autosomal_str', 'y_str', 'mtdna', 'snp']);
export const OtherMethodName = z.enum([
  'fingerprints',
  'odontology',
  'anthropology',
  'personal_effects',
  'other',
]);
/**
 * A reference donor's relationship to the missing person; `direct_reference` is the person's own
 * sample (a toothbrush, a stored biopsy), which matches directly rather than by kinship.
 */
/**
 * Who may see an identification record, as the family (or whoever holds the data) agreed, signed
 * with the record: only the requesting authority; also a mediator the exchange goes through; or
 * anyone (publication). A record without `consent` counts as `requesting_authority`.
 */
export const ConsentScope = z.enum(['requesting_authority', 'mediator', 'publication']);
export type ConsentScope = z.infer<typeof ConsentScope>;

export const Relationship = z.enum([
  'mother',
  'father',
  'son',
  'daughter',
  'full_sibling',
  'half_sibling',
  'spouse',
  'grandparent',
  'grandchild',
  'aunt_uncle',
  'niece_nephew',
  'cousin',
  'other_maternal',
  'other_paternal',
  'direct_reference',
]);
export type Relationship = z.infer<typeof Relationship>;

// ---------------------------------------------------------------------------------------------
// Request subject
// ---------------------------------------------------------------------------------------------

export const IdentificationItem = z.discriminatedUnion('kind', [
  z.strictObject({ item_id: ItemId, kind: z.literal('case'), case_id: CaseId }),
  z.strictObject({ item_id: ItemId, kind: z.literal('remains'), remains_id: RemainsId }),
]);
export type IdentificationItem = z.infer<typeof IdentificationItem>;

function buildSubject() {
  return RequestSubject.extend({
    items: z.array(IdentificationItem).min(1, 'at least one case or set of remains').max(500),
    asked: z
      .array(Asked)
      .min(1, 'what is asked: identification_results, dna_profiles and/or remains_status')
      .superRefine((a, ctx) => checkUnique(ctx, a, (i) => [i], 'asked')),
  }).superRefine(uniqueItemIds);
}

// ---------------------------------------------------------------------------------------------
// Response record
// ---------------------------------------------------------------------------------------------

export const Laboratory = z.strictObject({
  name: Text(300),
  accreditation: z
    .strictObject({
      standard: Text(100).describe('for example ISO/IEC 17025'),
      body: Text(200).describe('the accreditation body'),
      certificate: Text(100).optional(),
    })
    .optional(),
});

export const DnaMethod = z.strictObject({
  method: z.literal('dna'),
  marker_systems: z
    .array(MarkerSystem)
    .min(1, 'the marker systems typed: autosomal_str, y_str, mtdna and/or snp')
    .superRefine((m, ctx) => checkUnique(ctx, m, (i) => [i], 'marker system')),
  reference_relatives: z
    .array(
      z.strictObject({ relationship: Relationship, count: z.number().int().min(1).default(1) }),
    )
    .max(50)
    .optional(),
  likelihood_ratio: decimalIn({ gt: 0 }, 'a likelihood ratio greater than 0')
    .describe('LR of the kinship hypotheses as a decimal string, for example "1200000000"')
    .optional(),
  prior_probability: decimalIn({ min: 0, max: 1 }, 'a probability between 0 and 1').optional(),
  posterior_probability: decimalIn({ min: 0, max: 1 }, 'a probability between 0 and 1').optional(),
  laboratory: Laboratory.optional(),
});

export const OtherMethod = z.strictObject({
  method: OtherMethodName,
  summary: Prose(2_000).optional(),
  performed_by: Text(300).optional(),
});

export const IdentificationMethod = z.discriminatedUnion('method', [DnaMethod, OtherMethod]);

/** An allele designation: STR repeats (12, 9.3), sex markers (X, Y) or a SNP base. */
export const Allele = z
  .string()
  .regex(/^(?:\d{1,2}(?:\.\d)?|X|Y|A|C|G|T)$/, 'an allele such as 12, 9.3, X, Y or a base A/C/G/T');

export const DnaProfile = z
  .strictObject({
    sample_id: ExternalId,
    source: z.enum(['remains', 'reference']),
    relationship: Relationship.optional().describe(
      'for a reference sample: the donor to the missing person',
    ),
    marker_system: MarkerSystem,
    kit: Text(100).optional().describe('the typing kit, for example GlobalFiler'),
    loci: z
      .array(
        z.strictObject({
          locus: z
            .string()
            .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,29}$/, 'a locus name such as D8S1179 or TH01'),
          alleles: z.array(Allele).min(1).max(4),
        }),
      )
      .max(500)
      .optional(),
    mt_variants: z
      .array(z.string().regex(/^[A-Za-z0-9.]{2,16}$/, 'an mtDNA variant such as 16223T'))
      .max(200)
      .optional(),
  })
  .superRefine((p, ctx) => {
    if (!p.loci?.length && !p.mt_variants?.length)
      ctx.addIssue({
        code: 'custom',
        path: ['loci'],
        message: 'loci with alleles, or mt_variants',
      });
    if (p.source === 'reference' && p.relationship === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['relationship'],
        message: "the reference donor's relationship to the missing person",
      });
    checkUnique(
      ctx,
      (p.loci ?? []).map((l) => l.locus),
      (i) => ['loci', i, 'locus'],
      'locus',
    );
  });
export type DnaProfile = z.infer<typeof DnaProfile>;

function buildRecord(clock: Clock) {
  return z
    .strictObject({
      covers: Covers,
      remains: z.strictObject({
        remains_id: RemainsId,
        site_id: ExternalId.optional().describe('the grave site the remains were recovered from'),
        recovered_on: pastIsoDate(clock).optional(),
      }),
      case_id: CaseId.optional().describe('the missing-person case the conclusion concerns'),
      conclusion: Conclusion,
      methods: z.array(IdentificationMethod).max(20).optional(),
      report: z
        .strictObject({
          reported_on: pastIsoDate(clock),
          confirmed_by: Text(300).describe('the official who confirmed the identification'),
          attachment: AttachmentRef.optional().describe('the identification report'),
        })
        .optional(),
      estimated_death: dateOrPeriod(clock).optional(),
      held_at: Text(300).optional().describe('where the remains are held'),
      handover: z
        .strictObject({
          kind: z.enum(['handover', 'repatriation']),
          status: z.enum(['planned', 'done']),
          date: IsoDate,
          place: Text(300),
        })
        .superRefine((h, ctx) => {
          if (h.status === 'done' && isFuture(h.date, clock))
            ctx.addIssue({ code: 'custom', path: ['date'], message: NOT_FUTURE });
        })
        .optional(),
      family_notified: z.boolean().optional(),
      family_notified_on: pastIsoDate(clock).optional(),
      consent: z
        .strictObject({
          scope: ConsentScope,
          given_by: z.enum(['family', 'holder', 'court', 'other']),
          given_on: pastIsoDate(clock).optional(),
        })
        .optional()
        .describe(
          'who may see the record, as agreed; without it, the requesting authority only (README, Consent scopes)',
        ),
      dna_profiles: z
        .array(DnaProfile)
        .max(100)
        .optional()
        .describe('only in responses to requests that asked for dna_profiles'),
      attachments: Attachments.optional(),
    })
    .superRefine((r, ctx) => {
      if ((r.conclusion === 'identified' || r.conclusion === 'excluded') && !r.case_id)
        ctx.addIssue({
          code: 'custom',
          path: ['case_id'],
          message: `the missing-person case an ${r.conclusion === 'identified' ? 'identification' : 'exclusion'} concerns`,
        });
      if (r.family_notified_on !== undefined && r.family_notified !== true)
        ctx.addIssue({
          code: 'custom',
          path: ['family_notified'],
          message: 'true when a notification date is given',
        });
    });
}

export interface IdentificationSchemas {
  subject: ReturnType<typeof buildSubject>;
  record: ReturnType<typeof buildRecord>;
  response: ReturnType<typeof responseOf<ReturnType<typeof buildRecord>>>;
}

/** The identification schemas, with "not in the future" judged by `clock` at parse time. */
export function identificationSchemas(clock: Clock = systemClock): IdentificationSchemas {
  const record = buildRecord(clock);
  return { subject: buildSubject(), record, response: responseOf(record) };
}

const defaults = identificationSchemas();
export const IdentificationSubject = defaults.subject;
export type IdentificationSubject = z.infer<typeof IdentificationSubject>;
export const IdentificationRecord = defaults.record;
export type IdentificationRecord = z.infer<typeof IdentificationRecord>;
export const IdentificationResponse = defaults.response;
export type IdentificationResponse = z.infer<typeof IdentificationResponse>;

export const identificationItemIds = (subject: IdentificationSubject): string[] =>
  subject.items.map((i) => i.item_id);

/**
 * What a response may carry depends on what its request asked: DNA profiles (loci and alleles)
 * only when the request asked for `dna_profiles` for cross-matching. Paths into the response body.
 */
export function checkResponseAgainstRequest(
  subject: Pick<IdentificationSubject, 'asked'>,
  response: { records: readonly { dna_profiles?: readonly unknown[] | undefined }[] },
): ResponseIssue[] {
  if (subject.asked.includes('dna_profiles')) return [];
  return response.records.flatMap((r, i) =>
    r.dna_profiles === undefined
      ? []
      : [
          gap(
            'dna_profiles_not_requested',
            ['records', i, 'dna_profiles'],
            'no DNA profiles: the request did not ask for dna_profiles',
          ),
        ],
  );
}

const CONCLUSIVE = new Set(['identified', 'excluded']);

/** What a family liaison and a court need to rely on a conclusion; paths into the record. */
export function identificationGaps(r: IdentificationRecord): Gap[] {
  const gaps: Gap[] = [];
  const conclusive = CONCLUSIVE.has(r.conclusion);
  if (conclusive && !r.methods?.length)
    gaps.push(gap('methods_missing', ['methods'], 'the methods the conclusion rests on'));
  if (conclusive && !r.report)
    gaps.push(gap('report_missing', ['report'], 'the report date and who confirmed it'));
  if (r.conclusion === 'identified' && r.report && !r.report.attachment)
    gaps.push(
      gap('report_attachment_missing', ['report', 'attachment'], 'the identification report'),
    );
  (r.methods ?? []).forEach((m, i) => {
    if (m.method !== 'dna' || !conclusive) return;
    const at = (...rest: string[]) => ['methods', i, ...rest];
    if (m.likelihood_ratio === undefined)
      gaps.push(
        gap('dna_likelihood_ratio_missing', at('likelihood_ratio'), 'the likelihood ratio'),
      );
    if (m.posterior_probability === undefined)
      gaps.push(
        gap('dna_posterior_missing', at('posterior_probability'), 'the posterior probability'),
      );
    if (!m.reference_relatives?.length)
      gaps.push(
        gap(
          'dna_relatives_missing',
          at('reference_relatives'),
          "the reference relatives' relationships to the missing person",
        ),
      );
    if (!m.laboratory)
      gaps.push(gap('dna_laboratory_missing', at('laboratory'), 'the laboratory that typed'));
    else if (!m.laboratory.accreditation)
      gaps.push(
        gap(
          'dna_accreditation_missing',
          at('laboratory', 'accreditation'),
          "the laboratory's accreditation",
        ),
      );
  });
  return gaps;
}
