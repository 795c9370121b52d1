-- A message of ours the partner refused for good (a 4xx other than replay): the request's row says
-- so, so that lists and the request page show it without reading the timeline. Null, or
-- {msgId, kind, code, at}: the refused message, its kind (null for refusals recorded before the
-- workflow named it), the partner's code and when the refusal was recorded. Written by the
-- projection of the `message_refused_by_partner` event (db/requests.ts), in its transaction.
ALTER TABLE requests ADD COLUMN partner_refusal jsonb
  CHECK (partner_refusal IS NULL OR jsonb_typeof(partner_refusal) = 'object');

-- Refusals already on timelines: the latest of each request.
UPDATE requests r SET partner_refusal = jsonb_build_object(
    'msgId', e.detail ->> 'msgId',
    'kind', e.detail ->> 'kind',
    'code', e.detail ->> 'code',
    'at', to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
FROM (SELECT DISTINCT ON (req_id) req_id, at, detail FROM request_events
      WHERE type = 'message_refused_by_partner'
      ORDER BY req_id, seq DESC) e
WHERE r.req_id = e.req_id;

-- The supervisors' `refused=true` list in its default order (refused requests are few).
CREATE INDEX requests_refused_created_idx ON requests (created_at DESC, req_id DESC)
  WHERE partner_refusal IS NOT NULL;
