// What a consent to publication lets out of a node (README, _Consent scopes_): the identification
// records whose signed scope is `publication`, each cut down to its published form. A record of
// any other scope is never in it, for any role. Pure: the caller reads the responses.
import type { PublishedIdentification, PublishedRecord } from '../schemas/publication-api.js';
import { scopeOf } from './consent.js';

/** A response of an identification request, as stored, with who signed it and when. */
export interface HeldResponse {
  reqId: string;
  msgId: string;
  digest: string;
  signedBy: string;
  signedAt: Date;
  body: { records?: unknown };
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;

/**
 * A record in its published form, or undefined when its scope is not `publication`. Only the
 * members `PublishedRecord` names are copied: what the schema adds to records later stays out
 * until it is named here.
 */
export function publishedForm(record: unknown): PublishedRecord | undefined {
  const r = obj(record);
  if (!r || scopeOf(r) !== 'publication') return undefined;
  const consent = obj(r.consent)!;
  const remains = obj(r.remains);
  const report = obj(r.report);
  const handover = obj(r.handover);
  const published: Record<string, unknown> = {
    remains_id: remains?.remains_id,
    conclusion: r.conclusion,
    consent: {
      scope: 'publication',
      given_by: consent.given_by,
      ...(consent.given_on !== undefined ? { given_on: consent.given_on } : {}),
    },
  };
  if (r.case_id !== undefined) published.case_id = r.case_id;
  if (report?.reported_on !== undefined) published.reported_on = report.reported_on;
  if (handover)
    published.handover = { kind: handover.kind, status: handover.status, date: handover.date };
  if (r.family_notified !== undefined) published.family_notified = r.family_notified;
  return published as PublishedRecord;
}

/** The published records of these responses, newest response first, in record order within one. */
export function publishedIdentifications(
  responses: readonly HeldResponse[],
): PublishedIdentification[] {
  return [...responses]
    .sort((x, y) => y.signedAt.getTime() - x.signedAt.getTime() || (x.msgId < y.msgId ? 1 : -1))
    .flatMap((resp) =>
      (Array.isArray(resp.body.records) ? resp.body.records : []).flatMap((record, index) => {
        const published = publishedForm(record);
        return published
          ? [
              {
                requestId: resp.reqId,
                msgId: resp.msgId,
                digest: resp.digest,
                signedBy: resp.signedBy,
                signedAt: resp.signedAt.toISOString(),
                index,
                record: published,
              },
            ]
          : [];
      }),
    );
}
