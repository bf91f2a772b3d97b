import fc from 'fast-check';
import { siweVectors } from '../../../test/support/siwe-vectors.js';
import { formatSiweMessage, parseDateTime, parseSiweMessage, type SiweMessage } from './siwe-message.js';
import { SiweError } from './siwe.errors.js';

const positive = siweVectors<{ message: string; fields: Record<string, unknown> }>('parsing_positive.json');
const negative = siweVectors<string>('parsing_negative.json');
const negativeObjects = siweVectors<Record<string, unknown>>('parsing_negative_objects.json');

/** The vectors' fields as this parser gives them: `scheme: null` means none. */
function expected(fields: Record<string, unknown>): Partial<SiweMessage> {
  const { scheme, ...rest } = fields;
  return { ...rest, ...(typeof scheme === 'string' && { scheme }) } as Partial<SiweMessage>;
}

const refused = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error instanceof SiweError && error.code === 'INVALID_MESSAGE';
  }
  return false;
};

describe('parseSiweMessage', () => {
  (positive ? it.each(Object.entries(positive)) : it.skip.each([['absent', { message: '', fields: {} }]]))('parses the positive vector %s into its fields, and formats them back', (_name, { message, fields }) => {
    expect(parseSiweMessage(message)).toEqual(expected(fields));
    expect(formatSiweMessage(expected(fields) as SiweMessage)).toBe(message);
  });

  (negative ? it.each(Object.entries(negative)) : it.skip.each([['absent', '']]))('refuses the negative vector %s', (_name, message) => {
    expect(refused(() => parseSiweMessage(message))).toBe(true);
  });

  (negativeObjects ? it.each(Object.entries(negativeObjects)) : it.skip.each([['absent', {}]]))('formats no message from the invalid fields %s', (_name, fields) => {
    expect(refused(() => formatSiweMessage(fields as unknown as SiweMessage))).toBe(true);
  });

  const valid = [
    'example.com wants you to sign in with your Ethereum account:',
    '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2',
    '',
    'Sign in',
    '',
    'URI: https://example.com/login',
    'Version: 1',
    'Chain ID: 1',
    'Nonce: 32891757',
    'Issued At: 2021-09-30T16:25:24.000Z',
  ];

  it.each([
    ['a trailing newline', valid.join('\n') + '\n'],
    ['CRLF line ends', valid.join('\r\n')],
    ['an empty statement line (an extra blank line)', [...valid.slice(0, 3), '', '', ...valid.slice(5)].join('\n')],
    ['text before the header', 'x\n' + valid.join('\n')],
    ['a line after the last field', valid.join('\n') + '\nExtra: 1'],
    ['an unknown field between two', [...valid.slice(0, 7), 'Foo: bar', ...valid.slice(7)].join('\n')],
    ['a non-ASCII statement', [...valid.slice(0, 3), 'Sign in to Café', ...valid.slice(4)].join('\n')],
    ['a chain id that is not a number', valid.join('\n').replace('Chain ID: 1', 'Chain ID: 0x1')],
    ['a nonce with a dash', valid.join('\n').replace('32891757', '3289-1757')],
    ['an issuedAt of 31 February', valid.join('\n').replace('2021-09-30', '2021-02-31')],
    ['an issuedAt without a zone', valid.join('\n').replace('24.000Z', '24.000')],
    ['an issuedAt at 24:00', valid.join('\n').replace('16:25', '24:25')],
    ['Version 2', valid.join('\n').replace('Version: 1', 'Version: 2')],
    ['a lower-case address', valid.join('\n').replace('0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2', '0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2')],
    ['a URI with a space', valid.join('\n').replace('https://example.com/login', 'https://example.com/log in')],
    ['an empty message', ''],
  ])('refuses %s', (_why, text) => {
    expect(refused(() => parseSiweMessage(text))).toBe(true);
  });

  it('accepts the lower-case "t" and "z" of RFC 3339, and a leap-year 29 February', () => {
    expect(parseSiweMessage(valid.join('\n').replace('2021-09-30T16:25:24.000Z', '2024-02-29t16:25:24z')).issuedAt).toBe('2024-02-29t16:25:24z');
  });

  it('never throws anything but SiweError INVALID_MESSAGE, whatever the text', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...valid), fc.string()), { maxLength: 14 }), (lines) => {
        try {
          parseSiweMessage(lines.join('\n'));
        } catch (error) {
          return error instanceof SiweError && error.code === 'INVALID_MESSAGE';
        }
        return true;
      }),
    );
  });
});

describe('parseDateTime', () => {
  it.each([
    ['2021-09-30T16:25:24Z', Date.UTC(2021, 8, 30, 16, 25, 24)],
    ['2021-09-30T16:25:24.5Z', Date.UTC(2021, 8, 30, 16, 25, 24, 500)],
    ['2021-09-30T16:25:24-02:00', Date.UTC(2021, 8, 30, 18, 25, 24)],
    ['2100-01-07T14:31:43.952Z', Date.UTC(2100, 0, 7, 14, 31, 43, 952)],
  ])('%s is %d', (text, ms) => {
    expect(parseDateTime(text)).toBe(ms);
  });

  it.each(['2100-02-31T14:31:43.952Z', '2025-02-29T00:00:00Z', '2022-13-01T00:00:00Z', '2022-01-01T00:60:00Z', '2022-01-01 00:00:00Z', 'Wed Oct 05 2011 16:48:00 GMT+0200'])('refuses %s', (text) => {
    expect(parseDateTime(text)).toBeUndefined();
  });
});
