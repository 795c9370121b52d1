// The prose of the OpenAPI document: the wire profile of `POST /v1/messages`, the error codes and
// what they mean. Numbers and statuses come from the code (limits, ERROR_STATUS), never retyped.
import { ERROR_STATUS, type ErrorCode } from '../errors.js';
import { MAX_DEPTH } from '../protocol/canonical-json.js';
import { DEFAULT_LIFETIME_SECONDS } from '../protocol/sign.js';
import { MAX_ENVELOPE_BYTES, MAX_LIFETIME_SECONDS, MAX_SKEW_SECONDS } from '../protocol/verify.js';
import {
  ENVELOPE_MEDIA_TYPE,
  ENVELOPE_TYP,
  MessageKind,
  PROTOCOL_VERSION,
  SignatureAlg,
} from '../schemas/envelope.js';
import { JSON_BODY_LIMIT } from './json-body.js';

/** What each error code means, for every code of ERROR_STATUS (the compiler checks the list). */
export const ERROR_MEANINGS = {
  malformed_json: 'the body is not valid JSON',
  schema_invalid:
    'the body, query or envelope payload breaks its schema; `errors[]` names each JSON Pointer path and what was expected',
  malformed_envelope:
    'not one JWS compact serialization of three non-empty, canonical, unpadded base64url segments',
  bad_header:
    'the protected header is not RFC 8785 canonical JSON holding exactly `alg`, `kid`, `typ` with allowed values',
  not_canonical:
    'the payload bytes are not RFC 8785 canonical JSON (BOM, invalid UTF-8, whitespace, member order, duplicate members, `1.0`, non-integers, integers beyond ±(2^53−1)); on an officer route: a number the message could not carry (an integer beyond ±(2^53−1), or a non-integer where no decimal string is taken), `errors[]` naming each',
  too_deep: `JSON nested deeper than ${MAX_DEPTH} levels`,
  stale: `\`iat\`/\`exp\` out of bounds: \`exp\` ≤ \`iat\`, or (online) clock skew over ${MAX_SKEW_SECONDS} s or lifetime over ${MAX_LIFETIME_SECONDS} s`,
  unknown_key: 'no registered key has this `kid` (or, when revoking, the party has no such key)',
  key_not_valid: 'the key is revoked, expired or not yet valid',
  alg_mismatch: '`alg` is not the algorithm registered for the key',
  signature_invalid: 'the signature does not verify with the registered key and algorithm',
  issuer_mismatch: '`iss` is not the party that owns the signing key',
  wrong_audience: '`aud` (or a bundle’s `to`) is not this node’s party id',
  key_role_mismatch: 'the key’s roles do not allow signing this kind of message',
  undecryptable:
    'the payload’s `sealed` content is sealed to a key this node does not hold, does not decrypt, or names another `iss`, `aud` or `msg_id` than the signed payload',
  not_sealed:
    'the sender is registered as sealing its content, and the payload carries a personal body member (or an attachment’s file name) in clear',
  mediator_not_agreed:
    'a request names a mediator the registry does not agree for the partner (its `via` when set, else one of its `mediators`), or a mediator is asked to relay a request naming another',
  relay_missing:
    'the sender’s messages go through a mediator (the one the request names, else the registry’s `via`), and this one came without that mediator’s relay receipt for its digest (`Parley-Relay-Receipt`)',
  relay_pending:
    'a mediator stored the message and signed its relay receipt (`Parley-Relay-Receipt`), but could not reach the recipient yet: send the same envelope again later',
  consent_scope:
    'identification records scoped to the requesting authority (their `consent`, or none) in a response that goes through a mediator unsealed: seal content to the partner, or the records’ scope must allow the mediator (`errors[]` names each record)',
  pause_consent:
    'a pause of both clocks by a mediator needs both parties’ signed consents: the mediator has not both (it signs no pause), or a party refuses a pause whose `consents` are not its own and its partner’s, valid, about the request, to that mediator, each used once (README, _Mediated exchange_)',
  encryption_key_missing:
    'the partner is registered as taking sealed content, and no usable key with the `encryption` role of it is registered: add one (`POST /v1/admin/partners/:id/keys`) first',
  replay:
    'the message was received before (same digest, or same `iss` and `msg_id`); the problem carries `receipt` and `original_digest`',
  reply_mismatch:
    '`in_reply_to` does not name a stored message by its `msg_id` and exact digest (or a receipt does not answer the message it should)',
  sequence_gap:
    'the message’s `seq` skips one the receiver has not received yet (`expected_seq` says which): deliver the earlier message first, then retry',
  sequence_invalid:
    '`seen` counts messages the receiver never sent (`sent` says how many it did), or a `request` is not `seq` 1',
  unknown_party: 'no registered party with that id',
  unknown_request: 'the message’s `req_id` names no request this node knows',
  invalid_state:
    'the action is not allowed in the request’s current state, or not to this side of the request',
  request_open:
    'the request has not ended (it is not closed, declined or withdrawn, or its workflow still settles messages with the partner): it cannot be erased yet',
  policy_mismatch:
    'the request’s deadline policy (by digest) is not the one agreed between the parties',
  unknown_message: 'no stored message with that `msg_id` or digest',
  token_missing:
    'no `Authorization: Bearer` token (partner attachment uploads: no `Parley-Attachment-Token`)',
  token_invalid:
    'bad signature, unknown signer, wrong issuer or audience, disallowed algorithm (or a malformed attachment token, or one living too long)',
  token_expired: 'the bearer token’s `exp` has passed (or the sign-in session has ended)',
  csrf_invalid:
    'a state-changing call signed in by the session cookie without the session’s `x-csrf-token` header',
  forbidden: 'the token’s roles include none of those the route admits',
  not_found: 'no such route',
  request_not_found: 'no request with that id on this node',
  method_not_allowed: 'the route does not support this HTTP method',
  conflict:
    'the change conflicts with stored state (already registered, already revoked; a message whose `req_id` or `seq` another message holds)',
  idempotency_key_reused:
    'the same `Idempotency-Key` was sent before with a different body (IETF Idempotency-Key draft): it names another request',
  response_incomplete:
    'the response names items the request does not have, or a final response leaves items unaccounted for (`errors[]` names each)',
  fork_detected:
    'the partner’s checkpoint contradicts one it showed before (two histories): raised to supervisors',
  witness_base_mismatch:
    'the consistency proof starts from another size than the last checkpoint this node countersigned (`last_size` says which)',
  unknown_checkpoint: 'no checkpoint of this size',
  unknown_entry: 'no audit log entry with this index (or not inside the named tree size)',
  log_tampered:
    'this node’s own audit log no longer matches a checkpoint it signed; supervisors are alerted',
  digest_mismatch:
    'the uploaded bytes do not hash to the SHA-256 in the URL (or, from a partner, not to the size and digest its token signs)',
  unknown_attachment:
    'no stored attachment with this digest that a stored message names (or one the caller may not learn of)',
  too_large: `the body is over the route’s limit (JSON bodies ${JSON_BODY_LIMIT}, envelopes ${MAX_ENVELOPE_BYTES} bytes, attachments \`ATTACHMENT_MAX_BYTES\`)`,
  unsupported_media_type:
    'the body’s Content-Type is not the one the route takes (for attachments: not in `ATTACHMENT_MEDIA_TYPES`)',
  rate_limited:
    'this address sent too many envelopes the inbox refused (before they proved a fresh statement of a party); `Retry-After` and `retry_after` say when to send again. Valid envelopes from the address are still taken',
  internal: 'a bug on this node; retry later',
  unavailable: 'Postgres or Temporal is unreachable; retry later',
  update_timeout:
    'the workflow did not confirm in time; retry with the same `Idempotency-Key` (it returns the request once it is recorded)',
} satisfies Record<ErrorCode, string>;

/** What a refusal the node answers before reading the body leaves behind. */
const UNREAD =
  'Counted in `inbox_rejection_counts` (and against the address’s rate limit); no `inbox_rejections` sample row, as there is no body to digest';

/** Refusals of `POST /v1/messages`, in the order the node checks them (first failure answers). */
export const INBOX_CHECKS: readonly (readonly [ErrorCode, string])[] = [
  [
    'rate_limited',
    'the address caused over 100 refusals at once (then 60 a minute) of envelopes that proved no fresh statement of a party: answered instead of that refusal, with Retry-After',
  ],
  [
    'unsupported_media_type',
    `Content-Type is not \`${ENVELOPE_MEDIA_TYPE}\` (checked before the body is read, so an oversized body of another type gets this code). ${UNREAD}`,
  ],
  ['too_large', `body over ${MAX_ENVELOPE_BYTES} bytes. ${UNREAD}`],
  [
    'malformed_envelope',
    'empty body (no sample row either, as 413/415); JSON serialization; not exactly 3 segments; an empty segment (detached payload); a segment that is not canonical unpadded base64url (padding, other characters, non-zero trailing bits)',
  ],
  [
    'bad_header',
    'header not canonical JSON, or not exactly `{alg, kid, typ}` with allowed values (`crit`, `jwk`, `jku`, `x5c`, `b64`… are refused)',
  ],
  ['unknown_key', 'no key with this `kid` in the receiver’s registry'],
  ['alg_mismatch', '`alg` differs from the key’s registered algorithm'],
  ['key_not_valid', 'key revoked, expired or not yet valid now'],
  ['signature_invalid', 'signature does not verify (ES256 must be raw `R‖S`, 64 bytes, not DER)'],
  [
    'not_canonical',
    `payload bytes not canonical JSON. One step with \`too_deep\`, in this order: a BOM, invalid UTF-8 or invalid JSON answers \`not_canonical\`; then one depth-first walk of the parsed value, where the first non-integer or out-of-range number met answers \`not_canonical\` and nesting deeper than ${MAX_DEPTH} answers \`too_deep\` (whichever the walk reaches first); then any difference from the RFC 8785 form (whitespace, member order, duplicates, escapes, number spelling) answers \`not_canonical\`. A payload both too deep and spaced out therefore gets \`too_deep\``,
  ],
  [
    'too_deep',
    `payload nested deeper than ${MAX_DEPTH} (the step of \`not_canonical\`, see there; a header that deep answers \`too_deep\` at the header step, before \`unknown_key\`)`,
  ],
  ['schema_invalid', 'payload is not a JSON object'],
  ['issuer_mismatch', '`iss` is not the owner of the key'],
  ['wrong_audience', '`aud` is not this node'],
  [
    'schema_invalid',
    'payload breaks the schema of its `kind` (`errors[]` lists JSON Pointer paths)',
  ],
  [
    'stale',
    `\`exp\` ≤ \`iat\`; \`iat\` > now + ${MAX_SKEW_SECONDS}; \`exp\` < now − ${MAX_SKEW_SECONDS}; \`exp − iat\` > ${MAX_LIFETIME_SECONDS}`,
  ],
  [
    'key_role_mismatch',
    'key lacks the role for this kind (`receipt` for receipts, `message` for all others)',
  ],
  [
    'undecryptable',
    'a sealed payload (one with `sealed`): the JWE header is not exactly `{alg, enc, kid, typ, epk}` as the profile says, names no encryption key of this node, does not decrypt, or its content names another `iss`, `aud` or `msg_id`',
  ],
  [
    'schema_invalid',
    'a sealed payload whose members are in the wrong part (a personal body member in clear, a public one inside `sealed`, attachment lists that differ), or whose opened payload breaks the schema of its `kind`',
  ],
  [
    'not_sealed',
    'an unsealed payload from a party the registry says seals, carrying a personal body member or an attachment’s file name in clear',
  ],
  [
    'relay_missing',
    'online, from a party whose messages go through a mediator (the registry’s `via`, or the mediator the request names): no `Parley-Relay-Receipt` header holding that mediator’s signed receipt for this message’s digest',
  ],
  [
    'mediator_not_agreed',
    'a `request` whose body names a `mediator` this node’s registry does not agree for the sender (its `via` when set, else one of its `mediators`); at a mediator, a `request` naming another mediator',
  ],
  [
    'replay',
    'same digest, or same `iss` and `msg_id`, already stored: checked before `in_reply_to`, so a copy of a stored reply is a `replay` even when its `in_reply_to` is wrong; checked again as the message is stored (a concurrent copy), and when a later check refuses a message stored meanwhile',
  ],
  [
    'reply_mismatch',
    '`in_reply_to` names no message this node sent or received with that `msg_id` and digest',
  ],
  // The request's own checks (exchange/inbound-router.ts), then its conversation order (under the
  // request's lock, as the message is stored): exchange/inbox.ts.
  [
    'policy_mismatch',
    'a `request` names another deadline policy (by digest) than this node’s (`GET /v1/policy`)',
  ],
  [
    'conflict',
    'a new `request` (another digest and `msg_id`, so no `replay`) whose `req_id` this node already holds, as a request it sent or received: pick a fresh ULID',
  ],
  [
    'unknown_request',
    'any other kind: no request with this `req_id` between this node and the sender',
  ],
  ['invalid_state', 'any other kind about a request this node has erased'],
  [
    'schema_invalid',
    'a `response` whose records break the schema of the request’s type (`errors[]` paths point into `body`)',
  ],
  [
    'response_incomplete',
    'a `response` naming items the request does not have, or a final one leaving an item unaccounted for (an `errors[]` entry per item)',
  ],
  [
    'consent_scope',
    'a `response` to an `identification_result` request that came through a mediator unsealed, with records scoped to the requesting authority; a mediator refuses such a response posted to it before it keeps anything (README, _Consent scopes_)',
  ],
  [
    'unknown_request',
    'a `mediation`: not from the mediator the registry names for the request’s partner (a notice), or about no request this node relays for the sender (a consent, at a mediator)',
  ],
  ['invalid_state', 'a `mediation` resume of no pause this node holds from the sender'],
  [
    'pause_consent',
    'a `mediation` pause whose `consents` are not this node’s own consent and its partner’s signed one, both about the request and to the sender, each carried by no earlier pause',
  ],
  [
    'schema_invalid',
    'a `mediation` pause or resume naming an instant after it was signed (beyond the 300 s skew), a resume ending before its pause began, or a consent addressed to a party that is not the mediator',
  ],
  [
    'sequence_invalid',
    'a `request` whose `seq` is not 1 (and `conflict` when the sender’s conversation about the `req_id` has begun)',
  ],
  [
    'sequence_gap',
    '`seq` above the next one expected from the sender for this request: deliver the missing one first, then retry (`expected_seq`)',
  ],
  [
    'conflict',
    '`seq` below the next one expected: another message of the sender holds that place (`expected_seq`)',
  ],
  [
    'sequence_invalid',
    '`seen` counts more of this node’s messages about the request than it signed (`sent`)',
  ],
  [
    'relay_pending',
    'on a mediator, for a message addressed to a party it relays for: the message is stored and its relay receipt is in `Parley-Relay-Receipt`, but the recipient could not be reached: send the same envelope again later (any other answer of the recipient comes back as it came)',
  ],
  ['unavailable', 'storage unreachable: nothing was stored, send again later'],
  ['internal', 'a bug: nothing was stored, send again later'],
];

const table = (rows: readonly (readonly [ErrorCode, string])[]): string =>
  [
    '| # | code | status | when |',
    '| - | ---- | ------ | ---- |',
    ...rows.map(
      ([code, when], i) => `| ${i + 1} | \`${code}\` | ${ERROR_STATUS[code]} | ${when} |`,
    ),
  ].join('\n');

const codeTable = (): string =>
  [
    '| code | status | meaning |',
    '| ---- | ------ | ------- |',
    ...(Object.keys(ERROR_STATUS) as ErrorCode[]).map(
      (c) => `| \`${c}\` | ${ERROR_STATUS[c]} | ${ERROR_MEANINGS[c]} |`,
    ),
  ].join('\n');

const list = (values: readonly string[]): string => values.map((v) => `\`${v}\``).join(', ');

/** `info.description`: what the node is, how callers authenticate, and the error vocabulary. */
export function apiDescription(partyId: string): string {
  return `A Parley node: one per party, exchanging signed messages about mine maps, graves and
identification results. This node's party id is \`${partyId}\`: the \`aud\` of every envelope sent to it.

**Two kinds of caller.**
- *Partner systems* use only \`POST /v1/messages\` and \`GET /.well-known/jwks.json\`. They carry no
  bearer token: the JWS signature is the credential. The wire profile is in the description of
  \`POST /v1/messages\`; the payload of every kind is in \`components.schemas\` (\`Payload\`,
  \`Payload.<kind>\`, \`ProtectedHeader\`).
- *People* (officers, supervisors, admins) use the other routes with a bearer JWT from the
  node's configured issuer (\`AUTH_JWKS_FILE\` or \`AUTH_JWKS_URL\`), checked for issuer, audience and
  expiry, signed with an asymmetric algorithm. Roles (\`officer\`, \`supervisor\`, \`admin\`) come from
  the claim named by \`AUTH_ROLES_CLAIM\` (default \`roles\`; an array or a space-separated string).
  Each operation names the roles it admits.

**Errors.** Every 4xx and 5xx answer is an RFC 9457 \`application/problem+json\` document
(\`Problem\`) with a stable \`code\` from this closed list; \`type\` is \`urn:parley:error:<code>\`.
Each operation lists the codes it can produce. Unknown query parameters and unknown body members
are refused (\`schema_invalid\`).

${codeTable()}`;
}

/** The description of `POST /v1/messages`: the wire profile, exactly. */
export function messagesDescription(partyId: string): string {
  return `Receives one signed message (an *envelope*) from a partner system. No bearer token: the
signature is the credential, checked against this node's partner registry.

### Transport
\`Content-Type: ${ENVELOPE_MEDIA_TYPE}\`; the body is **one JWS in compact serialization** (RFC 7515,
\`header64.payload64.signature64\`), at most ${MAX_ENVELOPE_BYTES} bytes (1 MiB). No JSON
serialization, no detached or unencoded payload, no unprotected header. Surrounding whitespace is
ignored. Segments are unpadded base64url (RFC 4648 §5) in their one canonical spelling (no
padding, no non-zero trailing bits).

### Protected header
Exactly the three members \`{"alg","kid","typ"}\` (schema \`ProtectedHeader\`), encoded as RFC 8785
(JCS) canonical JSON, e.g. \`{"alg":"Ed25519","kid":"<43 base64url>","typ":"${ENVELOPE_TYP}"}\`.
- \`alg\`: one of ${list(SignatureAlg.options)} (\`Ed25519\`/\`EdDSA\`: Ed25519 keys; \`ES256\`: P-256
  with the signature as raw \`R‖S\`, 64 bytes). It must **equal the algorithm registered for the
  kid**: a key registered as \`Ed25519\` refuses \`EdDSA\` and the reverse. The registered algorithm is
  the \`alg\` of the key in the sender's JWKS, or \`Ed25519\`/\`ES256\` by key type when absent.
- \`kid\`: the key's RFC 7638 JWK thumbprint with SHA-256 (43 base64url characters), computed over the
  required members only (\`crv\`, \`kty\`, \`x\` for OKP; \`crv\`, \`kty\`, \`x\`, \`y\` for EC).
- \`typ\`: \`${ENVELOPE_TYP}\`.
- Any other member (\`crit\`, \`jwk\`, \`jku\`, \`x5c\`, \`x5u\`, \`b64\`, \`cty\`…) is refused.

### Payload
The payload bytes must **already be RFC 8785 canonical** UTF-8 JSON: no BOM, no insignificant
whitespace, members sorted by UTF-16 code units, no duplicate members, JCS string escaping, numbers
only as integers within ±(2^53−1), nesting at most ${MAX_DEPTH} levels. Every non-integer quantity
(coordinates, bearings, distances, accuracies, likelihood ratios, probabilities) travels as a
**decimal string** such as \`"24.725"\` (schema \`Decimal\`: no exponent, no \`+\`, no leading
zeros); a position is \`["24.758512","46.599034"]\` (WGS 84 longitude, latitude, optional altitude in
metres), never \`[24.758512, 46.599034]\` nor micro-degrees. Counts stay JSON integers. The receiver compares the
bytes with its own canonicalization and refuses any difference (\`not_canonical\`).

Members (schemas \`Payload\` and \`Payload.<kind>\`; unknown members are refused):
- \`v\`: ${PROTOCOL_VERSION}.
- \`msg_id\`: the sender's ULID for the message; unique per sender forever.
- \`iss\`: the sender's party id; must be the party that owns the signing key.
- \`aud\`: the receiver's party id (here \`${partyId}\`).
- \`iat\`, \`exp\`: integer seconds since the epoch; \`exp\` > \`iat\`. Online, \`iat\` may be at most
  ${MAX_SKEW_SECONDS} s in the receiver's future, \`exp\` at most ${MAX_SKEW_SECONDS} s in its past, and
  \`exp − iat\` at most ${MAX_LIFETIME_SECONDS} s (this node signs with ${DEFAULT_LIFETIME_SECONDS} s and
  re-signs an undelivered message under the same \`msg_id\` when it nears \`exp\`). A bundle import
  relaxes freshness, never uniqueness.
- \`kind\`: one of ${list(MessageKind.options)}; it selects the schema of \`body\`.
- \`req_id\`: the ULID of the request the message belongs to (optional only on \`receipt\`).
- \`in_reply_to\`: \`{msg_id, digest}\` of the message answered; required on \`clarification\`,
  \`extension_decision\` and \`receipt\`, absent on \`request\`. It must name a message the receiver
  stored (sent or received) with exactly that digest (\`reply_mismatch\`).
- \`body\`: the kind's body.
- \`attachments\`: \`[{sha256, size, media_type, name}]\` (may be empty); bytes travel separately, by digest.

### Message identity and replay
A message's **digest** is the lowercase hex SHA-256 of the ASCII signing input
\`header64.payload64\` (never of the whole token or the signature: an ECDSA signature has a valid
twin). The receiver keeps \`UNIQUE(iss, msg_id)\` and \`UNIQUE(digest)\` **forever**: a second message
with either is refused with \`409 replay\`.

### Keys
Each registered key belongs to one party, has one algorithm, a validity window and roles:
\`message\` signs every kind except \`receipt\`; \`receipt\` signs receipts. The receiver looks the
\`kid\` up in its own registry and never takes a key from the message. Nodes publish their keys at
\`GET /.well-known/jwks.json\` with \`parley_roles\`, \`parley_valid_from\` and \`parley_valid_until\`;
an admin registers a partner's keys from that JWKS.

### Answer
A message that verifies is stored (exact token and digest) **before** the answer, which is
\`202\` with the receiver's signed \`receipt\` envelope as the \`${ENVELOPE_MEDIA_TYPE}\` body. The
receipt's payload (\`Payload.receipt\`) has \`iss\` = receiver, \`aud\` = sender, \`req_id\` of the message
(when it has one), \`in_reply_to\` = \`{msg_id, digest}\` of the message, and \`body\` =
\`{digest, received_at}\` (the receiver's RFC 3339 UTC time; deadlines count from it). It is signed
with a receiver key holding the \`receipt\` role and verifies like any envelope.

\`409 replay\` carries \`receipt\` (the receipt owed for the original message, so a sender that lost
the first answer still gets it) and \`original_digest\`. A sender treats it as delivered when that
receipt names one of its digests for the \`msg_id\`.

Anything else is a 4xx/5xx \`application/problem+json\` with a stable \`code\`, checked in this order
(the first failure answers). Refusals change no state. Each is counted per minute, source address
and code (\`inbox_rejection_counts\`); one whose body was read is also kept in a sample by digest,
code and source (\`inbox_rejections\`, the newest 1,000), never its content. A refused
\`413 too_large\` or \`415 unsupported_media_type\` (and an empty body) has no body to digest: it
leaves **no \`inbox_rejections\` row**, only its count in \`inbox_rejection_counts\`.

The payload of each kind is \`Payload.<kind>\` (with examples); a \`request\`'s \`subject\` is
\`MineMapSubject\`, \`GraveSubject\` or \`IdentificationSubject\` by \`request_type\`, and a
\`response\`'s records are \`MineMapRecord\`, \`GraveRecord\` or \`IdentificationRecord\` by the
request's type (bodies \`MineMapResponse\`, \`GraveResponse\`, \`IdentificationResponse\`).

${table(INBOX_CHECKS)}

### What this node expects of a partner's inbox
This node posts its messages to the partner's registered inbox URL the same way and expects the
same profile back: \`202\` with a receipt from the partner (\`iss\` = the partner, \`in_reply_to.digest\`
= \`body.digest\` = one of the digests this node signed for that \`msg_id\`), or \`409\` \`replay\` with
\`receipt\`. It retries with backoff on network errors, 408, 429, 5xx, \`unknown_key\` and
\`key_not_valid\` (a partner that has not registered a new key yet); any other refusal is final.`;
}

/**
 * How officer routes treat numbers (README, _Requests_): the one rule of every body an officer
 * sends, whose result is signed.
 */
export const NUMBER_RULE = `**Numbers.** Officer bodies are JSON, not signed bytes, so they are normalised before
anything is checked or signed, as \`POST /v1/requests\` does: wherever the protocol takes a decimal
string, a JSON number is written as its shortest round-trip decimal string (\`24.725\` becomes
\`"24.725"\`, \`1e-7\` becomes \`"0.0000001"\`). Any other number must be an integer within
±(2^53−1): a non-integer where no decimal string goes, or an integer beyond that range anywhere, is
refused with \`400 not_canonical\` and the path of each, the code the partner would answer. Nothing
is normalised on the wire: a partner's message holding a non-integer number is refused
\`not_canonical\`.`;

/** The description of an officer's action route. */
export function actionDescription(route: { side: string; kind: string }): string {
  return `The ${route.side}'s action; it travels to the partner as a signed \`${route.kind}\` message.

${NUMBER_RULE}

**Checked as the partner will check it.** The message that will be signed goes through the
partner's inbox checks before anything is signed: RFC 8785 canonical form (\`not_canonical\`,
\`too_deep\`), the protocol schema of \`${route.kind}\` (\`schema_invalid\`)${
    route.kind === 'response'
      ? ", and the response against its request: records of the request type's schema (`schema_invalid`), items the request has and, when final, an outcome for every item (`422 response_incomplete`)"
      : ''
  }. A refusal carries the code the partner would answer, with \`errors[]\` paths into this body,
and nothing is signed, stored or sent. Then a Temporal update whose validator refuses what the
request's state does not allow (\`invalid_state\`) before anything is signed.`;
}

export const JWKS_DESCRIPTION = `This node's public signing keys (RFC 7517 JWK Set), for partners to
register. Each key has \`kid\` (its RFC 7638 SHA-256 thumbprint), \`alg\` (the one algorithm it signs
with), \`use\` = \`sig\`, and the Parley members \`parley_roles\` (\`message\` signs every kind except
\`receipt\`; \`receipt\` signs receipts), \`parley_valid_from\` and \`parley_valid_until\` (RFC 3339 UTC;
\`null\`: no end). During a rotation several keys are listed; the newest usable one signs. The set can
be sent as is as the \`jwks\` of \`POST /v1/admin/partners\` or \`POST /v1/admin/partners/{partyId}/keys\`
on the partner's node.`;
