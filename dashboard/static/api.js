/* global sessionStorage, fetch */
// The page's only way to the node's data: the JSON API with the user's bearer token. The token
// lives in sessionStorage, so it goes away with the tab and is never sent anywhere but this origin.

const TOKEN_KEY = 'parley.dashboard.token';

export const token = {
  /** @returns {string | null} */
  get: () => sessionStorage.getItem(TOKEN_KEY),
  /** @param {string} value */
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** The node's problem document (RFC 9457), as far as the page reads it. */
/** @typedef {{ status?: number; code?: string; detail?: string }} Problem */

/** The token is missing, expired or not valid here: the user signs in again. */
export class SignInNeeded extends Error {
  /** @param {string} [reason] */
  constructor(reason) {
    super(reason ?? 'sign in to continue');
    this.name = 'SignInNeeded';
  }
}

/** Any other answer than 2xx: the status and the node's problem document. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {Problem} problem
   */
  constructor(status, problem) {
    super(problem.detail ?? `the node answered ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem.code;
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
 * GETs a JSON resource of this node with a token (the stored one by default). The body is
 * `unknown`: each caller states the shape it reads (types.js, from the API's schemas).
 * @param {string} path
 * @param {{ bearer?: string }} [opts]
 * @returns {Promise<unknown>}
 */
export async function getJson(path, opts = {}) {
  const bearer = opts.bearer ?? token.get();
  if (!bearer) throw new SignInNeeded();
  const res = await fetch(path, {
    headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' },
    cache: 'no-store',
  });
  if (res.status === 401) {
    const problem = await problemOf(res);
    if (!opts.bearer) token.clear();
    throw new SignInNeeded(problem.detail);
  }
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  return bodyOf(res);
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
