// The one access policy: which roles may see the content of a request of each type, and what each
// route that returns request data gives a caller of each role. Every such route builds its answer
// through this module, and every answer that holds content is read-audited (api/access-log.ts).
// Pure functions and tables, no I/O; the README's "Who sees what" is this file in words.
import type { RequestType, Role } from '../schemas/common.js';
import type { RequestDetailView, RequestView } from '../schemas/requests-api.js';

/**
 * Who may see the **content** of a request of each type: everything beyond its title, its items'
 * ids and kinds, its status, deadlines and timeline (ids, digests and codes). Content is the
 * subject's structured items and description (case and remains ids, areas, incidents), the
 * responses' records and withheld reasons, the stored messages (tokens and payloads), the files
 * they carry, the GeoJSON export and the full evidence bundle.
 *
 * - mine maps are safety data that supervisors and operators need to follow up: every role;
 * - grave information names missing persons' cases and burial sites: officers and supervisors;
 * - identification results (DNA, the missing and their remains, special-category data): the
 *   party's officers only, who handle them; supervisors and admins follow deadlines and evidence
 *   without them (an evidence bundle by digest, see `evidenceFormFor`).
 */
export const CONTENT_READERS: Readonly<Record<RequestType, readonly Role[]>> = Object.freeze({
  mine_map: ['officer', 'supervisor', 'admin'],
  grave_information: ['officer', 'supervisor'],
  identification_result: ['officer'],
});

/** Whether a caller holding `roles` may see the content of a request of `type`. */
export function maySeeContent(roles: readonly Role[], type: RequestType): boolean {
  return roles.some((r) => CONTENT_READERS[type].includes(r));
}

/**
 * The parts of a request's data an answer can hold, as the read audit names them. Each is content
 * in the sense of `CONTENT_READERS`, except that `temporal_payloads` and `exchange_bundle` belong
 * to no single request: they are the operators' tools (see `ROUTES`).
 */
export const CONTENT_PARTS = [
  /** The subject's items and description beyond the title and the items' ids and kinds. */
  'subject',
  /** The reasons responses gave for withholding items (the coverage matrix's `reason`). */
  'outcomes',
  /** A stored message's token and payload. */
  'message',
  /** The bytes of a file a message names. */
  'attachment',
  /**
   * The records as map features (GeoJSON, KML, Shapefiles, GeoPackage): a mine map's, or a grave
   * request's burial sites (personal data: their routes admit officers only).
   */
  'records',
  /** An evidence bundle with the envelopes' payloads and the files' names (and bytes). */
  'evidence',
  /** Temporal payloads decrypted through the codec endpoint. */
  'temporal_payloads',
  /** Our pending envelopes exported for store-and-forward delivery. */
  'exchange_bundle',
  /**
   * Identification records whose consent scope is `publication`, in their published form
   * (domain/publication.ts): no other record, nor any member beyond that form.
   */
  'publication',
] as const;
export type ContentPart = (typeof CONTENT_PARTS)[number];

/**
 * How a route decides content: `never` (its answers hold no content for any role), `policy`
 * (content when `maySeeContent` for the request's type, else the redacted form), `always` (an
 * operator's tool that must see what it carries, or the publication list, which holds only what
 * its consent scope allows; always read-audited), `echo` (the caller's own input sent back by a
 * write; not a read).
 */
export type ContentRule = 'never' | 'policy' | 'always' | 'echo';

export interface RoutePolicy {
  /** Roles the route admits (others: 403 forbidden). */
  roles: readonly Role[];
  content: ContentRule;
  /** The parts of content the answer holds when it holds content. */
  parts: readonly ContentPart[];
  /** What a caller gets instead of content, when the rule is `policy` and content is withheld. */
  redacted?: string;
}

/**
 * Every route that returns anything about requests, what it admits and what it shows (routes
 * about the node itself, such as the partner registry, health and metrics, hold no request data).
 */
export const ROUTES = Object.freeze({
  'POST /v1/requests': {
    roles: ['officer'],
    content: 'echo',
    parts: ['subject'],
  },
  'GET /v1/requests': {
    roles: ['officer', 'supervisor'],
    content: 'never',
    parts: [],
    redacted: 'every request in its summary form: title and the items’ ids and kinds',
  },
  'GET /v1/requests/:id': {
    roles: ['officer', 'supervisor'],
    content: 'policy',
    parts: ['subject', 'outcomes', 'message'],
    redacted: 'the summary subject; coverage rows without withheld reasons; no message bodies',
  },
  'POST /v1/requests/:id/<action>': {
    roles: ['officer'],
    content: 'never',
    parts: [],
    redacted: 'the request in its summary form',
  },
  'GET /v1/requests/:id/geojson': {
    roles: ['officer'],
    content: 'policy',
    parts: ['records'],
    redacted: '403 forbidden',
  },
  'GET /v1/requests/:id/export.kml': {
    roles: ['officer'],
    content: 'policy',
    parts: ['records'],
    redacted: '403 forbidden',
  },
  'GET /v1/requests/:id/export.zip': {
    roles: ['officer'],
    content: 'policy',
    parts: ['records'],
    redacted: '403 forbidden',
  },
  'GET /v1/requests/:id/export.gpkg': {
    roles: ['officer'],
    content: 'policy',
    parts: ['records'],
    redacted: '403 forbidden',
  },
  'GET /v1/requests/:id/evidence': {
    roles: ['officer', 'supervisor', 'admin'],
    content: 'policy',
    parts: ['evidence'],
    redacted: 'the digest-only bundle: envelopes by digest and log entry, files by digest',
  },
  'GET /v1/messages/:ref': {
    roles: ['admin'],
    content: 'policy',
    parts: ['message'],
    redacted: 'the message’s ids, kind, digest and status, without token or payload',
  },
  'GET /v1/attachments/:id': {
    roles: ['officer', 'supervisor'],
    content: 'policy',
    parts: ['attachment'],
    redacted: '403 forbidden',
  },
  'GET /v1/outbox': { roles: ['supervisor', 'admin'], content: 'never', parts: [] },
  'GET /v1/relayed': { roles: ['supervisor', 'admin'], content: 'never', parts: [] },
  'GET /v1/supervisor/requests': { roles: ['supervisor', 'admin'], content: 'never', parts: [] },
  'GET /v1/supervisor/summary': { roles: ['supervisor', 'admin'], content: 'never', parts: [] },
  'GET /v1/supervisor/requests/:id/timeline': {
    roles: ['supervisor', 'admin'],
    content: 'never',
    parts: [],
  },
  'GET /dashboard/notifications.json': {
    roles: ['supervisor', 'admin'],
    content: 'never',
    parts: [],
  },
  // The audit log, its proofs and the read audit: digests, ids, codes and times only.
  'GET /v1/audit/checkpoints': { roles: ['supervisor', 'admin'], content: 'never', parts: [] },
  'GET /v1/audit/entries/:index/proof': {
    roles: ['supervisor', 'admin'],
    content: 'never',
    parts: [],
  },
  'GET /v1/audit/consistency': { roles: ['supervisor', 'admin'], content: 'never', parts: [] },
  'GET /v1/audit/verify': { roles: ['supervisor', 'admin'], content: 'never', parts: [] },
  'GET /v1/audit/alerts': { roles: ['supervisor', 'admin'], content: 'never', parts: [] },
  'GET /v1/admin/access-log': { roles: ['admin'], content: 'never', parts: [] },
  // Erasure answers name what was removed by digest (api/erasure.ts).
  'POST /v1/admin/requests/:id/erase': { roles: ['admin'], content: 'never', parts: [] },
  'GET /v1/admin/requests/:id/erasure': { roles: ['admin'], content: 'never', parts: [] },
  'POST /codec/decode': { roles: ['admin'], content: 'always', parts: ['temporal_payloads'] },
  'GET /v1/admin/exchange/export': {
    roles: ['admin'],
    content: 'always',
    parts: ['exchange_bundle'],
  },
  // What the family or the holder agreed may be published: for every role that follows requests,
  // since nothing beyond that is in it (domain/publication.ts).
  'GET /v1/publication/identifications': {
    roles: ['officer', 'supervisor', 'admin'],
    content: 'always',
    parts: ['publication'],
  },
} satisfies Record<string, RoutePolicy>);
export type PolicyRoute = keyof typeof ROUTES;

/** The routes whose answers can hold content: the ones the read audit records. */
export const AUDITED_ROUTES = (Object.keys(ROUTES) as PolicyRoute[]).filter(
  (r) => ROUTES[r].content === 'policy' || ROUTES[r].content === 'always',
);

/**
 * Whether `route` answers a caller holding `roles` with the content of a request of `type`
 * (`type` undefined: an answer about no single request). False when the route does not admit the
 * caller at all.
 */
export function routeShowsContent(
  route: PolicyRoute,
  roles: readonly Role[],
  type: RequestType | undefined,
): boolean {
  const p: RoutePolicy = ROUTES[route];
  if (!roles.some((r) => p.roles.includes(r))) return false;
  switch (p.content) {
    case 'never':
      return false;
    case 'always':
    case 'echo':
      return true;
    case 'policy':
      return type !== undefined && maySeeContent(roles, type);
  }
}

/**
 * The subject as every role may see it: the title, and each item's id and kind (null stays null:
 * an erased request has no subject left).
 */
export function summarySubject(subject: RequestView['subject']): RequestView['subject'] {
  if (subject === null) return null;
  return {
    title: subject.title,
    items: subject.items.map((i) => ({ item_id: i.item_id, kind: i.kind })),
  };
}

/** A request in its summary form (lists, action answers): no content for any role. */
export function requestSummary(view: RequestView): RequestView {
  return { ...view, subject: summarySubject(view.subject) };
}

/**
 * Who reads, on a request's detail, the bodies of the messages exchanged about it (the
 * clarification questions and answers, the responses with their records): the officers, who work
 * the request and must see what was asked of them and answered. Supervisors follow deadlines and
 * coverage; admins read a stored message through `GET /v1/messages/:ref` when content allows.
 */
export const MESSAGE_BODY_READERS: readonly Role[] = Object.freeze(['officer']);

/** Whether a caller holding `roles` reads the message bodies of a request of `type`'s detail. */
export function mayReadMessageBodies(roles: readonly Role[], type: RequestType): boolean {
  return roles.some((r) => MESSAGE_BODY_READERS.includes(r)) && maySeeContent(roles, type);
}

/**
 * A request's detail as `roles` may see it, and the parts of content it holds (empty: nothing to
 * read-audit). Without content: the summary subject, and coverage rows without withheld reasons.
 * The exchanged messages' bodies (`messages`) only for `mayReadMessageBodies`.
 */
export function requestDetailFor(
  detail: RequestDetailView,
  roles: readonly Role[],
): { view: RequestDetailView; parts: ContentPart[] } {
  const { messages, ...rest } = detail;
  if (maySeeContent(roles, detail.type)) {
    // An erased request has no subject left: nothing of it is read.
    const parts: ContentPart[] = detail.subject === null ? [] : ['subject'];
    if (detail.coverage.some((c) => c.reason !== undefined)) parts.push('outcomes');
    if (!mayReadMessageBodies(roles, detail.type)) return { view: rest, parts };
    if (messages?.length) parts.push('message');
    return { view: messages === undefined ? rest : { ...rest, messages }, parts };
  }
  return {
    view: {
      ...rest,
      subject: summarySubject(detail.subject),
      coverage: detail.coverage.map(({ reason: _reason, ...row }) => row),
    },
    parts: [],
  };
}

/** What the message route shows of a stored message: all of it, or its ids and digests only. */
export function messageFormFor(
  roles: readonly Role[],
  message: { kind: string; type: RequestType | undefined },
): 'full' | 'withheld' {
  // A receipt names a digest and a time: no content. Any other message shows its content only to
  // a role that may see its request's; a message of no known request, to nobody through the API.
  if (message.kind === 'receipt') return 'full';
  return message.type !== undefined && maySeeContent(roles, message.type) ? 'full' : 'withheld';
}

/**
 * Whether `roles` may download a file named by messages of requests of `types`: only when they may
 * see the content of every one (a file shared by two requests is as sensitive as the more
 * sensitive one). A message of a request this node does not hold (`undefined`: not recorded yet)
 * may be of any type: only a role that may see every type's content reads its file. A file no
 * message names is nobody's to read here.
 */
export function mayReadAttachment(
  roles: readonly Role[],
  types: readonly (RequestType | undefined)[],
): boolean {
  const every = Object.keys(CONTENT_READERS) as RequestType[];
  return (
    types.length > 0 &&
    types.every((t) => (t === undefined ? every : [t]).every((u) => maySeeContent(roles, u)))
  );
}

/**
 * Which evidence bundle a caller gets: `full` (envelopes with their payloads, attachment names and
 * bytes) when they may see the request's content and did not ask for less, else `digests` (every
 * envelope by its digest and log entry, files by digest; see audit/bundle.ts `digestOnly`).
 */
export function evidenceFormFor(
  roles: readonly Role[],
  type: RequestType,
  asked: 'full' | 'digests' = 'full',
): 'full' | 'digests' {
  return asked === 'full' && maySeeContent(roles, type) ? 'full' : 'digests';
}
