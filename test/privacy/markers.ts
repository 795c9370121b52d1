// Marker strings for the personal-data scan: every free-text and id field of a body gets a unique
// marker (appended to text, or replacing an identifier) wherever the body's schema still accepts
// it, so the scan can say where personal content went. The same original value gets the same
// marker everywhere (a case id in a subject and in a record stay equal).
import type { z } from 'zod';

/** Keys whose strings are not personal content: public by the access policy, or machine values. */
const PUBLIC_KEYS = new Set([
  'title',
  'item_id',
  'covers',
  'kind',
  'type',
  'counterparty',
  'priority',
]);

export class Markers {
  private next = 0;
  private readonly byOriginal = new Map<string, string>();
  /** Every marker handed out, with the field it was first put in. */
  readonly placed = new Map<string, string>();

  private fresh(where: string): string {
    this.next += 1;
    const m = `PDM${String(this.next).padStart(5, '0')}Z`;
    this.placed.set(m, where);
    return m;
  }

  /** A new marker for free text the caller writes itself (an action's note, a question). */
  text(where: string): string {
    const m = this.fresh(where);
    return `Note ${m} about the case`;
  }

  /**
   * `value` with a marker in every string leaf `accepts` still takes: text gets " <marker>"
   * appended, an identifier becomes the marker. Leaves no variant fits (dates, decimals, enums,
   * patterned codes) stay as they are.
   */
  mark<T>(value: T, accepts: (candidate: unknown) => boolean, where: string): T {
    const copy = structuredClone(value) as unknown;
    const leaves: {
      holder: Record<string, unknown> | unknown[];
      key: string | number;
      path: string;
    }[] = [];
    const walk = (v: unknown, path: string): void => {
      if (Array.isArray(v)) {
        v.forEach((x, i) => {
          if (typeof x === 'string') leaves.push({ holder: v, key: i, path: `${path}/${i}` });
          else walk(x, `${path}/${i}`);
        });
      } else if (v !== null && typeof v === 'object') {
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
          if (PUBLIC_KEYS.has(k)) continue;
          if (typeof x === 'string')
            leaves.push({ holder: v as Record<string, unknown>, key: k, path: `${path}/${k}` });
          else walk(x, `${path}/${k}`);
        }
      }
    };
    walk(copy, '');
    for (const leaf of leaves) {
      const holder = leaf.holder as Record<string | number, unknown>;
      const original = holder[leaf.key] as string;
      const known = this.byOriginal.get(original);
      const candidates = known ? [known] : [`${original} ${this.peek()}`, this.peek()];
      let placed: string | undefined;
      for (const candidate of candidates) {
        holder[leaf.key] = candidate;
        if (accepts(copy)) {
          placed = candidate;
          break;
        }
      }
      if (placed === undefined) {
        holder[leaf.key] = original;
        continue;
      }
      if (!known) {
        this.fresh(`${where}${leaf.path}`);
        this.byOriginal.set(original, placed);
      }
    }
    return copy as T;
  }

  /** The marker `fresh` will hand out next. */
  private peek(): string {
    return `PDM${String(this.next + 1).padStart(5, '0')}Z`;
  }

  /**
   * The markers found in `text`, also inside the compact JWS it holds (a signed message's payload
   * is base64url: content shown as a token is shown all the same).
   */
  foundIn(text: string): string[] {
    const decoded = [
      ...text.matchAll(/[A-Za-z0-9_-]{10,}\.([A-Za-z0-9_-]{10,})\.[A-Za-z0-9_-]{10,}/g),
    ]
      .map((m) => Buffer.from(m[1]!, 'base64url').toString('utf8'))
      .join('\n');
    const all = `${text}\n${decoded}`;
    return [...new Set(all.match(/PDM\d{5}Z/g) ?? [])].filter((m) => this.placed.has(m));
  }
}

/** `accepts` for a zod schema. */
export const fits =
  (schema: z.ZodType) =>
  (candidate: unknown): boolean =>
    schema.safeParse(candidate).success;
