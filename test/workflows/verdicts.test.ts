// changedVerdicts (workflows/conversation.ts): the steps whose timeliness a later fold counts
// otherwise, as when a mediator's pause signed before a step reaches a node after it.
import { describe, expect, it } from 'vitest';
import {
  changedVerdicts,
  settle,
  type ConvMessage,
  type ConversationState,
} from '../../workflows/conversation.js';

const T0 = Date.UTC(2026, 0, 5);
/** No verdict recorded: the prior fold's is the one said. */
const NONE: ReadonlyMap<string, boolean> = new Map();
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

const request: ConvMessage = {
  from: 'requester',
  seq: 1,
  seen: 0,
  msgId: 'r001',
  digest: 'd1',
  kind: 'request',
  sentAt: iso(0),
  receivedAt: iso(1),
  facts: {},
};
/** B's acknowledgement 70 s after its receipt of the request. */
const ack: ConvMessage = {
  from: 'responder',
  seq: 1,
  seen: 1,
  msgId: 'p002',
  digest: 'd2',
  kind: 'acknowledgement',
  sentAt: iso(71),
  receivedAt: iso(72),
  facts: {},
};

/** The acknowledgement due 60 s after the receipt, plus `pausedSeconds` of a mediator's pause. */
const dueWith =
  (pausedSeconds: number) =>
  (kind: 'acknowledgement' | 'response', s: ConversationState): string | null =>
    s.receiptAt
      ? new Date(
          Date.parse(s.receiptAt) + ((kind === 'acknowledgement' ? 60 : 600) + pausedSeconds) * 1e3,
        ).toISOString()
      : null;

const fold = (pausedSeconds: number, responder: ConvMessage[] = [ack]) =>
  settle('requester', [request], responder, dueWith(pausedSeconds));

describe('changedVerdicts', () => {
  it('names a step judged late that a pause makes on time, with the verdict that holds', () => {
    const before = fold(0);
    const after = fold(30);
    expect(before.outcomes.get('p002')).toMatchObject({ onTime: false });
    const now = after.outcomes.get('p002');
    expect(now).toMatchObject({ applied: true, onTime: true });
    expect(changedVerdicts(NONE, before, after)).toEqual([
      { msgId: 'p002', digest: 'd2', onTime: true, countsAt: now?.applied ? now.countsAt : null },
    ]);
    // And the other way round (a resume that shortens an open pause).
    expect(changedVerdicts(NONE, after, before)).toEqual([
      expect.objectContaining({ msgId: 'p002', onTime: false }),
    ]);
  });

  it('names nothing when the verdict stays, or when the step is not in both folds', () => {
    // A pause too short to change it, and the same fold twice.
    expect(changedVerdicts(NONE, fold(0), fold(5))).toEqual([]);
    expect(changedVerdicts(NONE, fold(30), fold(30))).toEqual([]);
    // The step arrives with the pause: it was never judged without it.
    expect(changedVerdicts(NONE, fold(0, []), fold(30))).toEqual([]);
    // Messages that answer no deadline (the request) have no verdict to change.
    expect(changedVerdicts(NONE, fold(0, []), fold(30, []))).toEqual([]);
  });

  it('compares with the verdict the timeline said, not with the last fold', () => {
    // Said late; the fold before the notice already counted it on time (its basis changed since):
    // the correction is still said. Said on time and on time now: nothing to say.
    expect(changedVerdicts(new Map([['p002', false]]), fold(30), fold(30))).toEqual([
      expect.objectContaining({ msgId: 'p002', onTime: true }),
    ]);
    expect(changedVerdicts(new Map([['p002', true]]), fold(0), fold(30))).toEqual([]);
  });
});

describe('a step’s verdict', () => {
  /**
   * The acknowledgement due 60 s after the receipt (at 61 s), its clock stopped by a pause opened
   * at 65 s (a clarification asked after the deadline gives time back) and still open: as the
   * deadline stood at `asOf`, else at the folding node's clock `now`.
   */
  const dueWithOpenPause =
    (now: number) =>
    (kind: 'acknowledgement' | 'response', s: ConversationState, asOf?: string) => {
      if (!s.receiptAt || kind !== 'acknowledgement') return null;
      const until = asOf ? Date.parse(asOf) : T0 + now * 1000;
      const paused = Math.max(0, until - (T0 + 65_000));
      return new Date(Date.parse(s.receiptAt) + 60_000 + paused).toISOString();
    };

  it('is judged by the deadline as it stood when the step was taken, whenever a node folds', () => {
    // Signed at 71 s, when it was due at 67 s: late. Folded at once, and an hour later (the open
    // pause has grown past it): still late.
    const soon = settle('requester', [request], [ack], dueWithOpenPause(72));
    const later = settle('requester', [request], [ack], dueWithOpenPause(3_672));
    expect(soon.outcomes.get('p002')).toMatchObject({ applied: true, onTime: false });
    expect(later.outcomes.get('p002')).toEqual(soon.outcomes.get('p002'));
  });
});
