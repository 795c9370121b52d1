// Text that can be stored in Postgres and shown on a screen as it was meant: no NUL (Postgres
// refuses it in text and jsonb), no control characters that move a terminal's cursor or ring its
// bell, no lone surrogates (not UTF-8 at all), no bidi overrides that make a reader see text in
// another order than it is stored (CVE-2021-42574, "Trojan Source"). No I/O, no imports of ours.
import { z } from 'zod';

/** What a refused string is reported as: where it is (RFC 6901) and what is wrong, never the text. */
export interface UnsafeStringDetail {
  path: string;
  message: string;
}

export interface UnsafeCharacterOptions {
  /** Allow tab, line feed and carriage return (free text of several lines). Default false. */
  multiline?: boolean;
}

// C0 controls, DEL and C1 controls; the embeddings and overrides U+202A–U+202E and the isolates
// U+2066–U+2069; lone surrogates (a well-formed pair is one code point under /u and never
// matches \p{Cs}). U+200E and U+200F (LRM, RLM) stay allowed: they are marks that only nudge
// neutral characters, cannot reorder text they do not touch, and names in right-to-left scripts
// need them. A single line refuses U+2028 and U+2029 too: they break lines like a line feed.
/* eslint-disable no-control-regex */
const UNSAFE_SINGLE_LINE =
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\p{Cs}]/u;
const UNSAFE_MULTILINE =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\p{Cs}]/u;
/* eslint-enable no-control-regex */

/** `U+0000`: a code point as the Unicode standard writes it. */
export function codePointName(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

function describe(cp: number): string {
  const name = codePointName(cp);
  if (cp <= 0x1f || cp === 0x7f) return `control character ${name}`;
  if (cp <= 0x9f) return `C1 control character ${name}`;
  if (cp >= 0xd800 && cp <= 0xdfff) return `lone surrogate ${name} (not valid Unicode text)`;
  if (cp === 0x2028 || cp === 0x2029) return `line break ${name}`;
  return `bidirectional control character ${name}`;
}

/**
 * Why a string cannot be stored and shown safely, naming the first offending character by its code
 * point ("contains control character U+0000"), or undefined when it can. Never quotes the text.
 */
export function unsafeCharacter(s: string, opts: UnsafeCharacterOptions = {}): string | undefined {
  const match = (opts.multiline ? UNSAFE_MULTILINE : UNSAFE_SINGLE_LINE).exec(s);
  if (!match) return undefined;
  return `contains ${describe(match[0].codePointAt(0)!)}`;
}

/**
 * A zod refinement refusing a string {@link unsafeCharacter} names, with the code point, and
 * stopping the checks after it: `z.url().superRefine(noUnsafeCharacters())`.
 */
export function noUnsafeCharacters(opts: UnsafeCharacterOptions = {}) {
  return (s: string, ctx: z.RefinementCtx<string>): void => {
    const message = unsafeCharacter(s, opts);
    if (message) ctx.addIssue({ code: 'custom', message, continue: false });
  };
}

/**
 * Free text: trimmed, `min` (default 1) to `max` characters, refused with the offending code point
 * if it holds a character {@link unsafeCharacter} names. Single line unless `multiline`.
 */
export function safeText(max: number, opts: { multiline?: boolean; min?: number } = {}) {
  return (
    z
      .string()
      // Checked before trimming: a control character at either end is refused, not dropped.
      .superRefine(noUnsafeCharacters({ multiline: opts.multiline ?? false }))
      .trim()
      .min(opts.min ?? 1)
      .max(max)
  );
}

/**
 * An identifier: one line, not trimmed (an id is compared exactly), no character
 * {@link unsafeCharacter} names, then `pattern` (which then also bounds the length) or else 1 to
 * `max` (default 200) characters. The safety check runs first and alone, so a control character is
 * named by its code point rather than by the pattern.
 */
export function safeIdentifier(opts: { max?: number; pattern?: RegExp; message?: string } = {}) {
  const base = z.string().superRefine(noUnsafeCharacters());
  return opts.pattern ? base.regex(opts.pattern, opts.message) : base.min(1).max(opts.max ?? 200);
}

function pointerToken(key: string | number): string {
  return '/' + String(key).replaceAll('~', '~0').replaceAll('/', '~1');
}

type Task = { value: unknown; path: string } | { key: string; path: string };

/**
 * Walks any JSON value (objects, arrays, strings) and returns the first string, or object member
 * name, holding a character that cannot be stored or shown safely: NUL and other controls, lone
 * surrogates, bidi overrides. Tab, line feed and carriage return pass (free text has lines); field
 * schemas refine further. A bad member name is reported at its object's path. `path` is where
 * `value` sits. Iterative, so no nesting depth overflows the stack.
 */
export function refuseUnsafeStrings(
  value: unknown,
  path: readonly (string | number)[] = [],
): UnsafeStringDetail | undefined {
  const stack: Task[] = [{ value, path: path.map(pointerToken).join('') }];
  while (stack.length > 0) {
    const task = stack.pop()!;
    if ('key' in task) {
      const message = unsafeCharacter(task.key, { multiline: true });
      if (message) return { path: task.path, message: `a member name ${message}` };
      continue;
    }
    const v = task.value;
    if (typeof v === 'string') {
      const message = unsafeCharacter(v, { multiline: true });
      if (message) return { path: task.path, message };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--)
        stack.push({ value: v[i], path: task.path + pointerToken(i) });
    } else if (v !== null && typeof v === 'object') {
      // Pushed in reverse, each member name before its value: reported in document order.
      const entries = Object.entries(v as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i]!;
        stack.push({ value: child, path: task.path + pointerToken(k) });
        stack.push({ key: k, path: task.path });
      }
    }
  }
  return undefined;
}
