// Posting an envelope to a node's inbox and reading its answer, as the wire protocol says: the
// sender (exchange/outbox.ts), a mediator relaying (exchange/mediator.ts) and a mediator's notices
// and a party's consents (exchange/mediator-notices.ts) all post and read alike.
import { ENVELOPE_MEDIA_TYPE } from '../schemas/envelope.js';

/** Posts a compact JWS to an inbox, with the protocol's headers and `extra`, within `timeoutMs`. */
export function postToInbox(
  inboxUrl: string,
  token: string,
  timeoutMs: number,
  extra: Record<string, string> = {},
): Promise<Response> {
  return fetch(inboxUrl, {
    method: 'POST',
    headers: {
      'content-type': ENVELOPE_MEDIA_TYPE,
      accept: `${ENVELOPE_MEDIA_TYPE}, application/problem+json`,
      ...extra,
    },
    body: token,
    signal: AbortSignal.timeout(timeoutMs),
  });
}

/** What an inbox answered: its receipt, owed again for a replay, or the refusal's code. */
export interface InboxAnswer {
  /** The receiver's signed receipt: the 202 body, or the one a replay's problem carries. */
  receipt: string | undefined;
  /** The receipt came with a replay (signed when the message first arrived). */
  replayed: boolean;
  /** The problem's code, or `http_<status>` when the body names none. */
  code: string;
}

/** Reads an inbox's answer (`text` is its body). */
export function readInboxAnswer(status: number, text: string): InboxAnswer {
  if (status === 202) return { receipt: text.trim(), replayed: false, code: 'accepted' };
  let problem: { code?: unknown; receipt?: unknown } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {
    problem = {};
  }
  const replayed =
    status === 409 && problem.code === 'replay' && typeof problem.receipt === 'string';
  return {
    receipt: replayed ? String(problem.receipt) : undefined,
    replayed,
    code: typeof problem.code === 'string' ? problem.code : `http_${status}`,
  };
}
