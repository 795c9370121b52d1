// Deadline arithmetic as pure functions: when each deadline falls, and why, from the agreed
// policy, the signed receipt time, clarification pauses and granted extensions. Deterministic:
// no clock of its own (callers pass `now`), no I/O, no time zone library (V8's Intl only, which
// the workflow sandbox has); used by workflows and shown to people.
import type { DeadlinePolicy, PolicyRule } from '../schemas/policy.js';
import type { Priority, RequestType } from '../schemas/common.js';

const DAY_MS = 86_400_000;

export type DeadlineKind = 'acknowledgement' | 'response';

/** A span during which the response clock stood still (an open clarification question). */
export interface Pause {
  from: string;
  /** null while the question is still open. */
  to: string | null;
}

/** An extension the requester granted: the response deadline moves to `newDeadline`. */
export interface GrantedExtension {
  grantedAt: string;
  newDeadline: string;
}

/** How a deadline was computed, step by step, so nobody argues about a date. */
export interface DeadlineExplanation {
  deadline: DeadlineKind;
  rule: string;
  countsFrom: string;
  durationSeconds: number;
  calendar: 'calendar' | 'working_days';
  /** The responder's time zone, in which working days and `daysSkipped` are counted. */
  timeZone: string;
  /** Local dates skipped as the responder's weekend days or holidays (working days only). */
  daysSkipped: string[];
  pauses: Pause[];
  pausedSeconds: number;
  /** True while a pause is open: the due time keeps moving until it closes. */
  clockStopped: boolean;
  extension: GrantedExtension | null;
  /**
   * The mediator's pauses (README, _Mediated exchange_), present when it paused the clocks: they
   * stop both deadlines, and time already past the due time is not given back.
   */
  mediatorPauses?: Pause[];
  mediatorPausedSeconds?: number;
  /** Due time from the rule alone (receipt + duration, working days applied). */
  baseDueAt: string;
  dueAt: string;
}

export function findRule(
  policy: DeadlinePolicy,
  type: RequestType,
  priority: Priority,
): PolicyRule {
  const rule = policy.rules.find((r) => r.request_type === type && r.priority === priority);
  if (!rule) throw new TypeError(`the policy has no rule for ${type}/${priority}`);
  return rule;
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Where a party's working days are counted; unlisted parties count in UTC, Saturday–Sunday off. */
export interface WorkingCalendar {
  /** IANA time zone. */
  time_zone: string;
  /** ISO weekdays (1 Monday … 7 Sunday) that are not working days. */
  weekend: readonly number[];
}

export const UTC_CALENDAR: WorkingCalendar = { time_zone: 'UTC', weekend: [6, 7] };

/** The responder's calendar from the policy (`parties`), or UTC with a Saturday–Sunday weekend. */
export function calendarOf(policy: DeadlinePolicy, party: string): WorkingCalendar {
  return policy.parties?.[party] ?? UTC_CALENDAR;
}

// Local wall-clock times are handled as "wall" milliseconds: the local date and time read as if
// they were UTC, so calendar steps are plain additions and never see daylight saving time. The
// sandbox has no time zone library; V8's ICU gives the local parts of an instant, and offsets
// follow from them. Formatters are cached per zone: building one is the slow part.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's offset from UTC at an instant, in milliseconds (local = instant + offset). */
function offsetAt(zone: string, ms: number): number {
  const whole = ms - (((ms % 1000) + 1000) % 1000);
  const n = { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  for (const part of formatter(zone).formatToParts(whole))
    if (part.type in n) n[part.type as keyof typeof n] = Number(part.value);
  const wall = Date.UTC(n.year, n.month - 1, n.day, n.hour, n.minute, n.second);
  return wall - whole;
}

/**
 * The first instant at which the zone's clocks show `wall` or later: the only instant when the
 * time exists once; the earlier of two when clocks go back and it happens twice; and the end of
 * the gap (the first valid instant after it) when clocks go forward over it.
 */
function instantOf(zone: string, wall: number): number {
  const before = offsetAt(zone, wall - DAY_MS);
  const after = offsetAt(zone, wall + DAY_MS);
  const fits = [wall - before, wall - after].filter((t) => wall - t === offsetAt(zone, t));
  if (fits.length > 0) return Math.min(...fits);
  // A gap: clocks jumped from `before` to `after` between lo and hi; find the jump.
  let lo = wall - after;
  let hi = wall - before;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(zone, mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

function isWorkingDay(
  wall: number,
  weekend: readonly number[],
  holidays: ReadonlySet<string>,
): boolean {
  const isoWeekday = new Date(wall).getUTCDay() || 7;
  return !weekend.includes(isoWeekday) && !holidays.has(isoDay(wall));
}

/**
 * Adds a duration to an instant. In working-days mode a whole number of days counts only working
 * days in the responder's calendar: from the local date of `fromMs`, each following local date
 * that is neither a weekend day nor a holiday counts one, and the deadline falls at the same local
 * wall-clock time on the last one (the first valid instant after it if clocks skipped that time,
 * the first of two if they repeated it). Other durations run on the clock. Skipped days are local
 * dates.
 */
export function addDuration(
  fromMs: number,
  seconds: number,
  calendar: 'calendar' | 'working_days',
  holidays: readonly string[],
  where: WorkingCalendar = UTC_CALENDAR,
): { dueMs: number; daysSkipped: string[] } {
  if (calendar === 'calendar' || seconds % 86_400 !== 0)
    return { dueMs: fromMs + seconds * 1000, daysSkipped: [] };
  if ([1, 2, 3, 4, 5, 6, 7].every((d) => where.weekend.includes(d)))
    throw new TypeError('a calendar with no working day');
  const zone = where.time_zone;
  const utc = zone === 'UTC';
  const off = new Set(holidays);
  const skipped: string[] = [];
  let remaining = seconds / 86_400;
  let wall = utc ? fromMs : fromMs + offsetAt(zone, fromMs);
  while (remaining > 0) {
    wall += DAY_MS;
    if (isWorkingDay(wall, where.weekend, off)) remaining -= 1;
    else skipped.push(isoDay(wall));
  }
  return { dueMs: utc ? wall : instantOf(zone, wall), daysSkipped: skipped };
}

export function pausedMs(pauses: readonly Pause[], nowMs: number): number {
  return pauses.reduce(
    (sum, p) => sum + Math.max(0, (p.to ? Date.parse(p.to) : nowMs) - Date.parse(p.from)),
    0,
  );
}

export interface DeadlineInput {
  deadline: DeadlineKind;
  policy: DeadlinePolicy;
  requestType: RequestType;
  priority: Priority;
  /** The responder, whose time zone, weekend and holidays count. */
  responder: string;
  /** The receiver's signed receipt time of the request: every deadline counts from it. */
  receiptAt: string;
  pauses?: readonly Pause[];
  extension?: GrantedExtension | null;
  /** Pauses of both parties' clocks signed by the request's mediator, each from and to its instants. */
  mediatorPauses?: readonly Pause[];
  now: string;
}

/** Intervals as [from, to] milliseconds, an open one ending at `nowMs`, merged and in order. */
function merged(pauses: readonly Pause[], nowMs: number): [number, number][] {
  const spans = pauses
    .map((p): [number, number] => [Date.parse(p.from), p.to ? Date.parse(p.to) : nowMs])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of spans) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** `spans` less the parts that `counted` covers (both merged and in order). */
function without(spans: [number, number][], counted: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (const [a0, b] of spans) {
    let a = a0;
    for (const [c, d] of counted) {
      if (d <= a || c >= b) continue;
      if (c > a) out.push([a, c]);
      a = Math.max(a, d);
    }
    if (a < b) out.push([a, b]);
  }
  return out;
}

/**
 * Walks a due time past the mediator's pauses: each pause that begins before the due time (and
 * after the clock started) moves it by the pause's length. A pause that begins once the deadline
 * has passed moves nothing, and time another counted pause already stopped counts once.
 */
export function pastMediatorPauses(o: {
  dueMs: number;
  startMs: number;
  mediatorPauses: readonly Pause[];
  counted: readonly Pause[];
  nowMs: number;
}): { dueMs: number; pausedMs: number; stopped: boolean } {
  const spans = without(
    merged(o.mediatorPauses, o.nowMs).map(([a, b]): [number, number] => [
      Math.max(a, o.startMs),
      b,
    ]),
    merged(o.counted, o.nowMs),
  ).filter(([a, b]) => b > a);
  let due = o.dueMs;
  let paused = 0;
  for (const [a, b] of spans) {
    if (a >= due) break;
    due += b - a;
    paused += b - a;
  }
  const open = o.mediatorPauses.find((p) => p.to === null);
  const stopped = open !== undefined && Math.max(Date.parse(open.from), o.startMs) < due;
  return { dueMs: due, pausedMs: paused, stopped };
}

export function computeDeadline(input: DeadlineInput): DeadlineExplanation {
  const rule = findRule(input.policy, input.requestType, input.priority);
  const seconds =
    input.deadline === 'acknowledgement' ? rule.acknowledge_seconds : rule.respond_seconds;
  const receiptMs = Date.parse(input.receiptAt);
  const where = calendarOf(input.policy, input.responder);
  const { dueMs, daysSkipped } = addDuration(
    receiptMs,
    seconds,
    input.policy.calendar,
    input.policy.holidays[input.responder] ?? [],
    where,
  );
  // Only the response clock stops for clarification, and only if the policy says so.
  const pauses =
    input.deadline === 'response' && rule.clarification_stops_clock
      ? [...(input.pauses ?? [])]
      : [];
  const paused = pausedMs(pauses, Date.parse(input.now));
  const extension = input.deadline === 'response' ? (input.extension ?? null) : null;
  const before = extension
    ? Math.max(Date.parse(extension.newDeadline), dueMs) + paused
    : dueMs + paused;
  const byMediator = input.mediatorPauses?.length
    ? pastMediatorPauses({
        dueMs: before,
        startMs: receiptMs,
        mediatorPauses: input.mediatorPauses,
        counted: pauses,
        nowMs: Date.parse(input.now),
      })
    : null;
  const due = byMediator ? byMediator.dueMs : before;
  return {
    deadline: input.deadline,
    rule: `${rule.request_type}/${rule.priority}`,
    countsFrom: input.receiptAt,
    durationSeconds: seconds,
    calendar: input.policy.calendar,
    timeZone: where.time_zone,
    daysSkipped,
    pauses,
    pausedSeconds: Math.round(paused / 1000),
    clockStopped: pauses.some((p) => p.to === null) || (byMediator?.stopped ?? false),
    extension,
    ...(byMediator
      ? {
          mediatorPauses: input.mediatorPauses!.map((p) => ({ ...p })),
          mediatorPausedSeconds: Math.round(byMediator.pausedMs / 1000),
        }
      : {}),
    baseDueAt: new Date(dueMs).toISOString(),
    dueAt: new Date(due).toISOString(),
  };
}

/** When reminders fall before a deadline (only those still ahead of `now`), earliest first. */
export function reminderTimes(
  dueAt: string,
  offsetsSeconds: readonly number[],
  now: string,
): string[] {
  const due = Date.parse(dueAt);
  return offsetsSeconds
    .map((s) => due - s * 1000)
    .filter((t) => t > Date.parse(now))
    .sort((a, b) => a - b)
    .map((t) => new Date(t).toISOString());
}

/** The escalation level at `now` for a missed deadline: 0 before it passes, then 1, 2, … */
export function escalationLevel(
  dueAt: string,
  afterSeconds: readonly number[],
  now: string,
): number {
  const late = Date.parse(now) - Date.parse(dueAt);
  if (late < 0) return 0;
  return afterSeconds.filter((s) => late >= s * 1000).length;
}

/** When the next escalation level starts, or null when the last level is reached. */
export function nextEscalationAt(
  dueAt: string,
  afterSeconds: readonly number[],
  now: string,
): string | null {
  const level = escalationLevel(dueAt, afterSeconds, now);
  const next = [...afterSeconds].sort((a, b) => a - b)[level];
  return next === undefined ? null : new Date(Date.parse(dueAt) + next * 1000).toISOString();
}
