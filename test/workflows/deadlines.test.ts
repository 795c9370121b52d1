import { describe, expect, it } from 'vitest';
import { DeadlinePolicy } from '../../schemas/policy.js';
import {
  addDuration,
  computeDeadline,
  UTC_CALENDAR,
  type WorkingCalendar,
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

describe('working days in the responder’s time zone and weekend', () => {
  const tokyo: WorkingCalendar = { time_zone: 'Asia/Tokyo', weekend: [6, 7] };
  const riyadh: WorkingCalendar = { time_zone: 'Asia/Riyadh', weekend: [5, 6] };
  const berlin: WorkingCalendar = { time_zone: 'Europe/Berlin', weekend: [6, 7] };
  const berlinEveryDay: WorkingCalendar = { time_zone: 'Europe/Berlin', weekend: [] };
  const newYork: WorkingCalendar = { time_zone: 'America/New_York', weekend: [6, 7] };

  // [what, calendar, receipt, working days, holidays, due in UTC counting, due locally, local days skipped]
  it.each<[string, WorkingCalendar, string, number, string[], string, string, string[]]>([
    [
      'Tokyo: Friday 08:00 (Thursday in UTC) + 2 is Tuesday 08:00, the same instant as in UTC',
      tokyo,
      '2026-11-26T23:00:00.000Z',
      2,
      [],
      '2026-11-30T23:00:00.000Z',
      '2026-11-30T23:00:00.000Z',
      ['2026-11-28', '2026-11-29'],
    ],
    [
      'Tokyo: Friday 08:00 (Thursday in UTC) + 1 is Monday 08:00, not Friday',
      tokyo,
      '2026-11-26T23:00:00.000Z',
      1,
      [],
      '2026-11-27T23:00:00.000Z',
      '2026-11-29T23:00:00.000Z',
      ['2026-11-28', '2026-11-29'],
    ],
    [
      'Tokyo: Saturday 05:00 (still Friday in UTC) + 2 is Tuesday 05:00, a day before UTC counting',
      tokyo,
      '2026-11-27T20:00:00.000Z',
      2,
      [],
      '2026-12-01T20:00:00.000Z',
      '2026-11-30T20:00:00.000Z',
      ['2026-11-29'],
    ],
    [
      'Friday–Saturday weekend: Thursday 10:00 in Riyadh + 1 is Sunday 10:00',
      riyadh,
      '2026-11-26T07:00:00.000Z',
      1,
      [],
      '2026-11-27T07:00:00.000Z',
      '2026-11-29T07:00:00.000Z',
      ['2026-11-27', '2026-11-28'],
    ],
    [
      'Friday–Saturday weekend: Friday 10:00 in Riyadh + 2 is Monday 10:00 (Sunday works)',
      riyadh,
      '2026-11-27T07:00:00.000Z',
      2,
      [],
      '2026-12-01T07:00:00.000Z',
      '2026-11-30T07:00:00.000Z',
      ['2026-11-28'],
    ],
    [
      'Berlin, clocks forward on Sunday 29 March: Friday 10:00 CET + 1 is Monday 10:00 CEST',
      berlin,
      '2026-03-27T09:00:00.000Z',
      1,
      [],
      '2026-03-30T09:00:00.000Z',
      '2026-03-30T08:00:00.000Z',
      ['2026-03-28', '2026-03-29'],
    ],
    [
      'Berlin, every day working: Saturday 02:30 + 1 falls in the gap, so 03:00 CEST, the next valid instant',
      berlinEveryDay,
      '2026-03-28T01:30:00.000Z',
      1,
      [],
      '2026-03-30T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      [],
    ],
    [
      'Berlin, every day working: Saturday 02:30 CEST + 1 is the first of the two 02:30s on 25 October',
      berlinEveryDay,
      '2026-10-24T00:30:00.000Z',
      1,
      [],
      '2026-10-26T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      [],
    ],
    [
      'Berlin, clocks back on Sunday 25 October: Friday 10:00 CEST + 1 is Monday 10:00 CET',
      berlin,
      '2026-10-23T08:00:00.000Z',
      1,
      [],
      '2026-10-26T08:00:00.000Z',
      '2026-10-26T09:00:00.000Z',
      ['2026-10-24', '2026-10-25'],
    ],
    [
      'New York: Friday 23:30 (already Saturday in UTC) + 1 is Monday 23:30, not Monday 04:30 UTC',
      newYork,
      '2026-11-28T04:30:00.000Z',
      1,
      [],
      '2026-11-30T04:30:00.000Z',
      '2026-12-01T04:30:00.000Z',
      ['2026-11-28', '2026-11-29'],
    ],
    [
      'New York: a holiday is a local date (Monday 30 November), skipped in the local zone',
      newYork,
      '2026-11-28T04:30:00.250Z',
      1,
      ['2026-11-30'],
      '2026-12-01T04:30:00.250Z',
      '2026-12-02T04:30:00.250Z',
      ['2026-11-28', '2026-11-29', '2026-11-30'],
    ],
  ])('%s', (_what, where, from, days, holidays, utcDue, due, skipped) => {
    const inUtc = addDuration(Date.parse(from), days * 86_400, 'working_days', holidays);
    expect(new Date(inUtc.dueMs).toISOString()).toBe(utcDue);
    const local = addDuration(Date.parse(from), days * 86_400, 'working_days', holidays, where);
    expect(new Date(local.dueMs).toISOString()).toBe(due);
    expect(local.daysSkipped).toEqual(skipped);
  });

  it('counts in UTC with a Saturday–Sunday weekend for a party the policy does not list', () => {
    const from = Date.parse('2026-11-28T04:30:00.000Z');
    expect(addDuration(from, 86_400, 'working_days', [], UTC_CALENDAR)).toEqual(
      addDuration(from, 86_400, 'working_days', []),
    );
    const r = computeDeadline({
      ...base,
      policy: { ...working, parties: { 'party-a': { time_zone: 'Asia/Tokyo', weekend: [6, 7] } } },
      deadline: 'acknowledgement',
      receiptAt: '2026-11-27T10:00:00.000Z',
    });
    expect(r).toMatchObject({ timeZone: 'UTC', dueAt: '2026-12-01T10:00:00.000Z' });
  });

  it('keeps clock durations on the clock whatever the zone', () => {
    const from = Date.parse('2026-03-28T12:00:00.000Z');
    expect(addDuration(from, 86_400, 'calendar', [], berlin).dueMs).toBe(from + 86_400_000);
    expect(addDuration(from, 90, 'working_days', [], berlin).dueMs).toBe(from + 90_000);
  });

  it('computes the responder’s deadline from the policy’s parties, holidays in the same zone', () => {
    const zoned = DeadlinePolicy.parse({
      ...working,
      parties: { 'party-b': { time_zone: 'Asia/Tokyo' } },
    });
    expect(zoned.parties?.['party-b']).toEqual({ time_zone: 'Asia/Tokyo', weekend: [6, 7] });
    const r = computeDeadline({
      ...base,
      policy: zoned,
      deadline: 'acknowledgement',
      // Thursday 24 December, 08:00 in Tokyo; the 25th is party-b's holiday in Tokyo.
      receiptAt: '2026-12-23T23:00:00.000Z',
    });
    expect(r).toMatchObject({
      calendar: 'working_days',
      timeZone: 'Asia/Tokyo',
      daysSkipped: ['2026-12-25', '2026-12-26', '2026-12-27'],
      baseDueAt: '2026-12-28T23:00:00.000Z',
    });
  });

  it('leaves a policy without parties as it was (no member added, so the same object)', () => {
    const raw = { version: 1, name: 'p', rules: [policy.rules[0]] };
    expect(DeadlinePolicy.parse(raw)).not.toHaveProperty('parties');
  });

  it.each<[string, unknown, string]>([
    ['an unknown zone', { time_zone: 'Europe/Atlantis' }, 'parties/party-b/time_zone'],
    ['an offset instead of a zone', { time_zone: '+02:00' }, 'parties/party-b/time_zone'],
    ['a JavaScript Sunday (0) instead of ISO 7', { weekend: [6, 0] }, 'parties/party-b/weekend/1'],
    ['a weekend day listed twice', { weekend: [5, 5] }, 'parties/party-b/weekend'],
    ['a week with no working day', { weekend: [1, 2, 3, 4, 5, 6, 7] }, 'parties/party-b/weekend'],
    ['an unknown member', { time_zone: 'UTC', weekends: [6, 7] }, 'parties/party-b'],
  ])('refuses a party calendar with %s', (_what, calendar, path) => {
    const parsed = DeadlinePolicy.safeParse({ ...working, parties: { 'party-b': calendar } });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('/'))).toContain(path);
  });
});
