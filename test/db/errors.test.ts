// Which database failures are "try again later" (503) and which are "this data can never be
// stored" (no retry): judged on errors the real Postgres and pg produce.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPermanentDataError, isUnavailableError } from '../../db/errors.js';
import { ADMIN_URL, withAdmin } from '../helpers/postgres.js';
import { freePort } from '../helpers/ports.js';

let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  await client.query(`CREATE TEMP TABLE t (
    short varchar(2),
    positive integer CHECK (positive > 0)
  )`);
});
afterAll(() => client?.end());

async function failureOf(sql: string, values: unknown[] = []): Promise<unknown> {
  return client.query(sql, values).then(
    () => {
      throw new Error(`${sql} did not fail`);
    },
    (err: unknown) => err,
  );
}

describe('isPermanentDataError', () => {
  it.each([
    ['22021 character_not_in_repertoire', `SELECT convert_from('\\xff'::bytea, 'UTF8')`, []],
    ['22P05 untranslatable_character (NUL in jsonb)', `SELECT $1::jsonb`, ['{"a":"\\u0000"}']],
    ['22001 string_data_right_truncation', `INSERT INTO t (short) VALUES ('abc')`, []],
    ['22P02 invalid_text_representation', `SELECT 'x'::integer`, []],
    ['23514 check_violation', `INSERT INTO t (positive) VALUES (-1)`, []],
  ])('is true for %s, and it is not "unavailable"', async (_what, sql, values) => {
    const err = await failureOf(sql, values);
    expect(isPermanentDataError(err)).toBe(true);
    expect(isUnavailableError(err)).toBe(false);
  });

  it('is true for class 54 (program limit exceeded), also as the cause of a wrapping error', () => {
    const limit = Object.assign(new Error('index row size exceeds maximum'), { code: '54000' });
    expect(isPermanentDataError(limit)).toBe(true);
    expect(isPermanentDataError(new Error('projection failed', { cause: limit }))).toBe(true);
  });

  it('is false for a syntax error, a unique violation and a plain Error', async () => {
    expect(isPermanentDataError(await failureOf('SELEC 1'))).toBe(false);
    expect(isPermanentDataError({ code: '23505' })).toBe(false);
    expect(isPermanentDataError(new Error('boom'))).toBe(false);
    expect(isPermanentDataError(undefined)).toBe(false);
  });
});

describe('isUnavailableError', () => {
  it('is true when nothing listens on the port (ECONNREFUSED)', async () => {
    const closed = new pg.Client({ host: '127.0.0.1', port: await freePort(), user: 'root' });
    const err = await closed.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isUnavailableError(err)).toBe(true);
    expect(isPermanentDataError(err)).toBe(false);
  });

  it('is true when the server terminates the backend mid-query (57P01 admin_shutdown)', async () => {
    const victim = new pg.Client({ connectionString: ADMIN_URL });
    await victim.connect();
    victim.on('error', () => {});
    const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!
      .pid;
    const running = victim.query('SELECT pg_sleep(30)').then(
      () => undefined,
      (e: unknown) => e,
    );
    await withAdmin(async (admin) => {
      // Once the sleep is running, end it as an administrator (or a fast shutdown) would.
      for (;;) {
        const { rows } = await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1 AND query LIKE 'SELECT pg_sleep%'`,
          [pid],
        );
        if (rows[0]!.n > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    });
    const err = await running;
    expect((err as { code?: string }).code).toBe('57P01');
    expect(isUnavailableError(err)).toBe(true);
    // The client is now unusable: what pg says then is "unavailable" too.
    const after = await victim.query('SELECT 1').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isUnavailableError(after)).toBe(true);
    await victim.end().catch(() => undefined);
  });

  it.each([
    ['08006 connection_failure', { code: '08006' }],
    ['08001 sqlclient_unable_to_establish_sqlconnection', { code: '08001' }],
    ['57P02 crash_shutdown', { code: '57P02' }],
    ['57P03 cannot_connect_now', { code: '57P03' }],
    ['53300 too_many_connections', { code: '53300' }],
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['pg: Connection terminated unexpectedly', new Error('Connection terminated unexpectedly')],
    [
      'pg-pool: timeout exceeded when trying to connect',
      new Error('timeout exceeded when trying to connect'),
    ],
    [
      'an AggregateError of refused addresses',
      new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], 'connect'),
    ],
    [
      'a wrapping error whose cause is 57P03',
      new Error('query failed', { cause: { code: '57P03' } }),
    ],
  ])('is true for %s', (_what, err) => {
    expect(isUnavailableError(err)).toBe(true);
  });

  it.each([
    ['a data exception', { code: '22021' }],
    ['a unique violation', { code: '23505' }],
    ['a plain Error', new Error('boom')],
    ['a string', 'ECONNREFUSED'],
    ['null', null],
  ])('is false for %s', (_what, err) => {
    expect(isUnavailableError(err)).toBe(false);
  });
});
