// Three live nodes for the mediated exchange (README, _Mediated exchange_): A and B, each on its
// own node, namespace and database, exchange through a mediator M; a proxy the test can cut stands
// where an outage is wanted. With the steps the tests of it share: A's officer creating a request,
// an officer acting on one, waiting for a request to reach a state, reading a node's outbox; a
// mediator's notices and view of a request, the parties' consents to a pause; a party's evidence
// bundle and the keys it is verified with.
import type pino from 'pino';
import { expect } from 'vitest';
import type { BundleReport, TrustAnchors } from '../../audit/verify-bundle.js';
import type { RequestType } from '../../schemas/common.js';
import { ENVELOPE_MEDIA_TYPE } from '../../schemas/envelope.js';
import { EvidenceBundle } from '../../schemas/evidence.js';
import {
  MediatedRequestView,
  MediatorNoticeView,
  PauseConsentView,
} from '../../schemas/mediator-api.js';
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
  /** A and B reach each other directly; a request may name M (`mediators`, not `via`). */
  perRequest?: boolean;
  /** M's logger (silent unless told). */
  mLog?: pino.Logger;
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
    startTestNode({ partyId: 'party-m', env, ...(opts.mLog ? { log: opts.mLog } : {}) }),
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
      {
        mInbox: proxy ? mInbox : undefined,
        sealContent: opts.sealContent,
        ...(opts.perRequest ? { perRequest: true } : {}),
      },
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
 * A's officer asks B for `type` (grave_information unless told), routine unless told, through the
 * `mediator` when told, about `title`; the request's id, once A took it (201).
 */
export async function createRequest(
  a: TestNode,
  title: string,
  opts: { type?: RequestType; priority?: string; mediator?: string } = {},
): Promise<string> {
  const type = opts.type ?? 'grave_information';
  const created = await call(a.url, 'POST', '/v1/requests', {
    token: officerOf(a),
    json: {
      type,
      counterparty: 'party-b',
      priority: opts.priority ?? 'routine',
      subject: subjectFor(type, title),
      ...(opts.mediator !== undefined ? { mediator: opts.mediator } : {}),
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

/**
 * Until every message `node` sent about the request holds its recipient's receipt, as the node's
 * supervisor sees its outbox (a party's status moves on before the receipt of its last message
 * has come back through M); those messages.
 */
export function untilReceipted(node: TestNode, id: string): Promise<OutboxItem[]> {
  return eventually(
    async () => {
      const mine = await outboxOf(node, id);
      return mine.length > 0 && mine.every((i) => i.receiptReceivedAt !== null) ? mine : undefined;
    },
    WAIT_MS,
    `${node.config.partyId}: receipts of all it sent`,
  );
}

/** The mediator `med`'s `supervisor` (or the holder of `token`) asks it for a notice about `id`. */
export async function notice(
  med: TestNode,
  supervisor: string,
  id: string,
  json: unknown,
  token?: string,
) {
  return call(med.url, 'POST', `/v1/mediated/${id}/notices`, {
    token: token ?? (await med.token('supervisor', supervisor)),
    json,
  });
}

/** A party's officer agrees that the mediator may pause both clocks; the party's answer. */
export async function consent(node: TestNode, id: string) {
  return call(node.url, 'POST', `/v1/requests/${id}/pause-consent`, {
    token: await node.token('officer'),
  });
}

/** A consent the mediator holds (201). */
export function held(res: Awaited<ReturnType<typeof consent>>): PauseConsentView {
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const view = PauseConsentView.parse(res.body);
  expect(view.heldSince).not.toBeNull();
  return view;
}

/** A consent as `node` signed and kept it (the only one of that id). */
export async function consentToken(node: TestNode, msgId: string): Promise<string> {
  const { rows } = await node.database.pool.query<{ token: string }>(
    'SELECT token FROM pause_consents WHERE msg_id = $1',
    [msgId],
  );
  expect(rows, `${node.config.partyId} kept consent ${msgId}`).toHaveLength(1);
  return rows[0]!.token;
}

/** The notices the mediator signed, as its 201 answer lists them, parsed through the wire type. */
export function signed(res: Awaited<ReturnType<typeof notice>>): MediatorNoticeView[] {
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return MediatorNoticeView.array().parse((res.body as { items: unknown }).items);
}

/** A refusal with its status and code. */
export function expectRefused(res: { status: number; body: any }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.code, JSON.stringify(res.body)).toBe(code);
}

/** Every row of every table of the node's database, as text. */
export async function everyRowOf(node: TestNode): Promise<string> {
  const pool = node.database.pool;
  const { rows: tables } = await pool.query<{ name: string }>(
    `SELECT quote_ident(table_name) AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
  );
  let text = '';
  for (const t of tables) {
    const { rows } = await pool.query<{ row: string }>(`SELECT t::text AS row FROM ${t.name} t`);
    text += rows.map((r) => r.row).join('\n');
  }
  return text;
}

/** Posts a signed envelope straight to `node`'s inbox; its answer. */
export const postEnvelope = (node: TestNode, token: string) =>
  call(node.url, 'POST', '/v1/messages', {
    raw: token,
    headers: { 'content-type': ENVELOPE_MEDIA_TYPE },
  });

/** `med`'s view of one request, parsed through the wire type; undefined while `med` lacks it. */
export async function viewAtM(
  med: TestNode,
  supervisor: string,
  id: string,
): Promise<MediatedRequestView | undefined> {
  const res = await call(med.url, 'GET', `/v1/mediated/${id}`, {
    token: await med.token('supervisor', supervisor),
  });
  if (res.status === 404) return undefined;
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return MediatedRequestView.parse(res.body);
}

/** The mediator's view of a request it holds. */
export async function heldAtM(
  med: TestNode,
  supervisor: string,
  id: string,
): Promise<MediatedRequestView> {
  const view = await viewAtM(med, supervisor, id);
  expect(view, `${med.config.partyId} holds ${id}`).toBeDefined();
  return view!;
}

/** Until `med`'s view of the request satisfies `pred` (a pass of its watch first, when told). */
export async function untilAtM(
  med: TestNode,
  supervisor: string,
  id: string,
  pred: (v: MediatedRequestView) => boolean,
  what: string,
  opts: { watchPass?: boolean } = {},
): Promise<MediatedRequestView> {
  let last: MediatedRequestView | undefined;
  try {
    return await eventually(
      async () => {
        if (opts.watchPass) await med.mediatorWatch.pass();
        last = await viewAtM(med, supervisor, id);
        return last && pred(last) ? last : undefined;
      },
      WAIT_MS,
      `${med.config.partyId}: ${what}`,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${JSON.stringify(last, null, 2)}`, { cause: err });
  }
}

/** How a party explains one of its deadlines (the request detail's `deadlines`). */
export interface Explanation {
  dueAt: string;
  clockStopped: boolean;
  mediatorPauses?: { from: string; to: string | null }[];
  mediatorPausedSeconds?: number;
}

/** How the request, as a party shows it, explains its deadline of `kind` (there must be one). */
export const explained = (r: RequestDetailView, kind: 'acknowledgement' | 'response') => {
  const e = r.deadlines[kind] as Explanation | null | undefined;
  expect(e, `${kind} deadline explained`).toBeTruthy();
  return e!;
};

/** The events of `type` on the request's timeline. */
export const eventOf = (r: RequestDetailView, type: string) =>
  r.timeline.filter((e) => e.type === type);

/** The key ids `node` publishes at /.well-known/jwks.json. */
export async function kidsOf(node: TestNode): Promise<string[]> {
  const res = await call(node.url, 'GET', '/.well-known/jwks.json');
  return (res.body.keys as { kid: string }[]).map((k) => k.kid);
}

/** The trust anchors of a reader who trusts the keys `nodes` publish, by party. */
export async function trustOf(...nodes: TestNode[]): Promise<TrustAnchors> {
  const trust: TrustAnchors = {};
  for (const node of nodes) trust[node.config.partyId] = await kidsOf(node);
  return trust;
}

/** The request's evidence bundle as `node`'s supervisor downloads it. */
export async function bundleFrom(node: TestNode, id: string): Promise<EvidenceBundle> {
  const res = await call(node.url, 'GET', `/v1/requests/${id}/evidence`, {
    token: await node.token('supervisor'),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return EvidenceBundle.parse(res.body);
}

/** The verdicts of a bundle's report that failed. */
export const failed = (report: BundleReport) => report.verdicts.filter((v) => !v.ok);
