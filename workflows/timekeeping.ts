// Reminders and escalations as a pure decision: given the deadlines that bind now and what was
// already done, which reminders and escalations are due, and when to look again.
// Deterministic: no clock of its own (callers pass `now`), no I/O, no Node modules.
import { escalationLevel, nextEscalationAt, type DeadlineKind } from './deadlines.js';

/** What was already done, carried across runs (continue-as-new). */
export interface TimekeepingMemory {
  /** Keys of reminders already sent: `kind:offset:dueAt`, so a moved deadline reminds again. */
  reminders: string[];
  /** The highest escalation level raised per deadline. */
  escalated: Partial<Record<DeadlineKind, number>>;
}

export interface TimekeepingInput {
  /** The deadlines that bind now and whose clock runs. */
  deadlines: readonly { kind: DeadlineKind; dueAt: string; countsFrom: string }[];
  reminderOffsetsSeconds: readonly number[];
  escalationAfterSeconds: readonly number[];
  /** Epoch milliseconds. */
  now: number;
  memory: TimekeepingMemory;
}

export interface TimekeepingDue {
  reminders: { key: string; kind: DeadlineKind; dueAt: string }[];
  escalations: { kind: DeadlineKind; level: number; dueAt: string }[];
  /** When something next falls due (epoch ms), if anything will. */
  nextWakeAt: number | undefined;
}

export function dueTimekeeping(input: TimekeepingInput): TimekeepingDue {
  const { now, memory } = input;
  const nowIso = new Date(now).toISOString();
  const out: TimekeepingDue = { reminders: [], escalations: [], nextWakeAt: undefined };
  const later = (t: number) => {
    out.nextWakeAt = out.nextWakeAt === undefined ? t : Math.min(out.nextWakeAt, t);
  };
  for (const d of input.deadlines) {
    const due = Date.parse(d.dueAt);
    for (const offset of input.reminderOffsetsSeconds) {
      const at = due - offset * 1000;
      const key = `${d.kind}:${offset}:${d.dueAt}`;
      if (at < Date.parse(d.countsFrom) || memory.reminders.includes(key)) continue;
      if (at > now) later(at);
      else out.reminders.push({ key, kind: d.kind, dueAt: d.dueAt });
    }
    const level = escalationLevel(d.dueAt, input.escalationAfterSeconds, nowIso);
    if (level > (memory.escalated[d.kind] ?? 0))
      out.escalations.push({ kind: d.kind, level, dueAt: d.dueAt });
    if (due > now) later(due);
    const step = nextEscalationAt(d.dueAt, input.escalationAfterSeconds, nowIso);
    if (step) later(Date.parse(step));
  }
  return out;
}
