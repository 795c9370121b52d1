/* global sessionStorage, fetch */
// The page's only way to the node's data: the JSON API, as the user signed in. Signed in through
// the identity provider, the browser sends the node's httpOnly session cookie by itself and the
// page adds the session's CSRF token to every call that changes something; signed in with a pasted
// bearer token, the token lives in sessionStorage, so it goes away with the tab and is never sent
// anywhere but this origin.
import { t } from './i18n.js';

const TOKEN_KEY = 'parley.dashboard.token';

export const token = {
  /** @returns {string | null} */
  get: () => sessionStorage.getItem(TOKEN_KEY),
  /** @param {string} value */
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** The CSRF token of the cookie session, from `/dashboard/session.json` (kept in memory only). */
let csrfToken = /** @type {string | undefined} */ (undefined);
export const csrf = {
  /** @param {string | undefined} value */
  set: (value) => {
    csrfToken = value;
  },
  /** For calls made without callApi (an upload with progress, attachments.js). */
  get: () => csrfToken,
};

/** The node's problem document (RFC 9457), as far as the page reads it. */
/**
 * @typedef {{ status?: number; code?: string; detail?: string;
 *   errors?: { path: string; message: string }[] }} Problem
 */

/** The token is missing, expired or not valid here: the user signs in again. */
export class SignInNeeded extends Error {
  /**
   * @param {string} [reason]
   * @param {string} [code] the node's code, e.g. `token_missing` (never signed in)
   */
  constructor(reason, code) {
    super(reason ?? t('api.signInToContinue'));
    this.name = 'SignInNeeded';
    this.code = code;
  }
}

/** Any other answer than 2xx: the status and the node's problem document. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {Problem} problem
   */
  constructor(status, problem) {
    super(problem.detail ?? t('api.nodeAnswered', { status }));
    this.name = 'ApiError';
    this.status = status;
    this.code = problem.code;
    /** What is wrong where: RFC 6901 pointers into the body sent, as the node names them. */
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
  }
}

/**
 * A JSON body, unchecked: callers state what they expect of it.
 * @param {Response} res
 * @returns {Promise<unknown>}
 */
const bodyOf = (res) => res.json();

/**
 * @param {Response} res
 * @returns {Promise<Problem>}
 */
async function problemOf(res) {
  try {
    return /** @type {Problem} */ (await bodyOf(res));
  } catch {
    return {};
  }
}

/**
 * Calls this node's API as the user: with a token (the stored one by default), else with the
 * session cookie and, unless the call only reads, the session's CSRF token. The body is
 * `unknown`: each caller states the shape it reads (types.js, from the API's schemas).
 * @param {string} method
 * @param {string} path
 * @param {{ bearer?: string; json?: unknown; headers?: Record<string, string> }} [opts] `headers`:
 *   more request headers (an Idempotency-Key)
 * @returns {Promise<unknown>} the JSON body, or null for an answer without one
 */
export async function callApi(method, path, opts = {}) {
  const bearer = opts.bearer ?? token.get();
  /** @type {Record<string, string>} */
  const headers = { ...opts.headers, accept: 'application/json' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  else if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
    cache: 'no-store',
    credentials: 'same-origin',
  });
  if (res.status === 401) {
    const problem = await problemOf(res);
    if (!opts.bearer) token.clear();
    throw new SignInNeeded(problem.detail, problem.code);
  }
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  return res.status === 204 ? null : bodyOf(res);
}

/**
 * GETs a JSON resource of this node as the user (see callApi).
 * @param {string} path
 * @param {{ bearer?: string }} [opts]
 * @returns {Promise<unknown>}
 */
export const getJson = (path, opts = {}) => callApi('GET', path, opts);

/** Signs out: forgets the pasted token, or ends the cookie session on the node. */
export async function signOut() {
  if (token.get()) token.clear();
  else await callApi('POST', '/auth/logout');
  csrfToken = undefined;
}

/**
 * A query string from filters, leaving out empty values.
 * @param {Record<string, string | number | undefined>} params
 */
export function queryString(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
