import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';

function problemsOf(env: Record<string, string | undefined>): { path: string; message: string }[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('fills every default from PARTY_ID alone', () => {
    const cfg = loadConfig({ PARTY_ID: 'party-a' });
    expect(cfg.http).toEqual({ host: '127.0.0.1', port: 3000, publicUrl: undefined });
    expect(cfg.dataDir).toBe(path.resolve('.data'));
    expect(cfg.database).toEqual({ kind: 'pglite', dir: path.resolve('.data/pglite') });
    expect(cfg.temporal).toMatchObject({
      kind: 'embedded',
      namespace: 'parley-party-a',
      port: 7233,
      uiPort: 8233,
    });
    expect(cfg.auth).toMatchObject({ jwks: 'file', createDevIssuer: true, audience: 'parley' });
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('uses Postgres and an external Temporal service when their variables are set', () => {
    const cfg = loadConfig({
      PARTY_ID: 'party-b',
      DATABASE_URL: 'postgres://u:secret@db.example.org:5432/parley',
      TEMPORAL_ADDRESS: 'ns.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'parley-b.acct',
      TEMPORAL_API_KEY: 'key',
    });
    expect(cfg.database).toMatchObject({
      kind: 'postgres',
      url: 'postgres://u:secret@db.example.org:5432/parley',
    });
    expect(cfg.temporal).toMatchObject({
      kind: 'external',
      address: 'ns.tmprl.cloud:7233',
      namespace: 'parley-b.acct',
      apiKey: 'key',
    });
    // An API key implies TLS unless TEMPORAL_TLS=false says otherwise.
    expect(cfg.temporal.kind === 'external' && cfg.temporal.tls).toBeTruthy();
  });

  it.each([
    [{}, 'PARTY_ID', /required/],
    [{ PARTY_ID: 'Party A' }, 'PARTY_ID', /slug/],
    [{ PARTY_ID: 'pаrty-a' /* Cyrillic а */ }, 'PARTY_ID', /slug/],
    [{ PARTY_ID: 'party-a', PORT: 'eighty' }, 'PORT', /number/],
    [{ PARTY_ID: 'party-a', PORT: '70000' }, 'PORT', /65535/],
    [{ PARTY_ID: 'party-a', DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', /postgres/],
    [{ PARTY_ID: 'party-a', TEMPORAL_ADDRESS: 'http://x' }, 'TEMPORAL_ADDRESS', /host:port/],
    [{ PARTY_ID: 'party-a', LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /info/],
    [
      { PARTY_ID: 'party-a', AUTH_JWKS_FILE: 'a.json', AUTH_JWKS_URL: 'https://idp/jwks' },
      'AUTH_JWKS_URL',
      /not both/,
    ],
    [{ PARTY_ID: 'party-a', TEMPORAL_API_KEY: 'k' }, 'TEMPORAL_ADDRESS', /required/],
    [
      { PARTY_ID: 'party-a', TEMPORAL_ADDRESS: 'h:1', TEMPORAL_TLS_CERT_PATH: 'c.pem' },
      'TEMPORAL_TLS_KEY_PATH',
      /go together/,
    ],
  ])('refuses %j naming %s', (env, variable, message) => {
    const problems = problemsOf(env);
    expect(problems.map((p) => p.path)).toContain(variable);
    expect(problems.find((p) => p.path === variable)!.message).toMatch(message);
  });

  it('never echoes a secret value in its error', () => {
    const problems = problemsOf({ PARTY_ID: 'party-a', DATABASE_URL: 'mysql://user:hunter2@db/x' });
    expect(JSON.stringify(problems)).not.toContain('hunter2');
  });

  it('stops `parley start` with exit code 2 and a message naming the variable', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/parley.ts', 'start'], {
      env: { PATH: process.env.PATH, PORT: 'not-a-port', PARLEY_DATA_DIR: '/nonexistent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/PARTY_ID: required/);
    expect(stderr).toMatch(/PORT: /);
  });
});
