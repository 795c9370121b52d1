// The web UI's message catalogs: every key the page's modules ask for exists in English, Russian
// holds every English key (with the plural forms Russian needs) and the same placeholders, and the
// partial catalogs (Azerbaijani, Armenian) hold no key English lacks. Read from the files as the
// node serves them; no browser needed.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const DASHBOARD = path.join(import.meta.dirname, '../../dashboard');
const STATIC = path.join(DASHBOARD, 'static');
const LOCALES = path.join(DASHBOARD, 'locales');
const NAMESPACES = ['common', 'officer', 'request', 'actions', 'records', 'create', 'overview'];
const PLURAL = /_(zero|one|two|few|many|other)$/;

type Catalog = Record<string, unknown>;

function load(lng: string, ns: string): Catalog | undefined {
  const file = path.join(LOCALES, lng, `${ns}.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Catalog) : undefined;
}

/** Every leaf of a catalog as `path.to.key` → text. */
function leaves(c: Catalog, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(c)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else if (v && typeof v === 'object') for (const e of leaves(v as Catalog, key)) out.set(...e);
    else throw new Error(`${key}: neither text nor a group`);
  }
  return out;
}

/** Keys with their plural suffix removed: what code asks for. */
const baseKeys = (keys: Iterable<string>) => new Set([...keys].map((k) => k.replace(PLURAL, '')));

const placeholders = (text: string) =>
  [...text.matchAll(/\{\{\s*([\w.]+)[^}]*\}\}/g)].map((m) => m[1]).sort();

const english = new Map(NAMESPACES.map((ns) => [ns, leaves(load('en', ns) ?? {})]));

/** The keys the modules pass to `t`: literal ones, and the fixed start of built ones. */
function usedKeys(): { literal: Set<string>; prefixes: Set<string> } {
  const literal = new Set<string>();
  const prefixes = new Set<string>();
  for (const file of fs.readdirSync(STATIC).filter((f) => f.endsWith('.js'))) {
    const source = fs.readFileSync(path.join(STATIC, file), 'utf8');
    for (const m of source.matchAll(/\bt\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g)) {
      const [, quote, key] = m as unknown as [string, string, string];
      const dollar = quote === '`' ? key.indexOf('${') : -1;
      if (dollar >= 0) prefixes.add(key.slice(0, dollar));
      else literal.add(key);
    }
  }
  return { literal, prefixes };
}

function split(key: string): [string, string] {
  const colon = key.indexOf(':');
  if (colon > 0 && NAMESPACES.includes(key.slice(0, colon)))
    return [key.slice(0, colon), key.slice(colon + 1)];
  return ['common', key];
}

describe('the web UI’s message catalogs', () => {
  it('are there for every part of the page, in English', () => {
    for (const ns of NAMESPACES) expect(english.get(ns)!.size, ns).toBeGreaterThan(0);
    const files = fs.readdirSync(path.join(LOCALES, 'en')).map((f) => f.replace(/\.json$/, ''));
    expect(files.sort()).toEqual([...NAMESPACES].sort());
  });

  it('hold in English every key the page asks for', () => {
    const { literal, prefixes } = usedKeys();
    expect(literal.size).toBeGreaterThan(100);
    const missing: string[] = [];
    for (const key of literal) {
      const [ns, k] = split(key);
      if (!baseKeys(english.get(ns)!.keys()).has(k)) missing.push(key);
    }
    for (const prefix of prefixes) {
      const [ns, k] = split(prefix);
      if (![...english.get(ns)!.keys()].some((e) => e.startsWith(k))) missing.push(`${prefix}…`);
    }
    expect(missing).toEqual([]);
  });

  it('are complete in Russian, with the plural forms Russian needs and the same placeholders', () => {
    const problems: string[] = [];
    for (const ns of NAMESPACES) {
      const ru = leaves(load('ru', ns) ?? {});
      const en = english.get(ns)!;
      for (const [key, text] of en) {
        const base = key.replace(PLURAL, '');
        const wanted = PLURAL.test(key)
          ? ['one', 'few', 'many', 'other'].map((f) => `${base}_${f}`)
          : [key];
        for (const w of wanted) {
          const translated = ru.get(w);
          if (translated === undefined) problems.push(`${ns}:${w} missing`);
          else if (translated.trim() === '') problems.push(`${ns}:${w} empty`);
          else if (placeholders(translated).join() !== placeholders(text).join())
            problems.push(`${ns}:${w} placeholders ${placeholders(translated).join()}`);
        }
      }
      for (const key of ru.keys())
        if (!baseKeys(en.keys()).has(key.replace(PLURAL, '')))
          problems.push(`${ns}:${key} unknown`);
    }
    expect(problems).toEqual([]);
  });

  it('hold nothing English lacks in the partial catalogs (Azerbaijani, Armenian)', () => {
    for (const lng of ['az', 'hy']) {
      expect(fs.existsSync(path.join(LOCALES, lng)), lng).toBe(true);
      for (const ns of NAMESPACES) {
        const en = baseKeys(english.get(ns)!.keys());
        for (const [key, text] of leaves(load(lng, ns) ?? {})) {
          expect(en.has(key.replace(PLURAL, '')), `${lng} ${ns}:${key}`).toBe(true);
          expect(text.trim(), `${lng} ${ns}:${key}`).not.toBe('');
        }
      }
    }
  });
});
