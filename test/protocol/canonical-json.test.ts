// RFC 8785 (JCS) serialization, and the strict reading of bytes that must already be canonical.
import { describe, expect, it } from 'vitest';
import {
  canonicalBytes,
  canonicalJson,
  MAX_DEPTH,
  parseCanonical,
} from '../../protocol/canonical-json.js';

const utf8 = (text: string) => new TextEncoder().encode(text);
const fromHex = (hex: string) => Buffer.from(hex, 'hex').readDoubleBE(0);

/** The code of the AppError that `parseCanonical` throws for these bytes. */
function refusal(bytes: Uint8Array, code?: 'not_canonical' | 'bad_header'): string {
  try {
    parseCanonical(bytes, code);
  } catch (err) {
    expect(err).toMatchObject({ name: 'AppError' });
    return (err as { code: string }).code;
  }
  throw new Error('parseCanonical accepted the input');
}

describe('canonicalJson', () => {
  it('serializes the RFC 8785 §3.2.2 example', () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    expect(canonicalJson(JSON.parse(input))).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    );
  });

  it('sorts members by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
    const input = String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`;
    const text = canonicalJson(JSON.parse(input));
    // Object.keys would list "1" first (integer-like keys), so read the order from the text.
    const order = [
      '\r',
      '1',
      '\u0080',
      '\u00f6',
      '\u20ac',
      '\ud83d\ude00', // U+1F600 before U+FB33: its first code unit, 0xD83D, is smaller
      '\ufb33',
    ].map((key) => text.indexOf(`${JSON.stringify(key)}:`));
    expect(order.every((at) => at > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(text).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",' +
        '"€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it.each<[string, string, string]>([
    // IEEE 754 bit patterns and their ECMAScript serialization (RFC 8785 appendix B).
    ['zero', '0000000000000000', '0'],
    ['minus zero', '8000000000000000', '0'],
    ['min positive', '0000000000000001', '5e-324'],
    ['min negative', '8000000000000001', '-5e-324'],
    ['max', '7fefffffffffffff', '1.7976931348623157e+308'],
    ['2^53', '4340000000000000', '9007199254740992'],
    ['-2^53', 'c340000000000000', '-9007199254740992'],
    ['2^68', '4430000000000000', '295147905179352830000'],
    ['1e21', '444b1ae4d6e2ef50', '1e+21'],
    ['just below 1e21', '444b1ae4d6e2ef4f', '999999999999999900000'],
    ['1e-6', '3eb0c6f7a0b5ed8d', '0.000001'],
    ['just below 1e-6', '3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
  ])('serializes the number %s (%s) as %s', (_name, hex, expected) => {
    expect(canonicalJson(fromHex(hex))).toBe(expected);
  });

  it.each<[string, unknown, string]>([
    ['1e20 in full', 1e20, '100000000000000000000'],
    ['1e21 with an exponent', 1e21, '1e+21'],
    ['1.0 as 1', 1.0, '1'],
    ['4.50 as 4.5', 4.5, '4.5'],
    ['1e-7 with an exponent', 1e-7, '1e-7'],
    [
      'control characters as short or lowercase \\u escapes',
      '\b\f\n\r\t\u000f\u001f',
      String.raw`"\b\f\n\r\t\u000f\u001f"`,
    ],
    ['quote and backslash escaped', '"\\', String.raw`"\"\\"`],
    ['solidus, DEL and non-ASCII literally', '/\u007f\u2028é😀', '"/\u007f\u2028é😀"'],
    ['literals', [null, true, false], '[null,true,false]'],
    ['empty containers', { a: [], b: {} }, '{"a":[],"b":{}}'],
    [
      'arrays in order, objects sorted',
      { b: [3, 1, 2], a: { d: 1, c: 2 } },
      '{"a":{"c":2,"d":1},"b":[3,1,2]}',
    ],
    ['uppercase before lowercase', { a: 1, B: 2 }, '{"B":2,"a":1}'],
    ['an object without its undefined members', { a: undefined, b: 1 }, '{"b":1}'],
  ])('writes %s', (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it.each<[string, unknown]>([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['a lone high surrogate', 'a\ud800'],
    ['a lone low surrogate', '\udc00b'],
    ['a lone surrogate in a member name', { '\ud800': 1 }],
    ['undefined', undefined],
  ])('refuses %s', (_name, value) => {
    expect(() => canonicalJson(value)).toThrow();
  });

  it('encodes canonical bytes as UTF-8', () => {
    expect(Buffer.from(canonicalBytes({ b: 'é', a: '😀' })).toString('hex')).toBe(
      Buffer.from('{"a":"😀","b":"é"}', 'utf8').toString('hex'),
    );
  });
});

describe('parseCanonical', () => {
  it.each<[string, string, unknown]>([
    [
      'an object with sorted members',
      '{"a":[1,-2,0],"b":{"c":null}}',
      { a: [1, -2, 0], b: { c: null } },
    ],
    ['a string', '"€"', '€'],
    ['literals', '[true,false,null]', [true, false, null]],
    ['the largest safe integer', '9007199254740991', 9007199254740991],
    ['the smallest safe integer', '-9007199254740991', -9007199254740991],
    ['members in UTF-16 order', '{"😀":1,"\ufb33":2}', { '😀': 1, '\ufb33': 2 }],
    ['uppercase before lowercase', '{"B":1,"a":2}', { B: 1, a: 2 }],
    ['a lowercase control escape', String.raw`"\u000f"`, '\u000f'],
    ['short escapes', String.raw`"\n\t\"\\"`, '\n\t"\\'],
    ['an empty member name', '{"":1}', { '': 1 }],
  ])('accepts %s', (_name, text, expected) => {
    expect(parseCanonical(utf8(text))).toEqual(expected);
    expect(canonicalJson(expected)).toBe(text);
  });

  it.each<[string, Uint8Array | string]>([
    ['a byte order mark', new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('{"a":1}')])],
    ['invalid UTF-8', new Uint8Array([0x22, 0xc3, 0x28, 0x22])],
    ['an overlong UTF-8 encoding', new Uint8Array([0x22, 0xc1, 0x81, 0x22])],
    ['an encoded surrogate (CESU-8)', new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])],
    ['UTF-16', new Uint8Array([0xff, 0xfe, 0x31, 0x00])],
    ['empty input', ''],
    ['invalid JSON', '{"a":'],
    ['NaN', 'NaN'],
    ['a space after a colon', '{"a": 1}'],
    ['a space after a comma', '[1, 2]'],
    ['a trailing newline', '{"a":1}\n'],
    ['leading whitespace', ' {"a":1}'],
    ['unsorted members', '{"b":1,"a":2}'],
    ['members in code point order rather than UTF-16 order', '{"\ufb33":2,"😀":1}'],
    ['duplicate members', '{"a":1,"a":1}'],
    ['duplicate members that differ', '{"a":1,"a":2}'],
    ['1.0', '1.0'],
    ['1e2', '1e2'],
    ['1E2', '1E2'],
    ['-0', '-0'],
    ['a leading plus', '+1'],
    ['a decimal, even in canonical form', '0.5'],
    ['1e+21, even in canonical form', '1e+21'],
    ['2^53', '9007199254740992'],
    ['2^53 + 1', '9007199254740993'],
    ['2^53 + 2', '9007199254740994'],
    ['-(2^53 + 1)', '-9007199254740993'],
    ['an escaped ASCII letter', String.raw`"\u0041"`],
    ['an escaped solidus', String.raw`"\/"`],
    ['an uppercase escape', String.raw`"\u001F"`],
    ['a non-ASCII character escaped', String.raw`"\u00e9"`],
    ['a control character given as \\u where a short escape exists', String.raw`"\u000a"`],
    ['a raw control character', '"\u0001"'],
    ['a lone surrogate escape', String.raw`"\ud800"`],
    ['a lone surrogate escape in a member name', String.raw`{"\udc00":1}`],
  ])('refuses %s with not_canonical', (_name, input) => {
    const bytes = typeof input === 'string' ? utf8(input) : input;
    expect(refusal(bytes)).toBe('not_canonical');
  });

  it('reports the code it is given, for headers', () => {
    expect(refusal(utf8('{"b":1,"a":2}'), 'bad_header')).toBe('bad_header');
    expect(refusal(utf8('1.5'), 'bad_header')).toBe('bad_header');
  });

  it(`accepts ${MAX_DEPTH} levels of nesting and refuses ${MAX_DEPTH + 1} with too_deep`, () => {
    const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
    const objects = (levels: number) => '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);
    expect(() => parseCanonical(utf8(nested(MAX_DEPTH)))).not.toThrow();
    expect(() => parseCanonical(utf8(objects(MAX_DEPTH)))).not.toThrow();
    expect(refusal(utf8(nested(MAX_DEPTH + 1)))).toBe('too_deep');
    expect(refusal(utf8(objects(MAX_DEPTH + 1)))).toBe('too_deep');
  });

  it('refuses deep nesting with too_deep without overflowing the stack', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(refusal(utf8(deep))).toBe('too_deep');
  });
});
