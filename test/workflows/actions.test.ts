import { describe, expect, it } from 'vitest';
import type { RequestStatus } from '../../schemas/common.js';
import {
  ACTIONS,
  apply,
  refusal,
  type Action,
  type LifecycleState,
} from '../../workflows/actions.js';

const state = (status: RequestStatus, extra: Partial<LifecycleState> = {}): LifecycleState => ({
  status,
  openClarification: null,
  pendingExtension: null,
  ...extra,
});
const msg = {
  msgId: '01JBXKQ6W3V2Z8N4PRT5YHGM9A',
  digest: 'a'.repeat(64),
  at: '2026-12-01T00:00:00.000Z',
};

describe('who may do what, when', () => {
  it.each<[Action, RequestStatus, boolean]>([
    ['acknowledge', 'delivered', true],
    ['acknowledge', 'submitted', false],
    ['acknowledge', 'acknowledged', false],
    ['respond_partial', 'acknowledged', true],
    ['respond_final', 'partially_answered', true],
    ['respond_final', 'withdrawn', false],
    ['decline', 'delivered', true],
    ['decline', 'answered', false],
    ['withdraw', 'submitted', true],
    ['withdraw', 'answered', false],
    ['close_accepted', 'answered', true],
    ['close_accepted', 'closed', false],
    ['close_incomplete', 'answered', true],
  ])('%s while %s: allowed %s', (action, status, allowed) => {
    const r = refusal(state(status), ACTIONS[action].side, action);
    expect(r === undefined).toBe(allowed);
    if (!allowed) expect(r!.code).toBe('invalid_state');
  });

  it('refuses an action to the wrong side', () => {
    expect(refusal(state('delivered'), 'requester', 'acknowledge')?.message).toMatch(
      /only the responder/,
    );
    expect(refusal(state('answered'), 'responder', 'close_accepted')?.message).toMatch(
      /only the requester/,
    );
  });

  it('runs the clarification loop: one open question at a time, answered only while open', () => {
    expect(refusal(state('acknowledged'), 'requester', 'answer_clarification')).toBeDefined();
    const asked = apply(state('acknowledged'), 'ask_clarification', msg);
    expect(asked.openClarification).toEqual({
      msgId: msg.msgId,
      digest: msg.digest,
      since: msg.at,
    });
    expect(asked.status).toBe('acknowledged');
    expect(refusal(asked, 'responder', 'ask_clarification')?.message).toMatch(/already open/);
    expect(refusal(asked, 'requester', 'answer_clarification')).toBeUndefined();
    expect(apply(asked, 'answer_clarification', msg).openClarification).toBeNull();
  });

  it('refuses an extension decision without a pending extension request', () => {
    expect(refusal(state('acknowledged'), 'requester', 'decide_extension')?.message).toMatch(
      /no extension request/,
    );
    const pending = apply(state('acknowledged'), 'request_extension', {
      ...msg,
      proposedDeadline: '2026-12-20T00:00:00.000Z',
    });
    expect(pending.pendingExtension?.proposedDeadline).toBe('2026-12-20T00:00:00.000Z');
    expect(refusal(pending, 'requester', 'decide_extension')).toBeUndefined();
    expect(apply(pending, 'decide_extension', msg).pendingExtension).toBeNull();
  });

  it('reopens an answered request marked incomplete, and ends it when accepted', () => {
    expect(apply(state('answered'), 'close_incomplete', msg).status).toBe('acknowledged');
    expect(apply(state('answered'), 'close_accepted', msg).status).toBe('closed');
  });

  it('allows nothing at all once a request is closed, declined or withdrawn', () => {
    for (const status of ['closed', 'declined', 'withdrawn'] as const) {
      for (const action of Object.keys(ACTIONS) as Action[]) {
        expect(refusal(state(status), ACTIONS[action].side, action)).toMatchObject({
          code: 'invalid_state',
        });
      }
    }
  });
});
