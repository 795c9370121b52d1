// Admin routes of the partner registry: add a partner with its keys, rotate (add) keys, revoke a
// key, change name or inbox. Every change is recorded with who made it.
import type { Router } from 'express';
import type pg from 'pg';
import {
  addKeys,
  addParty,
  getParty,
  listParties,
  listRegistryChanges,
  revokeKey,
  updateParty,
} from '../db/registry.js';
import { AppError } from '../errors.js';
import { keysFromInput } from '../domain/partner-keys.js';
import {
  AddPartnerBody,
  KeysInput,
  RevokeKeyBody,
  UpdatePartnerBody,
} from '../schemas/partners-api.js';
import { PartyId } from '../schemas/common.js';
import { principalOf, type Authenticator } from './auth.js';
import { parseOrThrow } from './problem.js';
import { DeclaredRouter } from './routes.js';

function partyParam(id: string | string[] | undefined): string {
  const parsed = PartyId.safeParse(id);
  if (!parsed.success) throw new AppError('unknown_party', 'no registered party with that id');
  return parsed.data;
}

export function partnersRouter(deps: {
  pool: pg.Pool;
  auth: Authenticator;
  partyId: string;
  /** Told after every change to the registry (the verifier's key cache forgets what it held). */
  registryChanged?: () => void;
}): Router {
  const declared = new DeclaredRouter('/v1/admin/partners', deps.auth);
  const router = declared.router;
  /** Runs a registry change; whatever came of it, cached keys are forgotten. */
  const changing = async (change: Promise<unknown>) => {
    try {
      await change;
    } finally {
      deps.registryChanged?.();
    }
  };

  declared.route('listPartners', async (_req, res) => {
    res.json({ items: await listParties(deps.pool) });
  });

  declared.route('addPartner', async (req, res) => {
    const body = parseOrThrow(AddPartnerBody, req.body, 'the partner');
    if (body.partyId === deps.partyId) {
      throw new AppError('schema_invalid', 'a partner is another party', [
        { path: '/partyId', message: 'must differ from this node’s party id' },
      ]);
    }
    const keys = await keysFromInput(body);
    await changing(
      addParty(
        deps.pool,
        {
          partyId: body.partyId,
          name: body.name,
          inboxUrl: body.inboxUrl,
          keys,
          sealContent: body.sealContent,
          via: body.via,
          mediators: body.mediators,
          relays: body.relays,
        },
        principalOf(req).sub,
      ),
    );
    res
      .status(201)
      .location(`/v1/admin/partners/${body.partyId}`)
      .json(await getParty(deps.pool, body.partyId));
  });

  declared.route('getPartner', async (req, res) => {
    const party = await getParty(deps.pool, partyParam(req.params.partyId));
    if (!party) throw new AppError('unknown_party', 'no registered party with that id');
    res.json({ ...party, changes: await listRegistryChanges(deps.pool, party.partyId) });
  });

  declared.route('updatePartner', async (req, res) => {
    const partyId = partyParam(req.params.partyId);
    const body = parseOrThrow(UpdatePartnerBody, req.body, 'the change');
    await changing(updateParty(deps.pool, partyId, body, principalOf(req).sub));
    res.json(await getParty(deps.pool, partyId));
  });

  declared.route('addPartnerKeys', async (req, res) => {
    const partyId = partyParam(req.params.partyId);
    const body = parseOrThrow(KeysInput, req.body, 'the keys');
    const keys = await keysFromInput(body);
    await changing(addKeys(deps.pool, partyId, keys, principalOf(req).sub));
    res.status(201).json(await getParty(deps.pool, partyId));
  });

  declared.route('revokePartnerKey', async (req, res) => {
    const partyId = partyParam(req.params.partyId);
    const body = parseOrThrow(RevokeKeyBody, req.body, 'the revocation');
    const revokedAt = body.revokedAt ? new Date(body.revokedAt) : new Date();
    await changing(
      revokeKey(
        deps.pool,
        partyId,
        String(req.params.kid),
        { revokedAt, reason: body.reason },
        principalOf(req).sub,
      ),
    );
    res.json(await getParty(deps.pool, partyId));
  });

  return router;
}
