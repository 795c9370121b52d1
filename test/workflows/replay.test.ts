// Replays recorded histories of real lifecycles against today's workflow code: a change that is
// not deterministic (or not guarded by patched()) fails here before it can break running requests.
import fs from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { HISTORIES_DIR } from '../helpers/histories.js';

const files = (await fs.readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.json')).sort();

describe('recorded workflow histories', () => {
  it('are there to replay (record them with RECORD_HISTORIES=1 npm test)', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  it.each(files)('%s replays deterministically on the current workflow code', async (file) => {
    const history = historyFromJSON(
      JSON.parse(await fs.readFile(path.join(HISTORIES_DIR, file), 'utf8')),
    );
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: inject('workflowBundlePath') }, replayName: file },
      history,
      file.replace(/\.json$/, ''),
    );
  });
});
