// Rotating the payload codec's key on a live node: a request started under the old key keeps
// working after a restart with a new key listed first, and what it writes from then on is
// encrypted under the new key.
import crypto from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { RequestView } from '../../schemas/requests-api.js';
import { keyIdOf } from '../../temporal/codec.js';
import { subjectFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { registerOfflinePartner } from '../helpers/partners.js';

const k0 = crypto.randomBytes(32).toString('base64');
const k1 = crypto.randomBytes(32).toString('base64');
const nodes: TestNode[] = [];
afterAll(async () => {
  for (const n of nodes.reverse()) await n.destroy();
});

type EventPayloads = { event: string; keyIds: string[] };

/** The key id of each payload the node wrote into the workflow's history, event by event. */
async function keyIdsInHistory(node: TestNode, workflowId: string): Promise<EventPayloads[]> {
  const history = await node.temporal.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const found = {
      started: e.workflowExecutionStartedEventAttributes?.input,
      activityScheduled: e.activityTaskScheduledEventAttributes?.input,
      activityCompleted: e.activityTaskCompletedEventAttributes?.result,
      updateAccepted:
        e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.args,
    };
    return Object.entries(found).flatMap(([event, p]) =>
      p?.payloads?.length
        ? [{ event, keyIds: p.payloads.map((x) => keyIdOf(x) ?? '(plain)') }]
        : [],
    );
  });
}

describe('rotating TEMPORAL_CODEC_KEYS', () => {
  it('keeps a running request working, and encrypts what follows under the new key', async () => {
    const first = await startTestNode({
      partyId: 'party-a',
      env: { TEMPORAL_CODEC_KEYS: `k0:${k0}` },
    });
    await registerOfflinePartner(first);
    const created = RequestView.parse(
      (
        await call(first.url, 'POST', '/v1/requests', {
          token: await first.token('officer', 'alice'),
          json: {
            type: 'grave_information',
            counterparty: 'party-b',
            subject: subjectFor('grave_information', 'Burial sites near the old quarry'),
          },
        })
      ).body,
    );
    const before = await keyIdsInHistory(first, created.workflowId);
    expect(before.flatMap((e) => e.keyIds)).toContain('k0');
    expect(before.flatMap((e) => e.keyIds).every((k) => k === 'k0')).toBe(true);
    await first.destroy({ keep: true });

    const second = await startTestNode({
      partyId: 'party-a',
      reuse: {
        dataDir: first.dataDir,
        namespace: first.namespace,
        databaseUrl: first.databaseUrl!,
      },
      env: { TEMPORAL_CODEC_KEYS: `k1:${k1},k0:${k0}` },
    });
    nodes.push(second);
    expect(second.temporal.codec.currentKeyId).toBe('k1');
    const withdrawn = await call(second.url, 'POST', `/v1/requests/${created.id}/withdraw`, {
      token: await second.token('officer', 'alice'),
      json: { reason: 'No longer needed.' },
    });
    expect(withdrawn.status, JSON.stringify(withdrawn.body)).toBe(200);
    expect(RequestView.parse(withdrawn.body.request).status).toBe('withdrawn');

    // Started under k0; the withdrawal and everything after it under k1; nothing in plain.
    const after = await keyIdsInHistory(second, created.workflowId);
    expect(after[0]).toEqual({ event: 'started', keyIds: ['k0'] });
    const withdrawal = after.map((e) => e.event).lastIndexOf('updateAccepted');
    expect(withdrawal).toBeGreaterThan(0);
    expect(after[withdrawal]!.keyIds).toEqual(['k1']);
    expect(new Set(after.slice(withdrawal).flatMap((e) => e.keyIds))).toEqual(new Set(['k1']));
    expect(after.flatMap((e) => e.keyIds)).not.toContain('(plain)');
  });
});
