// Officers' request routes: create and submit a request, list requests, read one with its timeline.
import type { Router } from 'express';
import { type Request, type RequestHandler } from 'express';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type pg from 'pg';
import { ulid } from 'ulid';
import {
  claimIdempotencyKey,
  getRequest,
  getRequestDetail,
  listRequests,
  projectRequestEvent,
} from '../db/requests.js';
import type { RequestRecord } from '../schemas/workflow-contract.js';
import { requestPartnerAndMediator } from '../db/messages.js';
import { newestConsent } from '../exchange/pause-consent.js';
import { mediatorAgreed, partyVia, sealingKeyFor } from '../db/registry.js';
import type { LoadedPolicy } from '../node/policy.js';
import { AppError } from '../errors.js';
import { startOutgoingRequest } from '../temporal/request-workflows.js';
import { withinTime } from '../temporal/within.js';
import { parseOfficerBody } from '../domain/outgoing-message.js';
import { Ulid } from '../schemas/common.js';
import {
  CreateRequestBody,
  ListRequestsQuery,
  type RequestDetailView,
  type RequestView,
} from '../schemas/requests-api.js';
import { createdEvent } from '../workflows/created-event.js';
import { requestWorkflowId } from '../workflows/messages.js';
import { principalOf, type Authenticator } from './auth.js';
import { parseOrThrow } from './problem.js';
import {
  GEOJSON_MEDIA_TYPE,
  mineMapFeatureCollection,
  type FeatureCollection,
} from '../domain/geojson-export.js';
import { graveFeatureCollection } from '../domain/grave-export.js';
import { GEOPACKAGE_MEDIA_TYPE, geoPackage } from '../domain/geopackage-export.js';
import type { GraveRecord } from '../schemas/domain/grave.js';
import {
  KML_MEDIA_TYPE,
  ZIP_MEDIA_TYPE,
  mineMapKml,
  mineMapShapefiles,
} from '../domain/map-export.js';
import { coverageOf, exchangedMessages, responsesOf } from '../domain/responses.js';
import { responseSchema, type MineMapRecord } from '../schemas/domain/index.js';
import { bodyDigest, IDEMPOTENCY_KEY_REUSED, idempotencyKeyOf } from './idempotency.js';
import {
  mayReadMessageBodies,
  maySeeContent,
  requestDetailFor,
  requestSummary,
} from '../domain/access-policy.js';
import { recordReads } from './access-log.js';
import { allowedActions, loopStateOf, nextStepOf } from '../domain/allowed-actions.js';
import { loopEventTypes } from '../db/loop-events.js';
import type { RequestListItem } from '../schemas/officer-list.js';
import { DeclaredRouter } from './routes.js';

/**
 * The mediator a request goes through (the registry's `via` for its partner; null: direct), and
 * this node's newest consent to a pause by it that no pause this node took carried yet.
 */
async function mediationOf(
  pool: pg.Pool,
  reqId: string,
): Promise<Pick<RequestDetailView, 'mediator' | 'pauseConsent'>> {
  const mediator = (await requestPartnerAndMediator(pool, reqId))?.via ?? null;
  if (!mediator) return { mediator: null, pauseConsent: null };
  const given = await newestConsent(pool, reqId, mediator);
  return {
    mediator,
    pauseConsent: given
      ? {
          msgId: given.msg_id,
          createdAt: given.created_at.toISOString(),
          heldSince: given.received_at?.toISOString() ?? null,
        }
      : null,
  };
}

export interface RequestsDeps {
  partyId: string;
  pool: pg.Pool;
  client: Client;
  taskQueue: string;
  auth: Authenticator;
  policy: LoadedPolicy;
  /** Longest wait between delivery attempts, e.g. '5 minutes'. */
  maxRetryInterval: string;
  /** History events after which the request's workflow continues as new. */
  historyLimit?: number;
  /** How long a create waits for its workflow to record the request; default RECORD_TIMEOUT_MS. */
  recordTimeoutMs?: number;
}

/**
 * How long `POST /v1/requests` waits for the workflow to record the request before it answers
 * `503 update_timeout`. Recording is one short transaction; a wait this long means the worker or
 * Postgres is stuck, and the caller is better told so than left hanging.
 */
export const RECORD_TIMEOUT_MS = 10_000;

/** Runs the create's update for at most `ms`; past it, `503 update_timeout` naming the request. */
function recordedWithin<T>(
  client: Client,
  ms: number,
  reqId: string,
  update: () => Promise<T>,
): Promise<T> {
  return withinTime(client, ms, update, () => notRecordedIn(ms, reqId));
}

/** `503 update_timeout` for a request started but not recorded within `ms`. */
function notRecordedIn(ms: number, reqId: string): AppError {
  return new AppError(
    'update_timeout',
    `the request was started but not recorded within ${ms} ms; send it again with the same ` +
      'Idempotency-Key to get it once it is',
    undefined,
    { requestId: reqId },
  );
}

/**
 * `asked`, when the registry agrees it as the mediator of a request with `counterparty` (its `via`
 * when one is set, else one of its `mediators`); `mediator_not_agreed` otherwise.
 */
async function agreedMediator(pool: pg.Pool, counterparty: string, asked: string): Promise<string> {
  if (await mediatorAgreed(pool, counterparty, asked)) return asked;
  const via = await partyVia(pool, counterparty);
  throw new AppError(
    'mediator_not_agreed',
    via
      ? `every request with ${counterparty} goes through ${via} (the registry's via)`
      : `the registry does not agree ${asked} as a mediator for requests with ${counterparty}`,
    [
      {
        path: '/mediator',
        message: via ? `must be ${via} or absent` : 'must be one of the counterparty’s mediators',
      },
    ],
  );
}

type MapExportRoute =
  | 'GET /v1/requests/:id/export.kml'
  | 'GET /v1/requests/:id/export.zip'
  | 'GET /v1/requests/:id/export.gpkg';

export function requestsRouter(deps: RequestsDeps): Router {
  const declared = new DeclaredRouter('/v1/requests', deps.auth);
  const router = declared.router;

  declared.route('createRequest', async (req, res) => {
    // The number rule of every officer body that ends up signed: what the partner would refuse
    // (an integer beyond 2^53, a body too deep) is refused here with the partner's code.
    const body = parseOfficerBody(CreateRequestBody, req.body, 'the request');
    if (body.counterparty === deps.partyId) {
      throw new AppError('schema_invalid', 'a request goes to another party', [
        { path: '/counterparty', message: 'must differ from this node’s own party id' },
      ]);
    }
    // A registered partner (`unknown_party`) and, when it takes sealed content, a usable
    // encryption key of it (`encryption_key_missing`): nothing is started that could not be signed.
    await sealingKeyFor(deps.pool, body.counterparty, new Date());
    // The mediator the request goes through, signed into its body so both parties read its route
    // from the same signed message: the one the officer named, when the registry agrees it for
    // the counterparty (`mediator_not_agreed`), else the registry's `via` (none: directly).
    const mediator =
      body.mediator === undefined
        ? await partyVia(deps.pool, body.counterparty)
        : await agreedMediator(deps.pool, body.counterparty, body.mediator);
    const principal = principalOf(req);
    const key = idempotencyKeyOf(req);
    let reqId = ulid();
    if (key !== undefined) {
      // The same key from the same officer names the same request, as long as the body is the
      // same (compared as parsed, in RFC 8785 form: member order and defaults do not matter).
      // Starting it again is a no-op.
      const bodySha256 = bodyDigest(body);
      const claim = await claimIdempotencyKey(deps.pool, principal.sub, key, reqId, bodySha256);
      if (claim.bodySha256 !== bodySha256)
        throw new AppError('idempotency_key_reused', IDEMPOTENCY_KEY_REUSED);
      reqId = claim.reqId;
    }
    const record: RequestRecord = {
      reqId,
      workflowId: requestWorkflowId(reqId),
      direction: 'outgoing',
      type: body.type,
      requester: deps.partyId,
      responder: body.counterparty,
      priority: body.priority,
      subject: body.subject,
      createdBy: principal.sub,
      createdAt: new Date().toISOString(),
      ...(mediator !== undefined ? { mediator } : {}),
    };
    // Both durable before the 201: the workflow is started (one call to Temporal) while the API
    // records the request's first event itself, as the workflow will (the same event, seq 1:
    // whichever comes second changes nothing), in a transaction that commits only once the start
    // succeeded. A failed start writes nothing; a commit that fails after the start leaves a
    // started workflow, which records the request on its own, and the caller's retry with its
    // Idempotency-Key then answers it.
    const limitMs = deps.recordTimeoutMs ?? RECORD_TIMEOUT_MS;
    const start = async () => {
      try {
        await recordedWithin(deps.client, limitMs, reqId, () => startOutgoingRequest(deps, record));
      } catch (err) {
        // A retry of a request whose workflow has ended: it was recorded, and stays as it is.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError) || key === undefined) throw err;
      }
    };
    let view: RequestView | undefined;
    try {
      view = await projectRequestEvent(
        deps.pool,
        record,
        createdEvent(record, deps.policy.digest),
        {
          timeoutMs: limitMs,
          alongside: start,
        },
      );
    } catch (err) {
      if ((err as { code?: unknown }).code !== '57014') throw err;
      throw notRecordedIn(limitMs, reqId);
    }
    // The row as the write left it; a retry of a request that moved on since reads it as it is.
    view ??= await getRequest(deps.pool, reqId);
    if (!view) throw new Error('request recorded but missing from the read model');
    res.status(201).location(`/v1/requests/${reqId}`).json(view);
  });

  declared.route('listRequests', async (req, res) => {
    const query = parseOrThrow(ListRequestsQuery, req.query, 'the query');
    // Lists show every request in its summary form (title, items' ids and kinds), for every role:
    // no content, so nothing to read-audit; the detail shows what the caller's role may see.
    // Each with who owes its next step (domain/next-step.ts), for the officers' work list.
    const listed = await listRequests(deps.pool, query);
    const loops = await loopEventTypes(
      deps.pool,
      listed.map((r) => r.id),
    );
    const items: RequestListItem[] = listed.map((r) => ({
      ...requestSummary(r),
      nextStep: nextStepOf(r, loopStateOf(loops.get(r.id) ?? [])),
    }));
    res.json({ items });
  });

  declared.route('getRequest', async (req, res) => {
    const id = Ulid.safeParse(req.params.id);
    // The row and its timeline from one snapshot: never an event beside the state before it.
    const found = id.success ? await getRequestDetail(deps.pool, id.data) : undefined;
    if (!found) throw new AppError('request_not_found', 'no request with that id on this node');
    const { coverage, gaps } = await coverageOf(deps.pool, found.request);
    const roles = principalOf(req).roles;
    const full: RequestDetailView = {
      ...found.request,
      timeline: found.timeline,
      coverage,
      clarificationItems: gaps,
      // The mediator (if any) and this node's consent to its pause, for the party's officers.
      ...(await mediationOf(deps.pool, found.request.id)),
      // What an officer may do now, by the action table (domain/allowed-actions.ts).
      allowedActions: roles.includes('officer')
        ? allowedActions({
            ...found.request,
            ...loopStateOf(found.timeline.map((e) => e.type)),
          })
        : [],
    };
    // The bodies of the questions, answers and responses: read only for who may see them.
    if (mayReadMessageBodies(roles, found.request.type))
      full.messages = await exchangedMessages(deps.pool, found.request.id);
    const { view, parts } = requestDetailFor(full, roles);
    await recordReads(deps.pool, req, 'GET /v1/requests/:id', [{ reqId: view.id, parts }]);
    res.json(view);
  });

  /**
   * The request named in the path and the map features of the records exchanged for it (mine-map
   * records, or burial sites: personal data), for a caller who may see them, and the name its
   * files take: 404 request_not_found, 404 not_found (an identification request: no `what`),
   * 403 forbidden (the access policy's content readers for the request's type).
   */
  async function mapFeaturesFor(req: Request, what: string) {
    const id = Ulid.safeParse(req.params.id);
    const view = id.success ? await getRequest(deps.pool, id.data) : undefined;
    if (!view) throw new AppError('request_not_found', 'no request with that id on this node');
    if (view.type === 'identification_result')
      throw new AppError('not_found', `only mine-map and grave requests have ${what}`);
    if (!maySeeContent(principalOf(req).roles, view.type))
      throw new AppError('forbidden', 'your roles may not see the records of this request');
    const records: MineMapRecord[] = [];
    const sites: GraveRecord[] = [];
    for (const r of await responsesOf(deps.pool, view.id)) {
      if (view.type === 'mine_map') {
        const parsed = responseSchema('mine_map').safeParse(r.body);
        if (parsed.success) records.push(...parsed.data.records);
      } else {
        const parsed = responseSchema('grave_information').safeParse(r.body);
        if (parsed.success) sites.push(...parsed.data.records);
      }
    }
    return view.type === 'mine_map'
      ? { view, fc: mineMapFeatureCollection(records), name: `mine-map-${view.id}` }
      : { view, fc: graveFeatureCollection(sites), name: `graves-${view.id}` };
  }

  // The records exchanged for a request, as one RFC 7946 file QGIS opens as it is.
  declared.route('getRequestGeojson', async (req, res) => {
    const { view, fc, name } = await mapFeaturesFor(req, 'a GeoJSON export');
    const body = JSON.stringify(fc);
    await recordReads(deps.pool, req, 'GET /v1/requests/:id/geojson', [
      { reqId: view.id, parts: ['records'] },
    ]);
    res
      .type(GEOJSON_MEDIA_TYPE)
      .set('content-disposition', `attachment; filename="${name}.geojson"`)
      .send(body);
  });

  // The same export as KML, zipped Shapefiles (domain/map-export.ts) and GeoPackage
  // (domain/geopackage-export.ts), checked and recorded as the GeoJSON one is.
  const MEDIA_TYPES = { kml: KML_MEDIA_TYPE, zip: ZIP_MEDIA_TYPE, gpkg: GEOPACKAGE_MEDIA_TYPE };
  const mapExport = (route: MapExportRoute, write: (fc: FeatureCollection) => Promise<Buffer>) =>
    (async (req, res) => {
      const { view, fc, name } = await mapFeaturesFor(req, 'a map export');
      const body = await write(fc);
      await recordReads(deps.pool, req, route, [{ reqId: view.id, parts: ['records'] }]);
      const ext = route.slice(route.lastIndexOf('.') + 1) as keyof typeof MEDIA_TYPES;
      res
        .type(MEDIA_TYPES[ext])
        .set('content-disposition', `attachment; filename="${name}.${ext}"`)
        .send(body);
    }) satisfies RequestHandler;
  declared.route(
    'getRequestKml',
    mapExport('GET /v1/requests/:id/export.kml', (fc) =>
      Promise.resolve(Buffer.from(mineMapKml(fc), 'utf8')),
    ),
  );
  declared.route(
    'getRequestShapefiles',
    mapExport('GET /v1/requests/:id/export.zip', mineMapShapefiles),
  );
  declared.route('getRequestGeoPackage', mapExport('GET /v1/requests/:id/export.gpkg', geoPackage));

  return router;
}
