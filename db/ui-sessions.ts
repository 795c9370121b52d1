// Browser sign-in in Postgres (api/session.ts, migration 0017): the sign-ins under way and the
// sessions of signed-in users, each keyed by the SHA-256 of its cookie value (`idHash`), so a copy
// of the tables opens no session.
import type pg from 'pg';

/** An authorization request sent to the provider and not yet answered. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  code_verifier: string;
  next: string;
}

/** A signed-in browser's session as stored; `live` is false once it expired. */
export interface UiSessionRow {
  sub: string;
  name: string | null;
  roles: string[];
  csrf_token: string;
  live: boolean;
}

/** Removes the sign-ins whose time to come back from the provider is over. */
export async function deleteExpiredSignIns(pool: pg.Pool): Promise<void> {
  await pool.query(`DELETE FROM ui_sign_ins WHERE expires_at < now()`);
}

/** Records a sign-in under way, for `seconds` from now. */
export async function insertSignIn(
  pool: pg.Pool,
  s: PendingSignIn & { idHash: Buffer; seconds: number },
): Promise<void> {
  await pool.query(
    `INSERT INTO ui_sign_ins (id_hash, state, nonce, code_verifier, next, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
    [s.idHash, s.state, s.nonce, s.code_verifier, s.next, s.seconds],
  );
}

/** Takes (removes and returns) the sign-in under way, unless it expired or is unknown. */
export async function takeSignIn(
  pool: pg.Pool,
  idHash: Buffer,
): Promise<PendingSignIn | undefined> {
  const { rows } = await pool.query<PendingSignIn>(
    `DELETE FROM ui_sign_ins WHERE id_hash = $1 AND expires_at > now()
     RETURNING state, nonce, code_verifier, next`,
    [idHash],
  );
  return rows[0];
}

/** Removes the sessions that have ended. */
export async function deleteExpiredSessions(pool: pg.Pool): Promise<void> {
  await pool.query(`DELETE FROM ui_sessions WHERE expires_at < now()`);
}

/** Records a new session, for `seconds` from now. */
export async function insertSession(
  pool: pg.Pool,
  s: {
    idHash: Buffer;
    sub: string;
    name: string | null;
    roles: string[];
    csrfToken: string;
    seconds: number;
  },
): Promise<void> {
  await pool.query(
    `INSERT INTO ui_sessions (id_hash, sub, name, roles, csrf_token, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
    [s.idHash, s.sub, s.name, s.roles, s.csrfToken, s.seconds],
  );
}

/** The session's CSRF token (expired or not), or undefined when no such session is stored. */
export async function sessionCsrfToken(pool: pg.Pool, idHash: Buffer): Promise<string | undefined> {
  const { rows } = await pool.query<{ csrf_token: string }>(
    `SELECT csrf_token FROM ui_sessions WHERE id_hash = $1`,
    [idHash],
  );
  return rows[0]?.csrf_token;
}

/** The session (expired or not: see `live`), or undefined when no such session is stored. */
export async function getUiSession(
  pool: pg.Pool,
  idHash: Buffer,
): Promise<UiSessionRow | undefined> {
  const { rows } = await pool.query<UiSessionRow>(
    `SELECT sub, name, roles, csrf_token, expires_at > now() AS live
       FROM ui_sessions WHERE id_hash = $1`,
    [idHash],
  );
  return rows[0];
}

/** Ends the session (signed out, or found expired). */
export async function deleteUiSession(pool: pg.Pool, idHash: Buffer): Promise<void> {
  await pool.query(`DELETE FROM ui_sessions WHERE id_hash = $1`, [idHash]);
}
