// Replicas of a node starting together on one empty data folder end with one signing key, one log
// key and one development issuer key between them: created once, never half written.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { devIssuerPaths } from '../../config.js';
import { ensureDevIssuer } from '../../node/dev-issuer.js';
import {
  ensureEncryptionKey,
  ensureLogKey,
  ensureOwnKey,
  loadKeyring,
} from '../../protocol/keyring.js';

const exec = promisify(execFile);
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});
const tempDir = async () => {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-first-keys-'));
  dirs.push(d);
  return d;
};

describe('the keys a node creates on its first start', () => {
  it('are created once by calls racing in one process', async () => {
    const dir = await tempDir();
    const keysDir = path.join(dir, 'keys');
    const own = await Promise.all(Array.from({ length: 8 }, () => ensureOwnKey(keysDir)));
    const log = await Promise.all(Array.from({ length: 8 }, () => ensureLogKey(keysDir)));
    const enc = await Promise.all(Array.from({ length: 8 }, () => ensureEncryptionKey(keysDir)));
    const issuers = await Promise.all(Array.from({ length: 8 }, () => ensureDevIssuer(dir)));
    expect(own.filter(Boolean)).toHaveLength(1);
    expect(log.filter(Boolean)).toHaveLength(1);
    expect(enc.filter(Boolean)).toHaveLength(1);
    expect(issuers.filter(Boolean)).toHaveLength(1);
    const ring = await loadKeyring(keysDir);
    expect(ring.keys.map((k) => k.kid).sort()).toEqual(
      [own.find(Boolean), log.find(Boolean)].sort(),
    );
    expect(ring.decryptionKeys.map((k) => k.kid)).toEqual([enc.find(Boolean)]);
    // Published for partners to seal to, without its private part.
    const published = ring.jwks().keys.filter((k) => k.use === 'enc');
    expect(published).toEqual([
      expect.objectContaining({ kid: enc.find(Boolean), crv: 'X25519', alg: 'ECDH-ES+A256KW' }),
    ]);
    expect(published[0]).not.toHaveProperty('d');
    expect((await fs.readdir(keysDir)).filter((f) => !f.endsWith('.json'))).toEqual([]);
  });

  it('are the same for processes starting together, and the issuer’s public key matches its private key', async () => {
    const dir = await tempDir();
    const keysDir = path.join(dir, 'keys');
    const script = `
      const { ensureOwnKey, ensureLogKey, ensureEncryptionKey, loadKeyring } = await import('./protocol/keyring.ts');
      const { ensureDevIssuer } = await import('./node/dev-issuer.ts');
      await ensureOwnKey(${JSON.stringify(keysDir)});
      await ensureLogKey(${JSON.stringify(keysDir)});
      await ensureEncryptionKey(${JSON.stringify(keysDir)});
      await ensureDevIssuer(${JSON.stringify(dir)});
      const ring = await loadKeyring(${JSON.stringify(keysDir)});
      console.log(JSON.stringify([...ring.keys, ...ring.decryptionKeys].map((k) => k.kid).sort()));
    `;
    const outputs = await Promise.all(
      Array.from({ length: 4 }, () =>
        exec(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]),
      ),
    );
    const seen = new Set(outputs.map((o) => o.stdout.trim()));
    expect(seen.size).toBe(1);
    expect(JSON.parse([...seen][0]!)).toHaveLength(3);
    const paths = devIssuerPaths(dir);
    const privateJwk = JSON.parse(await fs.readFile(paths.privateJwk, 'utf8')) as {
      x: string;
      kid: string;
    };
    const jwks = JSON.parse(await fs.readFile(paths.jwks, 'utf8')) as {
      keys: { x: string; kid: string; d?: string }[];
    };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ x: privateJwk.x, kid: privateJwk.kid });
    expect(jwks.keys[0]!.d).toBeUndefined();
  });
});
