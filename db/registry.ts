// Queries on the partner registry: parties, their keys, and the record of every change.
import type pg from 'pg';
import type { JWK } from 'jose';
import { AppError } from '../errors.js';
import { canonicalJson } from '../protocol/canonical-json.js';
import { sha256Hex } from '../protocol/digest.js';
import { appendAudit } from './audit.js';
import { withTransaction } from './transaction.js';
import type { KeyRecord } from '../protocol/keys.js';
import type { SealingKey } from '../protocol/seal.js';
import type { KeyAlg, KeyRole } from '../schemas/envelope.js';
import type { PartnerKeyView, PartnerView, RegistryChangeView } from '../schemas/partners-api.js';

/** A key ready to be registered: thumbprint computed, roles and validity decided. */
export interface NewKey {
  kid: string;
  alg: KeyAlg;
  publicJwk: JWK;
  roles: KeyRole[];
  validFrom: Date;
  validUntil: Date | null;
}

interface KeyRow {
  kid: string;
  party_id: string;
  alg: KeyAlg;
  public_jwk: JWK;
  roles: KeyRole[];
  valid_from: Date;
  valid_until: Date | null;
  revoked_at: Date | null;
  revocation_reason: string | null;
  added_at: Date;
  added_by: string;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export async function findKey(pool: pg.Pool, kid: string): Promise<KeyRecord | undefined> {
  const { rows } = await pool.query<KeyRow & { seal_content: boolean; via_party: string | null }>(
    `SELECT k.*, p.seal_content, p.via_party FROM party_keys k JOIN parties p USING (party_id)
      WHERE k.kid = $1`,
    [kid],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    partySeals: r.seal_content,
    partyVia: r.via_party,
    kid: r.kid,
    partyId: r.party_id,
    alg: r.alg,
    publicJwk: r.public_jwk,
    roles: r.roles,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    revokedAt: r.revoked_at,
  };
}

async function recordChange(
  c: pg.PoolClient,
  change: {
    actor: string;
    action: string;
    partyId: string;
    kid?: string;
    detail?: Record<string, unknown>;
  },
): Promise<void> {
  const { rows } = await c.query<{ id: string; at: Date }>(
    'INSERT INTO registry_changes (actor, action, party_id, kid, detail) VALUES ($1, $2, $3, $4, $5) RETURNING id, at',
    [
      change.actor,
      change.action,
      change.partyId,
      change.kid ?? null,
      JSON.stringify(change.detail ?? {}),
    ],
  );
  const id = Number(rows[0]!.id);
  // The log names the change by digest: who made it stays in the registry, provably unchanged.
  const changeDigest = sha256Hex(
    canonicalJson({
      id,
      at: rows[0]!.at.toISOString(),
      actor: change.actor,
      action: change.action,
      party_id: change.partyId,
      kid: change.kid ?? null,
      detail: change.detail ?? {},
    }),
  );
  await appendAudit(c, [
    {
      type: 'registry_change',
      change_id: id,
      action: change.action,
      party_id: change.partyId,
      kid: change.kid ?? null,
      change_digest: changeDigest,
    },
  ]);
}

async function insertKeys(
  c: pg.PoolClient,
  partyId: string,
  keys: NewKey[],
  actor: string,
): Promise<void> {
  for (const k of keys) {
    const { rowCount } = await c.query(
      `INSERT INTO party_keys (kid, party_id, alg, public_jwk, roles, valid_from, valid_until, added_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kid) DO NOTHING`,
      [
        k.kid,
        partyId,
        k.alg,
        JSON.stringify(k.publicJwk),
        k.roles,
        k.validFrom,
        k.validUntil,
        actor,
      ],
    );
    if (rowCount === 0) throw new AppError('conflict', `key ${k.kid} is already registered`);
    await recordChange(c, {
      actor,
      action: 'key_added',
      partyId,
      kid: k.kid,
      detail: {
        alg: k.alg,
        roles: k.roles,
        validFrom: k.validFrom.toISOString(),
        validUntil: iso(k.validUntil),
      },
    });
  }
}

export async function addParty(
  pool: pg.Pool,
  party: {
    partyId: string;
    name: string;
    inboxUrl: string;
    keys: NewKey[];
    sealContent?: boolean | undefined;
    via?: string | undefined;
    mediators?: string[] | undefined;
    relays?: boolean | undefined;
  },
  actor: string,
): Promise<void> {
  const sealContent = party.sealContent ?? false;
  const relays = party.relays ?? false;
  const mediators = [...new Set(party.mediators ?? [])];
  await withTransaction(pool, async (c) => {
    if (party.via !== undefined) await checkMediator(c, party.via, party.partyId);
    for (const [i, m] of mediators.entries())
      await checkMediator(c, m, party.partyId, `/mediators/${i}`);
    const { rowCount } = await c.query(
      `INSERT INTO parties (party_id, name, inbox_url, created_by, seal_content, via_party, relays,
         mediators)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (party_id) DO NOTHING`,
      [
        party.partyId,
        party.name,
        party.inboxUrl,
        actor,
        sealContent,
        party.via ?? null,
        relays,
        mediators,
      ],
    );
    if (rowCount === 0)
      throw new AppError('conflict', `party ${party.partyId} is already registered`);
    await recordChange(c, {
      actor,
      action: 'party_added',
      partyId: party.partyId,
      detail: {
        name: party.name,
        inboxUrl: party.inboxUrl,
        sealContent,
        ...(party.via !== undefined ? { via: party.via } : {}),
        ...(mediators.length ? { mediators } : {}),
        ...(relays ? { relays } : {}),
      },
    });
    await insertKeys(c, party.partyId, party.keys, actor);
  });
}

export async function updateParty(
  pool: pg.Pool,
  partyId: string,
  changes: {
    name?: string | undefined;
    inboxUrl?: string | undefined;
    sealContent?: boolean | undefined;
    /** The mediator messages to and from the party go through; null: directly. */
    via?: string | null | undefined;
    /** The mediators a request with the party may name (replaces the list). */
    mediators?: string[] | undefined;
    relays?: boolean | undefined;
  },
  actor: string,
): Promise<void> {
  const mediators = changes.mediators && [...new Set(changes.mediators)];
  await withTransaction(pool, async (c) => {
    if (changes.via) await checkMediator(c, changes.via, partyId);
    for (const [i, m] of (mediators ?? []).entries())
      await checkMediator(c, m, partyId, `/mediators/${i}`);
    const { rowCount } = await c.query(
      `UPDATE parties SET name = COALESCE($2, name), inbox_url = COALESCE($3, inbox_url),
         seal_content = COALESCE($4, seal_content), relays = COALESCE($5, relays),
         via_party = CASE WHEN $6 THEN $7 ELSE via_party END,
         mediators = COALESCE($8, mediators), updated_at = now()
       WHERE party_id = $1`,
      [
        partyId,
        changes.name ?? null,
        changes.inboxUrl ?? null,
        changes.sealContent ?? null,
        changes.relays ?? null,
        changes.via !== undefined,
        changes.via ?? null,
        mediators ?? null,
      ],
    );
    if (rowCount === 0) throw new AppError('unknown_party', `no registered party ${partyId}`);
    await recordChange(c, {
      actor,
      action: 'party_updated',
      partyId,
      detail: { ...changes, ...(mediators ? { mediators } : {}) },
    });
  });
}

export async function addKeys(
  pool: pg.Pool,
  partyId: string,
  keys: NewKey[],
  actor: string,
): Promise<void> {
  await withTransaction(pool, async (c) => {
    const { rowCount } = await c.query('SELECT 1 FROM parties WHERE party_id = $1 FOR UPDATE', [
      partyId,
    ]);
    if (rowCount === 0) throw new AppError('unknown_party', `no registered party ${partyId}`);
    await insertKeys(c, partyId, keys, actor);
  });
}

/** A mediator must be a registered party other than the one it mediates for. */
async function checkMediator(
  c: pg.PoolClient,
  via: string,
  partyId: string,
  path = '/via',
): Promise<void> {
  if (via === partyId)
    throw new AppError('schema_invalid', 'a party is not its own mediator', [
      { path, message: 'must name another registered party' },
    ]);
  const { rows } = await c.query<{ via_party: string | null }>(
    'SELECT via_party FROM parties WHERE party_id = $1',
    [via],
  );
  if (!rows[0])
    throw new AppError('unknown_party', `the mediator ${via} is not a registered party`);
  // One mediator between two parties: a mediator reached through another is not supported.
  if (rows[0].via_party)
    throw new AppError('schema_invalid', 'the mediator is itself reached through a mediator', [
      { path, message: 'must name a party reached directly' },
    ]);
}

/**
 * Locks the party's row within `client`'s open transaction (until commit or rollback), so work
 * about one partner runs one at a time. Returns whether the party is registered.
 */
export async function lockParty(client: pg.PoolClient, partyId: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM parties WHERE party_id = $1 FOR UPDATE', [
    partyId,
  ]);
  return rowCount !== 0;
}

export async function revokeKey(
  pool: pg.Pool,
  partyId: string,
  kid: string,
  revocation: { revokedAt: Date; reason: string },
  actor: string,
): Promise<void> {
  await withTransaction(pool, async (c) => {
    const { rows } = await c.query<{ revoked_at: Date | null }>(
      'SELECT revoked_at FROM party_keys WHERE party_id = $1 AND kid = $2 FOR UPDATE',
      [partyId, kid],
    );
    if (!rows[0]) throw new AppError('unknown_key', `party ${partyId} has no key ${kid}`);
    if (rows[0].revoked_at) throw new AppError('conflict', `key ${kid} was already revoked`);
    await c.query(
      'UPDATE party_keys SET revoked_at = $3, revocation_reason = $4 WHERE party_id = $1 AND kid = $2',
      [partyId, kid, revocation.revokedAt, revocation.reason],
    );
    await recordChange(c, {
      actor,
      action: 'key_revoked',
      partyId,
      kid,
      detail: { revokedAt: revocation.revokedAt.toISOString(), reason: revocation.reason },
    });
  });
}

function keyView(r: KeyRow): PartnerKeyView {
  return {
    kid: r.kid,
    alg: r.alg,
    publicJwk: r.public_jwk,
    roles: r.roles,
    validFrom: r.valid_from.toISOString(),
    validUntil: iso(r.valid_until),
    revokedAt: iso(r.revoked_at),
    revocationReason: r.revocation_reason,
    addedAt: r.added_at.toISOString(),
    addedBy: r.added_by,
  };
}

export async function listParties(pool: pg.Pool, partyId?: string): Promise<PartnerView[]> {
  const { rows: parties } = await pool.query<{
    party_id: string;
    name: string;
    inbox_url: string;
    created_at: Date;
    created_by: string;
    seal_content: boolean;
    via_party: string | null;
    mediators: string[];
    relays: boolean;
  }>(
    'SELECT party_id, name, inbox_url, created_at, created_by, seal_content, via_party, mediators, relays FROM parties WHERE ($1::text IS NULL OR party_id = $1) ORDER BY party_id',
    [partyId ?? null],
  );
  const { rows: keys } = await pool.query<KeyRow>(
    'SELECT * FROM party_keys WHERE ($1::text IS NULL OR party_id = $1) ORDER BY valid_from, kid',
    [partyId ?? null],
  );
  return parties.map((p) => ({
    partyId: p.party_id,
    name: p.name,
    inboxUrl: p.inbox_url,
    createdAt: p.created_at.toISOString(),
    createdBy: p.created_by,
    sealContent: p.seal_content,
    via: p.via_party,
    mediators: p.mediators,
    relays: p.relays,
    keys: keys.filter((k) => k.party_id === p.party_id).map(keyView),
  }));
}

/** Whether `partyId` is a registered partner (one indexed lookup, for the create path). */
export async function partyExists(pool: pg.Pool, partyId: string): Promise<boolean> {
  const { rowCount } = await pool.query('SELECT 1 FROM parties WHERE party_id = $1', [partyId]);
  return rowCount === 1;
}

/**
 * Where a message to a registered partner is posted (undefined when not registered): its inbox,
 * or its mediator's when the registry says its messages go through one (`via`).
 */
export async function partyInboxUrl(pool: pg.Pool, partyId: string): Promise<string | undefined> {
  const { rows } = await pool.query<{ inbox_url: string }>(
    `SELECT COALESCE(m.inbox_url, p.inbox_url) AS inbox_url
       FROM parties p LEFT JOIN parties m ON m.party_id = p.via_party
      WHERE p.party_id = $1`,
    [partyId],
  );
  return rows[0]?.inbox_url;
}

/** A party's own inbox (never through a mediator): where a mediator forwards to. */
export async function partyOwnInbox(
  pool: pg.Pool,
  partyId: string,
): Promise<{ inboxUrl: string; relays: boolean } | undefined> {
  const { rows } = await pool.query<{ inbox_url: string; relays: boolean }>(
    'SELECT inbox_url, relays FROM parties WHERE party_id = $1',
    [partyId],
  );
  return rows[0] && { inboxUrl: rows[0].inbox_url, relays: rows[0].relays };
}

/**
 * Whether a request with `partyId` may go through `mediator`: the registry's `via` for the party
 * when one is set (every request goes through it), else one of the mediators it lists for it.
 */
export async function mediatorAgreed(
  pool: pg.Pool,
  partyId: string,
  mediator: string,
): Promise<boolean> {
  const { rowCount } = await pool.query(
    `SELECT 1 FROM parties WHERE party_id = $1
        AND CASE WHEN via_party IS NULL THEN $2 = ANY (mediators) ELSE via_party = $2 END`,
    [partyId, mediator],
  );
  return rowCount === 1;
}

/** The mediator the registry routes a party's messages through, if any. */
export async function partyVia(pool: pg.Pool, partyId: string): Promise<string | undefined> {
  const { rows } = await pool.query<{ via_party: string | null }>(
    'SELECT via_party FROM parties WHERE party_id = $1',
    [partyId],
  );
  return rows[0]?.via_party ?? undefined;
}

/**
 * Whether messages to `partyId` are sealed, and to which of its keys: the newest registered key
 * with the `encryption` role usable at `at`. `undefined` when the party does not take sealed
 * content; `encryption_key_missing` when it does and no key is usable.
 */
export async function sealingKeyFor(
  db: Pick<pg.Pool, 'query'>,
  partyId: string,
  at: Date,
): Promise<SealingKey | undefined> {
  const { rows } = await db.query<{ seal_content: boolean; kid: string | null; public_jwk: JWK }>(
    `SELECT p.seal_content, k.kid, k.public_jwk FROM parties p
       LEFT JOIN LATERAL (
         SELECT kid, public_jwk FROM party_keys
          WHERE party_id = p.party_id AND 'encryption' = ANY (roles) AND alg = 'ECDH-ES+A256KW'
            AND valid_from <= $2
            AND (valid_until IS NULL OR valid_until > $2) AND (revoked_at IS NULL OR revoked_at > $2)
          ORDER BY valid_from DESC, kid LIMIT 1) k ON true
      WHERE p.party_id = $1`,
    [partyId, at],
  );
  const r = rows[0];
  if (!r)
    throw new AppError('unknown_party', `${partyId} is not a registered partner of this node`);
  if (!r.seal_content) return undefined;
  if (!r.kid)
    throw new AppError(
      'encryption_key_missing',
      `${partyId} takes sealed content, and none of its registered encryption keys is usable now`,
    );
  return { kid: r.kid, publicJwk: r.public_jwk };
}

export async function getParty(pool: pg.Pool, partyId: string): Promise<PartnerView | undefined> {
  return (await listParties(pool, partyId))[0];
}

export async function listRegistryChanges(
  pool: pg.Pool,
  partyId: string,
): Promise<RegistryChangeView[]> {
  const { rows } = await pool.query<{
    at: Date;
    actor: string;
    action: string;
    party_id: string;
    kid: string | null;
    detail: Record<string, unknown>;
  }>(
    'SELECT at, actor, action, party_id, kid, detail FROM registry_changes WHERE party_id = $1 ORDER BY id',
    [partyId],
  );
  return rows.map((r) => ({
    at: r.at.toISOString(),
    actor: r.actor,
    action: r.action,
    partyId: r.party_id,
    kid: r.kid,
    detail: r.detail,
  }));
}
