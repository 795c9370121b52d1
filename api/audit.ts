// The audit log over HTTP: checkpoints and proofs for supervisors and auditors, the full
// integrity check, security alerts, the evidence bundle of a request, and the witness endpoint
// partners post their checkpoints to (authenticated by the log key's signature, not a token), and
// on a mediator the proofs of what it relayed (the digests asked for are the credential).
import type { Router } from 'express';
import type pg from 'pg';
import { z } from 'zod';
import { buildEvidenceBundle, digestOnly, type BundleDeps } from '../audit/bundle.js';
import type { AuditLog } from '../audit/service.js';
import { witnessCheckpoint, type WitnessDeps } from '../audit/witness.js';
import { cosignaturesOf, listCheckpoints, listSecurityAlerts } from '../db/audit.js';
import { WitnessRequest } from '../schemas/audit.js';
import { RelayProofsRequest, type RelayProofs } from '../schemas/evidence.js';
import { proveEntries } from '../audit/proofs.js';
import { relayAuditIndices, relayedParties } from '../db/mediator.js';
import { Ulid } from '../schemas/common.js';
import { principalOf, type Authenticator } from './auth.js';
import { recordReads } from './access-log.js';
import { requestTypeOf } from '../db/access-log.js';
import { evidenceFormFor } from '../domain/access-policy.js';
import { AppError } from '../errors.js';
import { sourceKey, TokenBuckets } from '../exchange/refusal-limit.js';
import { parseOrThrow } from './problem.js';
import { DeclaredRouter } from './routes.js';

export interface AuditRouterDeps extends WitnessDeps {
  pool: pg.Pool;
  auth: Authenticator;
  audit: AuditLog;
  witness: BundleDeps['witness'];
  /** Asks for relay proofs one address may make a minute, and at once (default 60). */
  relayProofsPerMinute?: number;
}

/** Addresses whose asks for relay proofs are counted at once; the longest quiet is dropped first. */
const PROOF_ASKERS = 10_000;

const Size = z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const ProofQuery = z.strictObject({ tree_size: Size.optional() });
const ConsistencyQuery = z.strictObject({ from: Size, to: Size });
const EvidenceQuery = z.strictObject({
  attachments: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /** `digests` asks for the digest-only bundle even where the caller may see the content. */
  content: z.enum(['full', 'digests']).default('full'),
});

export function auditRouter(deps: AuditRouterDeps): Router {
  const declared = new DeclaredRouter('', deps.auth);
  const router = declared.router;
  const perMinute = deps.relayProofsPerMinute ?? 60;
  const proofAsks = new TokenBuckets({ burst: perMinute, perMinute }, PROOF_ASKERS);

  declared.route('listCheckpoints', async (_req, res) => {
    const rows = await listCheckpoints(deps.pool, 100);
    const cosigs = await cosignaturesOf(
      deps.pool,
      rows.map((r) => r.size),
    );
    res.json({
      checkpoints: rows.map((r) => ({
        size: r.size,
        root: r.root.toString('hex'),
        at: r.at.toISOString(),
        token: r.token,
        cosignatures: cosigs
          .filter((c) => c.size === r.size)
          .map((c) => ({ witness: c.witness, token: c.token })),
      })),
    });
  });

  declared.route('signCheckpoint', async (_req, res) => {
    const c = await deps.audit.checkpoint();
    res
      .status(201)
      .json({ size: c.size, root: c.root.toString('hex'), at: c.at.toISOString(), token: c.token });
  });

  declared.route('inclusionProof', async (req, res) => {
    const index = parseOrThrow(Size, req.params.index, 'the entry index');
    const q = parseOrThrow(ProofQuery, req.query, 'the query');
    const p = await deps.audit.inclusion(index, q.tree_size);
    res.json({
      index: p.index,
      tree_size: p.tree_size,
      entry: p.entry,
      leaf_hash: p.leaf_hash,
      proof: p.proof,
      checkpoint: p.checkpoint.token,
    });
  });

  declared.route('consistencyProof', async (req, res) => {
    const q = parseOrThrow(ConsistencyQuery, req.query, 'the query');
    res.json({
      from_size: q.from,
      to_size: q.to,
      proof: await deps.audit.consistency(q.from, q.to),
    });
  });

  declared.route('verifyLog', async (_req, res) => {
    const problems = await deps.audit.verifyIntegrity();
    res.json({ ok: problems.length === 0, size: await deps.audit.sync(), problems });
  });

  declared.route('securityAlerts', async (_req, res) => {
    res.json({ alerts: await listSecurityAlerts(deps.pool) });
  });

  // On a mediator: its log's proofs of what it relayed, for the parties' evidence bundles. Witnessed
  // by the parties it relays for.
  declared.route('relayProofs', async (req, res) => {
    // Not authenticated (the digests are the credential): asked again and again, it would tell an
    // observer M's log size and traffic over time, and make M sign checkpoint after checkpoint.
    const wait = proofAsks.take(sourceKey(req.ip ?? req.socket.remoteAddress), Date.now());
    if (wait > 0) {
      res.set('retry-after', String(wait));
      throw new AppError(
        'rate_limited',
        `too many requests for proofs from this address; try again in ${wait} s`,
        undefined,
        { retry_after: wait },
      );
    }
    const { digests } = parseOrThrow(RelayProofsRequest, req.body, 'the request for proofs');
    // From the relayed messages, not the log: a message relayed a moment ago is stored with its
    // entry staged, which the checkpoint below integrates. Its two parties are the witnesses whose
    // cosignatures go with the proofs: never those of M's other clients.
    const parties = await relayedParties(deps.pool, digests);
    if (parties.length === 0)
      throw new AppError('unknown_message', 'this node relayed none of these messages');
    if (parties.length > 2)
      throw new AppError(
        'schema_invalid',
        'these messages are not all between the same two parties',
      );
    const proofs = await proveEntries(deps, parties, () => relayAuditIndices(deps.pool, digests));
    const answer: RelayProofs = { log: deps.partyId, proofs };
    res.json(answer);
  });

  declared.route('witnessCheckpoint', async (req, res) => {
    const body = parseOrThrow(WitnessRequest, req.body, 'the witness request');
    res.json(await witnessCheckpoint(deps, body));
  });

  // The full bundle to a role that may see the request's content; the digest-only bundle to the
  // others (domain/access-policy.ts), which still proves every envelope by its log entry.
  declared.route('evidenceBundle', async (req, res) => {
    const id = parseOrThrow(Ulid, req.params.id, 'the request id');
    const q = parseOrThrow(EvidenceQuery, req.query, 'the query');
    const type = await requestTypeOf(deps.pool, id);
    if (!type) throw new AppError('unknown_request', 'no request with this id on this node');
    const form = evidenceFormFor(principalOf(req).roles, type, q.content);
    const full = await buildEvidenceBundle(deps, id, {
      withAttachments: form === 'full' && q.attachments,
    });
    const bundle = form === 'full' ? full : digestOnly(full);
    if (form === 'full')
      await recordReads(deps.pool, req, 'GET /v1/requests/:id/evidence', [
        { reqId: id, parts: ['evidence'], ref: q.attachments ? 'with_attachments' : null },
      ]);
    res.set('content-disposition', `attachment; filename="evidence-${id}.json"`).json(bundle);
  });

  return router;
}
