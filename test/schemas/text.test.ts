// Safe text: what may be stored and shown, refused with the offending code point, never the text.
import { describe, expect, it } from 'vitest';
import { AddPartnerBody } from '../../schemas/partners-api.js';
import { DeadlinePolicy } from '../../schemas/policy.js';
import { CreateRequestBody } from '../../schemas/requests-api.js';
import {
  refuseUnsafeStrings,
  safeIdentifier,
  safeText,
  unsafeCharacter,
} from '../../schemas/text.js';
import { subjectFor } from '../helpers/domain.js';

const UNSAFE: [string, string, string][] = [
  ['NUL', '\u0000', 'contains control character U+0000'],
  ['BEL', '\u0007', 'contains control character U+0007'],
  ['backspace', '\b', 'contains control character U+0008'],
  ['vertical tab', '\v', 'contains control character U+000B'],
  ['form feed', '\f', 'contains control character U+000C'],
  ['ESC', '\u001b', 'contains control character U+001B'],
  ['unit separator', '\u001f', 'contains control character U+001F'],
  ['DEL', '\u007f', 'contains control character U+007F'],
  ['C1 NEL', '\u0085', 'contains C1 control character U+0085'],
  ['C1 CSI', '\u009b', 'contains C1 control character U+009B'],
  ['a lone high surrogate', '\ud800', 'contains lone surrogate U+D800 (not valid Unicode text)'],
  ['a lone low surrogate', '\udfff', 'contains lone surrogate U+DFFF (not valid Unicode text)'],
  ['LRE', '\u202a', 'contains bidirectional control character U+202A'],
  ['PDF', '\u202c', 'contains bidirectional control character U+202C'],
  ['RLO', '\u202e', 'contains bidirectional control character U+202E'],
  ['LRI', '\u2066', 'contains bidirectional control character U+2066'],
  ['PDI', '\u2069', 'contains bidirectional control character U+2069'],
];

const SAFE: [string, string][] = [
  ['plain ASCII', 'Burial site near the old quarry'],
  ['Cyrillic', 'Поховання біля старого кар’єру'],
  ['Arabic with a right-to-left mark', 'مقبرة\u200f 12'],
  ['a left-to-right mark', 'A\u200eB'],
  ['an emoji (a well-formed surrogate pair)', 'site 😀'],
  ['a combining accent', 'Zaje\u0301c'],
  ['a no-break space', 'km\u00a012'],
];

describe('unsafeCharacter', () => {
  it.each(UNSAFE)('names %s by its code point', (_what, ch, message) => {
    expect(unsafeCharacter(`ab${ch}cd`)).toBe(message);
    expect(unsafeCharacter(`ab${ch}cd`, { multiline: true })).toBe(message);
  });

  it.each(SAFE)('lets %s pass', (_what, s) => {
    expect(unsafeCharacter(s)).toBeUndefined();
  });

  it.each([
    ['tab', '\t', 'U+0009'],
    ['line feed', '\n', 'U+000A'],
    ['carriage return', '\r', 'U+000D'],
  ])('refuses a %s on one line but lets it pass in several', (_what, ch, code) => {
    expect(unsafeCharacter(`a${ch}b`)).toBe(`contains control character ${code}`);
    expect(unsafeCharacter(`a${ch}b`, { multiline: true })).toBeUndefined();
  });

  it('refuses the Unicode line and paragraph separators on one line only', () => {
    expect(unsafeCharacter('a\u2028b')).toBe('contains line break U+2028');
    expect(unsafeCharacter('a\u2029b')).toBe('contains line break U+2029');
    expect(unsafeCharacter('a\u2028b', { multiline: true })).toBeUndefined();
  });

  it('names the first offending character', () => {
    expect(unsafeCharacter('ok\u202e then \u0000')).toBe(
      'contains bidirectional control character U+202E',
    );
  });
});

describe('safeText', () => {
  it.each(UNSAFE)('refuses %s with its code point and never echoes the text', (_w, ch, message) => {
    const secret = `Case of Ivan Petrenko ${ch}`;
    const result = safeText(200).safeParse(secret);
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.message)).toEqual([message]);
    expect(JSON.stringify(result.error!.issues)).not.toContain('Petrenko');
  });

  it('refuses a control character at either end rather than trimming it away', () => {
    expect(safeText(200).safeParse('title\u000b').success).toBe(false);
    expect(safeText(200).safeParse('\u000ctitle').success).toBe(false);
  });

  it.each(SAFE)('accepts %s', (_what, s) => {
    expect(safeText(200).parse(s)).toBe(s);
  });

  it('trims spaces, and counts length after trimming', () => {
    expect(safeText(5).parse('  abc  ')).toBe('abc');
    expect(safeText(200).safeParse('   ').success).toBe(false);
    expect(safeText(200, { min: 3 }).safeParse(' ab ').success).toBe(false);
    expect(safeText(200, { min: 0 }).parse('')).toBe('');
    expect(safeText(3).safeParse('abcd').success).toBe(false);
  });

  it('allows lines and tabs only when multiline', () => {
    const text = 'First line\n\tindented\r\nlast';
    expect(safeText(200, { multiline: true }).parse(text)).toBe(text);
    expect(safeText(200).safeParse(text).error?.issues[0]?.message).toBe(
      'contains control character U+000A',
    );
  });
});

describe('safeIdentifier', () => {
  const id = safeIdentifier({ pattern: /^[A-Z]{2}-[0-9]+$/, message: 'an id such as MP-12' });

  it('names a control character by code point instead of the pattern’s message', () => {
    expect(id.safeParse('MP-1\u0000').error?.issues.map((i) => i.message)).toEqual([
      'contains control character U+0000',
    ]);
  });

  it('applies the pattern to safe text', () => {
    expect(id.parse('MP-12')).toBe('MP-12');
    expect(id.safeParse('mp 12').error?.issues.map((i) => i.message)).toEqual([
      'an id such as MP-12',
    ]);
  });

  it('bounds the length when there is no pattern, and never trims', () => {
    const kid = safeIdentifier({ max: 4 });
    expect(kid.parse(' ab ')).toBe(' ab ');
    expect(kid.safeParse('abcde').success).toBe(false);
    expect(kid.safeParse('').success).toBe(false);
    expect(kid.safeParse('a\u2066b').success).toBe(false);
  });
});

describe('refuseUnsafeStrings', () => {
  it('finds a string deep in objects and arrays, at its JSON Pointer', () => {
    expect(
      refuseUnsafeStrings({ response: { records: [{ ok: 'fine' }, { 'a/b': ['x', 'y\u0000'] }] } }),
    ).toEqual({ path: '/response/records/1/a~1b/1', message: 'contains control character U+0000' });
  });

  it('reports a member name at its object’s path, without the name', () => {
    expect(refuseUnsafeStrings({ detail: { 'note\u202e': 1 } })).toEqual({
      path: '/detail',
      message: 'a member name contains bidirectional control character U+202E',
    });
  });

  it('reports the first bad string in document order', () => {
    expect(refuseUnsafeStrings({ a: { b: 'x\u0007' }, c: '\u0000' })?.path).toBe('/a/b');
  });

  it('starts from the path it is given', () => {
    expect(refuseUnsafeStrings({ q: '\ud800' }, ['body', 0])?.path).toBe('/body/0/q');
  });

  it('lets tabs, line breaks, numbers, booleans and null pass', () => {
    expect(
      refuseUnsafeStrings({ note: 'a\tb\r\nc', n: 1, t: true, z: null, list: [] }),
    ).toBeUndefined();
  });

  it('walks nesting of any depth without overflowing the stack', () => {
    let deep: unknown = 'end\u009b';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(refuseUnsafeStrings(deep)?.message).toBe('contains C1 control character U+009B');
  });
});

describe('the request schemas', () => {
  const body = (subject: Record<string, unknown>) => ({
    type: 'grave_information',
    counterparty: 'party-b',
    subject: { ...subjectFor('grave_information', 'Graves near the quarry'), ...subject },
  });

  it('refuse a title with a control character, at its path', () => {
    const result = CreateRequestBody.safeParse(body({ title: 'Graves\u001b[2J near the quarry' }));
    expect(result.error?.issues.map((i) => [i.path.join('/'), i.message])).toEqual([
      ['subject/title', 'contains control character U+001B'],
    ]);
  });

  it('refuse a line break in a title but accept one in a description', () => {
    expect(CreateRequestBody.safeParse(body({ title: 'Graves\nnear' })).success).toBe(false);
    expect(
      CreateRequestBody.safeParse(body({ description: 'Two villages.\nThe old road.' })).success,
    ).toBe(true);
  });

  it('refuse an item id with a bidi override, naming the code point', () => {
    const subject = subjectFor('grave_information', 'Graves near the quarry') as {
      items: { item_id: string }[];
    };
    const items = subject.items.map((item, i) =>
      i === 0 ? { ...item, item_id: 'case\u202e1' } : item,
    );
    const result = CreateRequestBody.safeParse(body({ items }));
    expect(result.error?.issues.map((i) => [i.path.join('/'), i.message])).toEqual([
      ['subject/items/0/item_id', 'contains bidirectional control character U+202E'],
    ]);
  });
});

describe('the partner and policy schemas', () => {
  const rule = {
    request_type: 'mine_map',
    priority: 'routine',
    acknowledge_seconds: 60,
    respond_seconds: 120,
  };

  it('refuse a policy name with a bidi override, and keep a safe one as it is', () => {
    const bad = DeadlinePolicy.safeParse({ version: 1, name: 'Agreed \u202e2026', rules: [rule] });
    expect(bad.error?.issues.map((i) => [i.path.join('/'), i.message])).toEqual([
      ['name', 'contains bidirectional control character U+202E'],
    ]);
    expect(DeadlinePolicy.parse({ version: 1, name: ' Agreed 2026 ', rules: [rule] }).name).toBe(
      ' Agreed 2026 ',
    );
  });

  it('refuse a partner name with an escape sequence, and store the inbox URL as the parser writes it', () => {
    const partner = {
      partyId: 'party-b',
      name: 'Node of party B',
      inboxUrl: 'https://b.example/v1/\tmessages',
      jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) }] },
    };
    expect(AddPartnerBody.parse(partner).inboxUrl).toBe('https://b.example/v1/messages');
    const bad = AddPartnerBody.safeParse({ ...partner, name: 'Node \u001b[31mB' });
    expect(bad.error?.issues.map((i) => [i.path.join('/'), i.message])).toEqual([
      ['name', 'contains control character U+001B'],
    ]);
  });
});
