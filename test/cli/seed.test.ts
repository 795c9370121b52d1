// `parley seed` against a real node: a demo partner comes up beside it, requests go both ways and
// end in every status, and a second run adds more instead of failing on the known partner.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { formatSeedTable, runSeed, type SeedOptions } from '../../cli/commands/seed.js';
import { call } from '../helpers/http.js';
import { startTestNode, testLogger, type TestNode } from '../helpers/node.js';

let node: TestNode;
let options: SeedOptions;

async function listed(): Promise<{ status: string; direction: string; counterparty: string }[]> {
  const res = await call(node.url, 'GET', '/v1/requests?limit=200', {
    token: await node.token('supervisor'),
  });
  expect(res.status).toBe(200);
  return res.body.items;
}

beforeAll(async () => {
  node = await startTestNode({ partyId: 'party-a' });
  options = {
    url: node.url,
    token: await node.token(['admin', 'officer', 'supervisor'], 'seed-operator'),
    dataDir: node.dataDir,
    temporalAddress: inject('temporalAddress'),
    // Its own namespace per run of this file, as the user's would be per partner.
    namespace: `${node.namespace}-demo`,
    count: 11,
    timeoutMs: 30_000,
    workflowBundlePath: inject('workflowBundlePath'),
    log: testLogger,
  };
});
afterAll(async () => {
  await node?.destroy();
});

describe('parley seed', () => {
  it('fills the node with requests in every status, both ways, and can run again', async () => {
    const first = await runSeed(options);
    expect(first.partnerNode).toBeUndefined();
    expect(
      first.requests.filter((r) => !r.reached),
      formatSeedTable(first),
    ).toEqual([]);
    expect(first.requests).toHaveLength(11);

    const items = await listed();
    expect(items).toHaveLength(11);
    const statuses = new Set(items.map((r) => r.status));
    expect([...statuses].sort()).toEqual([
      'acknowledged',
      'answered',
      'closed',
      'declined',
      'delivered',
      'partially_answered',
      'submitted',
      'withdrawn',
    ]);
    expect(new Set(items.map((r) => r.direction))).toEqual(new Set(['incoming', 'outgoing']));
    expect(new Set(items.map((r) => r.counterparty))).toEqual(new Set(['party-demo']));

    // Partner known on both sides already, demo on a new port: the seed carries on.
    const second = await runSeed({ ...options, count: 3 });
    expect(
      second.requests.filter((r) => !r.reached),
      formatSeedTable(second),
    ).toEqual([]);
    expect(await listed()).toHaveLength(14);
  }, 90_000);
});
