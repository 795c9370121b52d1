// nextReminderAt (exchange/mediator-notices.ts): a mediator reminds a party of a deadline at most
// once per spacing, so neither a mediator nor a double click floods a party's supervisors.
import { describe, expect, it } from 'vitest';
import { nextReminderAt } from '../../exchange/mediator-notices.js';

const HOUR = 3_600_000;
const at = (iso: string) => new Date(iso);
const sent = [
  {
    action: 'reminder',
    aud: 'party-b',
    deadline: 'response',
    created_at: at('2026-12-07T08:00:00Z'),
    state: 'delivered',
  },
  {
    action: 'reminder',
    aud: 'party-b',
    deadline: 'response',
    created_at: at('2026-12-07T09:00:00Z'),
    state: 'delivered',
  },
  {
    action: 'reminder',
    aud: 'party-a',
    deadline: 'acknowledgement',
    created_at: at('2026-12-07T09:30:00Z'),
    state: 'delivered',
  },
  {
    action: 'pause',
    aud: 'party-a',
    deadline: null,
    created_at: at('2026-12-07T09:45:00Z'),
    state: 'delivered',
  },
] as const;

describe('nextReminderAt', () => {
  it('is a spacing after the newest reminder of that deadline to any of the parties', () => {
    expect(nextReminderAt(sent, ['party-b'], 'response', HOUR)).toBe(
      Date.parse('2026-12-07T10:00:00Z'),
    );
    expect(nextReminderAt(sent, ['party-a', 'party-b'], 'response', HOUR)).toBe(
      Date.parse('2026-12-07T10:00:00Z'),
    );
    expect(nextReminderAt(sent, ['party-a', 'party-b'], 'acknowledgement', HOUR)).toBe(
      Date.parse('2026-12-07T10:30:00Z'),
    );
  });

  it('holds nothing back for another party, another deadline, other notices or no spacing', () => {
    expect(nextReminderAt(sent, ['party-a'], 'response', HOUR)).toBe(0);
    expect(nextReminderAt(sent, ['party-b'], 'acknowledgement', HOUR)).toBe(0);
    expect(nextReminderAt([sent[3]], ['party-a'], 'acknowledgement', HOUR)).toBe(0);
    expect(nextReminderAt(sent, ['party-b'], 'response', 0)).toBe(0);
    // A reminder the party refused never reached it: it holds nothing back.
    const refused = { ...sent[1], state: 'refused' } as const;
    expect(nextReminderAt([sent[0], refused], ['party-b'], 'response', HOUR)).toBe(
      Date.parse('2026-12-07T09:00:00Z'),
    );
  });
});
