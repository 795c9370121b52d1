// How CLI commands reach a running node: its HTTP API, with PARLEY_TOKEN or, on a development
// node, an admin token minted with the local development issuer.
import path from 'node:path';
import { Env } from '../config.js';
import { mintDevToken } from '../node/dev-issuer.js';
import type { Role } from '../schemas/common.js';

export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** PARLEY_TOKEN, else a development token with `roles` (admin unless a command needs another). */
export async function bearer(roles: Role[] = ['admin']): Promise<string> {
  if (process.env.PARLEY_TOKEN) return process.env.PARLEY_TOKEN;
  const env = Env.pick({
    PARLEY_DATA_DIR: true,
    AUTH_ISSUER: true,
    AUTH_AUDIENCE: true,
    AUTH_ROLES_CLAIM: true,
  }).parse(process.env);
  return mintDevToken({
    dataDir: path.resolve(env.PARLEY_DATA_DIR),
    issuer: env.AUTH_ISSUER,
    audience: env.AUTH_AUDIENCE,
    rolesClaim: env.AUTH_ROLES_CLAIM,
    sub: `cli:${process.env.USER ?? 'operator'}`,
    roles,
    ttlSeconds: 300,
  });
}

/** A URL the command could not reach at all (no HTTP answer): exit code 3. */
export class UnreachableError extends Error {
  constructor(
    readonly url: string,
    cause: unknown,
    hint?: string,
  ) {
    const c = (cause as { cause?: { code?: string; message?: string } } | undefined)?.cause;
    const why =
      c?.code === 'ECONNREFUSED'
        ? 'connection refused (ECONNREFUSED): nothing listens there'
        : (c?.code ?? c?.message ?? (cause as Error | undefined)?.message ?? 'no answer');
    super(`cannot reach ${url}: ${why}${hint ? `\n${hint}` : ''}`);
    this.name = 'UnreachableError';
  }
}

/** fetch, but a failure to connect names the URL it could not reach. */
export async function reach(url: string, init?: RequestInit, hint?: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    throw new UnreachableError(url, err, hint);
  }
}

/** Said when the node itself cannot be reached. */
export const NODE_HINT =
  'Is the node running? PARLEY_URL says where it is (default http://127.0.0.1:$PORT, PORT 3000).';

export function nodeUrl(): string {
  return process.env.PARLEY_URL ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}`;
}

export async function callNode(method: string, route: string, json?: unknown): Promise<ApiAnswer> {
  const res = await reach(
    nodeUrl() + route,
    {
      method,
      headers: {
        authorization: `Bearer ${await bearer()}`,
        ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    },
    NODE_HINT,
  );
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}

/** Prints an answer; returns the exit code (0 for 2xx, 1 otherwise). */
export function report(answer: ApiAnswer): number {
  const out = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body, null, 2);
  if (answer.status >= 200 && answer.status < 300) {
    process.stdout.write(out + '\n');
    return 0;
  }
  process.stderr.write(`HTTP ${answer.status}\n${out}\n`);
  return 1;
}
