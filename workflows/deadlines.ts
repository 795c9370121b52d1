// Deadline arithmetic as pure functions: when each deadline falls, and why, from the agreed
// policy, the signed receipt time, clarification pauses and granted extensions. Deterministic:
// no clock of its own (callers pass `now`), no I/O; used by workflows and shown to people.
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
  /** Days skipped because they were weekends or the responder's holidays (working days only). */
  daysSkipped: string[];
  pauses: Pause[];
  pausedSeconds: number;
  /** True while a pause is open: the due time keeps moving until it closes. */
  clockStopped: boolean;
  extension: GrantedExtension | null;
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

function isWorkingDay(ms: number, holidays: ReadonlySet<string>): boolean {
  const weekday = new Date(ms).getUTCDay();
  return weekday !== 0 && weekday !== 6 && !holidays.has(isoDay(ms));
}

/**
 * Adds a duration to an instant. In working-days mode a whole number of days counts only working
 * days (UTC weekdays that are not holidays), keeping the time of day; other durations run on the clock.
 */
export function addDuration(
  fromMs: number,
  seconds: number,
  calendar: 'calendar' | 'working_days',
  holidays: readonly string[],
): { dueMs: number; daysSkipped: string[] } {
  if (calendar === 'calendar' || seconds % 86_400 !== 0)
    return { dueMs: fromMs + seconds * 1000, daysSkipped: [] };
  const off = new Set(holidays);
  const skipped: string[] = [];
  let remaining = seconds / 86_400;
  let t = fromMs;
  while (remaining > 0) {
    t += DAY_MS;
    if (isWorkingDay(t, off)) remaining -= 1;
    else skipped.push(isoDay(t));
  }
  return { dueMs: t, daysSkipped: skipped };
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
  /** The responder, whose working days and holidays count. */
  responder: string;
  /** The receiver's signed receipt time of the request: every deadline counts from it. */
  receiptAt: string;
  pauses?: readonly Pause[];
  extension?: GrantedExtension | null;
  now: string;
}

export function computeDeadline(input: DeadlineInput): DeadlineExplanation {
  const rule = findRule(input.policy, input.requestType, input.priority);
  const seconds =
    input.deadline === 'acknowledgement' ? rule.acknowledge_seconds : rule.respond_seconds;
  const receiptMs = Date.parse(input.receiptAt);
  const { dueMs, daysSkipped } = addDuration(
    receiptMs,
    seconds,
    input.policy.calendar,
    input.policy.holidays[input.responder] ?? [],
  );
  // Only the response clock stops for clarification, and only if the policy says so.
  const pauses =
    input.deadline === 'response' && rule.clarification_stops_clock
      ? [...(input.pauses ?? [])]
      : [];
  const paused = pausedMs(pauses, Date.parse(input.now));
  const extension = input.deadline === 'response' ? (input.extension ?? null) : null;
  const due = extension
    ? Math.max(Date.parse(extension.newDeadline), dueMs) + paused
    : dueMs + paused;
  return {
    deadline: input.deadline,
    rule: `${rule.request_type}/${rule.priority}`,
    countsFrom: input.receiptAt,
    durationSeconds: seconds,
    calendar: input.policy.calendar,
    daysSkipped,
    pauses,
    pausedSeconds: Math.round(paused / 1000),
    clockStopped: pauses.some((p) => p.to === null),
    extension,
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
