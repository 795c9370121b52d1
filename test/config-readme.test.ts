// Configuration tells the truth: the README's table lists exactly the variables the node reads, and
// a configuration the machine cannot honour (a busy port, no token issuer) stops `parley start`
// with exit code 2 before it touches anything.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Env } from '../config.js';

async function readmeVariables(): Promise<string[]> {
  const readme = await fs.readFile(new URL('../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('\n## Configuration\n');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  const names: string[] = [];
  for (const line of readme.slice(start, end).split('\n')) {
    if (!line.startsWith('| `')) continue;
    const firstCell = line.split('|')[1] ?? '';
    for (const m of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.push(m[1]!);
  }
  return names;
}

describe('the configuration table in README.md', () => {
  it('lists every variable the node reads, and only those, once each', async () => {
    const documented = await readmeVariables();
    const read = Object.keys(Env.shape);
    expect(documented.length).toBeGreaterThan(10);
    expect(
      read.filter((v) => !documented.includes(v)),
      'variables the node reads that the README does not list',
    ).toEqual([]);
    expect(
      documented.filter((v) => !read.includes(v)),
      'variables the README lists that the node does not read',
    ).toEqual([]);
    expect(
      documented.filter((v, i) => documented.indexOf(v) !== i),
      'listed twice',
    ).toEqual([]);
  });
});

/** `parley start` as a user runs it; resolves with its exit code and everything it printed. */
function start(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/parley.ts', 'start'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

describe('parley start with a configuration the machine cannot honour', () => {
  const dirs: string[] = [];
  const servers: net.Server[] = [];
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });
  const dataDir = async () => {
    const d = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-preflight-'));
    dirs.push(d);
    return d;
  };
  const busyPort = async () => {
    const s = net.createServer();
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as net.AddressInfo).port;
  };

  it('busy ports: says which and exits 2, before keys, database or Temporal are touched', async () => {
    const [port, temporalPort] = [await busyPort(), await busyPort()];
    const dir = await dataDir();
    const { code, output } = await start({
      PARTY_ID: 'party-a',
      PARLEY_DATA_DIR: dir,
      PORT: String(port),
      TEMPORAL_DEV_PORT: String(temporalPort),
      TEMPORAL_DEV_UI_PORT: '0',
      TEMPORAL_CLI_PATH: '/nonexistent/temporal',
    });
    expect(code).toBe(2);
    expect(output).toContain(`PORT: port ${port} on 127.0.0.1 is already in use`);
    expect(output).toContain(
      `TEMPORAL_DEV_PORT: port ${temporalPort} on 127.0.0.1 is already in use`,
    );
    expect(output).toContain('See the configuration table in README.md.');
    expect(output).not.toMatch(/Cannot destructure|\n\s+at /);
    // No key, no database, no Temporal file, no issuer: nothing was created.
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('AUTH_DEV_ISSUER=false without a token issuer key set: says so and exits 2, touching nothing', async () => {
    const dir = await dataDir();
    const { code, output } = await start({
      PARTY_ID: 'party-a',
      PARLEY_DATA_DIR: dir,
      PORT: '0',
      TEMPORAL_DEV_PORT: '0',
      TEMPORAL_DEV_UI_PORT: '0',
      AUTH_DEV_ISSUER: 'false',
    });
    expect(code).toBe(2);
    expect(output).toMatch(
      /AUTH_DEV_ISSUER: false, and no token issuer key set is configured: set AUTH_JWKS_FILE or AUTH_JWKS_URL/,
    );
    expect(await fs.readdir(dir)).toEqual([]);
  });
});
