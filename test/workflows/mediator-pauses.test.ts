// The mediator's pauses of both parties' clocks (workflows/deadlines.ts): they stop the
// acknowledgement and the response deadline alike, whatever the policy says of clarifications;
// a pause moves a due time only if it begins before it; time before the receipt, and time a
// counted clarification already stopped, count for nothing; and an open pause keeps the clock
// stopped. Every case is pinned with concrete instants.
import { describe, expect, it } from 'vitest';
import { DeadlinePolicy } from '../../schemas/policy.js';
import {
  computeDeadline,
  pastMediatorPauses,
  type DeadlineInput,
  type Pause,
} from '../../workflows/deadlines.js';

const policy = DeadlinePolicy.parse({
  version: 1,
  name: 'mediator pauses',
  calendar: 'calendar',
  rules: [
    // The clarification stops the response clock (the default).
    {
      request_type: 'mine_map',
      priority: 'urgent',
      acknowledge_seconds: 2 * 86_400,
      respond_seconds: 10 * 86_400,
    },
    // The clarification does not stop any clock.
    {
      request_type: 'mine_map',
      priority: 'routine',
      acknowledge_seconds: 86_400,
      respond_seconds: 5 * 86_400,
      clarification_stops_clock: false,
    },
  ],
});

// Monday 2 November 2026, 10:00 UTC. Base due times: urgent acknowledgement 2026-11-04T10:00,
// urgent response 2026-11-12T10:00; routine acknowledgement 2026-11-03T10:00, routine response
// 2026-11-07T10:00.
const RECEIPT = '2026-11-02T10:00:00.000Z';

const urgent = {
  policy,
  requestType: 'mine_map' as const,
  priority: 'urgent' as const,
  responder: 'party-b',
  receiptAt: RECEIPT,
};
const routine = { ...urgent, priority: 'routine' as const };

const closed = (from: string, to: string): Pause => ({ from, to });
const open = (from: string): Pause => ({ from, to: null });

describe('mediator pauses in computeDeadline', () => {
  it('move both the acknowledgement and the response deadline, whatever the policy says of clarifications', () => {
    const mediatorPauses = [closed('2026-11-02T12:00:00.000Z', '2026-11-02T18:00:00.000Z')];
    const now = '2026-11-02T20:00:00.000Z';
    const cases: [typeof urgent | typeof routine, DeadlineInput['deadline'], string, string][] = [
      [urgent, 'acknowledgement', '2026-11-04T10:00:00.000Z', '2026-11-04T16:00:00.000Z'],
      [urgent, 'response', '2026-11-12T10:00:00.000Z', '2026-11-12T16:00:00.000Z'],
      [routine, 'acknowledgement', '2026-11-03T10:00:00.000Z', '2026-11-03T16:00:00.000Z'],
      [routine, 'response', '2026-11-07T10:00:00.000Z', '2026-11-07T16:00:00.000Z'],
    ];
    for (const [rule, deadline, baseDueAt, dueAt] of cases) {
      const r = computeDeadline({ ...rule, deadline, mediatorPauses, now });
      expect(r, `${rule.priority} ${deadline}`).toMatchObject({
        baseDueAt,
        dueAt,
        pauses: [],
        pausedSeconds: 0,
        mediatorPauses,
        mediatorPausedSeconds: 6 * 3600,
        clockStopped: false,
      });
    }
  });

  it('leaves a due time that has passed when the pause begins: overdue stays overdue', () => {
    // The urgent acknowledgement was due at 2026-11-04T10:00; the pause begins an hour later.
    const mediatorPauses = [closed('2026-11-04T11:00:00.000Z', '2026-11-04T13:00:00.000Z')];
    const now = '2026-11-04T14:00:00.000Z';
    const ack = computeDeadline({ ...urgent, deadline: 'acknowledgement', mediatorPauses, now });
    expect(ack).toMatchObject({
      baseDueAt: '2026-11-04T10:00:00.000Z',
      dueAt: '2026-11-04T10:00:00.000Z',
      mediatorPauses,
      mediatorPausedSeconds: 0,
      clockStopped: false,
    });
    expect(Date.parse(ack.dueAt)).toBeLessThan(Date.parse(now));
    // The same pause is before the response deadline, which it moves.
    const resp = computeDeadline({ ...urgent, deadline: 'response', mediatorPauses, now });
    expect(resp).toMatchObject({
      dueAt: '2026-11-12T12:00:00.000Z',
      mediatorPausedSeconds: 2 * 3600,
    });
  });

  it('leaves the due time for a pause beginning exactly at it', () => {
    const r = computeDeadline({
      ...urgent,
      deadline: 'acknowledgement',
      mediatorPauses: [closed('2026-11-04T10:00:00.000Z', '2026-11-04T12:00:00.000Z')],
      now: '2026-11-04T13:00:00.000Z',
    });
    expect(r).toMatchObject({ dueAt: '2026-11-04T10:00:00.000Z', mediatorPausedSeconds: 0 });
  });

  it('walks a moving due time: a pause after the base due time but before the moved one counts', () => {
    const r = computeDeadline({
      ...urgent,
      deadline: 'acknowledgement',
      // Listed out of order: 08:00–12:00 moves 10:00 to 14:00; 13:00–14:00 then begins before
      // it (15:00); 15:00–16:00 begins exactly at the moved due time and moves nothing.
      mediatorPauses: [
        closed('2026-11-04T15:00:00.000Z', '2026-11-04T16:00:00.000Z'),
        closed('2026-11-04T13:00:00.000Z', '2026-11-04T14:00:00.000Z'),
        closed('2026-11-04T08:00:00.000Z', '2026-11-04T12:00:00.000Z'),
      ],
      now: '2026-11-04T17:00:00.000Z',
    });
    expect(r).toMatchObject({
      baseDueAt: '2026-11-04T10:00:00.000Z',
      dueAt: '2026-11-04T15:00:00.000Z',
      mediatorPausedSeconds: 5 * 3600,
    });
  });

  it('counts a pause that began before the receipt only from the receipt', () => {
    const at = (mediatorPauses: Pause[], now = '2026-11-02T20:00:00.000Z') =>
      computeDeadline({ ...urgent, deadline: 'acknowledgement', mediatorPauses, now });
    // 06:00–14:00, receipt at 10:00: four hours count, not eight.
    expect(at([closed('2026-11-02T06:00:00.000Z', '2026-11-02T14:00:00.000Z')])).toMatchObject({
      countsFrom: RECEIPT,
      dueAt: '2026-11-04T14:00:00.000Z',
      mediatorPausedSeconds: 4 * 3600,
    });
    // Wholly before the receipt: nothing.
    expect(at([closed('2026-11-01T00:00:00.000Z', '2026-11-02T09:00:00.000Z')])).toMatchObject({
      dueAt: '2026-11-04T10:00:00.000Z',
      mediatorPausedSeconds: 0,
    });
    // Ending exactly at the receipt: nothing.
    expect(at([closed('2026-11-02T08:00:00.000Z', RECEIPT)])).toMatchObject({
      dueAt: '2026-11-04T10:00:00.000Z',
      mediatorPausedSeconds: 0,
    });
    // Open since before the receipt: counts from 10:00 to now (12:00), and stops the clock.
    expect(at([open('2026-11-02T08:00:00.000Z')], '2026-11-02T12:00:00.000Z')).toMatchObject({
      dueAt: '2026-11-04T12:00:00.000Z',
      mediatorPausedSeconds: 2 * 3600,
      clockStopped: true,
    });
  });

  it('counts time once where it overlaps a closed clarification that stops the clock', () => {
    const pauses = [closed('2026-11-03T10:00:00.000Z', '2026-11-03T14:00:00.000Z')];
    const now = '2026-11-03T20:00:00.000Z';
    // Clarification 10:00–14:00, mediator 12:00–18:00: stopped 10:00–18:00, eight hours.
    const overlapping = computeDeadline({
      ...urgent,
      deadline: 'response',
      pauses,
      mediatorPauses: [closed('2026-11-03T12:00:00.000Z', '2026-11-03T18:00:00.000Z')],
      now,
    });
    expect(overlapping).toMatchObject({
      baseDueAt: '2026-11-12T10:00:00.000Z',
      pauses,
      pausedSeconds: 4 * 3600,
      mediatorPausedSeconds: 4 * 3600,
      dueAt: '2026-11-12T18:00:00.000Z',
      clockStopped: false,
    });
    // A mediator pause inside the clarification adds nothing.
    const inside = computeDeadline({
      ...urgent,
      deadline: 'response',
      pauses,
      mediatorPauses: [closed('2026-11-03T11:00:00.000Z', '2026-11-03T13:00:00.000Z')],
      now,
    });
    expect(inside).toMatchObject({
      pausedSeconds: 4 * 3600,
      mediatorPausedSeconds: 0,
      dueAt: '2026-11-12T14:00:00.000Z',
    });
    // A mediator pause around the clarification adds only its parts outside it.
    const around = computeDeadline({
      ...urgent,
      deadline: 'response',
      pauses,
      mediatorPauses: [closed('2026-11-03T08:00:00.000Z', '2026-11-03T16:00:00.000Z')],
      now,
    });
    expect(around).toMatchObject({
      pausedSeconds: 4 * 3600,
      mediatorPausedSeconds: 4 * 3600,
      dueAt: '2026-11-12T18:00:00.000Z',
    });
  });

  it('counts time once where it overlaps an open clarification that stops the clock', () => {
    // Clarification open since 11-03 10:00, now 16:00: six hours paused by it.
    const pauses = [open('2026-11-03T10:00:00.000Z')];
    const now = '2026-11-03T16:00:00.000Z';
    const inside = computeDeadline({
      ...urgent,
      deadline: 'response',
      pauses,
      mediatorPauses: [closed('2026-11-03T12:00:00.000Z', '2026-11-03T14:00:00.000Z')],
      now,
    });
    expect(inside).toMatchObject({
      pausedSeconds: 6 * 3600,
      mediatorPausedSeconds: 0,
      dueAt: '2026-11-12T16:00:00.000Z',
      clockStopped: true,
    });
    // Mediator 08:00–12:00: only 08:00–10:00 is not already stopped by the clarification.
    const before = computeDeadline({
      ...urgent,
      deadline: 'response',
      pauses,
      mediatorPauses: [closed('2026-11-03T08:00:00.000Z', '2026-11-03T12:00:00.000Z')],
      now,
    });
    expect(before).toMatchObject({
      pausedSeconds: 6 * 3600,
      mediatorPausedSeconds: 2 * 3600,
      dueAt: '2026-11-12T18:00:00.000Z',
      clockStopped: true,
    });
    // Both open, the mediator's since 08:00: stopped 08:00–16:00, and both move with `now`.
    const both = (at: string) =>
      computeDeadline({
        ...urgent,
        deadline: 'response',
        pauses,
        mediatorPauses: [open('2026-11-03T08:00:00.000Z')],
        now: at,
      });
    expect(both(now)).toMatchObject({
      pausedSeconds: 6 * 3600,
      mediatorPausedSeconds: 2 * 3600,
      dueAt: '2026-11-12T18:00:00.000Z',
      clockStopped: true,
    });
    expect(both('2026-11-03T19:00:00.000Z')).toMatchObject({
      pausedSeconds: 9 * 3600,
      mediatorPausedSeconds: 2 * 3600,
      dueAt: '2026-11-12T21:00:00.000Z',
      clockStopped: true,
    });
  });

  it('counts the whole mediator pause when the clarification does not stop that clock', () => {
    const mediatorPauses = [closed('2026-11-03T12:00:00.000Z', '2026-11-03T18:00:00.000Z')];
    for (const pauses of [
      [closed('2026-11-03T10:00:00.000Z', '2026-11-03T14:00:00.000Z')],
      [open('2026-11-03T10:00:00.000Z')],
    ]) {
      const now = '2026-11-03T20:00:00.000Z';
      // The policy says clarifications do not stop the routine clocks.
      const resp = computeDeadline({
        ...routine,
        deadline: 'response',
        pauses,
        mediatorPauses,
        now,
      });
      expect(resp).toMatchObject({
        baseDueAt: '2026-11-07T10:00:00.000Z',
        pauses: [],
        pausedSeconds: 0,
        mediatorPausedSeconds: 6 * 3600,
        dueAt: '2026-11-07T16:00:00.000Z',
        clockStopped: false,
      });
      // Clarifications never stop the acknowledgement clock.
      const ack = computeDeadline({
        ...urgent,
        deadline: 'acknowledgement',
        pauses,
        mediatorPauses,
        now,
      });
      expect(ack).toMatchObject({
        pauses: [],
        pausedSeconds: 0,
        mediatorPausedSeconds: 6 * 3600,
        dueAt: '2026-11-04T16:00:00.000Z',
        clockStopped: false,
      });
    }
  });

  it.each<[string, Pause[], number]>([
    [
      'overlapping',
      [
        closed('2026-11-03T10:00:00.000Z', '2026-11-03T14:00:00.000Z'),
        closed('2026-11-03T12:00:00.000Z', '2026-11-03T18:00:00.000Z'),
      ],
      8,
    ],
    [
      'one inside the other',
      [
        closed('2026-11-03T10:00:00.000Z', '2026-11-03T18:00:00.000Z'),
        closed('2026-11-03T12:00:00.000Z', '2026-11-03T14:00:00.000Z'),
      ],
      8,
    ],
    [
      'the same, twice',
      [
        closed('2026-11-03T10:00:00.000Z', '2026-11-03T14:00:00.000Z'),
        closed('2026-11-03T10:00:00.000Z', '2026-11-03T14:00:00.000Z'),
      ],
      4,
    ],
    [
      'touching',
      [
        closed('2026-11-03T12:00:00.000Z', '2026-11-03T14:00:00.000Z'),
        closed('2026-11-03T10:00:00.000Z', '2026-11-03T12:00:00.000Z'),
      ],
      4,
    ],
  ])('counts two mediator pauses (%s) once', (_what, mediatorPauses, hours) => {
    const r = computeDeadline({
      ...urgent,
      deadline: 'acknowledgement',
      mediatorPauses,
      now: '2026-11-03T20:00:00.000Z',
    });
    expect(r.mediatorPausedSeconds).toBe(hours * 3600);
    expect(r.dueAt).toBe(
      new Date(Date.parse('2026-11-04T10:00:00.000Z') + hours * 3_600_000).toISOString(),
    );
    expect(r.mediatorPauses).toEqual(mediatorPauses);
  });

  it('keeps the clock stopped while a pause is open: the due time moves with now, until it closes', () => {
    const at = (mediatorPauses: Pause[], now: string) =>
      computeDeadline({ ...urgent, deadline: 'acknowledgement', mediatorPauses, now });
    const pausedAt = '2026-11-03T10:00:00.000Z';
    expect(at([open(pausedAt)], '2026-11-03T12:00:00.000Z')).toMatchObject({
      dueAt: '2026-11-04T12:00:00.000Z',
      mediatorPausedSeconds: 2 * 3600,
      clockStopped: true,
      mediatorPauses: [{ from: pausedAt, to: null }],
    });
    expect(at([open(pausedAt)], '2026-11-03T15:30:00.000Z')).toMatchObject({
      dueAt: '2026-11-04T15:30:00.000Z',
      mediatorPausedSeconds: 5.5 * 3600,
      clockStopped: true,
    });
    // Still open after the base due time has passed: the deadline is not missed.
    expect(at([open(pausedAt)], '2026-11-05T10:00:00.000Z')).toMatchObject({
      dueAt: '2026-11-06T10:00:00.000Z',
      clockStopped: true,
    });
    // Closed at 15:30: the due time stays there and the clock runs again.
    const ended = closed(pausedAt, '2026-11-03T15:30:00.000Z');
    expect(at([ended], '2026-11-03T20:00:00.000Z')).toMatchObject({
      dueAt: '2026-11-04T15:30:00.000Z',
      mediatorPausedSeconds: 5.5 * 3600,
      clockStopped: false,
    });
  });

  it('does not stop a clock whose due time passed before the open pause began', () => {
    const mediatorPauses = [open('2026-11-04T11:00:00.000Z')];
    const now = '2026-11-04T12:00:00.000Z';
    const ack = computeDeadline({ ...urgent, deadline: 'acknowledgement', mediatorPauses, now });
    expect(ack).toMatchObject({
      dueAt: '2026-11-04T10:00:00.000Z',
      mediatorPausedSeconds: 0,
      clockStopped: false,
    });
    const resp = computeDeadline({ ...urgent, deadline: 'response', mediatorPauses, now });
    expect(resp).toMatchObject({
      dueAt: '2026-11-12T11:00:00.000Z',
      mediatorPausedSeconds: 3600,
      clockStopped: true,
    });
  });

  it('adds no key to an explanation computed without mediator pauses', () => {
    const input = {
      ...urgent,
      deadline: 'response' as const,
      pauses: [closed('2026-11-03T10:00:00.000Z', '2026-11-03T14:00:00.000Z')],
      extension: {
        grantedAt: '2026-11-05T00:00:00.000Z',
        newDeadline: '2026-11-20T00:00:00.000Z',
      },
      now: '2026-11-06T00:00:00.000Z',
    };
    const without = computeDeadline(input);
    expect(without).not.toHaveProperty('mediatorPauses');
    expect(without).not.toHaveProperty('mediatorPausedSeconds');
    expect(Object.keys(without)).toEqual([
      'deadline',
      'rule',
      'countsFrom',
      'durationSeconds',
      'calendar',
      'timeZone',
      'daysSkipped',
      'pauses',
      'pausedSeconds',
      'clockStopped',
      'extension',
      'baseDueAt',
      'dueAt',
    ]);
    expect(without.dueAt).toBe('2026-11-20T04:00:00.000Z');
    // An empty list is no pause either: the same bytes.
    expect(JSON.stringify(computeDeadline({ ...input, mediatorPauses: [] }))).toBe(
      JSON.stringify(without),
    );
    // With a pause that moves nothing the keys are there, and nothing else changes.
    const mediatorPauses = [closed('2026-11-01T00:00:00.000Z', '2026-11-01T06:00:00.000Z')];
    const withPause = computeDeadline({ ...input, mediatorPauses });
    expect(withPause).toEqual({ ...without, mediatorPauses, mediatorPausedSeconds: 0 });
    expect(withPause.mediatorPauses).not.toBe(mediatorPauses);
  });

  it('moves an extended response deadline too', () => {
    const r = computeDeadline({
      ...urgent,
      deadline: 'response',
      extension: {
        grantedAt: '2026-11-05T00:00:00.000Z',
        newDeadline: '2026-11-20T00:00:00.000Z',
      },
      mediatorPauses: [closed('2026-11-06T00:00:00.000Z', '2026-11-06T03:00:00.000Z')],
      now: '2026-11-07T00:00:00.000Z',
    });
    expect(r).toMatchObject({
      baseDueAt: '2026-11-12T10:00:00.000Z',
      dueAt: '2026-11-20T03:00:00.000Z',
      mediatorPausedSeconds: 3 * 3600,
    });
  });

  it('applies the working-days calendar to the base due time, the pause on the clock after it', () => {
    const working = { ...policy, calendar: 'working_days' as const };
    // Friday 27 November 10:00 + 2 working days = Tuesday 1 December 10:00.
    const r = computeDeadline({
      ...urgent,
      policy: working,
      deadline: 'acknowledgement',
      receiptAt: '2026-11-27T10:00:00.000Z',
      // Monday 30 November, 12:00–18:00.
      mediatorPauses: [closed('2026-11-30T12:00:00.000Z', '2026-11-30T18:00:00.000Z')],
      now: '2026-11-30T20:00:00.000Z',
    });
    expect(r).toMatchObject({
      calendar: 'working_days',
      daysSkipped: ['2026-11-28', '2026-11-29'],
      baseDueAt: '2026-12-01T10:00:00.000Z',
      dueAt: '2026-12-01T16:00:00.000Z',
      mediatorPausedSeconds: 6 * 3600,
    });
  });
});

describe('pastMediatorPauses', () => {
  // Hours after Monday 2 November 2026, 00:00 UTC.
  const T0 = Date.parse('2026-11-02T00:00:00.000Z');
  const h = (hours: number) => T0 + hours * 3_600_000;
  const iso = (hours: number) => new Date(h(hours)).toISOString();
  const span = (from: number, to: number | null): Pause => ({
    from: iso(from),
    to: to === null ? null : iso(to),
  });
  const walk = (
    mediatorPauses: Pause[],
    o: { due?: number; start?: number; counted?: Pause[]; now?: number } = {},
  ) =>
    pastMediatorPauses({
      dueMs: h(o.due ?? 10),
      startMs: h(o.start ?? 0),
      mediatorPauses,
      counted: o.counted ?? [],
      nowMs: h(o.now ?? 24),
    });
  const result = (due: number, pausedHours: number, stopped = false) => ({
    dueMs: h(due),
    pausedMs: pausedHours * 3_600_000,
    stopped,
  });

  it('moves the due time by a pause that begins before it', () => {
    expect(walk([span(2, 5)])).toEqual(result(13, 3));
    // Ending after the due time: the whole length still counts.
    expect(walk([span(8, 12)])).toEqual(result(14, 4));
  });

  it('moves nothing for a pause beginning at or after the due time', () => {
    expect(walk([span(12, 14)])).toEqual(result(10, 0));
    expect(walk([span(10, 14)])).toEqual(result(10, 0));
  });

  it('walks the moving due time, in order of the pauses', () => {
    expect(walk([span(15, 16), span(12, 13), span(2, 6)])).toEqual(result(15, 5));
  });

  it('counts only from the start', () => {
    expect(walk([span(-2, 3)])).toEqual(result(13, 3));
    expect(walk([span(-5, -1)])).toEqual(result(10, 0));
    expect(walk([span(-5, 0)])).toEqual(result(10, 0));
    expect(walk([span(1, 4)], { start: 2 })).toEqual(result(12, 2));
  });

  it('counts time once where it overlaps a counted pause, closed or open', () => {
    expect(walk([span(4, 8)], { counted: [span(3, 6)] })).toEqual(result(12, 2));
    expect(walk([span(4, 8)], { counted: [span(5, 6)] })).toEqual(result(13, 3));
    expect(walk([span(4, 8)], { counted: [span(3, null)], now: 9 })).toEqual(result(10, 0));
    expect(walk([span(4, 8)], { counted: [span(6, null)], now: 9 })).toEqual(result(12, 2));
  });

  it('merges overlapping mediator pauses', () => {
    expect(walk([span(2, 5), span(3, 7)])).toEqual(result(15, 5));
    expect(walk([span(2, 7), span(3, 4)])).toEqual(result(15, 5));
    expect(walk([span(2, 5), span(2, 5)])).toEqual(result(13, 3));
  });

  it('runs an open pause until now and stops the clock if it began before the due time', () => {
    expect(walk([span(4, null)], { now: 7 })).toEqual(result(13, 3, true));
    expect(walk([span(4, null)], { now: 8 })).toEqual(result(14, 4, true));
    // Began before the start: counts from the start.
    expect(walk([span(-3, null)], { now: 2 })).toEqual(result(12, 2, true));
    // Began after the due time: nothing moves and the clock is not stopped.
    expect(walk([span(11, null)], { now: 12 })).toEqual(result(10, 0, false));
    // Began after the base due time but before the one an earlier pause moved.
    expect(walk([span(2, 6), span(12, null)], { now: 13 })).toEqual(result(15, 5, true));
  });
});
