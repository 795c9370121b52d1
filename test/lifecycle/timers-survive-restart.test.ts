// Deadlines live in Temporal timers: party A's node (its own `parley start` process with its own
// embedded Temporal dev server) is stopped while a deadline passes, and the deadline still fires
// when it comes back.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { mintDevToken } from '../../node/dev-issuer.js';
import type { Role } from '../../schemas/common.js';
import { RequestDetailView } from '../../schemas/requests-api.js';
import { exited, startCli } from '../helpers/cli-process.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { writeTestPolicy } from '../helpers/policy.js';
import { freePort } from '../helpers/ports.js';
import { subjectFor } from '../helpers/domain.js';

const exec = promisify(execFile);
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
});

describe('deadlines across a restart of the whole node and its Temporal server', () => {
  it('escalates a deadline that passed while the node was down, once it is back', async () => {
    const policyFile = await writeTestPolicy([
      {
        request_type: 'mine_map',
        priority: 'urgent',
        acknowledge_seconds: 8,
        respond_seconds: 60,
        escalation_after_seconds: [0],
      },
    ]);
    const b: TestNode = await startTestNode({
      partyId: 'party-b',
      env: { PARLEY_POLICY_FILE: policyFile, DELIVERY_MAX_BACKOFF_SECONDS: '1' },
    });
    cleanup.push(() => b.destroy());

    const aDir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-a-process-'));
    cleanup.push(() => fs.rm(aDir, { recursive: true, force: true }));
    const port = await freePort();
    const aUrl = `http://127.0.0.1:${port}`;
    const aEnv = {
      PARTY_ID: 'party-a',
      PORT: String(port),
      PARLEY_DATA_DIR: aDir,
      TEMPORAL_CLI_PATH: inject('temporalCliPath'),
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_DEV_UI_PORT: String(await freePort()),
      PARLEY_POLICY_FILE: policyFile,
      DELIVERY_MAX_BACKOFF_SECONDS: '1',
      LOG_LEVEL: 'warn',
    };
    const run = (args: string[]) =>
      exec(process.execPath, ['--import', 'tsx', 'cli/parley.ts', ...args], {
        env: { PATH: process.env.PATH ?? '', ...aEnv },
      });
    await run(['keys', 'generate']);
    const aJwks = JSON.parse((await run(['keys', 'jwks'])).stdout) as unknown;
    expect(
      (
        await call(b.url, 'POST', '/v1/admin/partners', {
          token: await b.token('admin'),
          json: {
            partyId: 'party-a',
            name: 'Party A',
            inboxUrl: `${aUrl}/v1/messages`,
            jwks: aJwks,
          },
        })
      ).status,
    ).toBe(201);

    const aToken = (role: Role) =>
      mintDevToken({
        dataDir: aDir,
        issuer: 'parley-dev-issuer',
        audience: 'parley',
        rolesClaim: 'roles',
        sub: `a-${role}`,
        roles: [role],
        ttlSeconds: 600,
      });
    let a = startCli(aEnv);
    cleanup.push(async () => {
      if (a.child.exitCode === null) {
        a.child.kill('SIGTERM');
        await exited(a.child);
      }
    });
    await a.up;
    await registerPartner({ url: aUrl, token: (r) => aToken(r as Role) } as TestNode, b);

    const created = await call(aUrl, 'POST', '/v1/requests', {
      token: await aToken('officer'),
      json: {
        type: 'mine_map',
        counterparty: 'party-b',
        priority: 'urgent',
        subject: subjectFor('mine_map', 'Minefield records, southern ford'),
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const detail = async () => {
      const res = await call(aUrl, 'GET', `/v1/requests/${id}`, {
        token: await aToken('supervisor'),
      });
      return res.status === 200 ? RequestDetailView.parse(res.body) : undefined;
    };
    const delivered = await eventually(
      async () => {
        const r = await detail();
        return r?.status === 'delivered' ? r : undefined;
      },
      90_000,
      'delivered',
    );

    // Down before the acknowledgement deadline, up again after it.
    a.child.kill('SIGTERM');
    expect(await exited(a.child)).toBe(0);
    const due = Date.parse(delivered.ackDueAt!);
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now()) + 2000));
    expect(Date.now()).toBeGreaterThan(due);
    a = startCli(aEnv);
    await a.up;

    const late = await eventually(
      async () => {
        const r = await detail();
        return r?.timeline.some((e) => e.type === 'escalated') ? r : undefined;
      },
      90_000,
      'escalation after the restart',
    );
    expect(late.overdue).toBe(true);
    const escalated = late.timeline.find((e) => e.type === 'escalated')!;
    expect(escalated.detail).toMatchObject({
      deadline: 'acknowledgement',
      level: 1,
      due_at: delivered.ackDueAt,
    });
    expect(Date.parse(escalated.at)).toBeGreaterThan(due);
  }, 300_000);
});
