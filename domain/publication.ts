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

/** The remains a record is about (its identity across responses), if it names one. */
const remainsOf = (record: unknown): string | undefined => {
  const id = obj(obj(record)?.remains)?.remains_id;
  return typeof id === 'string' ? id : undefined;
};

/**
 * The published records of these responses, newest response first. A later response about the
 * same remains of the same request supersedes an earlier one: its records about them alone count
 * (all of them: one remains can have a record per case it concludes on), so a consent narrowed or
 * withdrawn since (a later record with another scope, or none) takes the record off the list. Both parties hold the same responses, so they list the same records.
 */
export function publishedIdentifications(
  responses: readonly HeldResponse[],
): PublishedIdentification[] {
  const bySigning = [...responses].sort(
    (x, y) => x.signedAt.getTime() - y.signedAt.getTime() || (x.msgId < y.msgId ? -1 : 1),
  );
  const recordsOf = (resp: HeldResponse): unknown[] =>
    Array.isArray(resp.body.records) ? resp.body.records : [];
  /** The latest response about each remains of each request. */
  const latest = new Map<string, HeldResponse>();
  for (const resp of bySigning)
    for (const record of recordsOf(resp)) {
      const remains = remainsOf(record);
      if (remains !== undefined) latest.set(`${resp.reqId} ${remains}`, resp);
    }
  // Every record of that response about those remains (one per case it concludes on, say).
  const current = bySigning.flatMap((resp) =>
    recordsOf(resp)
      .filter((record) => latest.get(`${resp.reqId} ${remainsOf(record)}`) === resp)
      .map((record) => ({ resp, record })),
  );
  return current
    .flatMap(({ resp, record }) => {
      const published = publishedForm(record);
      return published
        ? [
            {
              requestId: resp.reqId,
              msgId: resp.msgId,
              digest: resp.digest,
              signedBy: resp.signedBy,
              signedAt: resp.signedAt.toISOString(),
              record: published,
            },
          ]
        : [];
    })
    .sort(
      (x, y) =>
        Date.parse(y.signedAt) - Date.parse(x.signedAt) ||
        (x.msgId < y.msgId ? 1 : x.msgId > y.msgId ? -1 : 0),
    );
}
