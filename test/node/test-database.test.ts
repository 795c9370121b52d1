// The test run's own database: a TEST_DATABASE_URL that cannot be used stops the run at once with
// one message naming the variable and what is missing.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  adminProblem,
  ADMIN_URL,
  testDatabase,
  TestDatabaseError,
  withAdmin,
} from '../helpers/postgres.js';
import { freePort } from '../helpers/ports.js';

function withPath(url: string, user: string | undefined, database: string): string {
  const u = new URL(url);
  if (user !== undefined) {
    u.username = user;
    u.password = '';
  }
  u.pathname = `/${database}`;
  return u.toString();
}

describe('the test database', () => {
  const servers: net.Server[] = [];
  const sockets: net.Socket[] = [];
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    for (const s of servers) await new Promise((r) => s.close(r));
    await withAdmin((c) => c.query('DROP ROLE IF EXISTS parley_no_createdb'));
  });

  it('the run’s server is usable', async () => {
    expect(await adminProblem(ADMIN_URL)).toBeUndefined();
  });

  it('names the address where nothing answers', async () => {
    const port = await freePort();
    const url = `postgres://root@127.0.0.1:${port}/test`;
    await expect(testDatabase({ TEST_DATABASE_URL: url })).rejects.toThrow(TestDatabaseError);
    await expect(testDatabase({ TEST_DATABASE_URL: url })).rejects.toThrow(
      `TEST_DATABASE_URL=${url}: no Postgres answers at 127.0.0.1:${port} (connection refused)`,
    );
  });

  it('gives up on a server that never answers within seconds, not a 30 s hang', async () => {
    const silent = net.createServer((socket) => void sockets.push(socket));
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as net.AddressInfo;
    const started = Date.now();
    expect(await adminProblem(`postgres://root@127.0.0.1:${port}/test`, 1000)).toBe(
      `no Postgres answered at 127.0.0.1:${port} within 1 s`,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('names a missing role, a missing database and a role that may not create databases', async () => {
    // A server that asks for passwords does not say whether the role exists.
    const nobody = new URL(withPath(ADMIN_URL, 'parley_nobody', 'postgres'));
    nobody.password = 'not-a-password';
    expect(await adminProblem(nobody.toString())).toMatch(
      /has no role "parley_nobody"|refused the password of role "parley_nobody"/,
    );
    expect(await adminProblem(withPath(ADMIN_URL, undefined, 'parley_no_such_db'))).toMatch(
      /has no database "parley_no_such_db"/,
    );
    await withAdmin(async (c) => {
      await c.query('DROP ROLE IF EXISTS parley_no_createdb');
      await c.query("CREATE ROLE parley_no_createdb LOGIN PASSWORD 'pw-for-this-test'");
    });
    const limited = new URL(withPath(ADMIN_URL, 'parley_no_createdb', 'postgres'));
    limited.password = 'pw-for-this-test';
    const problem = await adminProblem(limited.toString());
    expect(problem).toMatch(/role "parley_no_createdb" may not create databases/);
    // The password is never shown.
    await expect(testDatabase({ TEST_DATABASE_URL: limited.toString() })).rejects.toThrow(
      /TEST_DATABASE_URL=postgres:\/\/parley_no_createdb:\*\*\*@/,
    );
  });

  it('`npm test` with an unreachable TEST_DATABASE_URL stops at once with that one message, leaving nothing behind', async () => {
    const port = await freePort();
    const url = `postgres://root@127.0.0.1:${port}/test`;
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-tdb-'));
    try {
      const child = spawn(
        process.execPath,
        ['node_modules/vitest/vitest.mjs', 'run', 'test/config.test.ts'],
        {
          env: { ...process.env, TEST_DATABASE_URL: url, TMPDIR: tmp },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      expect(code).toBe(1);
      const lines = out.split('\n').filter((l) => l.includes('TEST_DATABASE_URL'));
      expect(lines).toEqual([
        `TEST_DATABASE_URL=${url}: no Postgres answers at 127.0.0.1:${port} (connection refused). ` +
          'The tests need a Postgres role that may create databases; fix the URL or that server, ' +
          'or unset TEST_DATABASE_URL to have the tests start a throw-away Postgres of their own.',
      ]);
      expect(out).not.toMatch(/ECONNREFUSED|No test files found|\bat .*\.ts:\d+/);
      expect(await fs.readdir(tmp)).toEqual([]);
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  });
});
