// RFC 8785 (JCS) canonical JSON, and the strict reading of bytes that must already be canonical:
// UTF-8 without BOM, no duplicate members, no whitespace, sorted members, integers only within
// ±(2^53 - 1), nesting no deeper than the cap.
import canonicalize from 'canonicalize';
import { AppError } from '../errors.js';

/** Deepest nesting of arrays and objects a payload may have. */
export const MAX_DEPTH = 32;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** The RFC 8785 serialization of a JSON value. Throws TypeError on values JSON cannot carry. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

/** Canonical JSON as UTF-8 bytes: what is signed. */
export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalJson(value));
}

function checkDepthAndNumbers(value: unknown, depth: number): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new AppError(
        'not_canonical',
        'numbers must be integers within ±(2^53 - 1); send decimals as strings',
      );
    }
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (depth >= MAX_DEPTH)
    throw new AppError('too_deep', `JSON nesting deeper than ${MAX_DEPTH} levels`);
  for (const child of Array.isArray(value) ? value : Object.values(value))
    checkDepthAndNumbers(child, depth + 1);
}

/**
 * Parses bytes that must be exactly the canonical form of the JSON they hold. Duplicate members,
 * whitespace, member order, number spelling and escapes all fail the byte-for-byte comparison.
 */
export function parseCanonical(
  bytes: Uint8Array,
  code: 'not_canonical' | 'bad_header' = 'not_canonical',
): unknown {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw new AppError(code, 'JSON must not start with a byte order mark');
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new AppError(code, 'JSON is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError(code, 'not valid JSON');
  }
  try {
    checkDepthAndNumbers(value, 0);
  } catch (err) {
    if (err instanceof AppError && err.code === 'not_canonical')
      throw new AppError(code, err.message);
    throw err;
  }
  let canonical: string;
  try {
    canonical = canonicalJson(value);
  } catch {
    throw new AppError(code, 'JSON holds a value with no canonical form (lone surrogate)');
  }
  if (canonical !== text) {
    throw new AppError(
      code,
      'JSON is not in RFC 8785 canonical form (member order, whitespace, duplicates or number form)',
    );
  }
  return value;
}
