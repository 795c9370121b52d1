// The read-model projection against a real database: data Postgres can never store fails once, as
// non-retryable `unstorable`, instead of being retried for ever by Temporal.
import { ApplicationFailure } from '@temporalio/activity';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import type { RequestRecord } from '../../schemas/workflow-contract.js';
import { cloneTemplate, testPool } from '../helpers/postgres.js';
import { subjectFor } from '../helpers/domain.js';

let db: Awaited<ReturnType<typeof cloneTemplate>>;
let pool: pg.Pool;

beforeAll(async () => {
  db = await cloneTemplate(inject('templateDatabase'));
  pool = testPool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const record: RequestRecord = {
  reqId: '01JBXKQ6W3V2Z8N4PRT5YHGM9A',
  workflowId: 'request-01JBXKQ6W3V2Z8N4PRT5YHGM9A',
  direction: 'outgoing',
  type: 'grave_information',
  requester: 'party-a',
  responder: 'party-b',
  priority: 'routine',
  subject: subjectFor('grave_information', 'Graves by the mill') as RequestRecord['subject'],
  createdBy: 'officer-amira',
  createdAt: '2026-12-01T10:00:00.000Z',
};

describe('projectRequest', () => {
  it('stores an event, and refuses for good (non-retryable, unstorable) one Postgres cannot hold', async () => {
    const activities = createActivities({ pool, outbox: {} as never });
    const projectRequest = activities.projectRequest.bind(activities);
    await projectRequest({
      record,
      event: {
        seq: 1,
        at: record.createdAt,
        type: 'created',
        actor: 'officer-amira',
        status: 'submitted',
        detail: {},
      },
    });
    const err: unknown = await projectRequest({
      record,
      event: {
        seq: 2,
        at: record.createdAt,
        type: 'note',
        actor: null,
        status: null,
        detail: { text: 'nul\u0000byte' },
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'unstorable', nonRetryable: true });
    // The message names the SQLSTATE, never the value.
    expect((err as Error).message).not.toContain('nul');
    const { rows } = await pool.query('SELECT seq FROM request_events WHERE req_id = $1', [
      record.reqId,
    ]);
    expect(rows).toEqual([{ seq: 1 }]);
  });
});
