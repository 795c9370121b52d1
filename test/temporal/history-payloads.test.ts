// A history fetched from a node holds ciphertext; decoded with the node's codec it is a plaintext
// fixture that replays on the workflow code without any key (how RECORD_HISTORIES should save).
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RequestView } from '../../schemas/requests-api.js';
import { decodeHistoryPayloads } from '../../temporal/history-payloads.js';
import { subjectFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerOfflinePartner } from '../helpers/partners.js';

const MARKER = 'MARKER-7f3a';
let node: TestNode;
let workflowId: string;

beforeAll(async () => {
  node = await startTestNode({ partyId: 'party-a' });
  await registerOfflinePartner(node);
  const res = await call(node.url, 'POST', '/v1/requests', {
    token: await node.token('officer', 'alice'),
    json: {
      type: 'mine_map',
      counterparty: 'party-b',
      subject: subjectFor('mine_map', `Corridor ${MARKER} north of the river`),
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const created = RequestView.parse(res.body);
  workflowId = created.workflowId;
  // The 201 comes once the workflow is started and the request recorded: wait for its first task
  // to be completed (the request signed and stored, its delivery scheduled), so the history has
  // commands to replay.
  await eventually(async () => {
    const history = await node.temporal.client.workflow.getHandle(workflowId).fetchHistory();
    return history.events?.some((e) => e.activityTaskScheduledEventAttributes) ? true : undefined;
  });
});
afterAll(() => node?.destroy());

const replay = (json: string) =>
  Worker.runReplayHistory(
    { workflowBundle: { codePath: inject('workflowBundlePath') }, replayName: 'decoded' },
    historyFromJSON(JSON.parse(json)),
    workflowId,
  );

describe('decodeHistoryPayloads', () => {
  it('turns a fetched history into a plaintext one that replays without the keys', async () => {
    const fetched = await node.temporal.client.workflow.getHandle(workflowId).fetchHistory();
    const encrypted = historyToJSON(fetched);
    // As stored, the history does not replay without the node's codec.
    await expect(replay(encrypted)).rejects.toThrow();

    const codecs = node.temporal.client.options.loadedDataConverter.payloadCodecs;
    const plain = historyToJSON(await decodeHistoryPayloads(fetched, codecs));
    expect(plain).not.toContain('YmluYXJ5L2VuY3J5cHRlZA=='); // binary/encrypted
    expect(Buffer.from(plain.match(/"data": ?"([^"]+)"/)![1]!, 'base64').toString()).toContain(
      MARKER,
    );
    await replay(plain);
  });

  it('leaves a history without encrypted payloads as it is', async () => {
    const history = {
      events: [{ input: { payloads: [{ metadata: {}, data: new Uint8Array() }] } }],
    };
    const copy = structuredClone(history);
    expect(await decodeHistoryPayloads(history, [node.temporal.codec])).toEqual(copy);
  });
});
