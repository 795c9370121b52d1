// Once per test run: the Temporal dev server (official CLI, temporary SQLite), a migrated template
// database on the real Postgres, and the workflow bundle every test worker loads.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import pg from 'pg';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { migrate } from '../db/migrate.js';
import { ensureTemporalCli } from '../temporal/cli-locator.js';
import { startDevServer } from '../temporal/dev-server.js';
import { WORKFLOWS_PATH } from '../temporal/worker.js';
import { databaseUrl, dropDatabase, uniqueDbName, withAdmin } from './helpers/postgres.js';
import { freePort } from './helpers/ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCliPath: string;
    templateDatabase: string;
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject) {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-test-run-'));
  const cli = await ensureTemporalCli();
  const server = await startDevServer({
    cliPath: cli.path,
    port: await freePort(),
    dbFile: path.join(tmp, 'temporal.sqlite'),
    fastSqlite: true,
  });

  const template = uniqueDbName('parley_tpl');
  await withAdmin((c) => c.query(`CREATE DATABASE ${template}`));
  const pool = new pg.Pool({ connectionString: databaseUrl(template), max: 1 });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }

  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: silentLogger,
  });
  const bundlePath = path.join(tmp, 'workflow-bundle.js');
  await fs.writeFile(bundlePath, code);

  project.provide('temporalAddress', server.address);
  project.provide('temporalCliPath', cli.path);
  project.provide('templateDatabase', template);
  project.provide('workflowBundlePath', bundlePath);

  return async () => {
    await server.stop();
    await dropDatabase(template);
    await fs.rm(tmp, { recursive: true, force: true });
  };
}

const noop = () => undefined;
const silentLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
