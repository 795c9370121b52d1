// The first event of a request we send: `created`, seq 1. The API records it before it answers
// 201 and the requester's workflow records the same event when it starts; whichever comes second
// changes nothing (events are keyed by request and seq). Pure: the workflow bundle may import it.
import type { ProjectedEvent, RequestRecord } from '../schemas/workflow-contract.js';

/** The `created` event of `record`, at its creation time, under the deadline policy `policyDigest`. */
export function createdEvent(record: RequestRecord, policyDigest: string): ProjectedEvent {
  return {
    seq: 1,
    at: record.createdAt,
    type: 'created',
    actor: record.createdBy,
    status: 'submitted',
    overdue: false,
    detail: { policyDigest },
    // Nothing is due before the partner's receipt: no deadline runs yet.
    deadlines: {
      receiptAt: null,
      ackDueAt: null,
      responseDueAt: null,
      escalationLevel: 0,
      policyDigest,
      explanations: { acknowledgement: null, response: null },
    },
  };
}
