import { describe, expect, it } from 'vitest';
import { DeadlinePolicy } from '../../schemas/policy.js';
import {
  addDuration,
  computeDeadline,
  escalationLevel,
  nextEscalationAt,
  reminderTimes,
} from '../../workflows/deadlines.js';

const policy = DeadlinePolicy.parse({
  version: 1,
  name: 'test policy',
  calendar: 'calendar',
  holidays: { 'party-b': ['2026-12-25'] },
  rules: [
    {
      request_type: 'mine_map',
      priority: 'urgent',
      acknowledge_seconds: 2 * 86_400,
      respond_seconds: 10 * 86_400,
      reminder_offsets_seconds: [86_400, 3_600],
      escalation_after_seconds: [0, 86_400, 7 * 86_400],
    },
    {
      request_type: 'grave_information',
      priority: 'routine',
      acknowledge_seconds: 5,
      respond_seconds: 20,
      clarification_stops_clock: false,
    },
  ],
});
const working = { ...policy, calendar: 'working_days' as const };
const base = {
  policy,
  requestType: 'mine_map' as const,
  priority: 'urgent' as const,
  responder: 'party-b',
  now: '2026-12-01T00:00:00.000Z',
};

describe('deadline computation', () => {
  it('counts both deadlines from the signed receipt time, on the clock', () => {
    const ack = computeDeadline({
      ...base,
      deadline: 'acknowledgement',
      receiptAt: '2026-11-30T10:00:00.000Z',
    });
    expect(ack).toMatchObject({
      rule: 'mine_map/urgent',
      countsFrom: '2026-11-30T10:00:00.000Z',
      durationSeconds: 172_800,
      dueAt: '2026-12-02T10:00:00.000Z',
    });
    const resp = computeDeadline({
      ...base,
      deadline: 'response',
      receiptAt: '2026-11-30T10:00:00.000Z',
    });
    expect(resp.dueAt).toBe('2026-12-10T10:00:00.000Z');
  });

  it.each([
    [
      'Friday + 2 working days is Tuesday, skipping the weekend',
      '2026-11-27T10:00:00.000Z',
      2,
      '2026-12-01T10:00:00.000Z',
      ['2026-11-28', '2026-11-29'],
    ],
    [
      'Wednesday 23 Dec + 2 working days skips the responder’s 25 December',
      '2026-12-23T09:00:00.000Z',
      2,
      '2026-12-28T09:00:00.000Z',
      ['2026-12-25', '2026-12-26', '2026-12-27'],
    ],
    [
      'Monday + 1 working day is Tuesday',
      '2026-11-30T08:00:00.000Z',
      1,
      '2026-12-01T08:00:00.000Z',
      [],
    ],
  ])('working days: %s', (_what, from, days, due, skipped) => {
    const r = addDuration(
      Date.parse(from),
      days * 86_400,
      'working_days',
      working.holidays['party-b'] ?? [],
    );
    expect(new Date(r.dueMs).toISOString()).toBe(due);
    expect(r.daysSkipped).toEqual(skipped);
  });

  it('runs sub-day durations on the clock even in working-days mode (seconds in tests)', () => {
    expect(addDuration(0, 90, 'working_days', []).dueMs).toBe(90_000);
  });

  it('stops the response clock while a clarification is open, and says so', () => {
    const r = computeDeadline({
      ...base,
      deadline: 'response',
      receiptAt: '2026-11-20T00:00:00.000Z',
      pauses: [
        { from: '2026-11-21T00:00:00.000Z', to: '2026-11-22T00:00:00.000Z' },
        { from: '2026-11-30T12:00:00.000Z', to: null },
      ],
    });
    expect(r.baseDueAt).toBe('2026-11-30T00:00:00.000Z');
    expect(r.pausedSeconds).toBe(86_400 + 12 * 3600);
    expect(r.clockStopped).toBe(true);
    expect(r.dueAt).toBe('2026-12-01T12:00:00.000Z');
  });

  it('does not stop the acknowledgement clock, nor any clock when the policy says not to', () => {
    const pauses = [{ from: '2026-11-21T00:00:00.000Z', to: '2026-11-22T00:00:00.000Z' }];
    const ack = computeDeadline({
      ...base,
      deadline: 'acknowledgement',
      receiptAt: '2026-11-20T00:00:00.000Z',
      pauses,
    });
    expect(ack.pausedSeconds).toBe(0);
    const g = computeDeadline({
      ...base,
      requestType: 'grave_information',
      priority: 'routine',
      deadline: 'response',
      receiptAt: '2026-11-20T00:00:00.000Z',
      pauses,
    });
    expect(g.dueAt).toBe('2026-11-20T00:00:20.000Z');
    expect(g.pauses).toEqual([]);
  });

  it('moves the response deadline to a granted extension, never earlier than the rule', () => {
    const later = computeDeadline({
      ...base,
      deadline: 'response',
      receiptAt: '2026-11-20T00:00:00.000Z',
      extension: { grantedAt: '2026-11-25T00:00:00.000Z', newDeadline: '2026-12-15T00:00:00.000Z' },
    });
    expect(later).toMatchObject({
      baseDueAt: '2026-11-30T00:00:00.000Z',
      dueAt: '2026-12-15T00:00:00.000Z',
    });
    const earlier = computeDeadline({
      ...base,
      deadline: 'response',
      receiptAt: '2026-11-20T00:00:00.000Z',
      extension: { grantedAt: '2026-11-25T00:00:00.000Z', newDeadline: '2026-11-26T00:00:00.000Z' },
    });
    expect(earlier.dueAt).toBe('2026-11-30T00:00:00.000Z');
  });

  it('schedules only the reminders still ahead, earliest first', () => {
    expect(
      reminderTimes('2026-12-10T10:00:00.000Z', [86_400, 3_600], '2026-12-01T00:00:00.000Z'),
    ).toEqual(['2026-12-09T10:00:00.000Z', '2026-12-10T09:00:00.000Z']);
    expect(
      reminderTimes('2026-12-10T10:00:00.000Z', [86_400, 3_600], '2026-12-10T00:00:00.000Z'),
    ).toEqual(['2026-12-10T09:00:00.000Z']);
  });

  it.each([
    ['2026-12-10T09:59:59.000Z', 0, '2026-12-10T10:00:00.000Z'],
    ['2026-12-10T10:00:00.000Z', 1, '2026-12-11T10:00:00.000Z'],
    ['2026-12-11T10:00:00.000Z', 2, '2026-12-17T10:00:00.000Z'],
    ['2026-12-30T00:00:00.000Z', 3, null],
  ])('at %s the escalation level is %i, next step at %s', (now, level, next) => {
    const steps = [0, 86_400, 7 * 86_400];
    expect(escalationLevel('2026-12-10T10:00:00.000Z', steps, now)).toBe(level);
    expect(nextEscalationAt('2026-12-10T10:00:00.000Z', steps, now)).toBe(next);
  });

  it('refuses a policy with two rules for the same type and priority, or a response before the acknowledgement', () => {
    const rule = {
      request_type: 'mine_map',
      priority: 'urgent',
      acknowledge_seconds: 10,
      respond_seconds: 5,
    };
    const parsed = DeadlinePolicy.safeParse({ version: 1, name: 'bad', rules: [rule, rule] });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('/'))).toEqual(
      expect.arrayContaining(['rules/1', 'rules/0/respond_seconds']),
    );
  });
});
