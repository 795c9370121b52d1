// The README's quick start works as written: its commands, read from README.md (so the two cannot
// drift), run in order against the node its own `npm start` line starts. Differences from a user's
// paste, all outside the commands: `npm ci` and `npm test` are not run (this checkout is installed,
// and this is `npm test`); the data folder is a temporary one (PARLEY_DATA_DIR); and the node takes
// free ports, so `localhost:3000` in the commands becomes its port and the second terminal is told
// where Temporal is (PORT, TEMPORAL_ADDRESS).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/partners.js';
import { freePort } from '../helpers/ports.js';

async function quickStart(): Promise<{ blocks: string[]; banner: string }> {
  const readme = await fs.readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('\n## Quick start\n');
  const end = readme.indexOf('\n## ', start + 1);
  expect(start).toBeGreaterThan(0);
  const section = readme.slice(start, end);
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const banner = /```\n(Parley node is up[\s\S]*?)```/.exec(section)?.[1] ?? '';
  return { blocks, banner };
}

/** The environment of a new terminal: nothing of Parley's or the test run's. */
function terminalEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(PARLEY_|TEMPORAL_|DATABASE_|AUTH_|VITEST|TEST_|NODE_ENV$|PORT$|HOST$|PARTY_ID$)/.test(k))
      continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function collect(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  return () => out;
}

/** The row names of a `parley start` banner. */
const rowNames = (banner: string) =>
  [...banner.matchAll(/^ {2}(\S+(?: \S+)?)\s{2,}/gm)].map((m) => m[1]);

describe('the README quick start', () => {
  const dirs: string[] = [];
  let node: ChildProcess | undefined;
  afterAll(async () => {
    if (node?.pid && node.exitCode === null && node.signalCode === null)
      process.kill(-node.pid, 'SIGKILL');
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });

  it('pasted in order, starts a node and gives 201 for the first request', async () => {
    const { blocks, banner } = await quickStart();
    expect(blocks).toHaveLength(3);
    const [install, secondTerminal, tests] = blocks as [string, string, string];
    const installLines = install.split('\n').filter((l) => l.trim());
    expect(installLines[0]).toBe('npm ci');
    const startLine = installLines[1]!;
    expect(startLine).toMatch(/^PARTY_ID=party-a npm start\b/);
    expect(tests.trim()).toBe('npm test');

    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-quick-start-'));
    dirs.push(dataDir);
    const ports = {
      PORT: String(await freePort()),
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_DEV_UI_PORT: String(await freePort()),
    };

    // Terminal 1.
    node = spawn('bash', ['-c', startLine], {
      env: terminalEnv({ PARLEY_DATA_DIR: dataDir, ...ports }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const nodeOutput = collect(node);
    const exited = new Promise<void>((resolve) => node!.once('exit', () => resolve()));
    await eventually(
      () => {
        if (node!.exitCode !== null) throw new Error(`npm start exited:\n${nodeOutput()}`);
        return Promise.resolve(nodeOutput().includes('Ctrl-C stops it.') ? true : undefined);
      },
      240_000,
      'the banner of npm start',
    );
    // The README's banner has the rows the real one has, in its order.
    const realBanner = nodeOutput().slice(nodeOutput().indexOf('Parley node is up'));
    expect(rowNames(banner)).toEqual(rowNames(realBanner.slice(0, realBanner.indexOf('Ctrl-C'))));

    // Terminal 2, as pasted (with the node's port for localhost:3000): each command runs whatever
    // the one before did, as in a terminal (a seed step that missed its state under load does not
    // keep the request from being sent).
    const script = secondTerminal.replaceAll('localhost:3000', `localhost:${ports.PORT}`);
    const terminal2 = spawn('bash', ['-c', script], {
      env: terminalEnv({
        PARLEY_DATA_DIR: dataDir,
        PORT: ports.PORT,
        TEMPORAL_ADDRESS: `127.0.0.1:${ports.TEMPORAL_DEV_PORT}`,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = collect(terminal2);
    const code = await new Promise<number | null>((r) => terminal2.once('close', r));
    expect(code, output()).toBe(0);
    const lines = output().split('\n');
    const status = lines.findIndex((l) => /^HTTP \d{3}$/.test(l));
    expect(lines[status], output()).toBe('HTTP 201');
    const created = JSON.parse(lines[status - 1]!) as { id: string; counterparty: string };
    expect(created.counterparty).toBe('party-demo');
    // The list shows it, and so does Temporal's list of submitted requests.
    const after = lines.slice(status + 1).join('\n');
    expect(after).toContain(`"id":"${created.id}"`);
    expect(after).toContain(`request-${created.id}`);

    // Ctrl-C stops the node.
    process.kill(-node.pid!, 'SIGINT');
    await exited;
  }, 420_000);
});
