// Partner B runs as its own `parley start` process: it is away when A submits, and it is killed
// (SIGKILL) in the middle of a lifecycle. Nothing is lost and nothing is sent twice.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mintDevToken } from '../../node/dev-issuer.js';
import type { Role } from '../../schemas/common.js';
import { RequestDetailView } from '../../schemas/requests-api.js';
import { exited, startCli } from '../helpers/cli-process.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { writeTestPolicy } from '../helpers/policy.js';
import { freePort } from '../helpers/ports.js';
import { cloneTemplate, testPool } from '../helpers/postgres.js';
import { finalFor, subjectFor } from '../helpers/domain.js';

const exec = promisify(execFile);
let a: TestNode;
let bDir: string;
let bUrl: string;
let bEnv: Record<string, string>;
let bDb: { url: string; drop: () => Promise<void> };
let b: ReturnType<typeof startCli> | undefined;

const bToken = (role: Role) =>
  mintDevToken({
    dataDir: bDir,
    issuer: 'parley-dev-issuer',
    audience: 'parley',
    rolesClaim: 'roles',
    sub: `b-${role}`,
    roles: [role],
    ttlSeconds: 600,
  });

async function startB(): Promise<void> {
  b = startCli(bEnv);
  await b.up;
}

async function detail(url: string, token: string, id: string) {
  const res = await call(url, 'GET', `/v1/requests/${id}`, { token });
  return res.status === 200 ? RequestDetailView.parse(res.body) : undefined;
}

beforeAll(async () => {
  const policyFile = await writeTestPolicy([
    {
      request_type: 'mine_map',
      priority: 'critical',
      acknowledge_seconds: 120,
      respond_seconds: 600,
    },
  ]);
  a = await startTestNode({
    partyId: 'party-a',
    env: { DELIVERY_MAX_BACKOFF_SECONDS: '1', PARLEY_POLICY_FILE: policyFile },
  });
  bDir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-b-process-'));
  bDb = await cloneTemplate(inject('templateDatabase'));
  const port = await freePort();
  bUrl = `http://127.0.0.1:${port}`;
  bEnv = {
    PARTY_ID: 'party-b',
    PORT: String(port),
    PARLEY_DATA_DIR: bDir,
    DATABASE_URL: bDb.url,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: `t-party-b-${path.basename(bDir).slice(-6).toLowerCase()}`,
    PARLEY_POLICY_FILE: policyFile,
    DELIVERY_MAX_BACKOFF_SECONDS: '1',
    LOG_LEVEL: 'warn',
  };
  // B's key exists before B ever runs, so A's operator can register B from its JWKS.
  const run = (args: string[]) =>
    exec(process.execPath, ['--import', 'tsx', 'cli/parley.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', ...bEnv },
    });
  await run(['keys', 'generate']);
  const jwks = JSON.parse((await run(['keys', 'jwks'])).stdout) as unknown;
  const reg = await call(a.url, 'POST', '/v1/admin/partners', {
    token: await a.token('admin'),
    json: { partyId: 'party-b', name: 'Party B', inboxUrl: `${bUrl}/v1/messages`, jwks },
  });
  expect(reg.status).toBe(201);
});

afterAll(async () => {
  if (b && b.child.exitCode === null) {
    b.child.kill('SIGTERM');
    await exited(b.child);
  }
  await a?.destroy();
  await bDb?.drop();
  await fs.rm(bDir, { recursive: true, force: true });
});

describe('resilience', () => {
  let id: string;

  it('keeps a request for an absent partner, delivers it when the partner comes back, and counts deadlines from its receipt', async () => {
    const officer = await a.token('officer', 'officer-amira');
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: officer,
      json: {
        type: 'mine_map',
        counterparty: 'party-b',
        priority: 'critical',
        subject: subjectFor('mine_map', 'Minefield records, eastern ridge'),
      },
    });
    expect(created.status).toBe(201);
    id = created.body.id as string;
    await eventually(
      async () => {
        const out = await call(a.url, 'GET', '/v1/outbox?status=pending', {
          token: await a.token('supervisor'),
        });
        const m = (out.body.items as { reqId: string; attempts: number }[]).find(
          (x) => x.reqId === id,
        );
        return m && m.attempts >= 2 ? m : undefined;
      },
      20_000,
      'failed attempts while B is away',
    );
    expect((await detail(a.url, officer, id))?.status).toBe('submitted');

    const bStarted = Date.now();
    await startB();
    // B's operator registers A; until then B refuses A's messages (unknown_key) and A keeps trying.
    await registerPartner({ url: bUrl, token: (r) => bToken(r as Role) } as TestNode, a);
    const delivered = await eventually(
      async () => {
        const r = await detail(a.url, officer, id);
        return r?.status === 'delivered' ? r : undefined;
      },
      90_000,
      'delivered after B came back',
    );
    expect(Date.parse(delivered.receiptAt!)).toBeGreaterThanOrEqual(bStarted - 1000);
    expect(Date.parse(delivered.ackDueAt!) - Date.parse(delivered.receiptAt!)).toBe(120_000);
    expect(delivered.deadlines.acknowledgement).toMatchObject({
      countsFrom: delivered.receiptAt,
      durationSeconds: 120,
    });
  }, 180_000);

  it('survives B being killed mid-lifecycle: the lifecycle completes with no message sent twice', async () => {
    const bOfficer = await bToken('officer');
    const atB = await eventually(() => detail(bUrl, bOfficer, id), 90_000, 'request at B');
    expect(atB.status).toBe('delivered');

    const ack = await call(bUrl, 'POST', `/v1/requests/${id}/acknowledge`, {
      token: bOfficer,
      json: { note: 'Searching the archive' },
    });
    expect(ack.status).toBe(200);
    b!.child.kill('SIGKILL');
    await exited(b!.child);
    await startB();

    const officerA = await a.token('officer', 'officer-amira');
    await eventually(
      async () =>
        (await detail(a.url, officerA, id))?.status === 'acknowledged' ? true : undefined,
      90_000,
      'acknowledged at A',
    );
    const answered = await call(bUrl, 'POST', `/v1/requests/${id}/responses`, {
      token: await bToken('officer'),
      json: finalFor('mine_map'),
    });
    expect(answered.status, JSON.stringify(answered.body)).toBe(200);
    b!.child.kill('SIGKILL');
    await exited(b!.child);
    await startB();
    await eventually(
      async () => ((await detail(a.url, officerA, id))?.status === 'answered' ? true : undefined),
      90_000,
      'answered at A',
    );
    expect(
      (
        await call(a.url, 'POST', `/v1/requests/${id}/close`, {
          token: officerA,
          json: { outcome: 'accepted' },
        })
      ).status,
    ).toBe(200);
    await eventually(
      async () =>
        (await detail(bUrl, await bToken('supervisor'), id))?.status === 'closed'
          ? true
          : undefined,
      90_000,
      'closed at B',
    );

    const { rows: atA } = await a.database.pool.query(
      'SELECT kind, count(*)::int AS n FROM inbox_messages WHERE req_id = $1 GROUP BY kind ORDER BY kind',
      [id],
    );
    expect(atA).toEqual([
      { kind: 'acknowledgement', n: 1 },
      { kind: 'response', n: 1 },
    ]);
    const { rows: outA } = await a.database.pool.query(
      'SELECT kind, count(*)::int AS n FROM outbox_messages WHERE req_id = $1 GROUP BY kind ORDER BY kind',
      [id],
    );
    expect(outA).toEqual([
      { kind: 'closure', n: 1 },
      { kind: 'request', n: 1 },
    ]);
    // B's own records, read from its database: each of its messages signed and stored once.
    const bPool = testPool({ connectionString: bDb.url, max: 1 });
    try {
      const { rows: outB } = await bPool.query(
        'SELECT kind, count(*)::int AS n FROM outbox_messages WHERE req_id = $1 GROUP BY kind ORDER BY kind',
        [id],
      );
      expect(outB).toEqual([
        { kind: 'acknowledgement', n: 1 },
        { kind: 'response', n: 1 },
      ]);
      const { rows: inB } = await bPool.query(
        'SELECT kind, count(*)::int AS n FROM inbox_messages WHERE req_id = $1 GROUP BY kind ORDER BY kind',
        [id],
      );
      expect(inB).toEqual([
        { kind: 'closure', n: 1 },
        { kind: 'request', n: 1 },
      ]);
    } finally {
      await bPool.end();
    }
  }, 240_000);
});
