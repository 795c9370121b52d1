// Once per test run: the Postgres server (TEST_DATABASE_URL, the default one, or a throw-away one
// started here), the Temporal dev server (official CLI, temporary SQLite), a migrated template
// database, and the workflow bundle every test worker loads.
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
import {
  databaseUrl,
  dropDatabase,
  testDatabase,
  TestDatabaseError,
  uniqueDbName,
  withAdmin,
} from './helpers/postgres.js';
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
  // The database first: a run that cannot have one stops here, before anything is started.
  let db;
  try {
    db = await testDatabase();
  } catch (err) {
    if (err instanceof TestDatabaseError) stopRun(err.message);
    throw err;
  }
  if (db.embedded) {
    // Test workers are forked after this and read it (helpers/postgres.ts).
    process.env.TEST_DATABASE_URL = db.url;
    process.stderr.write(`test database: ${db.describe}\n`);
  }

  const undo: (() => Promise<unknown>)[] = [() => db.stop()];
  const teardown = async () => {
    for (const step of undo.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-test-run-'));
    undo.push(() => fs.rm(tmp, { recursive: true, force: true }));
    const cli = await ensureTemporalCli();
    const server = await startDevServer({
      cliPath: cli.path,
      port: await freePort(),
      dbFile: path.join(tmp, 'temporal.sqlite'),
      fastSqlite: true,
    });
    undo.push(() => server.stop());

    const template = uniqueDbName('parley_tpl');
    await withAdmin((c) => c.query(`CREATE DATABASE ${template}`));
    undo.push(() => dropDatabase(template));
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
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}

/** Ends the run with one message and no stack: the message says what to fix. */
function stopRun(message: string): never {
  process.stderr.write(`\n${message}\n\n`);
  process.exit(1);
}

const noop = () => undefined;
const silentLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
