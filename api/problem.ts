// Every error leaves the API as an RFC 9457 problem document with a stable `code`.
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { isUnavailableError } from '../db/errors.js';
import { AppError, issueDetails, type ErrorCode, type ErrorDetail } from '../errors.js';
import { isTemporalUnavailable } from '../temporal/errors.js';

/** The body of every 4xx and 5xx answer. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  errors?: readonly ErrorDetail[];
}

/** Seconds a client is asked to wait before retrying a 503 (the `Retry-After` header). */
export const RETRY_AFTER_SECONDS = 2;

export function sendProblem(res: Response, err: AppError): void {
  const problem: Problem = {
    type: `urn:parley:error:${err.code}`,
    title: err.code.replaceAll('_', ' '),
    status: err.status,
    code: err.code,
    detail: err.message,
    ...(err.errors ? { errors: err.errors } : {}),
    ...err.extra,
  };
  // A 503 says "not now": the same call may work shortly, and the header says when to try.
  if (err.status === 503) res.set('retry-after', String(RETRY_AFTER_SECONDS));
  // A 429 that says when (`retry_after`, seconds) says it in the header too.
  const after = err.extra?.retry_after;
  if (err.status === 429 && typeof after === 'number') res.set('retry-after', String(after));
  res.status(err.status).type('application/problem+json').json(problem);
}

/** Zod issues as `{path, message}` pairs: the JSON path to the bad value and what was expected. */
export function zodDetails(error: z.ZodError): ErrorDetail[] {
  return issueDetails(error.issues);
}

/** Parses untrusted input with a schema, or throws `schema_invalid` naming each bad path. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new AppError(
      'schema_invalid',
      `${what} does not match the schema`,
      zodDetails(parsed.error),
    );
  return parsed.data;
}

/** The route pattern that matched (`/:id`), or the path when none did: never query values. */
export function routeOf(req: Request): string {
  return (req.route as { path?: string } | undefined)?.path ?? req.path;
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', `no route for ${req.method} ${req.path}`));
};

function bodyParserError(err: unknown): AppError | undefined {
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.parse.failed')
    return new AppError('malformed_json', 'the request body is not valid JSON');
  if (type === 'entity.too.large')
    return new AppError('too_large', 'the request body is larger than allowed');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new AppError('unsupported_media_type', 'the request body must be UTF-8 JSON');
  }
  return undefined;
}

/** Whether an error says the Temporal service or the database could not be reached. */
function unavailable(err: unknown): boolean {
  return isUnavailableError(err) || isTemporalUnavailable(err);
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const appError =
      err instanceof AppError
        ? err
        : (bodyParserError(err) ??
          (unavailable(err)
            ? new AppError('unavailable', 'a backing service is unavailable; try again shortly')
            : new AppError('internal', 'internal error')));
    // Log the code and route only: messages of unexpected errors may quote request data.
    const fields = {
      code: appError.code,
      method: req.method,
      route: routeOf(req),
      // A code the route's declaration does not list (api/routes.ts): the document is wrong.
      ...(typeof res.locals.undeclaredCode === 'string'
        ? { undeclaredFor: res.locals.undeclaredCode }
        : {}),
    };
    if (appError.status >= 500) {
      // The stack's frames say where without the message, which may carry personal data.
      const frames =
        err instanceof Error ? err.stack?.split('\n').slice(1, 8).join('\n') : undefined;
      log.error(
        { ...fields, errName: err instanceof Error ? err.name : typeof err, frames },
        'request failed',
      );
    } else if (fields.undeclaredFor)
      log.warn(fields, 'request refused with a code its route does not declare');
    else log.info(fields, 'request refused');
    if (res.headersSent) return;
    sendProblem(res, appError);
  };
}
