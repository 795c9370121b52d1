// The publication list (README, _Consent scopes_): the identification records whose signed consent
// scope is `publication`, in their published form, for whoever publishes them. No other record,
// and no member beyond the published form, leaves through it; each answer is read-audited.
import type { Router } from 'express';
import type pg from 'pg';
import { heldIdentificationResponses } from '../db/responses.js';
import { publishedIdentifications } from '../domain/publication.js';
import { PublicationQuery } from '../schemas/publication-api.js';
import { recordReads } from './access-log.js';
import type { Authenticator } from './auth.js';
import { parseOrThrow } from './problem.js';
import { DeclaredRouter } from './routes.js';

export function publicationRouter(deps: { pool: pg.Pool; auth: Authenticator }): Router {
  const declared = new DeclaredRouter('/v1/publication', deps.auth);

  declared.route('listPublishedIdentifications', async (req, res) => {
    const query = parseOrThrow(PublicationQuery, req.query, 'the query');
    const rows = await heldIdentificationResponses(deps.pool);
    const items = publishedIdentifications(
      rows.map((r) => ({
        reqId: r.req_id,
        msgId: r.msg_id,
        digest: r.digest,
        signedBy: r.signed_by,
        signedAt: r.signed_at,
        body: r.body,
      })),
    )
      .filter((i) => query.conclusion === undefined || i.record.conclusion === query.conclusion)
      .slice(0, query.limit);
    // One read per request whose records the answer holds, before the answer leaves.
    const requests = [...new Set(items.map((i) => i.requestId))];
    await recordReads(
      deps.pool,
      req,
      'GET /v1/publication/identifications',
      requests.map((reqId) => ({ reqId, parts: ['publication'] })),
    );
    res.json({ items });
  });

  return declared.router;
}
