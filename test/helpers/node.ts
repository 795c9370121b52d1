// Starts a complete node in the test process: API on a free port, worker, its own Temporal
// namespace on the run's dev server, its own database. Party A and B can run side by side.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { inject } from 'vitest';
import { loadConfig } from '../../config.js';
import type { InboundSink } from '../../exchange/inbox.js';
import { mintDevToken } from '../../node/dev-issuer.js';
import { startNode, type RunningNode } from '../../node/start-node.js';
import type { Role } from '../../schemas/common.js';
import { cloneTemplate } from './postgres.js';

export interface TestNodeOptions {
  partyId?: string;
  /** Real Postgres (a clone of the run's template, the default) or embedded PGlite. */
  database?: 'postgres' | 'pglite';
  /** Reuse a database, data folder and namespace, as a restarted node would. */
  reuse?: { databaseUrl?: string; dataDir: string; namespace: string };
  env?: Record<string, string>;
  /**
   * Where verified messages go. Protocol-level tests pass `PROTOCOL_ONLY` so any well-formed
   * message is accepted without a request behind it; by default the request workflows take them.
   */
  sink?: InboundSink;
  /** The node's logger (silent unless TEST_LOG_LEVEL says otherwise). */
  log?: pino.Logger;
}

/** A sink that accepts every verified message and routes nothing: the protocol layer alone. */
export const PROTOCOL_ONLY: InboundSink = {
  check: () => Promise.resolve(),
  accept: () => Promise.resolve(),
};

export interface TestNode extends RunningNode {
  namespace: string;
  dataDir: string;
  databaseUrl: string | undefined;
  token(roles: Role | Role[], sub?: string): Promise<string>;
  /** Stops the node and removes what it created (database, data folder), unless kept for a restart. */
  destroy(opts?: { keep?: boolean }): Promise<void>;
}

export const testLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export async function startTestNode(opts: TestNodeOptions = {}): Promise<TestNode> {
  const partyId = opts.partyId ?? 'party-a';
  const dataDir =
    opts.reuse?.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), `parley-${partyId}-`)));
  const namespace =
    opts.reuse?.namespace ?? `t-${partyId}-${crypto.randomBytes(4).toString('hex')}`;
  let database: { url: string; drop: () => Promise<void> } | undefined;
  if (opts.reuse?.databaseUrl) database = { url: opts.reuse.databaseUrl, drop: async () => {} };
  else if ((opts.database ?? 'postgres') === 'postgres')
    database = await cloneTemplate(inject('templateDatabase'));

  const config = loadConfig({
    PARTY_ID: partyId,
    PORT: '0',
    PARLEY_DATA_DIR: dataDir,
    DATABASE_URL: database?.url,
    DATABASE_POOL_SIZE: '4',
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: namespace,
    LOG_LEVEL: 'silent',
    ...opts.env,
  });
  const node = await startNode(config, {
    log: opts.log ?? testLogger,
    workflowBundlePath: inject('workflowBundlePath'),
    ...(opts.sink ? { sink: opts.sink } : {}),
  });

  return Object.assign(node, {
    namespace,
    dataDir,
    databaseUrl: database?.url,
    token: (roles: Role | Role[], sub = 'test-user') =>
      mintDevToken({
        dataDir,
        issuer: config.auth.issuer,
        audience: config.auth.audience,
        rolesClaim: config.auth.rolesClaim,
        sub,
        roles: Array.isArray(roles) ? roles : [roles],
        ttlSeconds: 600,
      }),
    async destroy({ keep = false } = {}) {
      await node.stop();
      if (keep) return;
      await database?.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  });
}
