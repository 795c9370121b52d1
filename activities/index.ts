// Activities of the node: every side effect a workflow decides on happens here. Each activity is
// idempotent (keyed by request id and event sequence), so Temporal may retry it freely.
import type pg from 'pg';
import { projectRequestEvent, type ProjectedEvent, type RequestRecord } from '../db/requests.js';

export interface ActivityDeps {
  pool: pg.Pool;
}

export interface ProjectRequestInput {
  record: RequestRecord;
  event: ProjectedEvent;
}

export function createActivities(deps: ActivityDeps) {
  return {
    /** Writes the request's read-model row and one timeline event. */
    async projectRequest(input: ProjectRequestInput): Promise<void> {
      await projectRequestEvent(deps.pool, input.record, input.event);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
