// Search attributes of request workflows, so the Temporal UI and `temporal workflow list --query`
// show the same picture as the API. Never personal data: only ids, enums, flags and times.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

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

/** Every key the node registers in its namespace at start-up. */
export const PARLEY_SEARCH_ATTRIBUTES = [
  ParleyStatus,
  ParleyRequestType,
  ParleyDirection,
  ParleyPartner,
  ParleyPriority,
  ParleyOverdue,
  ParleyResponseDue,
] as const;
