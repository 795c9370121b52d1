// What a Temporal client error means for the caller: the service could not be reached or did not
// answer in time (answer 503, retry later), as opposed to a refusal or a bug.

// gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html), by number so this
// file needs no direct dependency on @grpc/grpc-js.
const DEADLINE_EXCEEDED = 4;
const RESOURCE_EXHAUSTED = 8;
const UNAVAILABLE = 14;
const UNREACHABLE = new Set([DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE]);

/**
 * Whether a Temporal client call failed because the service could not be reached, was overloaded
 * or did not answer in time: a `ServiceError` (or a bare gRPC error) with status UNAVAILABLE,
 * DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED, or an update call that timed out. Matched by name and
 * gRPC code rather than `instanceof`, so a second copy of the SDK in node_modules still matches.
 */
export function isTemporalUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e !== null && typeof e === 'object'; depth++) {
    const { name, code } = e as { name?: unknown; code?: unknown };
    if (name === 'WorkflowUpdateRPCTimeoutOrCancelledError') return true;
    // A gRPC ServiceError carries a numeric code and string details.
    if (typeof code === 'number' && 'details' in e && UNREACHABLE.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
