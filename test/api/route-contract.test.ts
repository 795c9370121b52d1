// Every route answers only the error codes its declaration lists (api/openapi.ts, from which the
// express routes are built: api/routes.ts). Each declared route of a live node gets the refusal
// cases that apply to it: no credentials, a role it does not admit, a body that is not JSON, a
// body of another media type, an unknown id in its path. Each answer must be a 4xx problem whose
// code the route declares and whose status is that code's. (Under test the node also turns any
// undeclared code into a 500 naming the route, so every other test checks the declarations too.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS, type ErrorCode } from '../../errors.js';
import { routeDeclarations } from '../../api/routes.js';
import type { DeclaredRoute } from '../../api/openapi.js';
import type { Role } from '../../schemas/common.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

let node: TestNode;
const ROLES: Role[] = ['officer', 'supervisor', 'admin'];
const UNKNOWN: Record<string, string> = {
  id: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
  partyId: 'party-nobody',
  kid: 'no-such-key',
  index: '999999',
  ref: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
};
const ATTACHMENT = `sha256:${'0'.repeat(64)}`;

/** The route's path with unknown values for its parameters. */
function unknownPath(route: DeclaredRoute): string {
  return route.path.replace(/\{(\w+)\}/g, (_m, name: string) =>
    route.path.includes('attachments') && name === 'id' ? ATTACHMENT : (UNKNOWN[name] ?? 'x'),
  );
}

const routes = [...routeDeclarations().values()];
const guarded = routes.filter((r) => r.roles);

beforeAll(async () => {
  node = await startTestNode({ partyId: 'party-a' });
});
afterAll(() => node?.destroy());

function expectDeclared(
  route: DeclaredRoute,
  res: { status: number; body: unknown },
  what: string,
) {
  const where = `${route.method.toUpperCase()} ${route.path} (${route.id}), ${what}`;
  if (route.method === 'head') {
    // No body to name a code: the status is one of the declared codes'.
    const statuses = [...route.codes].map((c) => ERROR_STATUS[c]);
    expect(statuses, `${where} answered ${res.status}`).toContain(res.status);
    return;
  }
  const code = (res.body as { code?: string }).code as ErrorCode;
  expect(res.status, `${where}: ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, `${where}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
  expect([...route.codes], `${where} answered ${code}`).toContain(code);
  expect(res.status, where).toBe(ERROR_STATUS[code]);
}

describe('the routes’ declared error codes', () => {
  it('covers every route the node serves, each with its codes', () => {
    expect(routes.length).toBeGreaterThan(40);
    for (const r of routes) expect(r.codes.size, r.id).toBeGreaterThan(0);
  });

  it('are what a route answers without credentials, and with a role it does not admit', async () => {
    expect(guarded.length).toBeGreaterThan(30);
    for (const route of guarded) {
      const path = unknownPath(route);
      expectDeclared(
        route,
        await call(node.url, route.method.toUpperCase(), path),
        'no credentials',
      );
      const outsider = ROLES.find((r) => !route.roles!.includes(r));
      if (!outsider) continue;
      const res = await call(node.url, route.method.toUpperCase(), path, {
        token: await node.token(outsider),
        ...(route.jsonBody ? { json: {} } : {}),
      });
      expectDeclared(route, res, `as ${outsider}`);
      expect((res.body as { code: string }).code, route.id).toBe('forbidden');
    }
  });

  it('are what a JSON route answers to a body that is not JSON, or not declared as JSON', async () => {
    const jsonRoutes = routes.filter((r) => r.jsonBody);
    expect(jsonRoutes.length).toBeGreaterThan(10);
    for (const route of jsonRoutes) {
      const token = route.roles ? await node.token(route.roles[0]!) : undefined;
      const path = unknownPath(route);
      const broken = await call(node.url, route.method.toUpperCase(), path, {
        ...(token ? { token } : {}),
        raw: '{"unfinished": ',
        headers: { 'content-type': 'application/json' },
      });
      expectDeclared(route, broken, 'malformed JSON');
      const text = await call(node.url, route.method.toUpperCase(), path, {
        ...(token ? { token } : {}),
        raw: 'plain words',
        headers: { 'content-type': 'text/plain' },
      });
      expectDeclared(route, text, 'a text/plain body');
    }
  });

  it('are what a route answers about an unknown id in its path', async () => {
    const withIds = guarded.filter((r) => r.path.includes('{'));
    expect(withIds.length).toBeGreaterThan(15);
    for (const route of withIds) {
      const res = await call(node.url, route.method.toUpperCase(), unknownPath(route), {
        token: await node.token(route.roles![0]!),
        ...(route.jsonBody ? { json: {} } : {}),
      });
      expectDeclared(route, res, 'an unknown id');
    }
  });
});
