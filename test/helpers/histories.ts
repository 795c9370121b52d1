// Workflow histories as test fixtures: recorded from real lifecycles (RECORD_HISTORIES=1), then
// replayed on every run so a non-deterministic change to workflow code fails the tests.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { decodeHistoryPayloads } from '../../temporal/history-payloads.js';

export const HISTORIES_DIR = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));

/**
 * Saves a workflow's history as `<name>.json` when RECORD_HISTORIES is set; any value but `1` is
 * a prefix (`RECORD_HISTORIES=v2` writes `v2-<name>.json`), so histories of an earlier workflow
 * version stay beside the new ones and keep replaying.
 */
export async function recordHistory(
  client: Client,
  workflowId: string,
  name: string,
): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  // Saved decrypted: the recording node's payload keys go with it, the fixture must replay without.
  const history = await decodeHistoryPayloads(
    await client.workflow.getHandle(workflowId).fetchHistory(),
    client.options.loadedDataConverter.payloadCodecs,
  );
  await fs.mkdir(HISTORIES_DIR, { recursive: true });
  const prefix = process.env.RECORD_HISTORIES === '1' ? '' : `${process.env.RECORD_HISTORIES}-`;
  await fs.writeFile(
    path.join(HISTORIES_DIR, `${prefix}${name}.json`),
    historyToJSON(history) + '\n',
  );
}
