// Decimals: the one spelling non-integer quantities have in signed payloads (a plain decimal
// string), the conversion of JSON numbers into it, and the range checks built on it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { issueDetails } from '../../errors.js';
import { canonicalBytes, parseCanonical } from '../../protocol/canonical-json.js';
import {
  Decimal,
  DECIMAL_MESSAGE,
  DECIMAL_PATTERN,
  DecimalInput,
  decimalIn,
  decimalValue,
  MAX_DECIMAL_LENGTH,
  toDecimalString,
} from '../../schemas/domain/shared.js';

const details = (schema: { safeParse: (v: unknown) => any }, value: unknown) => {
  const r = schema.safeParse(value);
  return r.success ? [] : issueDetails(r.error.issues);
};

describe('toDecimalString', () => {
  it.each([
    [0, '0'],
    [-0, '0'],
    [7, '7'],
    [-3, '-3'],
    [24.725, '24.725'],
    [0.99999, '0.99999'],
    [1.2e9, '1200000000'],
    [1e21, '1000000000000000000000'],
    [1.5e22, '15000000000000000000000'],
    [-2.5e21, '-2500000000000000000000'],
    [1e-7, '0.0000001'],
    [3.1e-5, '0.000031'],
    [-1.5e-7, '-0.00000015'],
    [1.234e-10, '0.0000000001234'],
    [0.1 + 0.2, '0.30000000000000004'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
  ])('writes %d as %j', (n, text) => {
    expect(toDecimalString(n)).toBe(text);
  });

  it('refuses what has no decimal form', () => {
    for (const n of [NaN, Infinity, -Infinity])
      expect(() => toDecimalString(n)).toThrow(RangeError);
  });

  it('gives a plain decimal that reads back as the same double, for any finite double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        const text = toDecimalString(n);
        expect(text).toMatch(DECIMAL_PATTERN);
        expect(decimalValue(text)).toBe(n === 0 ? 0 : n);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('Decimal and DecimalInput', () => {
  it.each(['0', '-0.5', '24.725', '46.5800', '1200000000', '-180', '0.0000001'])(
    'takes %j as it is',
    (text) => {
      expect(Decimal.parse(text)).toBe(text);
      expect(DecimalInput.parse(text)).toBe(text);
    },
  );

  it.each([
    '1e5',
    '1E5',
    '+1',
    '1.',
    '01.5',
    '00',
    '.5',
    '-.5',
    '--1',
    '1.2.3',
    '1,5',
    ' 1',
    '1 ',
    '',
    '-',
    'NaN',
    'Infinity',
    '0x1A',
    '1_000',
    '١٢',
  ])('refuses the malformed decimal %j with one message', (text) => {
    expect(details(DecimalInput, text)).toEqual([{ path: '', message: DECIMAL_MESSAGE }]);
    expect(details(Decimal, text)).toEqual([{ path: '', message: DECIMAL_MESSAGE }]);
  });

  it('refuses other JSON types with the same message', () => {
    for (const value of [true, null, undefined, [], {}, ['1']])
      expect(details(DecimalInput, value)).toEqual([{ path: '', message: DECIMAL_MESSAGE }]);
  });

  it(`refuses decimals longer than ${MAX_DECIMAL_LENGTH} characters, given as text or as a number`, () => {
    const long = '1' + '0'.repeat(MAX_DECIMAL_LENGTH);
    const message = `a decimal of at most ${MAX_DECIMAL_LENGTH} characters`;
    expect(details(DecimalInput, long)).toEqual([{ path: '', message }]);
    expect(details(DecimalInput, 1e64)).toEqual([{ path: '', message }]);
    expect(details(DecimalInput, 5e-324)).toEqual([{ path: '', message }]);
    expect(DecimalInput.parse(long.slice(0, -1))).toHaveLength(MAX_DECIMAL_LENGTH);
  });

  it('turns a number into its string, and parsing the result again changes nothing', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e40, max: 1e40 }),
        (n) => {
          const r = DecimalInput.safeParse(n);
          if (!r.success) return; // beyond the length cap: refused, checked above
          expect(typeof r.data).toBe('string');
          expect(DecimalInput.parse(r.data)).toBe(r.data);
          expect(() => parseCanonical(canonicalBytes({ value: r.data }))).not.toThrow();
        },
      ),
    );
  });
});

describe('decimalIn', () => {
  const bearing = decimalIn({ min: 0, lt: 360 }, 'a bearing from 0 up to 360');
  const positive = decimalIn({ gt: 0, max: 10 }, 'more than 0, at most 10');

  it('checks the value, whatever the spelling', () => {
    expect(bearing.parse('0')).toBe('0');
    expect(bearing.parse('359.999999')).toBe('359.999999');
    expect(bearing.parse(90.5)).toBe('90.5');
    expect(positive.parse('10.000')).toBe('10.000');
    for (const [schema, value] of [
      [bearing, '360'],
      [bearing, '360.0'],
      [bearing, '-0.1'],
      [bearing, 400],
      [positive, '0'],
      [positive, '-0.0'],
      [positive, '10.0000001'],
    ] as const)
      expect(details(schema, value)).toEqual([
        {
          path: '',
          message: schema === bearing ? 'a bearing from 0 up to 360' : 'more than 0, at most 10',
        },
      ]);
  });

  it('reports a malformed decimal once, without a range issue on top', () => {
    expect(details(bearing, '1e3')).toEqual([{ path: '', message: DECIMAL_MESSAGE }]);
  });
});
