// The error vocabulary: every failure a caller can see has a stable code from this closed list.
// The same code appears in the HTTP problem document, the log line and the test assertion.

/** HTTP status for each stable error code. */
export const ERROR_STATUS = {
  malformed_json: 400,
  schema_invalid: 400,
  // Wire protocol: the envelope is not what the profile allows.
  malformed_envelope: 400,
  bad_header: 400,
  not_canonical: 400,
  too_deep: 400,
  stale: 400,
  // Wire protocol: the envelope is well formed but not from whom it claims, or not for us.
  unknown_key: 401,
  key_not_valid: 401,
  alg_mismatch: 401,
  signature_invalid: 401,
  issuer_mismatch: 403,
  wrong_audience: 403,
  key_role_mismatch: 403,
  // Sealed content (schemas/sealed.ts): it does not open with this node's keys, or it came in clear
  // from a partner the registry says seals.
  undecryptable: 400,
  not_sealed: 400,
  // Mediated exchange: a message from a party that goes through a mediator came without the
  // mediator's relay receipt; or the mediator took the message and could not yet reach the recipient.
  relay_missing: 400,
  relay_pending: 504,
  // A request names a mediator the registry does not agree for the partner (neither its `via` nor
  // one of its `mediators`).
  mediator_not_agreed: 422,
  // Wire protocol: the envelope verifies but conflicts with what is stored.
  replay: 409,
  reply_mismatch: 409,
  // Conversation order: an earlier message of the sender is still missing (retry later), or the
  // message claims to have seen messages this node never sent.
  sequence_gap: 409,
  sequence_invalid: 409,
  unknown_party: 404,
  // The partner takes sealed content, and the registry holds no usable encryption key of it.
  encryption_key_missing: 409,
  unknown_request: 404,
  // Request lifecycle: the action is not allowed in the request's current state.
  invalid_state: 409,
  // Erasure: the request has not ended (or its workflow still settles messages with the partner).
  request_open: 409,
  // Domain: a response that does not account for the request's items.
  response_incomplete: 422,
  // Consent scopes: identification records scoped to the requesting authority would cross a
  // mediator that could read them (README, _Consent scopes_).
  consent_scope: 422,
  // A mediator's pause of both clocks without both parties' signed consent (README, _Mediated
  // exchange_): the mediator does not sign it, and a party refuses one that lacks them.
  pause_consent: 409,
  policy_mismatch: 409,
  unknown_message: 404,
  token_missing: 401,
  token_invalid: 401,
  token_expired: 401,
  // A call with the sign-in cookie that changes state without the session's x-csrf-token.
  csrf_invalid: 403,
  forbidden: 403,
  not_found: 404,
  request_not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  // An Idempotency-Key sent again with another body: the key names a different request.
  idempotency_key_reused: 422,
  // Audit log: a partner's checkpoint contradicts what it showed before, or a proof base differs.
  fork_detected: 409,
  witness_base_mismatch: 409,
  unknown_checkpoint: 404,
  unknown_entry: 404,
  // Our own log no longer matches a checkpoint we signed: it was altered behind the node's back.
  log_tampered: 500,
  // Attachments: the bytes are not those the digest names, or nothing this caller may see.
  digest_mismatch: 400,
  unknown_attachment: 404,
  too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  // Postgres or Temporal cannot be reached, or is shutting down: the same call may work shortly.
  unavailable: 503,
  // The request was started but not recorded within the time limit; the same Idempotency-Key
  // returns it once it is.
  update_timeout: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** A path into a JSON value and what was wrong there, as reported to callers. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** An error a caller is meant to see: a stable code, a status and a message without personal data. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: readonly ErrorDetail[] | undefined;
  /** Extra members of the problem document (for example the original receipt of a replay). */
  readonly extra: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    errors?: readonly ErrorDetail[],
    extra?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.errors = errors;
    this.extra = extra;
  }
}

/** Thrown at start-up when the environment does not describe a usable node. */
export class ConfigError extends Error {
  readonly problems: readonly ErrorDetail[];

  constructor(problems: readonly ErrorDetail[]) {
    super('Invalid configuration:\n' + problems.map((p) => `  ${p.path}: ${p.message}`).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** An RFC 6901 JSON Pointer ("" is the whole document). */
export function jsonPointer(path: readonly PropertyKey[]): string {
  return path.map((p) => '/' + String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

interface SchemaIssue {
  path: PropertyKey[];
  message: string;
  code?: string;
  keys?: string[];
}

/** Schema issues (zod's) as details: one per bad value, unknown members each at their own path. */
export function issueDetails(issues: readonly SchemaIssue[]): ErrorDetail[] {
  return issues.flatMap((i) =>
    i.code === 'unrecognized_keys' && i.keys?.length
      ? i.keys.map((k) => ({
          path: jsonPointer([...i.path, k]),
          message: 'unknown member: not allowed here',
        }))
      : [{ path: jsonPointer(i.path), message: i.message }],
  );
}
