// A response checked against its request: its records against the request type's schema, its
// items and outcomes against the request's items (a final response must account for every one),
// and its gaps against the legal minimums, which go back as clarification items instead of being
// refused. The checks a receiving node applies to a message against the request it names, shared
// by the inbox (a partner's messages) and the officers' routes (what this node is about to sign).
// And the coverage matrix of a request from the responses exchanged so far.
import type pg from 'pg';
import { getRequest } from '../db/requests.js';
import { exchangedMessagesOf, storedResponses } from '../db/responses.js';
import { AppError, issueDetails } from '../errors.js';
import {
  checkResponse,
  coverageMatrix,
  responseGaps,
  responseSchema,
  type CoverageRow,
  type Gap,
  type RecordByType,
} from '../schemas/domain/index.js';
import type { RequestType } from '../schemas/common.js';
import type { MessageKind } from '../schemas/envelope.js';
import type {
  ExchangedMessage,
  RequestSubject,
  RequestView,
  ResponseBody,
} from '../schemas/requests-api.js';

/**
 * The responses of a request this node holds, oldest first: sent (outbox) or received (inbox).
 * Erased ones (their body removed, domain/erasure.ts) are not among them.
 */
export async function responsesOf(
  pool: pg.Pool,
  reqId: string,
): Promise<{ msg_id: string; body: ResponseBody }[]> {
  return storedResponses(pool, reqId);
}

/**
 * The messages about a request whose bodies officers read on its page (the clarification
 * questions and answers, the responses), ours and the partner's, oldest first. Erased ones (their
 * body removed) are not among them.
 */
export async function exchangedMessages(pool: pg.Pool, reqId: string): Promise<ExchangedMessage[]> {
  const rows = await exchangedMessagesOf(pool, reqId, [
    'clarification_request',
    'clarification',
    'response',
  ]);
  return rows.map((r) => ({ ...r, at: r.at.toISOString() }));
}

/**
 * Refuses (schema_invalid or response_incomplete, with a path per problem) a response that does
 * not fit its request; returns it as its type's schema reads it (decimals as strings) and its gaps
 * against the legal minimums otherwise.
 */
export function checkResponseBody(
  type: RequestType,
  subject: RequestView['subject'],
  body: unknown,
  earlier: readonly ResponseBody[],
): { body: Record<string, unknown>; gaps: Gap[] } {
  const parsed = responseSchema(type).safeParse(body);
  if (!parsed.success)
    throw new AppError(
      'schema_invalid',
      `the response does not fit a ${type} request`,
      issueDetails(parsed.error.issues),
    );
  const response = parsed.data as ResponseBody & { records: RecordByType[typeof type][] };
  const issues = checkResponse(
    type,
    subject as RequestSubject,
    response as Parameters<typeof checkResponse>[2],
    earlier as Parameters<typeof checkResponse>[3],
  );
  if (issues.length)
    throw new AppError(
      'response_incomplete',
      response.final
        ? 'a final response must account for every item of the request (found, not found, or withheld with a reason)'
        : 'the response names items the request does not have',
      issues.map((i) => ({ path: i.path, message: `${i.message} [${i.code}]` })),
    );
  return {
    body: response as unknown as Record<string, unknown>,
    gaps: responseGaps(type, response),
  };
}

/** The request as the checks read it. */
export type RequestUnderCheck = Pick<RequestView, 'type' | 'subject'>;

/**
 * What a receiving node checks of a message body against the request it is about, beyond the
 * protocol schema of its kind: a response must fit its request (`checkResponseBody`, given the
 * responses exchanged before it); other kinds have nothing more. Returns a response's gaps.
 */
export function checkAgainstRequest(
  kind: MessageKind,
  request: RequestUnderCheck,
  body: unknown,
  earlier: readonly ResponseBody[],
): { gaps: Gap[] } {
  if (kind !== 'response') return { gaps: [] };
  return { gaps: checkResponseBody(request.type, request.subject, body, earlier).gaps };
}

/** The bodies of the responses exchanged so far about a request, oldest first. */
export async function earlierResponses(pool: pg.Pool, reqId: string): Promise<ResponseBody[]> {
  return (await responsesOf(pool, reqId)).map((r) => r.body);
}

/**
 * `checkAgainstRequest` for a partner's message, against the request as this node holds it (the
 * inbox's check; nothing to check when the request is not here).
 */
export async function checkAgainstStoredRequest(
  pool: pg.Pool,
  message: { req_id?: string; kind: MessageKind; body: unknown },
): Promise<void> {
  if (message.kind !== 'response' || message.req_id === undefined) return;
  const request = await getRequest(pool, message.req_id);
  if (!request) return;
  checkAgainstRequest(
    message.kind,
    request,
    message.body,
    await earlierResponses(pool, request.id),
  );
}

/** Where each item of the request stands, and the gaps of the records received so far. */
export async function coverageOf(
  pool: pg.Pool,
  request: { id: string; type: RequestType; subject: RequestView['subject'] },
): Promise<{ coverage: CoverageRow[]; gaps: (Gap & { msg_id: string })[] }> {
  const responses = await responsesOf(pool, request.id);
  const items = (request.subject as { items?: { item_id: string }[] } | null)?.items ?? [];
  const coverage = coverageMatrix(
    items,
    responses.map((r) => ({
      msg_id: r.msg_id,
      final: r.body.final,
      records: r.body.records.map((rec) => ({
        covers: Array.isArray(rec.covers) ? (rec.covers as string[]) : [],
      })),
      ...(r.body.outcomes ? { outcomes: r.body.outcomes } : {}),
    })),
  );
  const gaps: (Gap & { msg_id: string })[] = [];
  for (const r of responses) {
    const parsed = responseSchema(request.type).safeParse(r.body);
    if (parsed.success)
      for (const g of responseGaps(
        request.type,
        parsed.data as { records: RecordByType[RequestType][] },
      ))
        gaps.push({ ...g, msg_id: r.msg_id });
  }
  return { coverage, gaps };
}
