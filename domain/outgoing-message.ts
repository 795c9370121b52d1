// What this node is about to sign for an officer, checked exactly as the partner will check it, so
// no route answers 2xx for a message the partner must refuse. An officer's body is JSON, not signed
// bytes: it is normalised first (a JSON number where the protocol takes a decimal string becomes
// that string), then the payload that will be signed goes through the receiver's own checks in the
// receiver's order. Pure: the caller brings the request and the responses exchanged before.
import type { z } from 'zod';
import {
  AppError,
  issueDetails,
  jsonPointer,
  type ErrorCode,
  type ErrorDetail,
} from '../errors.js';
import {
  canonicalBytes,
  canonicalJson,
  MAX_DEPTH,
  parseCanonical,
} from '../protocol/canonical-json.js';
import { buildPayload, type Draft } from '../protocol/sign.js';
import { MAX_ENVELOPE_BYTES } from '../protocol/verify.js';
import { responseSchema, type Gap } from '../schemas/domain/index.js';
import { referencedAttachments } from '../schemas/domain/shared.js';
import { MessageBodies, Payload, type Attachment, type MessageKind } from '../schemas/envelope.js';
import type { RequestView } from '../schemas/requests-api.js';
import type { ResponseBody } from '../schemas/requests-api.js';
import { checkAgainstRequest } from './responses.js';

/** The kinds an officer's action is carried by (never a request or a receipt). */
export type ActionKind = Exclude<MessageKind, 'request' | 'receipt'>;

/** The request an action is about, as this node holds it. */
export type OutgoingRequest = Pick<
  RequestView,
  'id' | 'type' | 'subject' | 'direction' | 'requester' | 'responder'
>;

interface NumberScan {
  tooDeep: boolean;
  /** Integers beyond ±(2^53 − 1): digits already lost, and no integer the partner accepts. */
  unsafe: ErrorDetail[];
  /** Pointers to non-integer numbers: fine where a decimal string goes, refused anywhere else. */
  fractional: Set<string>;
}

/**
 * Walks a body as the receiver's canonical check walks a payload (the body sits one level below
 * the payload's root, so depths count from 1), noting what cannot be signed as it is.
 */
function scanNumbers(value: unknown): NumberScan {
  const scan: NumberScan = { tooDeep: false, unsafe: [], fractional: new Set() };
  const visit = (v: unknown, path: PropertyKey[], depth: number): void => {
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) scan.fractional.add(jsonPointer(path));
      else if (!Number.isSafeInteger(v))
        scan.unsafe.push({
          path: jsonPointer(path),
          message: 'an integer beyond ±(2^53 − 1): send it as a decimal string if it is one',
        });
      return;
    }
    if (v === null || typeof v !== 'object') return;
    if (depth >= MAX_DEPTH) {
      scan.tooDeep = true;
      return;
    }
    if (Array.isArray(v)) v.forEach((child, i) => visit(child, [...path, i], depth + 1));
    else for (const [k, child] of Object.entries(v)) visit(child, [...path, k], depth + 1);
  };
  visit(value, [], 1);
  return scan;
}

const NUMBERS_MESSAGE =
  'numbers must be integers within ±(2^53 − 1) (what the partner accepts); decimals go as strings where the schema takes them';

/**
 * Schema issues as the partner would answer them: a non-integer number the schema refused at its
 * own place (no decimal string goes there, so it stays a number the partner refuses) makes the
 * body `not_canonical`; anything else is `schema_invalid`.
 */
function refuse(
  issues: Parameters<typeof issueDetails>[0],
  scan: NumberScan,
  what: string,
): AppError {
  const details = issueDetails(issues);
  const numbers = details.filter((d) => scan.fractional.has(d.path));
  if (numbers.length)
    return new AppError(
      'not_canonical',
      NUMBERS_MESSAGE,
      numbers.map((d) => ({
        path: d.path,
        message: `a number that is not an integer, where no decimal string is taken (${d.message})`,
      })),
    );
  return new AppError('schema_invalid', `${what} does not match the schema`, details);
}

/**
 * Parses an officer's JSON body with `schema` under the number rule (README, _Requests_): a JSON
 * number where the schema takes a decimal string becomes that string (the schema's own
 * conversion); refused are a body nested deeper than a payload may be (`too_deep`), an integer
 * beyond ±(2^53 − 1) anywhere and a non-integer where no decimal string goes (`not_canonical`),
 * and anything else the schema refuses (`schema_invalid`), each with the path of what is wrong.
 * For every officer route whose body ends up signed.
 */
export function parseOfficerBody<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
): z.output<S> {
  const scan = scanNumbers(input);
  if (scan.tooDeep) throw new AppError('too_deep', `JSON nested deeper than ${MAX_DEPTH} levels`);
  if (scan.unsafe.length) throw new AppError('not_canonical', NUMBERS_MESSAGE, scan.unsafe);
  // Members in canonical order, as the partner reads them: its errors come in that order too.
  const parsed = schema.safeParse(JSON.parse(canonicalJson(input)));
  if (!parsed.success) throw refuse(parsed.error.issues, scan, what);
  return parsed.data;
}

/**
 * An officer's body for a message of `kind`, normalised as it will be signed: parsed by the
 * kind's schema and, for a response, by the request type's (`parseOfficerBody`: decimals given as
 * JSON numbers become decimal strings; text is trimmed).
 */
export function normaliseBody(
  kind: ActionKind,
  type: RequestView['type'],
  input: unknown,
): Record<string, unknown> {
  const body = parseOfficerBody(MessageBodies[kind], input, 'the action') as Record<
    string,
    unknown
  >;
  if (kind !== 'response') return body;
  return parseOfficerBody(responseSchema(type), body, `the response to a ${type} request`);
}

/** A placeholder that has the shape of what the workflow fills in (its values do not matter). */
const PLACEHOLDER_REPLY = { msg_id: '01J00000000000000000000000', digest: '0'.repeat(64) };
/** Bytes of a compact JWS besides its payload: the header and the signature, with room to spare. */
const HEADER_AND_SIGNATURE = 512;
/** Bytes of a JWE besides its ciphertext (header with the ephemeral key, wrapped key, IV, tag). */
const SEALED_OVERHEAD = 512;

/** Paths of the payload's body as paths of the officer's body; other members keep theirs. */
const inBody = (details: readonly ErrorDetail[] = []): ErrorDetail[] =>
  details.map((d) =>
    d.path === '/body' || d.path.startsWith('/body/')
      ? { ...d, path: d.path.slice('/body'.length) }
      : d,
  );

const rethrowInBody = (err: unknown, codes: readonly ErrorCode[]): never => {
  if (err instanceof AppError && codes.includes(err.code))
    throw new AppError(err.code, err.message, inBody(err.errors), err.extra);
  throw err;
};

/**
 * The payload that will be signed for `body` (a normalised officer body), put through what the
 * partner's inbox checks of a payload, in its order: size, canonical JSON (integers only, depth),
 * the protocol schema of the kind, and the checks against the request (a response must fit it).
 * Refuses with the code and paths the partner would answer; returns the body exactly as it will be
 * signed, and a response's gaps against the legal minimums.
 */
export function checkOutgoingBody(
  kind: ActionKind,
  request: OutgoingRequest,
  body: Record<string, unknown>,
  earlier: readonly ResponseBody[],
  opts: { now?: Date; sealed?: boolean } = {},
): { body: Record<string, unknown>; gaps: Gap[] } {
  const now = opts.now ?? new Date();
  const self = request.direction === 'outgoing' ? request.requester : request.responder;
  const partner = request.direction === 'outgoing' ? request.responder : request.requester;
  // The files the records name travel as the envelope's `attachments` (exchange/outbox.ts): the
  // partner checks how many and their shape, so placeholders of the same count stand in.
  const attachments: Attachment[] = referencedAttachments(body).map((sha256) => ({
    sha256,
    size: 0,
    media_type: 'application/octet-stream',
    name: sha256,
  }));
  const iat = Math.floor(now.getTime() / 1000);
  let payload: Payload;
  try {
    payload = buildPayload(
      {
        kind,
        iss: self,
        aud: partner,
        req_id: request.id,
        in_reply_to: PLACEHOLDER_REPLY,
        seq: 1,
        seen: 0,
        sent_at: iat,
        body,
        attachments,
      } as Draft,
      now,
    );
  } catch (err) {
    return rethrowInBody(err, ['schema_invalid']);
  }
  const bytes = canonicalBytes(payload);
  // Sealed (protocol/seal.ts), the content is encoded twice: once into the JWE (base64url, plus its
  // header and key), then with the whole payload. An upper bound: every member counted in both.
  const payloadBytes = opts.sealed
    ? bytes.length + Math.ceil((bytes.length * 4) / 3) + SEALED_OVERHEAD
    : bytes.length;
  if (Math.ceil((payloadBytes * 4) / 3) + HEADER_AND_SIGNATURE > MAX_ENVELOPE_BYTES)
    throw new AppError(
      'too_large',
      `the signed message would be over ${MAX_ENVELOPE_BYTES} bytes: send the records in several partial responses`,
    );
  let received: Payload;
  try {
    const parsed = Payload.safeParse(parseCanonical(bytes));
    if (!parsed.success)
      throw new AppError(
        'schema_invalid',
        'the message does not match the protocol schema',
        issueDetails(parsed.error.issues),
      );
    received = parsed.data;
  } catch (err) {
    return rethrowInBody(err, ['schema_invalid', 'not_canonical', 'too_deep']);
  }
  const { gaps } = checkAgainstRequest(kind, request, received.body, earlier);
  return { body: received.body, gaps };
}
