// Building blocks shared by the three kinds of domain record: decimals, identifiers, dates that may
// be partial and may not lie in the future, attachment references, request items and their
// outcomes, and the clarification items a response's gaps turn into. No I/O.
import { z } from 'zod';
import { jsonPointer } from '../../errors.js';
import { safeIdentifier, safeText } from '../text.js';

/** One line of free text (a name, a title, a place): trimmed, 1 to `max` characters, safe to show. */
export const Text = (max: number) => safeText(max);
/** Free text of several lines (a description, a note, remarks): tab and line breaks allowed. */
export const Prose = (max: number) => safeText(max, { multiline: true });

// ---------------------------------------------------------------------------------------------
// Decimals. Signed payloads may hold only integers within ±(2^53 - 1) (protocol/canonical-json.ts:
// RFC 8785 number spelling is not something every partner's JSON library reproduces), so every
// quantity that is not a whole number by nature (coordinates, bearings, distances, accuracies,
// likelihood ratios, probabilities) travels as a decimal string. Counts, quantities of devices and
// depths in centimetres stay JSON integers.
// ---------------------------------------------------------------------------------------------

/** A plain decimal: optional minus, no leading zeros, optional fraction; no exponent, no "+". */
export const DECIMAL_PATTERN = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;
/** Longest decimal string: far beyond any measure, short enough that no one pads a payload. */
export const MAX_DECIMAL_LENGTH = 64;
export const DECIMAL_MESSAGE =
  'a decimal number written as a string, such as "24.725" or "-3": digits with an optional ' +
  'fraction after ".", no exponent, no "+", no leading zeros';

/**
 * The wire form of a non-integer quantity. Written as the source gave it: trailing zeros
 * ("46.5800") are kept, as they state the precision of the source; values compare by
 * `decimalValue`, never as text.
 */
export const Decimal = z
  .string()
  // Aborting, so a malformed decimal gets this one message and no range check on top of it.
  .regex(DECIMAL_PATTERN, { message: DECIMAL_MESSAGE, abort: true })
  .max(MAX_DECIMAL_LENGTH, `a decimal of at most ${MAX_DECIMAL_LENGTH} characters`)
  .describe('a decimal number as a string, such as "24.725" (no exponent)');
export type Decimal = string;

/** The number a decimal string stands for (to the nearest double, as JSON.parse would read it). */
export const decimalValue = (s: string): number => Number(s);

/**
 * A finite number as a plain decimal string: the shortest digits that read back as the same
 * double (what String() gives), with any exponent written out: 1.2e9 → "1200000000",
 * 1e-7 → "0.0000001", -0 → "0".
 */
export function toDecimalString(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`${n} has no decimal form`);
  const text = String(n);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!m) return text; // no exponent: String(-0) is "0", otherwise already a plain decimal
  const [, sign, int, frac = '', exp] = m;
  const digits = int! + frac;
  const point = int!.length + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * A decimal as a request or record may give it: a decimal string (the wire form) or, for the
 * convenience of API callers and tests, a JSON number. The parsed value is always the string, and
 * parsed values are what gets signed, so a number never reaches a signed payload. Strings pass
 * through unchanged, so parsing what was parsed changes nothing.
 */
export const DecimalInput = z
  .union([Decimal, z.number()], { error: DECIMAL_MESSAGE })
  .transform((v) => (typeof v === 'number' ? toDecimalString(v) : v))
  // Piped into Decimal again: a number too large for the length cap is refused, and the output
  // JSON Schema (what is signed) says "string".
  .pipe(Decimal);

/** Bounds on a decimal's value; `gt` and `lt` exclude the bound. */
export interface DecimalRange {
  min?: number;
  gt?: number;
  max?: number;
  lt?: number;
}

const inRange = (v: number, r: DecimalRange) =>
  (r.min === undefined || v >= r.min) &&
  (r.gt === undefined || v > r.gt) &&
  (r.max === undefined || v <= r.max) &&
  (r.lt === undefined || v < r.lt);

/** A decimal (string, or number normalised to one) whose value lies in `range`. */
export const decimalIn = (range: DecimalRange, message: string) =>
  DecimalInput.refine((s) => inRange(decimalValue(s), range), { message });

/**
 * An identifier one party assigned (a case id, a remains id, a site or record id). Kept to a
 * plain ASCII alphabet so ids survive every system they are copied into, and typed by hand.
 */
export const ExternalId = safeIdentifier({
  pattern: /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,79}$/,
  message:
    'an identifier of 1 to 80 characters: letters, digits and . _ : / -, starting with a letter or digit',
});
export const CaseId = ExternalId.describe(
  "the requester's missing-person case id, for example MP-2024-00123",
);
export const RemainsId = ExternalId.describe(
  'the id of a set of human remains, for example R-0457',
);

/**
 * The id of one item of a request (a case, an area, a set of remains). The requester assigns it
 * when it writes the request; it never changes and is never reused within the request, so every
 * response, outcome and coverage row can point at it.
 */
export const ItemId = safeIdentifier({
  pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  message:
    'an item id of 1 to 64 characters: letters, digits and . _ -, starting with a letter or digit',
});
export type ItemId = z.infer<typeof ItemId>;

/** A source of the current time in milliseconds, injected so "not in the future" is testable. */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now();

/** A named administrative area, for requests that cannot draw a polygon. */
export const AdminArea = z.strictObject({
  name: Text(200),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 country code')
    .optional(),
  code: Text(40).optional().describe('an administrative code such as a P-code'),
});
export type AdminArea = z.infer<typeof AdminArea>;

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

/** A full calendar date. */
export const IsoDate = z.iso.date({ message: 'a calendar date YYYY-MM-DD' });

const PARTIAL_DATE = /^(\d{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?)?$/;

/** Earliest and latest instants (UTC ms) a date as precise as the record knows it stands for. */
export function dateBounds(date: string): { start: number; end: number } | undefined {
  const m = PARTIAL_DATE.exec(date);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = m[2] ? Number(m[2]) - 1 : undefined;
  const day = m[3] ? Number(m[3]) : undefined;
  if (month === undefined)
    return { start: Date.UTC(year, 0, 1), end: Date.UTC(year + 1, 0, 1) - 1 };
  if (day === undefined)
    return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) - 1 };
  const start = Date.UTC(year, month, day);
  if (new Date(start).getUTCDate() !== day) return undefined; // 2023-02-30
  return { start, end: start + 86_400_000 - 1 };
}

/**
 * A date as precise as the source knows it: a year (1994), a month (1994-04) or a day
 * (1994-04-17). Field records of mine laying and burials are often no more precise than that.
 */
export const PartialDate = z
  .string()
  .regex(PARTIAL_DATE, 'a date YYYY, YYYY-MM or YYYY-MM-DD')
  .refine((d) => !PARTIAL_DATE.test(d) || dateBounds(d) !== undefined, {
    message: 'a date that exists in the calendar',
  });

/**
 * A date counts as in the future only once its first instant is still ahead of now in the
 * easternmost time zone (UTC+14): today's date written at dawn in Kiribati is not refused.
 */
const TIME_ZONE_GRACE_MS = 14 * 3_600_000;

export function isFuture(date: string, clock: Clock): boolean {
  const bounds = dateBounds(date);
  return bounds !== undefined && bounds.start > clock() + TIME_ZONE_GRACE_MS;
}

export const NOT_FUTURE = 'a date not in the future';

/** A past (or present) full date, judged against the clock at parse time. */
export const pastIsoDate = (clock: Clock) =>
  IsoDate.refine((d) => !isFuture(d, clock), { message: NOT_FUTURE });

/** A past (or present) partial date. */
export const pastPartialDate = (clock: Clock) =>
  PartialDate.refine((d) => !isFuture(d, clock), { message: NOT_FUTURE });

/**
 * A single date, or a period with a start and/or an end ("laid between 1993 and spring 1994",
 * "buried after 1995-07"). With a clock, no part may lie in the future; without one (a request's
 * period of interest) only the order is checked.
 */
export const dateOrPeriod = (clock?: Clock) =>
  z
    .strictObject({
      date: PartialDate.optional(),
      from: PartialDate.optional(),
      to: PartialDate.optional(),
    })
    .superRefine((v, ctx) => {
      if (v.date !== undefined && (v.from !== undefined || v.to !== undefined))
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: 'either a date, or a period (from and/or to), not both',
        });
      else if (v.date === undefined && v.from === undefined && v.to === undefined)
        ctx.addIssue({ code: 'custom', path: [], message: 'a date, or a period: from and/or to' });
      const from = v.from === undefined ? undefined : dateBounds(v.from);
      const to = v.to === undefined ? undefined : dateBounds(v.to);
      if (from && to && from.start > to.end)
        ctx.addIssue({ code: 'custom', path: ['to'], message: 'an end not before the start' });
      if (clock)
        for (const key of ['date', 'from', 'to'] as const) {
          const d = v[key];
          if (d !== undefined && isFuture(d, clock))
            ctx.addIssue({ code: 'custom', path: [key], message: NOT_FUTURE });
        }
    });
export type DateOrPeriod = z.infer<ReturnType<typeof dateOrPeriod>>;

// ---------------------------------------------------------------------------------------------
// Attachments
// ---------------------------------------------------------------------------------------------

export const ATTACHMENT_REF = /^sha256:[0-9a-f]{64}$/;

/**
 * A file a record points to (a scanned map sheet, a photo, an identification report). Its bytes
 * travel separately, content-addressed, so the reference is the digest; media type and file name
 * tell the reader what it is before fetching it.
 */
export const AttachmentRef = z.strictObject({
  ref: z.string().regex(ATTACHMENT_REF, 'sha256: followed by 64 lowercase hex characters'),
  media_type: z
    .string()
    .regex(/^[a-z]+\/[a-z0-9.+-]+$/, 'a media type such as application/pdf or image/tiff'),
  // Bidi overrides are refused too: "report\u202Efdp.exe" would show as "reportexe.pdf".
  file_name: safeIdentifier({
    pattern: /^[^/\\]+$/,
    message: 'a file name without a directory or control characters',
  }).max(255),
  description: Prose(500).optional(),
});
export type AttachmentRef = z.infer<typeof AttachmentRef>;

export const Attachments = z.array(AttachmentRef).max(100);

/**
 * The digests (hex, without the `sha256:` prefix) every attachment reference in some records
 * points to, each once: what must have arrived before a message carrying them is accepted.
 */
export function referencedAttachments(value: unknown): string[] {
  const found = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      const ref = (v as { ref?: unknown }).ref;
      if (typeof ref === 'string' && ATTACHMENT_REF.test(ref) && 'media_type' in v)
        found.add(ref.slice('sha256:'.length));
      Object.values(v).forEach(walk);
    }
  };
  walk(value);
  return [...found];
}

// ---------------------------------------------------------------------------------------------
// Items, outcomes, responses
// ---------------------------------------------------------------------------------------------

/** Adds an issue for each value seen before, at the path of the repeat. */
export function checkUnique(
  ctx: z.RefinementCtx,
  values: readonly string[],
  pathOf: (index: number) => PropertyKey[],
  what: string,
): void {
  const seen = new Set<string>();
  values.forEach((value, i) => {
    if (seen.has(value))
      ctx.addIssue({
        code: 'custom',
        path: pathOf(i),
        message: `${what} "${value}" appears twice`,
      });
    seen.add(value);
  });
}

/** The items of a request subject must each have their own id. */
export const uniqueItemIds = (
  subject: { items: readonly { item_id: string }[] },
  ctx: z.RefinementCtx,
) =>
  checkUnique(
    ctx,
    subject.items.map((i) => i.item_id),
    (i) => ['items', i, 'item_id'],
    'item id',
  );

/** Which request items a record answers. */
export const Covers = z
  .array(ItemId)
  .min(1, 'the ids of the request items this record answers (at least one)')
  .max(1_000)
  .superRefine((ids, ctx) => checkUnique(ctx, ids, (i) => [i], 'item id'))
  .describe('ids of the request items this record answers');

export const Outcome = z.enum(['found', 'not_found', 'withheld']);
export type Outcome = z.infer<typeof Outcome>;

/** What a response says about one request item; a withheld item says why. */
export const ItemOutcome = z
  .strictObject({ item_id: ItemId, outcome: Outcome, reason: Prose(2_000).optional() })
  .superRefine((o, ctx) => {
    if (o.outcome === 'withheld' && o.reason === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['reason'],
        message: 'a reason: an item that is withheld must say why',
      });
  });
export type ItemOutcome = z.infer<typeof ItemOutcome>;

/**
 * A response's body for one kind of record. A final response must state an outcome for every
 * item; that it names each item of the request is checked against the request (coverage.ts).
 */
export const responseOf = <R extends z.ZodType>(record: R) =>
  z
    .strictObject({
      final: z.boolean(),
      records: z.array(record).max(10_000),
      outcomes: z.array(ItemOutcome).max(5_000).optional(),
      note: Prose(10_000).optional(),
    })
    .superRefine((r, ctx) => {
      if (r.final && r.outcomes === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['outcomes'],
          message:
            'a final response states found, not_found or withheld for every item of the request',
        });
      if (!r.final && r.records.length === 0 && !r.outcomes?.length)
        ctx.addIssue({
          code: 'custom',
          path: ['records'],
          message: 'a partial response carries at least one record or outcome',
        });
      checkUnique(
        ctx,
        (r.outcomes ?? []).map((o) => o.item_id),
        (i) => ['outcomes', i, 'item_id'],
        'an outcome for item',
      );
    });

/**
 * A gap in a record against the legal minimums: not a reason to refuse the response, but a
 * question to send back (a clarification item), naming where in the record it is and what is
 * missing.
 */
export const Gap = z.strictObject({
  code: z.string().regex(/^[a-z][a-z0-9_]*$/),
  path: z.string().describe('RFC 6901 JSON Pointer into the record, or into the response body'),
  message: z.string(),
});
export type Gap = z.infer<typeof Gap>;

export const gap = (code: string, path: readonly PropertyKey[], message: string): Gap => ({
  code,
  path: jsonPointer(path),
  message,
});

/**
 * Something wrong with a response measured against its request (an item it does not account
 * for, data the request did not ask for): a reason to refuse it, with the item concerned.
 */
export interface ResponseIssue extends Gap {
  item_id?: string;
}
