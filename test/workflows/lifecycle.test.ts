import { describe, expect, it } from 'vitest';
import { RequestStatus } from '../../schemas/common.js';
import { canTransition, isTerminal, TRANSITIONS } from '../../workflows/lifecycle.js';

describe('request state machine', () => {
  it('knows every status and only statuses', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...RequestStatus.options].sort());
    for (const targets of Object.values(TRANSITIONS)) {
      for (const t of targets) expect(RequestStatus.options).toContain(t);
    }
  });

  it.each([
    ['submitted', 'delivered', true],
    ['submitted', 'answered', false],
    ['delivered', 'acknowledged', true],
    ['acknowledged', 'partially_answered', true],
    ['partially_answered', 'answered', true],
    ['answered', 'closed', true],
    ['answered', 'acknowledged', true], // reopened: the answer was marked incomplete
    ['closed', 'closed', false],
    ['withdrawn', 'answered', false],
    ['declined', 'acknowledged', false],
  ] as const)('%s -> %s allowed: %s', (from, to, allowed) => {
    expect(canTransition(from, to)).toBe(allowed);
  });

  it('ends only in closed, declined or withdrawn, with nothing after them', () => {
    const terminal = RequestStatus.options.filter(isTerminal);
    expect(terminal.sort()).toEqual(['closed', 'declined', 'withdrawn']);
    for (const s of terminal) expect(TRANSITIONS[s]).toEqual([]);
  });

  it('lets a request be withdrawn at any point before it is answered', () => {
    for (const s of ['submitted', 'delivered', 'acknowledged', 'partially_answered'] as const) {
      expect(canTransition(s, 'withdrawn')).toBe(true);
    }
    expect(canTransition('answered', 'withdrawn')).toBe(false);
  });
});
