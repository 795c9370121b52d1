// The payload codec's key ring: AES-256 keys with ids, from TEMPORAL_CODEC_KEYS, from a key file
// (TEMPORAL_CODEC_KEY_FILE), or generated once in the data folder. New payloads are encrypted under
// the current key; every key still listed decodes what was encrypted under it. Messages name key
// ids and positions, never key material.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CodecKeysConfig } from '../config.js';

/** AES-256: a key is 32 bytes. */
export const CODEC_KEY_BYTES = 32;

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The keys of a node's codec: the one new payloads use, and all that decode. */
export interface CodecKeyRing {
  readonly currentId: string;
  /** Every key by id, in the order configured (newest first). */
  readonly keys: ReadonlyMap<string, Buffer>;
}

/** One configured key before checking: its id, its base64 text, whether it is marked current. */
export interface CodecKeyEntry {
  id: string;
  key: string;
  current?: boolean | undefined;
}

/** A key file: `{"keys": [{"id": "k2", "key": "<base64>", "current": true}, ...]}`, newest first. */
export const CodecKeyFile = z
  .object({
    keys: z
      .array(
        z
          .object({
            id: z.string(),
            key: z.string(),
            current: z.boolean().optional(),
          })
          .strict(),
      )
      .min(1, 'at least one key'),
  })
  .strict();
export type CodecKeyFile = z.infer<typeof CodecKeyFile>;

/** The 32 bytes of a base64 (or base64url) key, or what is wrong with it. */
function keyBytes(text: string): Buffer | string {
  const t = text
    .trim()
    .replace(/={1,2}$/, '')
    .replaceAll('+', '-')
    .replaceAll('/', '_');
  if (!/^[A-Za-z0-9_-]+$/.test(t)) return 'is not base64';
  const bytes = Buffer.from(t, 'base64url');
  // Non-canonical text (stray bits, a cut-off character) would otherwise decode to something.
  if (bytes.toString('base64url') !== t) return 'is not base64';
  if (bytes.length !== CODEC_KEY_BYTES)
    return `is ${bytes.length} bytes; an AES-256 key is ${CODEC_KEY_BYTES} bytes (base64 of 32 random bytes)`;
  return bytes;
}

/** Checks configured keys and builds the ring, or lists every problem (ids, never key values). */
export function buildKeyRing(
  entries: readonly CodecKeyEntry[],
): { ok: true; ring: CodecKeyRing } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const keys = new Map<string, Buffer>();
  if (entries.length === 0) problems.push('no keys given');
  entries.forEach((e, i) => {
    const where = `key ${i + 1}`;
    if (!KEY_ID.test(e.id)) {
      problems.push(`${where}: the id must be 1-64 of A-Z a-z 0-9 . _ -`);
      return;
    }
    if (keys.has(e.id)) {
      problems.push(`${where}: the id ${e.id} is listed twice`);
      return;
    }
    const bytes = keyBytes(e.key);
    if (typeof bytes === 'string') problems.push(`${where} (${e.id}): the key ${bytes}`);
    else keys.set(e.id, bytes);
  });
  const marked = entries.filter((e) => e.current);
  if (marked.length > 1) problems.push('only one key may be marked current');
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, ring: { currentId: (marked[0] ?? entries[0]!).id, keys } };
}

/** `kid1:base64,kid0:base64` (newest first) as entries; a part without `:` is a problem. */
export function parseKeyList(text: string): { entries: CodecKeyEntry[]; problems: string[] } {
  const entries: CodecKeyEntry[] = [];
  const problems: string[] = [];
  text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .forEach((part, i) => {
      const colon = part.indexOf(':');
      if (colon <= 0) problems.push(`key ${i + 1}: expected id:base64key`);
      else entries.push({ id: part.slice(0, colon).trim(), key: part.slice(colon + 1) });
    });
  return { entries, problems };
}

/**
 * Reads and checks a key file. Throws an Error whose message says what is wrong (synchronous:
 * configuration is loaded before anything starts, and a bad file is a configuration error).
 */
export function readCodecKeyFile(file: string): CodecKeyRing {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new Error(`${file} cannot be read as JSON`);
  }
  const parsed = CodecKeyFile.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`)
      .join('; ');
    throw new Error(`${file} is not a key file ({"keys": [{"id", "key"}]}): ${where}`);
  }
  const built = buildKeyRing(parsed.data.keys);
  if (!built.ok) throw new Error(`${file}: ${built.problems.join('; ')}`);
  return built.ring;
}

/** Where a node keeps the key it generated for itself, inside its data folder. */
export function generatedKeyFile(dataDir: string): string {
  return path.join(dataDir, 'codec-keys.json');
}

/**
 * Creates a key file with one new random key unless the file exists; returns the new key's id, or
 * undefined when the file was already there. Mode 0600: only the node's user reads it.
 */
export function ensureCodecKeyFile(file: string): string | undefined {
  if (fs.existsSync(file)) return undefined;
  const id = `local-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${crypto.randomBytes(3).toString('hex')}`;
  const content: CodecKeyFile = {
    keys: [{ id, key: crypto.randomBytes(CODEC_KEY_BYTES).toString('base64') }],
  };
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    // 'wx': a second process starting at the same moment keeps the first one's key.
    fs.writeFileSync(file, JSON.stringify(content, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw err;
  }
  return id;
}

/**
 * The ring the configuration names; for the default (no keys configured), the data folder's file,
 * created with one new key on first start (`created` says when that happened).
 */
export function codecKeyRing(keys: CodecKeysConfig): {
  ring: CodecKeyRing;
  created: { kid: string; file: string } | undefined;
} {
  if (keys.source !== 'generated') return { ring: keys.ring, created: undefined };
  const kid = ensureCodecKeyFile(keys.file);
  return {
    ring: readCodecKeyFile(keys.file),
    created: kid ? { kid, file: keys.file } : undefined,
  };
}
