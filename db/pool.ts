// Opens the node's database: a pg Pool on DATABASE_URL, or on an embedded PGlite served over a
// local socket, so that every query in the project goes through the same `pg` code.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { DatabaseConfig } from '../config.js';

export interface Database {
  pool: pg.Pool;
  /** Where the data lives, without credentials, for banners and logs. */
  describe: string;
  close(): Promise<void>;
}

/** Connection URL with any password removed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}

export async function openDatabase(cfg: DatabaseConfig): Promise<Database> {
  if (cfg.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: cfg.url, max: cfg.poolSize });
    pool.on('error', () => {
      // An idle client lost its connection; the pool replaces it. Readiness reports outages.
    });
    return { pool, describe: redactUrl(cfg.url), close: () => pool.end() };
  }
  return openPglite(cfg.dir);
}

async function openPglite(dir: string): Promise<Database> {
  // Loaded on demand: a node on a real Postgres never pays for the WASM build.
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  await fs.mkdir(dir, { recursive: true });
  const db = await PGlite.create({ dataDir: dir });
  // A Unix socket in a private temporary folder: no port to collide with, no network exposure.
  const socketDir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-pglite-'));
  const server = new PGLiteSocketServer({ db, path: path.join(socketDir, '.s.PGSQL.5432') });
  await server.start();
  // PGlite runs one query at a time; one pooled connection keeps transactions whole.
  const pool = new pg.Pool({
    host: socketDir,
    port: 5432,
    user: 'postgres',
    database: 'postgres',
    max: 1,
  });
  pool.on('error', () => {});
  return {
    pool,
    describe: `PGlite (embedded) at ${dir}`,
    async close() {
      await pool.end();
      await server.stop();
      await db.close();
      await fs.rm(socketDir, { recursive: true, force: true });
    },
  };
}
