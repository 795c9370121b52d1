// Consent scopes of identification records (schemas/domain/identification.ts `consent`): who may
// see a record, as the family or the holder agreed, signed with the record. Pure: the callers say
// which way a message goes. A record without a scope counts as the narrowest.
import type { ErrorDetail } from '../errors.js';
import type { RequestType } from '../schemas/common.js';
import type { ConsentScope } from '../schemas/domain/identification.js';

/** A record's scope: as it says, else `requesting_authority`. */
export function scopeOf(record: unknown): ConsentScope {
  const consent =
    record && typeof record === 'object' ? (record as { consent?: unknown }).consent : undefined;
  const scope =
    consent && typeof consent === 'object' ? (consent as { scope?: unknown }).scope : undefined;
  return scope === 'mediator' || scope === 'publication' ? scope : 'requesting_authority';
}

/**
 * The records of a response a mediator would be able to read but may not: identification records
 * scoped to the requesting authority, when the response goes through a mediator unsealed. One
 * error detail per record, at its path in the body.
 */
export function beyondScopeThroughMediator(
  type: RequestType,
  body: { records?: unknown },
): ErrorDetail[] {
  if (type !== 'identification_result' || !Array.isArray(body.records)) return [];
  return body.records.flatMap((r, i) =>
    scopeOf(r) === 'requesting_authority'
      ? [
          {
            path: `/records/${i}/consent`,
            message:
              'scoped to the requesting authority: it may not cross a mediator unsealed (seal content to this partner, or the scope must allow the mediator)',
          },
        ]
      : [],
  );
}
