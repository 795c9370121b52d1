// `parley request create|list|show|act|respond|attach`: the officers' CLI, through the same HTTP API
// officers' browsers use (/v1/requests, its action routes, PUT /v1/attachments/sha256:…).
// Writes carry an Idempotency-Key (generated, or --idempotency-key), so a command run again after
// a lost answer is the same operation on the node, never a second one.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ATTACHMENT_REF } from '../../schemas/domain/shared.js';
import { ACTION_ROUTES, ACTIONS, type Action } from '../../workflows/actions.js';
import { bearer, NODE_HINT, nodeUrl, reach, UnreachableError } from '../api-client.js';

export const USAGE = `usage:
  parley request create --body FILE|- [--type T] [--counterparty P] [--priority P] [--subject FILE]
      create and submit a request; the body is POST /v1/requests's (type, counterparty, priority,
      subject); the flags set or override its fields
  parley request list [--status S] [--type T] [--direction incoming|outgoing] [--counterparty P] [--limit N]
  parley request show ID
      the request with its deadlines, items' coverage, clarification items and timeline
  parley request act ID ACTION [--body FILE|-] [--note T] [--reason T] [--outcome accepted|incomplete]
                    [--question T ...] [--answer T ...] [--expected-by ISO] [--proposed-deadline ISO]
                    [--granted | --refused] [--new-deadline ISO]
      ACTION: the route under /v1/requests/ID/: acknowledge, clarification-requests, clarifications,
      extension-requests, extension-decision, responses, decline, withdraw, close; or an action's
      name: ask_clarification, close_accepted (--outcome accepted), respond_final, …;
      the flags set the body's fields (note, reason, outcome, questions, answers, expected_by,
      proposed_deadline, granted, new_deadline), over those of --body
  parley request respond ID --body FILE|- [--files DIR]
      send a response (partial or final, as its "final" says); with --files, the files its records
      refer to are uploaded from DIR first: an attachment {"file_name", "media_type"} without a
      "ref" gets the digest of DIR/file_name, one with a "ref" is found in DIR by its digest
  parley request attach FILE [--media-type TYPE]
      upload a file; prints its reference (sha256:…) to put in a record's attachment
options of every subcommand:
  --json                 the node's answer as JSON on stdout (for scripts), instead of a table
  --verbose              say on stderr what is sent where, with the Idempotency-Key
  --idempotency-key KEY  (create, act, respond) the key of this operation, 8 to 128 of A-Z a-z 0-9 _ . : -;
                         default a new one, printed by --verbose and in --json output: run the
                         command again with it when an answer was lost, and the node does it once
the node is PARLEY_URL (default http://127.0.0.1:$PORT); the token PARLEY_TOKEN, else a development
officer token.
exit code 0 done, 1 the node refused (its code, message and the fields at fault are printed),
2 usage (a missing or bad option, an unreadable body file), 3 the node could not be reached
`;

class UsageError extends Error {}

/** Media types by file extension, for `attach` without --media-type. */
const MEDIA_TYPES: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.geojson': 'application/geo+json',
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.kml': 'application/vnd.google-earth.kml+xml',
  '.zip': 'application/zip',
};

const common = {
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
} as const;

interface Output {
  json: boolean;
  verbose: boolean;
}

interface Answer {
  status: number;
  body: unknown;
}

type Json = Record<string, unknown>;

const say = (text: string) => process.stderr.write(text + '\n');

/** One call to the node as an officer; the body JSON or bytes. */
async function send(
  out: Output,
  method: string,
  route: string,
  opts: { json?: unknown; bytes?: Buffer; contentType?: string; key?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${await bearer(['officer'])}`,
    accept: 'application/json',
  };
  let body: string | Buffer | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.bytes !== undefined) {
    headers['content-type'] = opts.contentType ?? 'application/octet-stream';
    body = opts.bytes;
  }
  if (opts.key !== undefined) headers['idempotency-key'] = opts.key;
  if (out.verbose)
    say(`${method} ${nodeUrl()}${route}${opts.key ? ` (Idempotency-Key: ${opts.key})` : ''}`);
  let res: Response;
  try {
    res = await reach(
      nodeUrl() + route,
      { method, headers, ...(body !== undefined ? { body } : {}) },
      NODE_HINT,
    );
  } catch (err) {
    if (err instanceof UnreachableError && opts.key)
      say(`(to try again as the same operation: --idempotency-key ${opts.key})`);
    throw err;
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  if (out.verbose) say(`HTTP ${res.status}`);
  return { status: res.status, body: parsed };
}

const ok = (a: Answer) => a.status >= 200 && a.status < 300;

/** A refusal in words: the code, what the node said, each field at fault; exit code 1. */
function refused(out: Output, a: Answer, key?: string): number {
  const p = (typeof a.body === 'object' && a.body !== null ? a.body : {}) as {
    code?: unknown;
    detail?: unknown;
    errors?: { path?: unknown; message?: unknown }[];
  };
  if (typeof p.code === 'string') {
    say(`refused: ${p.code} (HTTP ${a.status}): ${str(p.detail)}`);
    for (const e of p.errors ?? []) say(`  ${str(e.path)}: ${str(e.message)}`);
  } else {
    say(
      `refused: HTTP ${a.status}: ${typeof a.body === 'string' ? a.body : JSON.stringify(a.body)}`,
    );
  }
  // A 5xx may have happened or not: the same key makes the retry the same operation.
  if (key && a.status >= 500) say(`(to try again as the same operation: --idempotency-key ${key})`);
  if (out.json) process.stdout.write(JSON.stringify(a.body, null, 2) + '\n');
  return 1;
}

async function readBody(file: string): Promise<Json> {
  let text: string;
  try {
    if (file === '-') {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    } else text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UsageError(`${file} must hold a JSON object`);
  return value as Json;
}

function idempotencyKey(given: string | undefined): string {
  if (given === undefined) return `cli-${crypto.randomUUID()}`;
  if (!/^[A-Za-z0-9_.:-]{8,128}$/.test(given))
    throw new UsageError('--idempotency-key takes 8 to 128 characters: letters, digits, _ . : -');
  return given;
}

/** Columns padded to their widest cell. */
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

const str = (v: unknown): string =>
  v === null || v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v);
const titleOf = (r: Json) =>
  str((r.subject as { title?: unknown } | null | undefined)?.title ?? null);

/** The next deadline a request has, with what it is for. */
function due(r: Json): string {
  const d = r.status === 'delivered' && r.ackDueAt ? r.ackDueAt : r.responseDueAt;
  return d ? `${str(d)}${r.overdue === true ? ' OVERDUE' : ''}` : '-';
}

function listTable(items: Json[]): string {
  if (items.length === 0) return 'no requests\n';
  return table(
    ['ID', 'TYPE', 'DIR', 'COUNTERPARTY', 'STATUS', 'DUE', 'TITLE'],
    items.map((r) => [
      str(r.id),
      str(r.type),
      str(r.direction),
      str(r.counterparty),
      str(r.status),
      due(r),
      titleOf(r),
    ]),
  );
}

function showText(r: Json): string {
  const fields: [string, unknown][] = [
    ['id', r.id],
    ['title', titleOf(r)],
    ['type', r.type],
    ['direction', r.direction],
    ['requester', r.requester],
    ['responder', r.responder],
    ['priority', r.priority],
    ['status', r.status],
    ['overdue', r.overdue],
    ['created', r.createdAt],
    ['received', r.receiptAt],
    ['ack due', r.ackDueAt],
    ['response due', r.responseDueAt],
  ];
  let text = fields.map(([k, v]) => `${(k + ':').padEnd(14)}${str(v)}`).join('\n') + '\n';
  const refusal = r.partnerRefusal as Json | null | undefined;
  if (refusal)
    text += `partner refused our ${str(refusal.kind)} ${str(refusal.msgId)}: ${str(refusal.code)}\n`;
  const undelivered = (r.undelivered as Json[] | undefined) ?? [];
  if (undelivered.length)
    text += `\nnot yet accepted by the partner:\n${table(
      ['MESSAGE', 'KIND', 'SINCE', 'ATTEMPTS', 'LAST ERROR'],
      undelivered.map((u) => [
        str(u.msgId),
        str(u.kind),
        str(u.since),
        str(u.attempts),
        str(u.lastError),
      ]),
    )}`;
  const coverage = (r.coverage as Json[] | undefined) ?? [];
  const items = (r.subject as { items?: Json[] } | null)?.items ?? [];
  if (coverage.length || items.length) {
    const kinds = new Map(items.map((i) => [str(i.item_id), str(i.kind)]));
    const rows = coverage.length
      ? coverage.map((c) => [
          str(c.item_id),
          kinds.get(str(c.item_id)) ?? '-',
          str(c.state),
          ((c.by as string[] | undefined) ?? []).join(',') || str(c.reason),
        ])
      : items.map((i) => [str(i.item_id), str(i.kind), '-', '-']);
    text += `\nitems:\n${table(['ITEM', 'KIND', 'COVERAGE', 'BY'], rows)}`;
  }
  const gaps = (r.clarificationItems as Json[] | undefined) ?? [];
  if (gaps.length)
    text += `\nclarification items:\n${table(
      ['MESSAGE', 'CODE', 'PATH', 'WHAT'],
      gaps.map((g) => [str(g.msg_id), str(g.code), str(g.path), str(g.message)]),
    )}`;
  const timeline = (r.timeline as Json[] | undefined) ?? [];
  if (timeline.length)
    text += `\ntimeline:\n${table(
      ['SEQ', 'AT', 'EVENT', 'ACTOR', 'STATUS'],
      timeline.map((e) => [str(e.seq), str(e.at), str(e.type), str(e.actor), str(e.status)]),
    )}`;
  return text;
}

/** What an action did, for people. */
function actedText(a: Json): string {
  const req = (a.request ?? {}) as Json;
  let text = `${str(req.id)}  ${str(a.status)}  message ${str(a.msgId)} (${str(a.digest)})\n`;
  const gaps = (a.clarification_items as Json[] | undefined) ?? [];
  if (gaps.length)
    text += `gaps against the legal minimums (clarification items):\n${table(
      ['CODE', 'PATH', 'WHAT'],
      gaps.map((g) => [str(g.code), str(g.path), str(g.message)]),
    )}`;
  return text;
}

/** The route path of ACTION, given as a path or as an action's name (`close_accepted`…). */
function actionPath(given: string): { path: string; implied: Json } {
  const route = ACTION_ROUTES.find((r) => r.path === given);
  if (route) return { path: route.path, implied: {} };
  const name = given.replaceAll('-', '_') as Action;
  const spec = Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
  if (!spec)
    throw new UsageError(
      `no action ${given}; one of ${ACTION_ROUTES.map((r) => r.path).join(', ')}`,
    );
  // The names that stand for one body of a shared route say so in the body.
  const implied: Json =
    name === 'close_accepted'
      ? { outcome: 'accepted' }
      : name === 'close_incomplete'
        ? { outcome: 'incomplete' }
        : name === 'respond_final'
          ? { final: true }
          : name === 'respond_partial'
            ? { final: false }
            : {};
  return { path: spec.path, implied };
}

/** Writes an answer: JSON (with the key used) or the text for people. */
function print(out: Output, body: unknown, text: string, key?: string): number {
  if (out.json) {
    const value =
      key !== undefined && typeof body === 'object' && body !== null
        ? { ...(body as Json), idempotencyKey: key }
        : body;
    process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  } else process.stdout.write(text);
  return 0;
}

interface Uploaded {
  ref: string;
  media_type: string;
  file_name: string;
  size: number;
  created: boolean;
}

async function upload(
  out: Output,
  file: string,
  bytes: Buffer,
  mediaType: string,
): Promise<Uploaded | Answer> {
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  const a = await send(out, 'PUT', `/v1/attachments/sha256:${sha256}`, {
    bytes,
    contentType: mediaType,
  });
  if (!ok(a)) return a;
  return {
    ref: `sha256:${sha256}`,
    media_type: mediaType,
    file_name: path.basename(file),
    size: bytes.length,
    created: a.status === 201,
  };
}

/** Attachment references in a body: objects with a media type and a file name. */
function attachmentRefs(value: unknown): Json[] {
  const found: Json[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      const o = v as Json;
      if (typeof o.media_type === 'string' && typeof o.file_name === 'string') found.push(o);
      else Object.values(o).forEach(walk);
    }
  };
  walk(value);
  return found;
}

/**
 * Uploads from `dir` the files the body's attachments refer to: by file name for a reference
 * without `ref` (which it fills in), by digest for one with. Returns the node's refusal, if any.
 */
async function uploadReferenced(out: Output, body: Json, dir: string): Promise<Answer | undefined> {
  let names: string[];
  try {
    names = (await fs.readdir(dir, { withFileTypes: true }))
      .filter((d) => d.isFile())
      .map((d) => d.name);
  } catch (err) {
    throw new UsageError(`cannot read --files ${dir}: ${(err as Error).message}`);
  }
  const byDigest = new Map<string, { name: string; bytes: Buffer }>();
  for (const name of names) {
    const bytes = await fs.readFile(path.join(dir, name));
    byDigest.set(`sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`, {
      name,
      bytes,
    });
  }
  const done = new Set<string>();
  for (const ref of attachmentRefs(body)) {
    let file: { name: string; bytes: Buffer } | undefined;
    if (ref.ref === undefined) {
      const name = String(ref.file_name);
      if (!names.includes(name))
        throw new UsageError(`an attachment names ${name}, which is not a file in ${dir}`);
      file = { name, bytes: await fs.readFile(path.join(dir, name)) };
      ref.ref = `sha256:${crypto.createHash('sha256').update(file.bytes).digest('hex')}`;
    } else if (typeof ref.ref === 'string' && ATTACHMENT_REF.test(ref.ref)) {
      // Not in the folder: perhaps uploaded before (`attach`); the node says if not.
      file = byDigest.get(ref.ref);
    }
    if (!file || done.has(String(ref.ref))) continue;
    done.add(String(ref.ref));
    const up = await upload(out, file.name, file.bytes, String(ref.media_type));
    if ('status' in up) return up;
    if (out.verbose) say(`uploaded ${file.name} as ${up.ref}`);
  }
  return undefined;
}

async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        ...common,
        body: { type: 'string' },
        type: { type: 'string' },
        counterparty: { type: 'string' },
        priority: { type: 'string' },
        subject: { type: 'string' },
        'idempotency-key': { type: 'string' },
      },
    });
    if (positionals.length) throw new UsageError(`unexpected ${positionals.join(' ')}`);
    const out = { json: !!values.json, verbose: !!values.verbose };
    if (!values.body && !(values.type && values.counterparty && values.subject))
      throw new UsageError('--body FILE is required (or --type, --counterparty and --subject)');
    const body: Json = values.body ? await readBody(values.body) : {};
    if (values.type) body.type = values.type;
    if (values.counterparty) body.counterparty = values.counterparty;
    if (values.priority) body.priority = values.priority;
    if (values.subject) body.subject = await readBody(values.subject);
    const key = idempotencyKey(values['idempotency-key']);
    const a = await send(out, 'POST', '/v1/requests', { json: body, key });
    if (!ok(a)) return refused(out, a, key);
    const r = a.body as Json;
    return print(out, r, `${str(r.id)}  ${str(r.status)}  ${titleOf(r)}\n`, key);
  }
  if (sub === 'list') {
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        ...common,
        status: { type: 'string' },
        type: { type: 'string' },
        direction: { type: 'string' },
        counterparty: { type: 'string' },
        limit: { type: 'string' },
      },
    });
    if (positionals.length) throw new UsageError(`unexpected ${positionals.join(' ')}`);
    const out = { json: !!values.json, verbose: !!values.verbose };
    const query = new URLSearchParams();
    for (const k of ['status', 'type', 'direction', 'counterparty', 'limit'] as const) {
      const v = values[k];
      if (v !== undefined) query.set(k, v);
    }
    const q = query.toString();
    const a = await send(out, 'GET', `/v1/requests${q ? `?${q}` : ''}`);
    if (!ok(a)) return refused(out, a);
    return print(out, a.body, listTable((a.body as { items: Json[] }).items));
  }
  if (sub === 'show') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: common,
    });
    const out = { json: !!values.json, verbose: !!values.verbose };
    if (positionals.length !== 1) throw new UsageError('show takes one request ID');
    const a = await send(out, 'GET', `/v1/requests/${encodeURIComponent(positionals[0]!)}`);
    if (!ok(a)) return refused(out, a);
    return print(out, a.body, showText(a.body as Json));
  }
  if (sub === 'act' || sub === 'respond') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        ...common,
        body: { type: 'string' },
        'idempotency-key': { type: 'string' },
        ...(sub === 'respond'
          ? { files: { type: 'string' } }
          : {
              note: { type: 'string' },
              reason: { type: 'string' },
              outcome: { type: 'string' },
              question: { type: 'string', multiple: true },
              answer: { type: 'string', multiple: true },
              'expected-by': { type: 'string' },
              'proposed-deadline': { type: 'string' },
              granted: { type: 'boolean' },
              refused: { type: 'boolean' },
              'new-deadline': { type: 'string' },
            }),
      },
    });
    const out = { json: !!values.json, verbose: !!values.verbose };
    const v = values as Record<string, string | string[] | boolean | undefined>;
    let route: { path: string; implied: Json };
    let body: Json;
    if (sub === 'respond') {
      if (positionals.length !== 1) throw new UsageError('respond takes one request ID');
      if (!values.body) throw new UsageError('--body FILE (the response) is required');
      route = { path: 'responses', implied: {} };
      body = await readBody(values.body);
    } else {
      if (positionals.length !== 2) throw new UsageError('act takes a request ID and an ACTION');
      route = actionPath(positionals[1]!);
      body = { ...(values.body ? await readBody(values.body) : {}), ...route.implied };
      const flags: [string, string][] = [
        ['note', 'note'],
        ['reason', 'reason'],
        ['outcome', 'outcome'],
        ['expected-by', 'expected_by'],
        ['proposed-deadline', 'proposed_deadline'],
        ['new-deadline', 'new_deadline'],
        ['question', 'questions'],
        ['answer', 'answers'],
      ];
      for (const [flag, field] of flags) if (v[flag] !== undefined) body[field] = v[flag];
      if (v.granted && v.refused) throw new UsageError('either --granted or --refused');
      if (v.granted || v.refused) body.granted = !!v.granted;
    }
    const id = positionals[0]!;
    if (sub === 'respond' && typeof v.files === 'string') {
      const refusal = await uploadReferenced(out, body, v.files);
      if (refusal) return refused(out, refusal);
    }
    const key = idempotencyKey(values['idempotency-key']);
    const a = await send(out, 'POST', `/v1/requests/${encodeURIComponent(id)}/${route.path}`, {
      json: body,
      key,
    });
    if (!ok(a)) return refused(out, a, key);
    return print(out, a.body, actedText(a.body as Json), key);
  }
  if (sub === 'attach') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { ...common, 'media-type': { type: 'string' } },
    });
    const out = { json: !!values.json, verbose: !!values.verbose };
    if (positionals.length !== 1) throw new UsageError('attach takes one FILE');
    const file = positionals[0]!;
    const mediaType = values['media-type'] ?? MEDIA_TYPES[path.extname(file).toLowerCase()];
    if (!mediaType)
      throw new UsageError(
        `say the media type of ${file} with --media-type (e.g. application/pdf)`,
      );
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
    }
    const up = await upload(out, file, bytes, mediaType);
    if ('status' in up) return refused(out, up);
    if (out.verbose)
      say(`${up.created ? 'stored' : 'already stored'}: ${up.file_name}, ${up.size} bytes`);
    return print(out, up, `${up.ref}\n`);
  }
  throw new UsageError(sub === undefined ? '' : `no subcommand ${sub}`);
}

export async function requestCommand(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message ? `parley request: ${err.message}\n` : ''}${USAGE}`);
    return 2;
  }
}
