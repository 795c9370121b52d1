// `parley seed [--partner party-demo] [--count 36] [--keep-partner]`: fills the running node with
// requests in every state, exchanged with a demo partner node started in this process, so a new
// user opens the dashboard on a living system instead of an empty one. Everything goes through
// the public APIs of both nodes, exactly as two parties' officers and admins would act.
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { Env, loadConfig } from '../../config.js';
import { mintDevToken } from '../../node/dev-issuer.js';
import { loadPolicy, policyDigest } from '../../node/policy.js';
import { startNode, type RunningNode } from '../../node/start-node.js';
import { PartyId, type Priority, type RequestType, type Role } from '../../schemas/common.js';
import { fixtureAttachments } from '../../test/fixtures/domain/attachments.js';
import { finalFor, notFoundFor, partialFor, subjectFor } from '../../test/helpers/domain.js';
import { NODE_HINT, nodeUrl, reach, UnreachableError } from '../api-client.js';

/** The states a seeded request is driven to, as officers would name them. */
export type SeedTarget =
  | 'submitted'
  | 'delivered'
  | 'acknowledged'
  | 'clarification open'
  | 'extension requested'
  | 'partially_answered'
  | 'answered'
  | 'closed'
  | 'reopened'
  | 'declined'
  | 'withdrawn';

/** `out`: the user's node asks the demo partner; `in`: the demo partner asks the user's node. */
export type SeedDirection = 'out' | 'in';

/**
 * The order requests are planned in: directions alternate and the first eight reach the eight
 * statuses, so even a small --count shows every status in both directions.
 */
const PLAN: readonly (readonly [SeedDirection, SeedTarget])[] = [
  ['out', 'delivered'],
  ['in', 'acknowledged'],
  ['out', 'partially_answered'],
  ['in', 'answered'],
  ['out', 'closed'],
  ['in', 'declined'],
  ['in', 'withdrawn'],
  ['out', 'submitted'],
  ['in', 'clarification open'],
  ['out', 'reopened'],
  ['in', 'extension requested'],
  ['out', 'answered'],
  ['in', 'partially_answered'],
  ['out', 'acknowledged'],
  ['in', 'closed'],
  ['out', 'declined'],
  ['out', 'withdrawn'],
  ['out', 'clarification open'],
  ['in', 'reopened'],
  ['out', 'extension requested'],
  ['in', 'delivered'],
];

const TYPES: readonly RequestType[] = ['mine_map', 'grave_information', 'identification_result'];
const PRIORITIES: readonly Priority[] = ['routine', 'urgent', 'critical'];

/** Titles without personal data (titles are shown in lists), a few per type for variety. */
const TITLES: Record<RequestType, readonly string[]> = {
  mine_map: [
    'Minefield records, northern bridge approach',
    'Mine maps for the river corridor east of the dam',
    'Barrier minefield records along the old railway',
    'Marking and clearance records, hill 412 sector',
  ],
  grave_information: [
    'Burial sites reported near the old mill',
    'Grave locations along the quarry road',
    'Field burials recorded by the 3rd brigade',
    'Cemetery registers for the border villages',
  ],
  identification_result: [
    'Identification results for remains from site 9',
    'DNA matching results, exhumation batch 14',
    'Results for remains recovered at the river bend',
    'Anthropological reports for the valley sites',
  ],
};

export interface SeedOptions {
  /** Base URL of the user's node. */
  url: string;
  /** A bearer token for the user's node with the admin and officer roles. */
  token: string;
  /** The user's data folder; the demo partner keeps its own folder inside it. */
  dataDir: string;
  /** The Temporal service the demo partner runs on (the user's node's, in its own namespace). */
  temporalAddress: string;
  /** More TEMPORAL_* settings for that service (TLS, API key), as the node reads them. */
  temporalEnv?: Record<string, string | undefined>;
  /** The demo partner's party id; default party-demo. */
  partner?: string;
  /** The demo partner's Temporal namespace; default parley-<partner>. */
  namespace?: string;
  /** How many requests to create; default 36. */
  count?: number;
  /** Leave the demo partner running; the caller stops it (`result.partnerNode.stop()`). */
  keepPartner?: boolean;
  /** How long one request may take to reach its state on the user's node; default 60 s. */
  timeoutMs?: number;
  /** How many requests are driven at the same time; default 6. */
  concurrency?: number;
  /** A prebuilt workflow bundle for the demo's worker (tests); otherwise it bundles at start. */
  workflowBundlePath?: string;
  /** The demo node's log (pino); default: errors on stderr. */
  log?: Logger;
  /** Progress lines for people; default: none. */
  progress?: (line: string) => void;
}

export interface SeededRequest {
  id: string;
  direction: SeedDirection;
  type: RequestType;
  priority: Priority;
  target: SeedTarget;
  /** The request's status on the user's node when seeding ended. */
  status: string;
  /** Whether it reached its target state on the user's node in time. */
  reached: boolean;
  error?: string;
}

export interface SeedResult {
  party: string;
  partner: string;
  partnerUrl: string;
  requests: SeededRequest[];
  /** The demo partner, when kept running. */
  partnerNode: RunningNode | undefined;
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers are read dynamically
}

class ApiError extends Error {}

/** One node's API as one caller sees it. */
class NodeApi {
  /** Digests of fixture files this node refused to store (a media type it does not accept). */
  readonly refusedFiles = new Set<string>();

  constructor(
    readonly name: string,
    readonly url: string,
    private readonly token: string,
  ) {}

  async call(method: string, route: string, json?: unknown): Promise<Answer> {
    const res = await reach(
      this.url + route,
      {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      },
      this.name === 'your node' ? `${NODE_HINT} \`npm start\` starts one.` : undefined,
    );
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the error message
    }
    return { status: res.status, body };
  }

  /** Calls and insists on one of `ok`; otherwise throws with the problem's code and detail. */
  async expect(method: string, route: string, json: unknown, ok: number[]): Promise<Answer> {
    const answer = await this.call(method, route, json);
    if (!ok.includes(answer.status)) {
      const b = answer.body as { code?: string; detail?: string; title?: string } | string;
      const why =
        typeof b === 'string' ? b.slice(0, 200) : `${b.code ?? ''} ${b.detail ?? b.title ?? ''}`;
      throw new ApiError(
        `${this.name}: ${method} ${route} answered ${answer.status} ${why}`.trim(),
      );
    }
    return answer;
  }

  act(id: string, route: string, body: unknown): Promise<Answer> {
    return this.expect('POST', `/v1/requests/${id}/${route}`, body, [200]);
  }

  /**
   * Uploads the files the fixture records refer to: a response is refused until every file it
   * names is stored. A node may not accept some media types (ATTACHMENT_MEDIA_TYPES); records
   * then go without those references rather than not at all.
   */
  async uploadFixtureFiles(): Promise<void> {
    for (const file of fixtureAttachments) {
      const res = await reach(`${this.url}/v1/attachments/sha256:${file.sha256}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${this.token}`, 'content-type': file.media_type },
        body: new Uint8Array(file.bytes),
      });
      const text = await res.text();
      if (res.status === 415) this.refusedFiles.add(file.sha256);
      else if (res.status !== 200 && res.status !== 201)
        throw new ApiError(
          `${this.name}: upload of ${file.file_name} answered ${res.status} ${text}`,
        );
    }
  }

  /** Sends a response, leaving out references to files this node would not store. */
  respond(id: string, body: Record<string, unknown>): Promise<Answer> {
    return this.act(id, 'responses', withoutRefs(body, this.refusedFiles));
  }
}

/** A reference to one of `digests` (`{ref: 'sha256:…', media_type, …}`). */
const isRefTo = (v: unknown, digests: Set<string>) =>
  v !== null &&
  typeof v === 'object' &&
  typeof (v as { ref?: unknown }).ref === 'string' &&
  digests.has((v as { ref: string }).ref.replace(/^sha256:/, ''));

/** `value` without the attachment references to `digests` (array entries and members alike). */
function withoutRefs(value: unknown, digests: Set<string>): unknown {
  if (digests.size === 0) return value;
  if (Array.isArray(value))
    return value.filter((v) => !isRefTo(v, digests)).map((v) => withoutRefs(v, digests));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => !isRefTo(v, digests))
        .map(([k, v]) => [k, withoutRefs(v, digests)]),
    );
  return value;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TimelineEvent {
  type: string;
}
interface RequestDetail {
  id: string;
  status: string;
  timeline: TimelineEvent[];
}

/** Polls GET /v1/requests/:id until `pred` holds; returns the last view seen either way. */
async function until(
  api: NodeApi,
  id: string,
  pred: (r: RequestDetail) => boolean,
  timeoutMs: number,
): Promise<{ ok: boolean; last: RequestDetail | undefined }> {
  const deadline = Date.now() + timeoutMs;
  let last: RequestDetail | undefined;
  for (;;) {
    const res = await api.call('GET', `/v1/requests/${id}`);
    // 404 until the request message has reached this side.
    if (res.status === 200) {
      last = res.body as RequestDetail;
      if (pred(last)) return { ok: true, last };
    }
    if (Date.now() > deadline) return { ok: false, last };
    await sleep(250);
  }
}

const count = (r: RequestDetail, type: string) => r.timeline.filter((e) => e.type === type).length;

/** What the user's node must show for a request to be in `target`. */
function reachedOn(target: SeedTarget): (r: RequestDetail) => boolean {
  switch (target) {
    case 'clarification open':
      return (r) => count(r, 'ask_clarification') > count(r, 'answer_clarification');
    case 'extension requested':
      return (r) => count(r, 'request_extension') > count(r, 'decide_extension');
    case 'reopened':
      return (r) => r.status === 'acknowledged' && count(r, 'close_incomplete') > 0;
    default:
      return (r) => r.status === target;
  }
}

// ---------------------------------------------------------------------------------------------
// Setting up the demo partner

/**
 * The deadline policy file for the demo partner: the user's node's, since every request carries
 * the policy's digest and a partner under another policy refuses it. The digest is of the file's
 * own JSON, and the served policy has defaults filled in, so the served form is used only when
 * its digest matches; otherwise the node's own file (PARLEY_POLICY_FILE, shared through .env).
 */
async function policyFileFor(user: NodeApi, demoDir: string): Promise<string> {
  const served = (await user.expect('GET', '/v1/policy', undefined, [200])).body as {
    digest: string;
    policy: unknown;
  };
  if (policyDigest(served.policy) === served.digest) {
    const file = path.join(demoDir, 'policy.json');
    await fs.writeFile(file, JSON.stringify(served.policy, null, 2) + '\n');
    return file;
  }
  const local = process.env.PARLEY_POLICY_FILE;
  if (local && (await loadPolicy(local).catch(() => undefined))?.digest === served.digest)
    return local;
  throw new Error(
    `cannot reproduce the deadline policy of ${user.url} (digest ${served.digest}); ` +
      'set PARLEY_POLICY_FILE to the file the node loads',
  );
}

interface Registration {
  partyId: string;
  name: string;
  inboxUrl: string;
  jwks: { keys: { kid?: string }[] };
}

/**
 * Registers `partner` on `admin`'s node. A partner already there (an earlier seed) is brought up
 * to date instead of refused: the demo listens on a new port each run, and a fresh demo folder
 * means fresh keys.
 */
async function ensurePartner(admin: NodeApi, partner: Registration): Promise<string> {
  const added = await admin.expect('POST', '/v1/admin/partners', partner, [201, 409]);
  if (added.status === 201) return 'registered';
  const route = `/v1/admin/partners/${partner.partyId}`;
  const current = (await admin.expect('GET', route, undefined, [200])).body as {
    inboxUrl: string;
    keys: { kid: string }[];
  };
  const changes: string[] = [];
  if (current.inboxUrl !== partner.inboxUrl) {
    await admin.expect('PATCH', route, { inboxUrl: partner.inboxUrl }, [200]);
    changes.push('inbox moved');
  }
  const known = new Set(current.keys.map((k) => k.kid));
  const missing = partner.jwks.keys.filter((k) => !k.kid || !known.has(k.kid));
  if (missing.length) {
    await admin.expect('POST', `${route}/keys`, { jwks: { keys: missing } }, [201]);
    changes.push(`${missing.length} key(s) added`);
  }
  return changes.length ? `already registered (${changes.join(', ')})` : 'already registered';
}

async function registration(node: NodeApi, partyId: string, name: string): Promise<Registration> {
  const jwks = await node.expect('GET', '/.well-known/jwks.json', undefined, [200]);
  return {
    partyId,
    name,
    inboxUrl: `${node.url}/v1/messages`,
    jwks: jwks.body as Registration['jwks'],
  };
}

/** A token from the development issuer in `dataDir`, for a node with those auth settings. */
function mint(
  dataDir: string,
  auth: { issuer: string; audience: string; rolesClaim: string },
  sub: string,
  roles: Role[],
): Promise<string> {
  return mintDevToken({ dataDir, ...auth, sub, roles, ttlSeconds: 3600 });
}

// ---------------------------------------------------------------------------------------------
// Driving one request

interface Sides {
  user: NodeApi;
  demo: NodeApi;
  party: string;
  partner: string;
  timeoutMs: number;
}

interface Planned {
  index: number;
  direction: SeedDirection;
  target: SeedTarget;
  type: RequestType;
  priority: Priority;
}

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

/** Creates the request on the requester's side; returns its id. */
async function create(s: Sides, p: Planned): Promise<string> {
  const [requester, counterparty] = p.direction === 'out' ? [s.user, s.partner] : [s.demo, s.party];
  const titles = TITLES[p.type];
  const title = titles[p.index % titles.length]!;
  const created = await requester.expect(
    'POST',
    '/v1/requests',
    { type: p.type, counterparty, priority: p.priority, subject: subjectFor(p.type, title) },
    [201],
  );
  return (created.body as { id: string }).id;
}

/**
 * Takes the officers' actions that lead to `p.target`: the responder's on the side that received
 * the request, the requester's on the side that sent it. Each side acts only on what it holds, so
 * it first waits for the request (or the partner's answer) to arrive.
 */
async function drive(s: Sides, p: Planned, id: string): Promise<void> {
  const [requester, responder] = p.direction === 'out' ? [s.user, s.demo] : [s.demo, s.user];
  const wait = async (api: NodeApi, pred: (r: RequestDetail) => boolean, what: string) => {
    const { ok, last } = await until(api, id, pred, s.timeoutMs);
    if (!ok) throw new Error(`${api.name}: still ${last?.status ?? 'absent'}, waiting for ${what}`);
  };
  if (p.target === 'submitted') return;
  await wait(responder, () => true, 'the request to arrive');
  // Withdrawn once the partner holds it, as an officer would after noticing a duplicate.
  if (p.target === 'withdrawn') {
    await wait(requester, (r) => r.status === 'delivered', 'the receipt');
    await requester.act(id, 'withdraw', {
      reason: 'Raised twice by mistake; see the later request',
    });
    return;
  }
  if (p.target === 'delivered') return;
  if (p.target === 'declined') {
    await responder.act(id, 'decline', {
      reason: 'The area lies outside the records this office holds',
    });
    return;
  }
  await responder.act(id, 'acknowledge', {
    expected_by: inDays(10),
    note: 'Archive search started',
  });
  switch (p.target) {
    case 'acknowledged':
      return;
    case 'clarification open':
      await responder.act(id, 'clarification-requests', {
        questions: ['Which survey year do the coordinates refer to?'],
      });
      return;
    case 'extension requested':
      await responder.act(id, 'extension-requests', {
        reason: 'The regional archive is closed for inventory until next month',
        proposed_deadline: inDays(45),
      });
      return;
    case 'partially_answered':
      await responder.respond(id, partialFor(p.type));
      return;
    default:
  }
  // Answered, closed, reopened: a final answer, some with nothing found.
  await responder.respond(id, p.index % 4 === 3 ? notFoundFor(p.type) : finalFor(p.type));
  if (p.target === 'answered') return;
  await wait(requester, (r) => r.status === 'answered', 'the final answer');
  await requester.act(
    id,
    'close',
    p.target === 'closed'
      ? { outcome: 'accepted' }
      : { outcome: 'incomplete', reason: 'The records for the southern area are missing' },
  );
}

async function seedOne(s: Sides, p: Planned): Promise<SeededRequest> {
  const row: SeededRequest = {
    id: '',
    direction: p.direction,
    type: p.type,
    priority: p.priority,
    target: p.target,
    status: '',
    reached: false,
  };
  try {
    row.id = await create(s, p);
    await drive(s, p, row.id);
    // Whatever the last action was, the user's node is where it must show.
    const { ok, last } = await until(s.user, row.id, reachedOn(p.target), s.timeoutMs);
    row.reached = ok;
    row.status = last?.status ?? 'absent';
    if (!ok) row.error = `not ${p.target} on ${s.party} within ${s.timeoutMs / 1000} s`;
  } catch (err) {
    row.error = err instanceof Error ? err.message : String(err);
    if (row.id) {
      const now = await s.user.call('GET', `/v1/requests/${row.id}`);
      row.status = now.status === 200 ? (now.body as RequestDetail).status : 'absent';
    }
  }
  return row;
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order of the results. */
async function pooled<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The plan for `n` requests: PLAN in turn, types and priorities rotating independently of it. */
export function planSeed(n: number, keepPartner: boolean): Planned[] {
  // With the partner kept running a request would not stay submitted: it is delivered at once.
  const plan = keepPartner ? PLAN.filter(([, t]) => t !== 'submitted') : PLAN;
  return Array.from({ length: n }, (_, index) => {
    const [direction, target] = plan[index % plan.length]!;
    return {
      index,
      direction,
      target,
      type: TYPES[(index + Math.floor(index / plan.length)) % TYPES.length]!,
      priority: PRIORITIES[Math.floor(index / TYPES.length) % PRIORITIES.length]!,
    };
  });
}

/** Waits (bounded) until the user's node has delivered everything it owes the demo partner. */
async function drainOutbox(user: NodeApi, partner: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await user.call('GET', `/v1/outbox?status=pending&partner=${partner}&limit=1000`);
    // Only admins and supervisors see the outbox; without it there is nothing to wait on.
    if (res.status !== 200) return 0;
    const pending = (res.body as { items: unknown[] }).items.length;
    if (pending === 0 || Date.now() > deadline) return pending;
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------
// The whole seed

export async function runSeed(opts: SeedOptions): Promise<SeedResult> {
  const partner = PartyId.parse(opts.partner ?? 'party-demo');
  const n = opts.count ?? 36;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const say = opts.progress ?? (() => undefined);
  const user = new NodeApi('your node', opts.url.replace(/\/+$/, ''), opts.token);

  const health = await user.expect('GET', '/healthz', undefined, [200]).catch((err: unknown) => {
    if (err instanceof ApiError || err instanceof UnreachableError) throw err;
    throw new Error(`cannot reach your node at ${user.url} (is \`npm start\` running?)`, {
      cause: err,
    });
  });
  const party = (health.body as { party: string }).party;
  if (party === partner) throw new Error(`the demo partner must not be ${party} itself`);

  const demoDir = path.join(path.resolve(opts.dataDir), `seed-${partner}`);
  const firstRun = !(await fs.stat(path.join(demoDir, 'pglite')).catch(() => undefined));
  await fs.mkdir(demoDir, { recursive: true });
  const config = loadConfig({
    ...opts.temporalEnv,
    PARTY_ID: partner,
    HOST: '127.0.0.1',
    PORT: '0',
    PARLEY_DATA_DIR: demoDir,
    PARLEY_POLICY_FILE: await policyFileFor(user, demoDir),
    TEMPORAL_ADDRESS: opts.temporalAddress,
    TEMPORAL_NAMESPACE: opts.namespace ?? `parley-${partner}`,
    // Short, so a delivery that failed while your node was busy is retried within the run.
    DELIVERY_MAX_BACKOFF_SECONDS: '5',
  });
  say(
    `starting demo partner ${partner} (data ${demoDir}, Temporal ${opts.temporalAddress}, ` +
      `namespace ${config.temporal.namespace})` +
      (opts.workflowBundlePath ? '' : '; bundling its workflows takes a few seconds') +
      (firstRun ? '; first run: creating its database' : ''),
  );
  const log = opts.log ?? pino({ level: 'error', base: { party: partner } }, pino.destination(2));
  const node = await startNode(config, {
    log,
    ...(opts.workflowBundlePath ? { workflowBundlePath: opts.workflowBundlePath } : {}),
  });
  let keep = false;
  try {
    const demoToken = await mint(demoDir, config.auth, 'officer-demo', [
      'officer',
      'supervisor',
      'admin',
    ]);
    const demo = new NodeApi(partner, node.url, demoToken);
    say(`demo partner ${partner} is up at ${node.url}`);

    const onUser = await ensurePartner(
      user,
      await registration(demo, partner, `Demo partner (${partner}, from parley seed)`),
    );
    say(`${partner} on ${party}: ${onUser}`);
    const onDemo = await ensurePartner(demo, await registration(user, party, `Node of ${party}`));
    say(`${party} on ${partner}: ${onDemo}`);

    // Both sides answer requests, so both hold the files their records refer to.
    await Promise.all([user.uploadFixtureFiles(), demo.uploadFixtureFiles()]);
    const refused = [...new Set([...user.refusedFiles, ...demo.refusedFiles])];
    if (refused.length)
      say(`${refused.length} fixture file(s) not accepted (media type); records go without them`);

    const sides: Sides = { user, demo, party, partner, timeoutMs };
    const plan = planSeed(n, opts.keepPartner ?? false);
    const live = plan.filter((p) => p.target !== 'submitted');
    const later = plan.filter((p) => p.target === 'submitted');
    say(`creating ${plan.length} requests and driving each to its state…`);
    const rows = await pooled(live, opts.concurrency ?? 6, (p) => seedOne(sides, p));

    const pending = await drainOutbox(user, partner, 10_000);
    if (opts.keepPartner) {
      keep = true;
    } else {
      say(`stopping demo partner ${partner}`);
      await node.stop();
    }
    if (pending) say(`${pending} message(s) to ${partner} still wait in your node's outbox`);
    // Created once the partner is gone, so they stay submitted: their requests wait in the outbox.
    rows.push(...(await pooled(later, opts.concurrency ?? 6, (p) => seedOne(sides, p))));

    const order = new Map(plan.map((p, i) => [p, i]));
    const byPlan = [...live, ...later].map((p, i) => ({ p, row: rows[i]! }));
    byPlan.sort((x, y) => order.get(x.p)! - order.get(y.p)!);
    return {
      party,
      partner,
      partnerUrl: node.url,
      requests: byPlan.map((x) => x.row),
      partnerNode: keep ? node : undefined,
    };
  } finally {
    if (!keep) await node.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Output and the command

/** The table of what was created, one request per line. */
export function formatSeedTable(result: SeedResult): string {
  const header = ['#', 'direction', 'type', 'priority', 'state', `status on ${result.party}`, 'id'];
  const lines = result.requests.map((r, i) => [
    String(i + 1),
    r.direction === 'out' ? `to ${result.partner}` : `from ${result.partner}`,
    r.type,
    r.priority,
    r.target,
    r.reached ? r.status : `${r.status || '-'} (!)`,
    r.id || '-',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const fmt = (cells: string[]) =>
    cells
      .map((v, c) => v.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n') + '\n';
}

const SeedArgs = z.object({
  partner: PartyId,
  count: z.coerce.number().int().min(1).max(500),
  'temporal-address': z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'host:port, e.g. 127.0.0.1:7233'),
  timeout: z.coerce.number().int().min(1).max(3600),
  concurrency: z.coerce.number().int().min(1).max(50),
  'keep-partner': z.boolean(),
});

export const USAGE =
  'usage: parley seed [--partner party-demo] [--count 36] [--temporal-address 127.0.0.1:7233]\n' +
  '                   [--keep-partner] [--timeout 60] [--concurrency 6]\n';

export async function seedCommand(argv: string[]): Promise<number> {
  const env = Env.pick({
    PARLEY_DATA_DIR: true,
    TEMPORAL_DEV_PORT: true,
    AUTH_ISSUER: true,
    AUTH_AUDIENCE: true,
    AUTH_ROLES_CLAIM: true,
  }).parse(process.env);
  const { values } = parseArgs({
    args: argv,
    options: {
      partner: { type: 'string', default: 'party-demo' },
      count: { type: 'string', default: '36' },
      // The demo partner needs a Temporal service; the user's node already runs one.
      'temporal-address': {
        type: 'string',
        default: process.env.TEMPORAL_ADDRESS || `127.0.0.1:${env.TEMPORAL_DEV_PORT}`,
      },
      timeout: { type: 'string', default: '60' },
      concurrency: { type: 'string', default: '6' },
      'keep-partner': { type: 'boolean', default: false },
    },
  });
  const args = SeedArgs.safeParse(values);
  if (!args.success) {
    process.stderr.write(
      args.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n') + '\n' + USAGE,
    );
    return 2;
  }
  const a = args.data;
  const dataDir = path.resolve(env.PARLEY_DATA_DIR);
  const sub = `seed:${process.env.USER ?? 'operator'}`;
  // Admin to register the partner, officer to act on requests: PARLEY_TOKEN must carry both.
  const token =
    process.env.PARLEY_TOKEN ??
    (await mint(
      dataDir,
      { issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE, rolesClaim: env.AUTH_ROLES_CLAIM },
      sub,
      ['admin', 'officer', 'supervisor'],
    ));
  const temporalEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => /^TEMPORAL_(API_KEY|TLS\w*)$/.test(k)),
  );
  const started = Date.now();
  const result = await runSeed({
    url: nodeUrl(),
    token,
    dataDir,
    temporalAddress: a['temporal-address'],
    temporalEnv,
    partner: a.partner,
    count: a.count,
    keepPartner: a['keep-partner'],
    timeoutMs: a.timeout * 1000,
    concurrency: a.concurrency,
    progress: (line) => process.stderr.write(`seed: ${line}\n`),
  });

  process.stdout.write('\n' + formatSeedTable(result) + '\n');
  const out = result.requests.filter((r) => r.direction === 'out').length;
  const failed = result.requests.filter((r) => !r.reached);
  process.stdout.write(
    `${result.requests.length} requests (${out} to ${result.partner}, ` +
      `${result.requests.length - out} from it) in ${Math.round((Date.now() - started) / 1000)} s.\n`,
  );
  for (const f of failed)
    process.stderr.write(`seed: ${f.id || '(not created)'} ${f.target}: ${f.error ?? ''}\n`);

  if (!result.partnerNode) {
    process.stdout.write(
      `The demo partner ${result.partner} is stopped: what your node sends it (the submitted ` +
        `requests, later actions) waits in your outbox (GET /v1/outbox) and is delivered when ` +
        `\`parley seed\` runs again.\n`,
    );
    return failed.length ? 1 : 0;
  }
  const demo = result.partnerNode;
  process.stdout.write(
    `The demo partner ${result.partner} keeps running at ${result.partnerUrl}; Ctrl-C stops it.\n`,
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = () => {
      // npm and tsx relay Ctrl-C again: one stop is enough.
      if (stopping) return;
      stopping = true;
      void demo.stop().then(() => resolve(failed.length ? 1 : 0));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
