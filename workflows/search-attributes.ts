// Search attributes of request workflows, so the Temporal UI and `temporal workflow list --query`
// show the same picture as the API. Never personal data: only ids, enums, flags and times.
import {
  defineSearchAttributeKey,
  SearchAttributeType,
  type SearchAttributePair,
} from '@temporalio/common';
import type { RequestStatus } from '../schemas/common.js';
import type { RequestRecord } from '../schemas/workflow-contract.js';

export const ParleyStatus = defineSearchAttributeKey('ParleyStatus', SearchAttributeType.KEYWORD);
export const ParleyRequestType = defineSearchAttributeKey(
  'ParleyRequestType',
  SearchAttributeType.KEYWORD,
);
export const ParleyDirection = defineSearchAttributeKey(
  'ParleyDirection',
  SearchAttributeType.KEYWORD,
);
export const ParleyPartner = defineSearchAttributeKey('ParleyPartner', SearchAttributeType.KEYWORD);
export const ParleyPriority = defineSearchAttributeKey(
  'ParleyPriority',
  SearchAttributeType.KEYWORD,
);
export const ParleyOverdue = defineSearchAttributeKey('ParleyOverdue', SearchAttributeType.BOOL);
export const ParleyResponseDue = defineSearchAttributeKey(
  'ParleyResponseDue',
  SearchAttributeType.DATETIME,
);

/** The code of the last message of ours the partner refused (a 4xx other than replay). */
export const ParleyPartnerRefusal = defineSearchAttributeKey(
  'ParleyPartnerRefusal',
  SearchAttributeType.KEYWORD,
);

/** Every key the node registers in its namespace at start-up. */
export const PARLEY_SEARCH_ATTRIBUTES = [
  ParleyStatus,
  ParleyRequestType,
  ParleyDirection,
  ParleyPartner,
  ParleyPriority,
  ParleyOverdue,
  ParleyResponseDue,
  ParleyPartnerRefusal,
] as const;

/** The search attributes a request workflow starts with. */
export function startingSearchAttributes(
  record: RequestRecord,
  status: RequestStatus,
): SearchAttributePair[] {
  return [
    { key: ParleyStatus, value: status },
    { key: ParleyRequestType, value: record.type },
    { key: ParleyDirection, value: record.direction },
    {
      key: ParleyPartner,
      value: record.direction === 'outgoing' ? record.responder : record.requester,
    },
    { key: ParleyPriority, value: record.priority },
    { key: ParleyOverdue, value: false },
  ];
}
