import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { mintDevToken } from '../../node/dev-issuer.js';
import { RequestDetailView, RequestView } from '../../schemas/requests-api.js';
import { getRequestState } from '../../workflows/messages.js';
import { call } from '../helpers/http.js';
import { startTestNode } from '../helpers/node.js';
import { eventually, registerOfflinePartner } from '../helpers/partners.js';
import { freePort } from '../helpers/ports.js';
import { accepts, exited, startCli } from '../helpers/cli-process.js';
import { subjectFor } from '../helpers/domain.js';

const body = {
  type: 'identification_result',
  counterparty: 'party-b',
  subject: subjectFor('identification_result', 'Results for remains recovered at site 14'),
};

describe.each(['pglite', 'postgres'] as const)(
  'a node on %s restarted on the same data',
  (database) => {
    it('still shows its requests, and their workflows still answer', async () => {
      const first = await startTestNode({ partyId: 'party-a', database });
      await registerOfflinePartner(first);
      const token = await first.token('officer', 'alice');
      const created = RequestView.parse(
        (await call(first.url, 'POST', '/v1/requests', { token, json: body })).body,
      );

      const started = Date.now();
      await first.destroy({ keep: true });
      expect(Date.now() - started).toBeLessThan(10_000);

      const second = await startTestNode({
        partyId: 'party-a',
        database,
        reuse: {
          dataDir: first.dataDir,
          namespace: first.namespace,
          databaseUrl: first.databaseUrl,
        },
      });
      try {
        const res = await call(second.url, 'GET', `/v1/requests/${created.id}`, {
          token: await second.token('supervisor'),
        });
        expect(res.status).toBe(200);
        expect(RequestDetailView.parse(res.body)).toMatchObject({
          id: created.id,
          status: 'submitted',
          createdBy: 'alice',
        });
        // The workflow answers on the restarted node. The 201 came from the API's own record of
        // the request; the workflow may have been stopped before its first task recorded it, in
        // which case the restarted worker does so now: wait for that, not for a moment.
        const handle = second.temporal.client.workflow.getHandle(created.workflowId);
        expect(await handle.query(getRequestState)).toMatchObject({
          reqId: created.id,
          status: 'submitted',
        });
        const state = await eventually(
          async () => {
            const s = await handle.query(getRequestState);
            return s.recorded ? s : undefined;
          },
          60_000,
          'the restarted workflow to record its request',
        );
        expect(state).toMatchObject({ reqId: created.id, status: 'submitted', recorded: true });
      } finally {
        await second.destroy();
      }
      // Two node starts and a restarted worker's first task: a minute or more on a busy machine.
    }, 180_000);
  },
);

describe('parley start (the README command)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });

  it('brings up Temporal, PGlite, worker and API; stops cleanly on SIGTERM within 10 s; finds its data again', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-cli-'));
    dirs.push(dataDir);
    const ports = {
      PORT: await freePort(),
      TEMPORAL_DEV_PORT: await freePort(),
      TEMPORAL_DEV_UI_PORT: await freePort(),
    };
    const env = {
      PARTY_ID: 'party-a',
      PARLEY_DATA_DIR: dataDir,
      TEMPORAL_CLI_PATH: inject('temporalCliPath'),
      LOG_LEVEL: 'warn',
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    };
    const url = `http://127.0.0.1:${ports.PORT}`;

    const first = startCli(env);
    await first.up;
    // One banner names every URL.
    expect(first.output()).toContain(url);
    expect(first.output()).toContain(`127.0.0.1:${ports.TEMPORAL_DEV_PORT}`);
    expect(first.output()).toContain(`http://127.0.0.1:${ports.TEMPORAL_DEV_UI_PORT}`);
    expect(first.output()).toContain(`${url}/dashboard`);
    expect((await call(url, 'GET', '/readyz')).status).toBe(200);
    const mint = (roles: ('officer' | 'supervisor' | 'admin')[]) =>
      mintDevToken({
        dataDir,
        issuer: 'parley-dev-issuer',
        audience: 'parley',
        rolesClaim: 'roles',
        sub: 'alice',
        roles,
        ttlSeconds: 300,
      });
    await registerOfflinePartner({ url, token: (role) => mint([role as 'admin']) });
    const created = await call(url, 'POST', '/v1/requests', {
      token: await mint(['officer']),
      json: body,
    });
    expect(created.status).toBe(201);

    const stopStarted = Date.now();
    first.child.kill('SIGTERM');
    expect(await exited(first.child)).toBe(0);
    expect(Date.now() - stopStarted).toBeLessThan(10_000);
    expect(await accepts(ports.TEMPORAL_DEV_PORT)).toBe(false);
    expect(await accepts(ports.PORT)).toBe(false);

    const second = startCli(env);
    try {
      await second.up;
      const res = await call(url, 'GET', `/v1/requests/${created.body.id}`, {
        token: await mint(['supervisor']),
      });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('submitted');
    } finally {
      second.child.kill('SIGINT');
      expect(await exited(second.child)).toBe(0);
    }
  }, 180_000);
});
