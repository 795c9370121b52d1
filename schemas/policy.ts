// The deadline policy both parties agree on, loaded from a file whose digest travels with each
// request. Durations are data (seconds), so tests can use seconds and production days.
import { z } from 'zod';
import { PartyId, Priority, RequestType } from './common.js';

const Seconds = z
  .number()
  .int()
  .min(1)
  .max(10 * 365 * 86_400);
const IsoDate = z.iso.date({ message: 'a calendar date such as 2026-12-25' });

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

export const DeadlinePolicy = z
  .strictObject({
    version: z.literal(1),
    name: z.string().min(1).max(200),
    /**
     * `calendar`: durations run on the clock. `working_days`: a duration that is a whole number of
     * days counts only the responder's working days (no weekends, no holidays listed here).
     */
    calendar: z.enum(['calendar', 'working_days']).default('calendar'),
    holidays: z.record(PartyId, z.array(IsoDate)).default({}),
    rules: z.array(PolicyRule).min(1),
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
