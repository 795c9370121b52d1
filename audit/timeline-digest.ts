// The digest the audit log holds of a timeline event: SHA-256 of its RFC 8785 canonical JSON. The
// event itself (actor, detail) stays in the read model; the log proves it unchanged.
import canonicalize from 'canonicalize';
import crypto from 'node:crypto';

export interface TimelineEventFields {
  seq: number;
  at: string;
  type: string;
  actor: string | null;
  status: string | null;
  detail: Record<string, unknown>;
}

export function timelineEventDigestOf(reqId: string, e: TimelineEventFields): string {
  const text = canonicalize({
    req_id: reqId,
    seq: e.seq,
    at: new Date(e.at).toISOString(),
    type: e.type,
    actor: e.actor,
    status: e.status,
    detail: e.detail,
  });
  return crypto.createHash('sha256').update(text!, 'utf8').digest('hex');
}
