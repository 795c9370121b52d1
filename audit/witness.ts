// Cross-witnessing: a node shows each partner its newest checkpoint with a consistency proof from
// the last one that partner countersigned; the partner checks the proof and countersigns. A
// checkpoint that contradicts an earlier one (two histories: a fork) is refused and raised to
// supervisors as a security alert.
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  appendAudit,
  insertCosignature,
  insertWitnessed,
  lastCosignedSize,
  lastWitnessed,
  raiseSecurityAlert,
  type CheckpointRow,
} from '../db/audit.js';
import { findKey, listParties, lockParty } from '../db/registry.js';
import { withTransaction } from '../db/transaction.js';
import { AppError } from '../errors.js';
import { keyUnusableReason } from '../protocol/keys.js';
import type { Keyring } from '../protocol/keyring.js';
import { WitnessResponse, type WitnessRequest } from '../schemas/audit.js';
import {
  peekKid,
  signCosignature,
  signingInputDigest,
  verifyCheckpoint,
  verifyCosignature,
  type PublicLogKey,
} from './checkpoint.js';
import { verifyConsistency } from './merkle.js';
import type { AuditLog } from './service.js';

export interface WitnessDeps {
  pool: pg.Pool;
  partyId: string;
  keyring: Keyring;
  log: Logger;
}

/** A registered log key of `partyId` usable at `at`, looked up by the kid a token names. */
async function partnerLogKey(
  pool: pg.Pool,
  token: string,
  at: Date,
): Promise<(PublicLogKey & { partyId: string }) | undefined> {
  const kid = peekKid(token);
  const key = kid ? await findKey(pool, kid) : undefined;
  if (!key || key.alg === 'ECDH-ES+A256KW' || !key.roles.includes('log')) return undefined;
  if (keyUnusableReason(key, at)) return undefined;
  return { kid: key.kid, alg: key.alg, publicJwk: key.publicJwk, partyId: key.partyId };
}

/** Receiver side: checks a partner's checkpoint against the last one seen, and countersigns it. */
export async function witnessCheckpoint(
  deps: WitnessDeps,
  req: WitnessRequest,
): Promise<{ cosignature: string }> {
  const now = new Date();
  const key = await partnerLogKey(deps.pool, req.checkpoint, now);
  if (!key)
    throw new AppError('unknown_key', 'the checkpoint is not signed by a registered log key');
  const checked = await verifyCheckpoint(req.checkpoint, (kid) =>
    kid === key.kid ? key : undefined,
  );
  if (!checked.ok) throw new AppError('signature_invalid', checked.reason);
  const cp = checked.payload;
  if (cp.log !== key.partyId)
    throw new AppError('issuer_mismatch', 'the checkpoint names another log than its key’s owner');
  const root = Buffer.from(cp.root, 'hex');

  return withTransaction(deps.pool, async (client) => {
    // One check at a time per partner: the base cannot move under us.
    await lockParty(client, key.partyId);
    const last = await lastWitnessed(client, key.partyId);
    const baseSize = last?.size ?? 0;
    const fork = async (message: string): Promise<never> => {
      // Outside the transaction: the alert must survive the refusal.
      await raiseSecurityAlert(deps.pool, {
        kind: 'partner_fork',
        partyId: key.partyId,
        detail: {
          message,
          seen: last ? { size: last.size, root: last.root.toString('hex') } : null,
          presented: { size: cp.size, root: cp.root },
        },
      });
      deps.log.error({ alert: 'partner_fork', party: key.partyId }, message);
      throw new AppError('fork_detected', message);
    };
    if (last && cp.size < last.size)
      await fork(
        `checkpoint ${cp.size} is older than checkpoint ${last.size} already countersigned`,
      );
    if (last && cp.size === last.size) {
      if (!root.equals(last.root)) await fork(`two different roots for tree size ${cp.size}`);
      return { cosignature: last.cosignature };
    }
    if (req.from_size !== baseSize) {
      throw new AppError(
        'witness_base_mismatch',
        `the last checkpoint countersigned here has size ${baseSize}`,
        undefined,
        { last_size: baseSize },
      );
    }
    const proof = req.proof.map((h) => Buffer.from(h, 'hex'));
    if (last && !verifyConsistency(last.size, cp.size, last.root, root, proof))
      await fork(`checkpoint ${cp.size} does not extend checkpoint ${last.size}`);

    const signer = deps.keyring.logSigner(now);
    const cosignature = await signCosignature(
      {
        witness: deps.partyId,
        log: key.partyId,
        size: cp.size,
        root: cp.root,
        checkpoint_digest: signingInputDigest(req.checkpoint),
        at: now.toISOString(),
      },
      signer,
    );
    await insertWitnessed(client, {
      partyId: key.partyId,
      size: cp.size,
      root,
      at: new Date(cp.at),
      token: req.checkpoint,
      cosignature,
    });
    await appendAudit(client, [
      { type: 'checkpoint_witnessed', party_id: key.partyId, size: cp.size, root: cp.root },
    ]);
    return { cosignature };
  });
}

/** Where a partner takes checkpoints: beside its inbox. */
export function witnessUrl(inboxUrl: string): string {
  return new URL('/v1/audit/witness', inboxUrl).toString();
}

/**
 * Sender side: shows `checkpoint` to every registered partner and stores their cosignatures.
 * Returns what each partner answered; an unreachable partner is tried again next time.
 */
export async function requestCosignatures(
  deps: WitnessDeps & { audit: AuditLog; fetch?: typeof fetch },
  checkpoint: CheckpointRow,
): Promise<Record<string, string>> {
  const outcome: Record<string, string> = {};
  for (const partner of await listParties(deps.pool)) {
    try {
      outcome[partner.partyId] = await showTo(deps, checkpoint, partner.partyId, partner.inboxUrl);
    } catch (err) {
      outcome[partner.partyId] = `error: ${(err as Error).message}`;
    }
  }
  return outcome;
}

async function showTo(
  deps: WitnessDeps & { audit: AuditLog; fetch?: typeof fetch },
  checkpoint: CheckpointRow,
  partyId: string,
  inboxUrl: string,
): Promise<string> {
  const doFetch = deps.fetch ?? fetch;
  let fromSize = await lastCosignedSize(deps.pool, partyId);
  if (fromSize >= checkpoint.size) return 'already countersigned';
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const body: WitnessRequest = {
      checkpoint: checkpoint.token,
      from_size: fromSize,
      proof: await deps.audit.consistency(fromSize, checkpoint.size),
    };
    const res = await doFetch(witnessUrl(inboxUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.status === 409 && answer.code === 'witness_base_mismatch') {
      // The partner countersigned a checkpoint whose answer we never got: prove from there.
      fromSize = Number(answer.last_size);
      continue;
    }
    if (!res.ok) return `refused: ${typeof answer.code === 'string' ? answer.code : res.status}`;
    const { cosignature } = WitnessResponse.parse(answer);
    const key = await partnerLogKey(deps.pool, cosignature, new Date());
    const checked = key
      ? await verifyCosignature(cosignature, (kid) => (kid === key.kid ? key : undefined))
      : ({ ok: false, reason: 'not signed by a registered log key' } as const);
    if (!checked.ok) return `bad cosignature: ${checked.reason}`;
    const c = checked.payload;
    if (
      key!.partyId !== partyId ||
      c.witness !== partyId ||
      c.log !== deps.partyId ||
      c.size !== checkpoint.size ||
      c.root !== checkpoint.root.toString('hex') ||
      c.checkpoint_digest !== signingInputDigest(checkpoint.token)
    )
      return 'bad cosignature: it does not name this checkpoint';
    await insertCosignature(deps.pool, {
      size: checkpoint.size,
      witness: partyId,
      token: cosignature,
    });
    return 'countersigned';
  }
  return 'refused: witness base keeps moving';
}
