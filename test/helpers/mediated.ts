// Three live nodes for the mediated exchange (README, _Mediated exchange_): A and B, each on its
// own node, namespace and database, exchange through a mediator M; a proxy the test can cut stands
// where an outage is wanted. With the steps the tests of it share: A's officer creating a request,
// an officer acting on one, waiting for a request to reach a state, reading a node's outbox.
import { expect } from 'vitest';
import type { RequestType } from '../../schemas/common.js';
import type { RequestDetailView } from '../../schemas/requests-api.js';
import { subjectFor } from './domain.js';
import { call } from './http.js';
import { startTestNode, type TestNode } from './node.js';
import { eventually, registerMediated } from './partners.js';
import { freePort } from './ports.js';
import { CuttableProxy } from './proxy.js';
import { requestDetail } from './requests.js';

/** How long a test waits for a request to reach a state on a node. */
export const WAIT_MS = 45_000;

/**
 * Where the trio's proxy stands: `m` in front of M (A and B reach M's inbox through it), `m-to-a`
 * and `m-to-b` between M and that party's inbox (what M relays to it goes through it).
 */
export type Cut = 'm' | 'm-to-a' | 'm-to-b';

export interface MediatedTrioOptions {
  /** Over DELIVERY_MAX_BACKOFF_SECONDS=1 and KEY_REGISTRY_CACHE_SECONDS=0, on all three nodes. */
  env?: Record<string, string>;
  /** Whether A and B seal their content to each other, so M cannot read it. */
  sealContent: boolean;
  /** Where a proxy the test can cut stands; none unless told. */
  cut?: Cut;
}

export interface MediatedTrio {
  a: TestNode;
  m: TestNode;
  b: TestNode;
  /** The proxy `cut` asked for. */
  proxy: CuttableProxy | undefined;
  /** M's inbox as A and B know it (through the proxy with `cut: 'm'`). */
  mInbox: string;
  /** Closes the proxy and destroys the three nodes. */
  stop(): Promise<void>;
}

/** A trio started with a `cut`: its proxy is there. */
export interface CutTrio extends MediatedTrio {
  proxy: CuttableProxy;
}

/** The officers who act for A and B, each node's token minted once by startMediatedTrio. */
const OFFICERS: Record<string, string> = {
  'party-a': 'officer-amira',
  'party-b': 'officer-bogdan',
};
const officerTokens = new WeakMap<TestNode, string>();

/** A proxy to `node`'s port on a free port, and the inbox URL through it. */
async function proxyTo(node: TestNode): Promise<{ proxy: CuttableProxy; inbox: string }> {
  const proxy = new CuttableProxy({ host: '127.0.0.1', port: Number(new URL(node.url).port) });
  const port = await freePort();
  await proxy.listen(port);
  return { proxy, inbox: `http://127.0.0.1:${port}/v1/messages` };
}

/**
 * Starts A (party-a), M (party-m) and B (party-b): M relays for both, A and B know M and each other
 * as reached through M (registerMediated), with a proxy where `opts.cut` says; mints the token of
 * each party's officer (see `act`). On a failure after the nodes started, stops them.
 */
export async function startMediatedTrio(opts: MediatedTrioOptions & { cut: Cut }): Promise<CutTrio>;
export async function startMediatedTrio(opts: MediatedTrioOptions): Promise<MediatedTrio>;
export async function startMediatedTrio(opts: MediatedTrioOptions): Promise<MediatedTrio> {
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1', KEY_REGISTRY_CACHE_SECONDS: '0', ...opts.env };
  const [a, m, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', env }),
    startTestNode({ partyId: 'party-m', env }),
    startTestNode({ partyId: 'party-b', env }),
  ]);
  let proxy: CuttableProxy | undefined;
  const stop = async () => {
    await proxy?.close();
    await Promise.all([a.destroy(), m.destroy(), b.destroy()]);
  };
  try {
    let mInbox = `${m.url}/v1/messages`;
    if (opts.cut === 'm') ({ proxy, inbox: mInbox } = await proxyTo(m));
    await registerMediated(
      { a, m, b },
      { mInbox: proxy ? mInbox : undefined, sealContent: opts.sealContent },
    );
    if (opts.cut === 'm-to-a' || opts.cut === 'm-to-b') {
      // M's registry entry of that party moved to the proxy, as its operator would move it.
      const party = opts.cut === 'm-to-a' ? a : b;
      const to = await proxyTo(party);
      proxy = to.proxy;
      const moved = await call(m.url, 'PATCH', `/v1/admin/partners/${party.config.partyId}`, {
        token: await m.token('admin', 'admin-ops'),
        json: { inboxUrl: to.inbox },
      });
      expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    }
    for (const node of [a, b])
      officerTokens.set(node, await node.token('officer', OFFICERS[node.config.partyId]));
    return { a, m, b, proxy, mInbox, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The token of the officer who acts for `node`, A or B of a trio (amira at A, bogdan at B). */
export function officerOf(node: TestNode): string {
  const token = officerTokens.get(node);
  if (!token) throw new Error(`${node.config.partyId} is not a party of startMediatedTrio`);
  return token;
}

/** `node`'s officer posts `json` to the request's action `route` (acknowledge, responses, …). */
export const act = (node: TestNode, id: string, route: string, json: unknown) =>
  call(node.url, 'POST', `/v1/requests/${id}/${route}`, { token: officerOf(node), json });

/**
 * A's officer asks B for `type` (grave_information unless told), routine unless told, about
 * `title`; the request's id, once A took it (201).
 */
export async function createRequest(
  a: TestNode,
  title: string,
  opts: { type?: RequestType; priority?: string } = {},
): Promise<string> {
  const type = opts.type ?? 'grave_information';
  const created = await call(a.url, 'POST', '/v1/requests', {
    token: officerOf(a),
    json: {
      type,
      counterparty: 'party-b',
      priority: opts.priority ?? 'routine',
      subject: subjectFor(type, title),
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id as string;
}

/** Until the request, as `node`'s supervisor reads it, satisfies `pred`; the request then. */
export function untilRequest(
  node: TestNode,
  id: string,
  pred: (r: RequestDetailView) => boolean,
  what: string,
): Promise<RequestDetailView> {
  return eventually(
    async () => {
      const r = await requestDetail(node, id);
      return r && pred(r) ? r : undefined;
    },
    WAIT_MS,
    `${node.config.partyId}: ${what}`,
  );
}

/** Until the request shows `status` at `node` (`what` names the wait, the status unless told). */
export const untilStatus = (node: TestNode, id: string, status: string, what = status) =>
  untilRequest(node, id, (r) => r.status === status, what);

/** A message in a node's outbox, as its supervisor sees it (`GET /v1/outbox`). */
export interface OutboxItem {
  msgId: string;
  kind: string;
  reqId?: string | null;
  status: string;
  attempts: number;
  lastError: string | null;
  receiptReceivedAt: string | null;
}

/** `node`'s outbox for the request, as its supervisor sees it. */
export async function outboxOf(node: TestNode, id: string): Promise<OutboxItem[]> {
  const res = await call(node.url, 'GET', '/v1/outbox?limit=1000', {
    token: await node.token('supervisor'),
  });
  expect(res.status).toBe(200);
  return (res.body.items as OutboxItem[]).filter((i) => i.reqId === id);
}

/**
 * Until a message of the request in `node`'s outbox (the one `msgId` names, else the first) has
 * failed to go out and waits to be tried again; that message.
 */
export function untilFailedAttempt(
  node: TestNode,
  id: string,
  what: string,
  msgId?: string,
): Promise<OutboxItem> {
  return eventually(
    async () => {
      const item = (await outboxOf(node, id)).find((i) => msgId === undefined || i.msgId === msgId);
      return item && item.status === 'pending' && item.attempts >= 1 && item.lastError
        ? item
        : undefined;
    },
    30_000,
    what,
  );
}
