// Who owes the next step, from the request's state and direction (the action table decides).
import { describe, expect, it } from 'vitest';
import { nextStep, type NextStepInput } from '../../domain/next-step.js';

const base: NextStepInput = {
  status: 'delivered',
  openClarification: false,
  pendingExtension: false,
  direction: 'outgoing',
  requester: 'party-a',
  responder: 'party-b',
};
const owed = (over: Partial<NextStepInput>) => nextStep({ ...base, ...over });

describe('nextStep', () => {
  it('names the responder while the request waits for its acknowledgement or answer', () => {
    for (const status of ['delivered', 'acknowledged', 'partially_answered'] as const) {
      expect(owed({ status })).toMatchObject({
        side: 'responder',
        by: 'partner',
        party: 'party-b',
      });
      expect(owed({ status, direction: 'incoming' })).toMatchObject({ by: 'us', party: 'party-b' });
    }
    expect(owed({ status: 'delivered' })?.action).toBe('acknowledge');
    expect(owed({ status: 'acknowledged' })?.action).toBe('respond_final');
  });

  it('names the requester while a question is open or an extension waits, and to close', () => {
    expect(owed({ status: 'acknowledged', openClarification: true })).toEqual({
      action: 'answer_clarification',
      side: 'requester',
      by: 'us',
      party: 'party-a',
    });
    expect(owed({ status: 'partially_answered', pendingExtension: true })).toMatchObject({
      action: 'decide_extension',
      by: 'us',
    });
    expect(
      owed({ status: 'delivered', openClarification: true, direction: 'incoming' }),
    ).toMatchObject({ action: 'answer_clarification', by: 'partner', party: 'party-a' });
    expect(owed({ status: 'answered' })).toMatchObject({ action: 'close_accepted', by: 'us' });
  });

  it('names nobody before delivery or after the end', () => {
    expect(owed({ status: 'submitted' })).toBeNull();
    for (const status of ['closed', 'declined', 'withdrawn'] as const)
      expect(owed({ status, openClarification: true, pendingExtension: true })).toBeNull();
  });
});
