// Registers nodes as each other's partners through the real admin API, as operators would.
import { expect } from 'vitest';
import { call } from './http.js';
import type { TestNode } from './node.js';

/**
 * Adds `partner` to `node`'s registry with the keys it publishes at /.well-known/jwks.json;
 * `opts.sealContent` registers it as a party whose content is sealed (README, _Sealed content_),
 * `opts.via` as reached through that mediator, `opts.mediators` as one a request may name those
 * mediators for, `opts.relays` as one a mediator relays for (README, _Mediated exchange_).
 */
export async function registerPartner(
  node: TestNode,
  partner: TestNode,
  inboxUrl = `${partner.url}/v1/messages`,
  opts: { sealContent?: boolean; via?: string; mediators?: string[]; relays?: boolean } = {},
): Promise<void> {
  const jwks = await call(partner.url, 'GET', '/.well-known/jwks.json');
  expect(jwks.status).toBe(200);
  const res = await call(node.url, 'POST', '/v1/admin/partners', {
    token: await node.token('admin', 'admin-ops'),
    json: {
      partyId: partner.config.partyId,
      name: `Node of ${partner.config.partyId}`,
      inboxUrl,
      jwks: jwks.body,
      ...(opts.sealContent !== undefined ? { sealContent: opts.sealContent } : {}),
      ...(opts.via !== undefined ? { via: opts.via } : {}),
      ...(opts.mediators !== undefined ? { mediators: opts.mediators } : {}),
      ...(opts.relays !== undefined ? { relays: opts.relays } : {}),
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/**
 * The three registries of a mediated exchange: M relays for A and B; A and B know M (at `mInbox`,
 * its inbox unless given) and each other as reached through M, sealing content when told. With
 * `perRequest`, A and B reach each other directly and list M as a mediator a request may name.
 */
export async function registerMediated(
  nodes: { a: TestNode; m: TestNode; b: TestNode },
  opts: { mInbox?: string; sealContent: boolean; perRequest?: boolean },
): Promise<void> {
  const { a, m, b } = nodes;
  const mediator = m.config.partyId;
  const route = opts.perRequest ? { mediators: [mediator] } : { via: mediator };
  await registerPartner(m, a, undefined, { relays: true });
  await registerPartner(m, b, undefined, { relays: true });
  await registerPartner(a, m, opts.mInbox);
  await registerPartner(b, m, opts.mInbox);
  await registerPartner(a, b, undefined, { ...route, sealContent: opts.sealContent });
  await registerPartner(b, a, undefined, { ...route, sealContent: opts.sealContent });
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Registers a partner that is never reachable (its inbox is a closed port), so requests to it are
 * created, signed and stored, and wait in the outbox.
 */
export async function registerOfflinePartner(
  node: { url: string; token: TestNode['token'] },
  partyId = 'party-b',
): Promise<void> {
  const { generateSigningKey, loadSigningKey } = await import('../../protocol/keys.js');
  const key = await loadSigningKey(
    await generateSigningKey({ alg: 'Ed25519', roles: ['message', 'receipt'] }),
  );
  const res = await call(node.url, 'POST', '/v1/admin/partners', {
    token: await node.token('admin', 'admin-ops'),
    json: {
      partyId,
      name: `Offline ${partyId}`,
      inboxUrl: 'http://127.0.0.1:9/v1/messages',
      jwks: { keys: [{ ...key.publicJwk, alg: key.alg }] },
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}
