// The default policy's reminders: each comes at a sensible point before its deadline, never at the
// receipt of the request (an offset as long as the deadline itself fires at once, and filled the
// supervisors' notifications with "deadline near" for every new request).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../node/policy.js';
import { computeDeadline, type DeadlineKind } from '../../workflows/deadlines.js';
import { dueTimekeeping } from '../../workflows/timekeeping.js';

const FILE = fileURLToPath(new URL('../../policy/default-policy.json', import.meta.url));
const KINDS: DeadlineKind[] = ['acknowledgement', 'response'];
/** Receipts on each day of a week (Mon 2026-12-07 … Sun), morning and late evening, UTC. */
const RECEIPTS = [7, 8, 9, 10, 11, 12, 13].flatMap((d) =>
  ['08:00:00.000Z', '22:30:00.000Z'].map((t) => `2026-12-${String(d).padStart(2, '0')}T${t}`),
);

describe('default policy', () => {
  it('reminds before each deadline, never at the receipt nor in its first half', async () => {
    const { policy } = await loadPolicy(FILE);
    for (const rule of policy.rules) {
      expect(rule.reminder_offsets_seconds.length, rule.request_type).toBeGreaterThan(0);
      for (const receiptAt of RECEIPTS) {
        for (const kind of KINDS) {
          const d = computeDeadline({
            deadline: kind,
            policy,
            requestType: rule.request_type,
            priority: rule.priority,
            responder: 'party-b',
            receiptAt,
            now: receiptAt,
          });
          const what = `${d.rule} ${kind} received ${receiptAt}`;
          const input = {
            deadlines: [{ kind, dueAt: d.dueAt, countsFrom: d.countsFrom }],
            reminderOffsetsSeconds: rule.reminder_offsets_seconds,
            escalationAfterSeconds: rule.escalation_after_seconds,
            memory: { reminders: [], escalated: {} },
          };
          // At the receipt: nothing to say yet.
          expect(dueTimekeeping({ ...input, now: Date.parse(receiptAt) }).reminders, what).toEqual(
            [],
          );
          // Just before the deadline every reminder has gone out, each in its second half.
          const start = Date.parse(receiptAt);
          const due = Date.parse(d.dueAt);
          const sent = dueTimekeeping({ ...input, now: due - 1 }).reminders;
          expect(sent.length, what).toBe(rule.reminder_offsets_seconds.length);
          for (const offset of rule.reminder_offsets_seconds)
            expect(due - offset * 1000, what).toBeGreaterThanOrEqual(start + (due - start) / 2);
        }
      }
    }
  });
});
