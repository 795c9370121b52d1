// Queries on the attachment store: content-addressed bytes (table `attachments`), and the stored
// messages that name them (who may fetch them; which received messages wait for them).
import type pg from 'pg';
import type { InboxRow } from './messages.js';

export interface AttachmentMeta {
  sha256: string;
  size: number;
  media_type: string;
  created_at: Date;
}

export interface AttachmentRow extends AttachmentMeta {
  content: Buffer;
}

/** jsonb containment pattern: an `attachments` list holding an entry with this digest. */
const naming = (sha256: string) => JSON.stringify([{ sha256 }]);

/**
 * Stores the bytes under their digest, committed before it returns; `created` is false when they
 * were stored before (the first upload's media type and author stay).
 */
export async function storeAttachment(
  pool: pg.Pool,
  a: { sha256: string; mediaType: string; content: Buffer; createdBy: string },
): Promise<{ created: boolean; meta: AttachmentMeta }> {
  const { rows } = await pool.query<AttachmentMeta>(
    `INSERT INTO attachments (sha256, size, media_type, content, created_by)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING
     RETURNING sha256, size, media_type, created_at`,
    [a.sha256, a.content.length, a.mediaType, a.content, a.createdBy],
  );
  if (rows[0]) return { created: true, meta: { ...rows[0], size: Number(rows[0].size) } };
  const existing = await attachmentMeta(pool, a.sha256);
  if (!existing) throw new Error('attachment neither inserted nor found');
  return { created: false, meta: existing };
}

export async function attachmentMeta(
  pool: pg.Pool,
  sha256: string,
): Promise<AttachmentMeta | undefined> {
  const { rows } = await pool.query<AttachmentMeta>(
    'SELECT sha256, size, media_type, created_at FROM attachments WHERE sha256 = $1',
    [sha256],
  );
  return rows[0] ? { ...rows[0], size: Number(rows[0].size) } : undefined;
}

export async function getAttachment(
  pool: pg.Pool,
  sha256: string,
): Promise<AttachmentRow | undefined> {
  const { rows } = await pool.query<AttachmentRow>(
    'SELECT sha256, size, media_type, created_at, content FROM attachments WHERE sha256 = $1',
    [sha256],
  );
  return rows[0] ? { ...rows[0], size: Number(rows[0].size) } : undefined;
}

/** The digests among `sha256s` that are not stored here. */
export async function missingAttachments(pool: pg.Pool, sha256s: string[]): Promise<string[]> {
  if (sha256s.length === 0) return [];
  const { rows } = await pool.query<{ sha256: string }>(
    `SELECT d AS sha256 FROM unnest($1::text[]) AS d
     WHERE NOT EXISTS (SELECT 1 FROM attachments a WHERE a.sha256 = d)`,
    [sha256s],
  );
  return rows.map((r) => r.sha256);
}

/** Whether some stored message, received or sent, names the attachment. */
export async function attachmentReferenced(pool: pg.Pool, sha256: string): Promise<boolean> {
  const { rows } = await pool.query<{ referenced: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM inbox_messages WHERE payload -> 'attachments' @> $1::jsonb)
         OR EXISTS (SELECT 1 FROM outbox_messages WHERE payload -> 'attachments' @> $1::jsonb)
         AS referenced`,
    [naming(sha256)],
  );
  return rows[0]?.referenced ?? false;
}

/**
 * Whether `party` may learn that this node holds the attachment: it uploaded it, or a message
 * between the two names it.
 */
export async function attachmentKnownTo(
  pool: pg.Pool,
  sha256: string,
  party: string,
): Promise<boolean> {
  const { rows } = await pool.query<{ known: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM attachments WHERE sha256 = $1 AND created_by = $2)
         OR (EXISTS (SELECT 1 FROM attachments WHERE sha256 = $1)
             AND (EXISTS (SELECT 1 FROM inbox_messages
                          WHERE iss = $3 AND payload -> 'attachments' @> $4::jsonb)
                  OR EXISTS (SELECT 1 FROM outbox_messages
                             WHERE aud = $3 AND payload -> 'attachments' @> $4::jsonb)))
         AS known`,
    [sha256, partnerAuthor(party), party, naming(sha256)],
  );
  return rows[0]?.known ?? false;
}

/** The `created_by` of an attachment a partner node uploaded. */
export function partnerAuthor(party: string): string {
  return `partner:${party}`;
}

/**
 * Whether an earlier received message of the same request is not yet handed to the request's
 * workflow: it waits for an attachment, or its hand-over failed (Temporal away) and the relay has
 * not handed it on yet. A later one must not overtake it: before the request message itself is
 * handed on, the request's workflow does not even exist, and a message signalled to it would be
 * lost.
 */
export async function earlierMessageHeld(
  pool: pg.Pool,
  m: { digest: string; reqId: string; receivedAt: Date },
): Promise<boolean> {
  const { rows } = await pool.query<{ held: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM inbox_messages m
       WHERE m.req_id = $1 AND m.dispatched_at IS NULL AND m.digest <> $2
         AND (m.received_at, m.digest) < ($3::timestamptz, $2::text)
     ) AS held`,
    [m.reqId, m.digest, m.receivedAt],
  );
  return rows[0]?.held ?? false;
}

/**
 * Undispatched received messages that may be handed on now that the attachment is here: those
 * naming it, and the later messages of their requests that waited behind them; oldest first.
 */
export async function messagesWaitingOn(pool: pg.Pool, sha256: string): Promise<InboxRow[]> {
  const { rows } = await pool.query<InboxRow>(
    `WITH waiting AS (
       SELECT digest, req_id, received_at FROM inbox_messages
       WHERE dispatched_at IS NULL AND payload -> 'attachments' @> $1::jsonb
     )
     SELECT m.* FROM inbox_messages m
     WHERE m.dispatched_at IS NULL
       AND (m.digest IN (SELECT digest FROM waiting)
            OR EXISTS (SELECT 1 FROM waiting w
                       WHERE w.req_id = m.req_id AND w.received_at <= m.received_at))
     ORDER BY m.received_at, m.digest
     LIMIT 1000`,
    [naming(sha256)],
  );
  return rows;
}
