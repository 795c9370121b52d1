// The codec's keys from configuration: TEMPORAL_CODEC_KEYS, TEMPORAL_CODEC_KEY_FILE, the key a
// node generates in its data folder, and the browser origins of the codec endpoint.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { codecKeyRing, readCodecKeyFile } from '../../temporal/codec-keys.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-codec-keys-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const key = () => crypto.randomBytes(32).toString('base64');
const base = { PARTY_ID: 'party-a', PARLEY_DATA_DIR: tmp };

function problemsOf(env: Record<string, string | undefined>): { path: string; message: string }[] {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

function writeJson(name: string, value: unknown): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('TEMPORAL_CODEC_KEYS', () => {
  it('takes id:base64 pairs, newest first: the first is current, all decode', () => {
    const [a, b] = [key(), key()];
    const cfg = loadConfig({ ...base, TEMPORAL_CODEC_KEYS: `kid1:${a}, kid0:${b}` });
    expect(cfg.codec.keys.source).toBe('env');
    const { ring } = codecKeyRing(cfg.codec.keys);
    expect(ring.currentId).toBe('kid1');
    expect([...ring.keys.keys()]).toEqual(['kid1', 'kid0']);
    expect(ring.keys.get('kid0')).toEqual(Buffer.from(b, 'base64'));
  });

  it('accepts base64url and unpadded keys', () => {
    const raw = crypto.randomBytes(32);
    const cfg = loadConfig({ ...base, TEMPORAL_CODEC_KEYS: `u:${raw.toString('base64url')}` });
    expect(codecKeyRing(cfg.codec.keys).ring.keys.get('u')).toEqual(raw);
  });

  it.each([
    ['a key of the wrong length', `k1:${crypto.randomBytes(16).toString('base64')}`, /16 bytes/],
    ['a key that is not base64', 'k1:not*base64!', /not base64/],
    ['a cut-off key', `k1:${key().slice(0, 41)}`, /not base64/],
    ['an id listed twice', `k1:${key()},k1:${key()}`, /k1 is listed twice/],
    ['a part without an id', key(), /expected id:base64key/],
    ['an id with spaces', `my key:${key()}`, /the id must be/],
  ])('refuses %s, naming the variable and never the key', (_what, value, message) => {
    const problems = problemsOf({ TEMPORAL_CODEC_KEYS: value });
    expect(problems).toEqual([
      { path: 'TEMPORAL_CODEC_KEYS', message: expect.stringMatching(message) },
    ]);
    const secret = value.split(':').pop()!;
    expect(JSON.stringify(problems)).not.toContain(secret);
  });

  it('refuses TEMPORAL_CODEC_KEYS and TEMPORAL_CODEC_KEY_FILE together', () => {
    const file = writeJson('both.json', { keys: [{ id: 'f', key: key() }] });
    expect(
      problemsOf({ TEMPORAL_CODEC_KEYS: `e:${key()}`, TEMPORAL_CODEC_KEY_FILE: file }),
    ).toEqual([{ path: 'TEMPORAL_CODEC_KEY_FILE', message: expect.stringMatching(/not both/) }]);
  });

  it('stops `parley start` with exit code 2 and the variable named', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/parley.ts', 'start'], {
      env: {
        PATH: process.env.PATH,
        PARTY_ID: 'party-a',
        PARLEY_DATA_DIR: path.join(tmp, 'never'),
        TEMPORAL_CODEC_KEYS: 'k1:dG9vIHNob3J0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/TEMPORAL_CODEC_KEYS: key 1 \(k1\): the key is 9 bytes/);
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  });
});

describe('TEMPORAL_CODEC_KEY_FILE', () => {
  it('reads {keys: [{id, key}]}, with the key marked current used for new payloads', () => {
    const file = writeJson('keys.json', {
      keys: [
        { id: 'next', key: key() },
        { id: 'now', key: key(), current: true },
      ],
    });
    const cfg = loadConfig({ ...base, TEMPORAL_CODEC_KEY_FILE: file });
    expect(cfg.codec.keys).toMatchObject({ source: 'file', file });
    expect(codecKeyRing(cfg.codec.keys).ring.currentId).toBe('now');
  });

  it.each([
    ['a missing file', undefined, /cannot be read as JSON/],
    ['a file that is not a key file', { key: 'x' }, /not a key file/],
    ['an empty key list', { keys: [] }, /at least one key/],
    ['a short key', { keys: [{ id: 'k', key: 'AAAA' }] }, /key 1 \(k\): the key is 3 bytes/],
    [
      'two keys marked current',
      {
        keys: [
          { id: 'a', key: key(), current: true },
          { id: 'b', key: key(), current: true },
        ],
      },
      /only one key/,
    ],
  ])('refuses %s as a configuration error naming the variable', (_what, content, message) => {
    const file =
      content === undefined ? path.join(tmp, 'absent.json') : writeJson('bad.json', content);
    expect(problemsOf({ TEMPORAL_CODEC_KEY_FILE: file })).toEqual([
      { path: 'TEMPORAL_CODEC_KEY_FILE', message: expect.stringMatching(message) },
    ]);
  });
});

describe('the generated key (no key configured)', () => {
  it('is created on first start in <data>/codec-keys.json with mode 0600, and reused after', () => {
    const dataDir = path.join(tmp, 'node-data');
    const cfg = loadConfig({ PARTY_ID: 'party-a', PARLEY_DATA_DIR: dataDir });
    expect(cfg.codec.keys).toEqual({
      source: 'generated',
      file: path.join(dataDir, 'codec-keys.json'),
    });
    expect(fs.existsSync(dataDir)).toBe(false); // loading the configuration writes nothing

    const first = codecKeyRing(cfg.codec.keys);
    expect(first.created).toEqual({
      kid: first.ring.currentId,
      file: path.join(dataDir, 'codec-keys.json'),
    });
    expect(fs.statSync(path.join(dataDir, 'codec-keys.json')).mode & 0o777).toBe(0o600);
    expect(first.ring.keys.get(first.ring.currentId)).toHaveLength(32);

    const again = codecKeyRing(cfg.codec.keys);
    expect(again.created).toBeUndefined();
    expect(again.ring).toEqual(first.ring);
    expect(readCodecKeyFile(path.join(dataDir, 'codec-keys.json'))).toEqual(first.ring);
  });
});

describe('TEMPORAL_CODEC_CORS_ORIGIN', () => {
  it('defaults to the embedded dev server UI, under both loopback names', () => {
    expect(loadConfig(base).codec.corsOrigins).toEqual([
      'http://localhost:8233',
      'http://127.0.0.1:8233',
    ]);
    expect(loadConfig({ ...base, TEMPORAL_DEV_UI_PORT: '9000' }).codec.corsOrigins).toEqual([
      'http://localhost:9000',
      'http://127.0.0.1:9000',
    ]);
  });

  it('defaults to the origin of TEMPORAL_UI_URL with an external service, else to none', () => {
    const external = { ...base, TEMPORAL_ADDRESS: 'temporal.example.org:7233' };
    expect(loadConfig(external).codec.corsOrigins).toEqual([]);
    expect(
      loadConfig({ ...external, TEMPORAL_UI_URL: 'https://ui.example.org/namespaces/x' }).codec
        .corsOrigins,
    ).toEqual(['https://ui.example.org']);
  });

  it('takes a list of origins, and refuses one with a path', () => {
    expect(
      loadConfig({
        ...base,
        TEMPORAL_CODEC_CORS_ORIGIN: 'https://ui.example.org, http://localhost:8080/',
      }).codec.corsOrigins,
    ).toEqual(['https://ui.example.org', 'http://localhost:8080']);
    expect(problemsOf({ TEMPORAL_CODEC_CORS_ORIGIN: 'https://ui.example.org/codec' })).toEqual([
      { path: 'TEMPORAL_CODEC_CORS_ORIGIN', message: expect.stringMatching(/origins/) },
    ]);
  });
});
