// The deadline policy both parties agree on, loaded from a file whose digest travels with each
// request. Durations are data (seconds), so tests can use seconds and production days.
import { z } from 'zod';
import { PartyId, Priority, RequestType } from './common.js';
import { noUnsafeCharacters } from './text.js';

const Seconds = z
  .number()
  .int()
  .min(1)
  .max(10 * 365 * 86_400);
const IsoDate = z.iso.date({ message: 'a calendar date such as 2026-12-25' });

function knownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * An IANA time zone name this runtime knows (`Europe/Kyiv`, `Asia/Tokyo`, `UTC`). Offsets such as
 * `+02:00` are refused: they have no daylight saving rules and newer runtimes accept them while
 * older ones do not, so both nodes could read the same policy differently.
 */
export const TimeZone = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/,
    'an IANA time zone name such as Europe/Kyiv',
  )
  .refine(knownTimeZone, { message: 'an IANA time zone name this runtime knows' });

/** A day of the week as in ISO 8601: 1 is Monday, 7 is Sunday. */
export const IsoWeekday = z.number().int().min(1).max(7);

/**
 * Where a party's working days are counted: its time zone and its weekend. A party the policy
 * does not list counts in UTC with a Saturday and Sunday weekend.
 */
export const PartyCalendar = z.strictObject({
  /** IANA zone whose local dates and wall-clock times the party's working days follow. */
  time_zone: TimeZone.default('UTC'),
  /** ISO weekdays (1 Monday … 7 Sunday) that are not working days; `[5, 6]` is Friday–Saturday. */
  weekend: z
    .array(IsoWeekday)
    .max(6, 'at least one day of the week must be a working day')
    .refine((days) => new Set(days).size === days.length, { message: 'a day listed twice' })
    .default([6, 7]),
});
export type PartyCalendar = z.infer<typeof PartyCalendar>;

/** The deadlines of one request type and priority. */
export const PolicyRule = z.strictObject({
  request_type: RequestType,
  priority: Priority,
  /** From the signed receipt of the request to the acknowledgement. */
  acknowledge_seconds: Seconds,
  /** From the signed receipt of the request to the final response. */
  respond_seconds: Seconds,
  /** Reminders go out this long before each deadline (largest first). */
  reminder_offsets_seconds: z.array(Seconds).max(5).default([]),
  /** Escalation levels 1, 2, … start this long after a missed deadline (first is usually 0). */
  escalation_after_seconds: z.array(z.number().int().min(0)).min(1).max(5).default([0]),
  /** Whether an open clarification question stops the response clock. */
  clarification_stops_clock: z.boolean().default(true),
});
export type PolicyRule = z.infer<typeof PolicyRule>;

/**
 * How long this node keeps a request's personal content once the request has ended; `null` keeps
 * it (no automatic erasure). Counted from the request's last change of status: its closure
 * (accepted), or its decline or withdrawal.
 */
const RetentionSeconds = z
  .number()
  .int()
  .min(1)
  .max(100 * 366 * 86_400)
  .nullable();

/** The retention of one request type (see domain/erasure.ts). */
export const RetentionRule = z.strictObject({
  /** From the closure (accepted) to the erasure; `null`: never erased automatically. */
  after_closure_seconds: RetentionSeconds.default(null),
  /** From a decline or a withdrawal to the erasure; defaults to `after_closure_seconds`. */
  after_other_end_seconds: RetentionSeconds.optional(),
});
export type RetentionRule = z.infer<typeof RetentionRule>;

/**
 * Per request type, how long this node keeps personal content after a request ends. A type not
 * listed (and a policy without `retention`) is kept: erasure cannot be undone, so it runs only
 * where the operator chose a duration. Not part of the policy's digest (node/policy.ts): each node
 * keeps data under its own rules, and changing them must not refuse requests.
 */
export const RetentionPolicy = z.partialRecord(RequestType, RetentionRule);
export type RetentionPolicy = z.infer<typeof RetentionPolicy>;

export const DeadlinePolicy = z
  .strictObject({
    version: z.literal(1),
    // Not trimmed, so a policy parses to the same object as before; refused if not safe to show.
    name: z.string().min(1).max(200).superRefine(noUnsafeCharacters()),
    /**
     * `calendar`: durations run on the clock. `working_days`: a duration that is a whole number of
     * days counts only the responder's working days (no weekends, no holidays listed here), in the
     * responder's time zone (`parties`).
     */
    calendar: z.enum(['calendar', 'working_days']).default('calendar'),
    /** Each party's holidays: local dates in that party's time zone. */
    holidays: z.record(PartyId, z.array(IsoDate)).default({}),
    /**
     * Each party's time zone and weekend. Optional and without a default, so a policy file without
     * it keeps its digest and parses to the same object as before; unlisted parties count in UTC
     * with a Saturday and Sunday weekend.
     */
    parties: z.record(PartyId, PartyCalendar).optional(),
    rules: z.array(PolicyRule).min(1),
    /** This node's retention of personal content per request type (not in the digest). */
    retention: RetentionPolicy.optional(),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.rules.forEach((r, i) => {
      const key = `${r.request_type}/${r.priority}`;
      if (seen.has(key))
        ctx.addIssue({ code: 'custom', path: ['rules', i], message: `a second rule for ${key}` });
      seen.add(key);
      if (r.respond_seconds < r.acknowledge_seconds) {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'respond_seconds'],
          message: 'must not be shorter than acknowledge_seconds',
        });
      }
    });
  });
export type DeadlinePolicy = z.infer<typeof DeadlinePolicy>;
