// A model of two nodes running the convergence rule over a hostile network: each node signs its
// actions in conversation order on what it holds (as the outbox does under the conversation lock),
// its inbox takes messages only in seq order and receipts them with how many it had sent, and the
// network delays, reorders and duplicates every message and receipt. Scenarios are data (a list
// of commands), so a failing one can be kept as a regression case.
import { ACTIONS, refusal, type Action, type Side } from '../../workflows/actions.js';
import {
  contiguous,
  settle,
  type ConvMessage,
  type ConversationState,
  type MessageFacts,
  type Settled,
} from '../../workflows/conversation.js';
import { isTerminal } from '../../workflows/lifecycle.js';

export type Command =
  | { t: 'act'; side: Side; pick: number; variant: number }
  | { t: 'deliver'; to: Side; pick: number; dup: boolean }
  | { t: 'receipt'; to: Side; pick: number; dup: boolean }
  | { t: 'tick'; by: number };

interface Node {
  side: Side;
  own: ConvMessage[];
  partner: Map<number, ConvMessage>;
  /** From receipts: how many messages the partner had sent when it stored ours, by our seq. */
  partnerSent: Map<number, number>;
}

export interface World {
  clock: number;
  nodes: Record<Side, Node>;
  /** Messages on their way to a side. */
  inFlight: Record<Side, ConvMessage[]>;
  /** Receipts on their way back to a side: [seq of its message, receivedAt, sent]. */
  receipts: Record<Side, [number, string, number][]>;
  /** Snapshots taken when a node believed nothing could change any more. */
  settledSnapshots: { side: Side; state: string }[];
  msgCounter: number;
}

const iso = (t: number) => new Date(Date.UTC(2026, 0, 5) + t * 1000).toISOString();
const other = (s: Side): Side => (s === 'requester' ? 'responder' : 'requester');

/** Ack due 50 s and response due 300 s after the receipt, plus pauses: enough to exercise onTime. */
export function dueAt(kind: 'acknowledgement' | 'response', s: ConversationState): string | null {
  if (!s.receiptAt) return null;
  const base = Date.parse(s.receiptAt) + (kind === 'acknowledgement' ? 50_000 : 300_000);
  const paused = s.pauses.reduce(
    (sum, p) => sum + (p.to ? Date.parse(p.to) - Date.parse(p.from) : 0),
    0,
  );
  return new Date(base + (kind === 'response' ? paused : 0)).toISOString();
}

export function newWorld(): World {
  const world: World = {
    clock: 0,
    nodes: {
      requester: { side: 'requester', own: [], partner: new Map(), partnerSent: new Map() },
      responder: { side: 'responder', own: [], partner: new Map(), partnerSent: new Map() },
    },
    inFlight: { requester: [], responder: [] },
    receipts: { requester: [], responder: [] },
    settledSnapshots: [],
    msgCounter: 0,
  };
  sign(world, 'requester', 'request', {});
  return world;
}

export function fold(world: World, side: Side): Settled {
  const n = world.nodes[side];
  const theirs = contiguous(n.partner);
  const [req, resp] = side === 'requester' ? [n.own, theirs] : [theirs, n.own];
  return settle(side, req, resp, dueAt);
}

function sign(world: World, side: Side, kind: ConvMessage['kind'], facts: MessageFacts): void {
  const n = world.nodes[side];
  world.msgCounter += 1;
  const m: ConvMessage = {
    from: side,
    seq: n.own.length + 1,
    seen: contiguous(n.partner).length,
    msgId: `${side[3]}${String(world.msgCounter).padStart(3, '0')}`,
    digest: `d${world.msgCounter}`,
    kind,
    sentAt: iso(world.clock),
    receivedAt: null,
    facts,
  };
  n.own.push(m);
  world.inFlight[other(side)].push(m);
}

/** The bodies an officer may send for an action, by variant. */
function factsFor(action: Action, variant: number, clock: number): MessageFacts {
  switch (action) {
    case 'respond_final':
      return { final: true };
    case 'respond_partial':
      return { final: false };
    case 'close_accepted':
      return { outcome: 'accepted' };
    case 'close_incomplete':
      return { outcome: 'incomplete' };
    case 'request_extension':
      return { proposed_deadline: iso(clock + 1000 + variant) };
    case 'decide_extension':
      return variant % 2 === 0
        ? { granted: true, new_deadline: iso(clock + 2000) }
        : { granted: false };
    default:
      return {};
  }
}

const ALL_ACTIONS = Object.keys(ACTIONS) as Action[];

/** What an officer of `side` may do now, on what its node holds (the update validator's check). */
export function allowedActions(world: World, side: Side): Action[] {
  // The responder's node knows of the request only once it has received it.
  if (side === 'responder' && !world.nodes.responder.partner.has(1)) return [];
  const state = fold(world, side).state;
  return ALL_ACTIONS.filter((a) => !refusal(state.lifecycle, side, a));
}

/** The node's inbox: stores a message only in seq order, and receipts it. */
function receive(world: World, to: Side, m: ConvMessage): void {
  const n = world.nodes[to];
  const have = n.partner.get(m.seq);
  if (!have && m.seq !== contiguous(n.partner).length + 1) return; // sequence_gap: sender retries
  const receivedAt = have?.receivedAt ?? iso(world.clock);
  if (!have) n.partner.set(m.seq, { ...m, receivedAt });
  // A replay gets the original receipt again.
  const sent = have ? (receiptSent.get(`${to}:${m.seq}`) ?? n.own.length) : n.own.length;
  receiptSent.set(`${to}:${m.seq}`, sent);
  world.receipts[m.from].push([m.seq, receivedAt, sent]);
}
const receiptSent = new Map<string, number>();

function takeReceipt(world: World, to: Side, r: [number, string, number]): void {
  const n = world.nodes[to];
  const [seq, receivedAt, sent] = r;
  const m = n.own[seq - 1]!;
  n.own[seq - 1] = { ...m, receivedAt };
  n.partnerSent.set(seq, sent);
}

/**
 * What a node knows for sure: it has ended, all of its messages are receipted, and every message
 * the partner had sent before receipting them is here.
 */
export function believesSettled(world: World, side: Side): boolean {
  const n = world.nodes[side];
  if (!isTerminal(fold(world, side).state.lifecycle.status)) return false;
  if (n.own.some((m) => m.receivedAt === null)) return false;
  const promised = Math.max(0, ...n.partnerSent.values());
  return contiguous(n.partner).length >= promised;
}

function noteSettled(world: World): void {
  for (const side of ['requester', 'responder'] as const) {
    if (world.settledSnapshots.some((s) => s.side === side)) continue;
    if (believesSettled(world, side))
      world.settledSnapshots.push({ side, state: describe(fold(world, side)) });
  }
}

export function run(world: World, cmd: Command): void {
  switch (cmd.t) {
    case 'tick':
      world.clock += cmd.by;
      break;
    case 'act': {
      const allowed = allowedActions(world, cmd.side);
      // Reminders go out only while a deadline binds, as the workflow's timekeeping does.
      const status = fold(world, cmd.side).state.lifecycle.status;
      if (cmd.side === 'requester' && cmd.variant % 7 === 0 && !isTerminal(status)) {
        sign(world, 'requester', 'reminder', {});
        break;
      }
      if (!allowed.length) break;
      // Ending actions (withdraw, decline) mostly wait, so that runs get far into the lifecycle.
      const ending = ['withdraw', 'decline'];
      const pool =
        cmd.variant % 4 === 0 || allowed.every((a) => ending.includes(a))
          ? allowed
          : allowed.filter((a) => !ending.includes(a));
      const action = pool[cmd.pick % pool.length]!;
      sign(world, cmd.side, ACTIONS[action].kind, factsFor(action, cmd.variant, world.clock));
      break;
    }
    case 'deliver': {
      const queue = world.inFlight[cmd.to];
      if (!queue.length) break;
      const i = cmd.pick % queue.length;
      const m = queue[i]!;
      if (!cmd.dup) queue.splice(i, 1);
      receive(world, cmd.to, m);
      if (!world.nodes[cmd.to].partner.has(m.seq) && !cmd.dup) queue.push(m); // retried later
      break;
    }
    case 'receipt': {
      const queue = world.receipts[cmd.to];
      if (!queue.length) break;
      const i = cmd.pick % queue.length;
      const r = queue[i]!;
      if (!cmd.dup) queue.splice(i, 1);
      takeReceipt(world, cmd.to, r);
      break;
    }
  }
  noteSettled(world);
}

/** Delivers everything still on its way, retrying gaps, until the network is quiet. */
export function drain(world: World): void {
  for (let guard = 0; guard < 10_000; guard += 1) {
    const side = (['responder', 'requester'] as const).find(
      (s) => world.inFlight[s].length > 0 || world.receipts[s].length > 0,
    );
    if (!side) return;
    if (world.inFlight[side].length) run(world, { t: 'deliver', to: side, pick: 0, dup: false });
    else run(world, { t: 'receipt', to: side, pick: 0, dup: false });
    world.clock += 1;
  }
  throw new Error('the network did not drain');
}

export function fresh(): World {
  receiptSent.clear();
  return newWorld();
}

/** A settled conversation as comparable text: status, loops, and every message's outcome. */
export function describe(s: Settled): string {
  const lc = s.state.lifecycle;
  return JSON.stringify({
    status: lc.status,
    openClarification: lc.openClarification?.msgId ?? null,
    pendingExtension: lc.pendingExtension?.msgId ?? null,
    extension: s.state.extension,
    pauses: s.state.pauses,
    answered: s.state.answered,
    order: s.order.map((m) => m.msgId),
    outcomes: [...s.outcomes.entries()].sort(([a], [b]) => a.localeCompare(b)),
  });
}
