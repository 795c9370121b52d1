// The `parley` command behaves like a command-line tool: `--help` on every command prints its usage
// and exits 0 (and never starts anything), a bad option is a usage error (2), a URL it cannot reach
// is named (3), and a bundle signed with keys the reader did not trust says so once.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/http.js';
import { startTestNode } from '../helpers/node.js';
import { registerOfflinePartner } from '../helpers/partners.js';
import { freePort } from '../helpers/ports.js';
import { subjectFor } from '../helpers/domain.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `parley ARGS` as a user runs it, in an empty data folder unless env says otherwise. */
function parley(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/parley.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

const COMMANDS = [
  'start',
  'api',
  'worker',
  'token',
  'auth',
  'keys',
  'sign',
  'verify',
  'send',
  'partner',
  'exchange',
  'message',
  'evidence',
  'seed',
  'request',
];

describe('parley', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });
  const emptyDir = async () => {
    const d = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-cli-'));
    dirs.push(d);
    return d;
  };

  it('`--help` on every command prints its usage on stdout and exits 0, starting nothing', async () => {
    const dir = await emptyDir();
    // PARTY_ID is set: were `start --help` to start a node, it would, and not exit at once.
    const env = { PARLEY_DATA_DIR: dir, PARTY_ID: 'party-a', PORT: String(await freePort()) };
    const runs: [string, Run][] = [];
    for (let i = 0; i < COMMANDS.length; i += 4) {
      const batch = COMMANDS.slice(i, i + 4);
      runs.push(
        ...(await Promise.all(
          batch.map(async (c) => [c, await parley([c, '--help'], env)] as [string, Run]),
        )),
      );
    }
    for (const [command, run] of runs) {
      expect(run.code, `${command} --help: ${run.stderr}`).toBe(0);
      expect(run.stdout, command).toMatch(new RegExp(`^usage:[\\s\\S]*\\bparley ${command}\\b`));
      expect(run.stderr, command).toBe('');
    }
    expect(await fs.readdir(dir)).toEqual([]);

    const general = await parley(['--help']);
    expect(general.code).toBe(0);
    expect(general.stdout).toMatch(/exit codes:\n {2}0 {2}done/);
    expect((await parley(['help', 'sign'])).stdout).toMatch(/^usage: parley sign --key/);
    // Twenty-odd processes, each loading TypeScript: minutes on a loaded two-core machine.
  }, 300_000);

  it('an unknown option or a stray argument is a usage error: exit 2 with the command’s usage', async () => {
    const token = await parley(['token', '--bogus']);
    expect(token.code).toBe(2);
    expect(token.stderr).toMatch(/^parley token: Unknown option '--bogus'/);
    expect(token.stderr).toContain('usage: parley token --role ROLE');
    const start = await parley(['start', 'now']);
    expect(start.code).toBe(2);
    expect(start.stderr).toMatch(/parley start takes no arguments \(got now\)/);
    expect((await parley(['nonsense'])).code).toBe(2);
    // A process role without the Temporal service and database it shares with the node's other
    // processes says what is missing, exit 2, before it creates anything.
    const dir = await emptyDir();
    const api = await parley(['api'], { PARLEY_DATA_DIR: dir, PARTY_ID: 'party-a' });
    expect(api.code).toBe(2);
    expect(api.stderr).toMatch(/TEMPORAL_ADDRESS: not set: parley api /);
    expect(api.stderr).toMatch(/DATABASE_URL: not set: parley api /);
    const worker = await parley(['worker'], {
      PARLEY_DATA_DIR: dir,
      PARTY_ID: 'party-a',
      DATABASE_URL: 'postgres://root@127.0.0.1:5432/test',
    });
    expect(worker.code).toBe(2);
    expect(worker.stderr).toMatch(/TEMPORAL_ADDRESS: not set: parley worker /);
    expect(worker.stderr).not.toMatch(/DATABASE_URL/);
    expect(await fs.readdir(dir)).toEqual([]);
  }, 120_000);

  it('a node or inbox it cannot reach is named, with exit code 3', async () => {
    const port = await freePort();
    const node = await parley(['partner', 'list'], {
      PARLEY_URL: `http://127.0.0.1:${port}`,
      PARLEY_TOKEN: 'not-needed-to-fail',
    });
    expect(node.code).toBe(3);
    expect(node.stderr).toContain(
      `cannot reach http://127.0.0.1:${port}/v1/admin/partners: connection refused`,
    );
    expect(node.stderr).toContain('Is the node running? PARLEY_URL says where it is');

    const send = await parley(['send', '--to', `http://127.0.0.1:${port}/v1/messages`, 'a.b.c']);
    expect(send.code).toBe(3);
    expect(send.stderr).toContain(`cannot reach http://127.0.0.1:${port}/v1/messages:`);
    expect(send.stderr).not.toContain('PARLEY_URL');
  });

  it('`partner mediators` sets the mediators a request may name; a bad value is a usage error', async () => {
    const a = await startTestNode({ partyId: 'party-a' });
    try {
      await registerOfflinePartner(a, 'party-b');
      await registerOfflinePartner(a, 'party-m');
      const env = { PARLEY_URL: a.url, PARLEY_TOKEN: await a.token('admin', 'admin-ops') };
      const set = await parley(['partner', 'mediators', '--party-id', 'party-b', 'party-m'], env);
      expect(set.code, set.stderr).toBe(0);
      expect(JSON.parse(set.stdout)).toMatchObject({ partyId: 'party-b', mediators: ['party-m'] });
      // A mediator that is not registered: the node's refusal, nothing changed.
      const unknown = await parley(
        ['partner', 'mediators', '--party-id', 'party-b', 'party-x'],
        env,
      );
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr).toContain('unknown_party');
      const bad = await parley(['partner', 'relays', '--party-id', 'party-b', 'maybe'], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--party-id and on or off are required');
      const listed = await call(a.url, 'GET', '/v1/admin/partners/party-b', {
        token: env.PARLEY_TOKEN,
      });
      expect(listed.body).toMatchObject({ mediators: ['party-m'], relays: false });
      const none = await parley(['partner', 'mediators', '--party-id', 'party-b', 'none'], env);
      expect(none.code, none.stderr).toBe(0);
      expect(JSON.parse(none.stdout)).toMatchObject({ mediators: [] });
    } finally {
      await a.destroy();
    }
  }, 120_000);

  it('`evidence verify` with keys the reader did not trust says so once, naming them, not a failure per entry', async () => {
    const a = await startTestNode({ partyId: 'party-a' });
    try {
      await registerOfflinePartner(a);
      const created = await call(a.url, 'POST', '/v1/requests', {
        token: await a.token('officer', 'alice'),
        json: {
          type: 'mine_map',
          counterparty: 'party-b',
          priority: 'routine',
          subject: subjectFor('mine_map', 'Minefield records along the old railway embankment'),
        },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const dir = await emptyDir();
      const file = path.join(dir, 'bundle.json');
      const exported = await parley(
        ['evidence', 'export', '--request', created.body.id as string, '--out', file],
        { PARLEY_URL: a.url, PARLEY_TOKEN: await a.token('supervisor') },
      );
      expect(exported.code, exported.stderr).toBe(0);

      const jwks = await call(a.url, 'GET', '/.well-known/jwks.json');
      // The keys that sign (the encryption key signs nothing, so no bundle names it).
      const kids = (jwks.body.keys as { kid: string; use: string }[])
        .filter((k) => k.use === 'sig')
        .map((k) => k.kid);
      const verified = await parley([
        'evidence',
        'verify',
        file,
        '--trust',
        'party-a=someone-elses-key',
      ]);
      expect(verified.code).toBe(1);
      const out = verified.stdout;
      expect(out).toMatch(
        /^NOT VERIFIED: the bundle is signed with keys you did not say you trust:\n {2}party-a: /,
      );
      for (const kid of kids) expect(out).toContain(kid);
      expect(out).toMatch(/\n {2}--trust party-a=[\w-]+(,[\w-]+)*\n/);
      expect(out.match(/NOT VERIFIED/g)).toHaveLength(1);
      expect(out).not.toMatch(/^FAIL/m);
      expect(out).not.toMatch(/inclusion/i);
    } finally {
      await a.destroy();
    }
  }, 120_000);
});
