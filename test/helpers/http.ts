// A small HTTP client for tests: JSON in, status + parsed body out.
export interface HttpResult<T = unknown> {
  status: number;
  contentType: string;
  headers: Headers;
  body: T;
}

export interface CallOptions {
  token?: string;
  json?: unknown;
  /** A raw body, sent as is (for malformed input). */
  raw?: string;
  headers?: Record<string, string>;
}

// Tests read answers dynamically; the default `any` stays inside the test suite.

export async function call<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  opts: CallOptions = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] ??= 'application/json';
  } else if (opts.raw !== undefined) {
    body = opts.raw;
  }
  const res = await fetch(baseUrl + path, { method, headers, body });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  return {
    status: res.status,
    contentType,
    headers: res.headers,
    body: (contentType.includes('json') && text ? JSON.parse(text) : text) as T,
  };
}
