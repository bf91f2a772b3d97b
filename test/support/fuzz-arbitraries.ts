import fc from 'fast-check';

/**
 * Building blocks of the request fuzzers: hostile strings and values, whole hostile bodies,
 * content types, Authorization headers, and byte-level corruption of real tokens.
 */

const HEX = '0123456789abcdef';

/** Strings that have broken parsers before: boundaries, encodings, numbers as text, prototype keys. */
export const boundaryString: fc.Arbitrary<string> = fc.constantFrom(
  '',
  ' ',
  '\t\n',
  '\u0000',
  'null',
  'undefined',
  'true',
  '0',
  '-0',
  '1e308',
  '-1e308',
  '1e-324',
  'NaN',
  'Infinity',
  '9007199254740993',
  '0x',
  '0X',
  '0x0',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  "' OR '1'='1",
  '"; DROP TABLE users; --',
  '%s%s%n',
  '${jndi:ldap://x}',
  '../../etc/passwd',
  '\u202e\u0041',
  '\ud800',
  '\udfff\ud800',
  '\ufeff',
  '\uffff',
  'é',
  'e\u0301',
  'ǅ',
  '𝔞@𝔟.𝔠',
  '\u0130@x.y',
  '@',
  'a@',
  '@b',
  'a@b',
  ' a@b ',
  'a@@b',
  'a b@c',
  'a@b\u0000',
  '<script>alert(1)</script>',
  '{"__proto__":{"admin":true}}',
);

/** Strings of a length that crosses a limit: 128/129 and 254/255 (field limits), 1024/1025, 4096/4097, 8192/8193, 70 kB. */
export const longString: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(63, 64, 65, 127, 128, 129, 130, 131, 132, 254, 255, 256, 1024, 1025, 4096, 4097, 8193, 70_000), fc.constantFrom('a', 'f', '0', 'é', '😀', ' ', '\u0000', 'ab'))
  .map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length));

export const hexString = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...HEX.split('')), minLength, maxLength });

/** Hex that is almost right: the wrong length, a 0x prefix, upper case with junk, junk at either end. */
export const nearHex = (digits: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.integer({ min: 0, max: digits + 4 }).filter((n) => n !== digits).chain((n) => hexString(n, n)),
    hexString(digits, digits).map((h) => `0x${h}`),
    hexString(digits - 2, digits - 2).map((h) => `0x${h}`),
    fc.tuple(hexString(digits, digits), fc.constantFrom('z', 'g', ' ', '\n', '\u0000', 'é', '0x', '==', 'ff')).map(([h, junk]) => h + junk),
    fc.tuple(hexString(digits, digits), fc.constantFrom('z', ' ', '\u0000', '-')).map(([h, junk]) => junk + h.slice(1)),
    fc.tuple(hexString(digits, digits), fc.nat({ max: digits - 1 }), fc.constantFrom('g', 'z', 'G', 'x', ' ', '\u00e9', '.')).map(([h, i, c]) => h.slice(0, i) + c + h.slice(i + 1)),
  );

export const unicodeString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 40 }),
);

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: boundaryString, weight: 4 },
  { arbitrary: unicodeString, weight: 3 },
  { arbitrary: longString, weight: 1 },
  { arbitrary: nearHex(64), weight: 1 },
  { arbitrary: nearHex(128), weight: 1 },
  { arbitrary: nearHex(130).map((h) => (h.startsWith('0x') ? h : `0x${h}`)), weight: 1 },
);

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 0.5, 1.5, 1e308, -1e308, 5e-324, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 86400, 86401, 1e12, 1e14, 1e14 + 1),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, mistyped values first: the replacement for one field of an otherwise valid body. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: hostileString, weight: 6 },
  { arbitrary: hostileNumber, weight: 2 },
  { arbitrary: fc.constantFrom(null, true, false, [], {}, [null], [[]], { __proto__: null }), weight: 2 },
  { arbitrary: fc.array(hostileString, { maxLength: 3 }), weight: 1 },
  { arbitrary: fc.dictionary(fc.oneof(boundaryString, fc.string({ maxLength: 8 })), hostileString, { maxKeys: 3 }), weight: 1 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 1 },
);

/** How one field of a valid JSON object body is broken. */
export type FieldMutation =
  | { kind: 'replace'; field: string; value: unknown }
  | { kind: 'delete'; field: string }
  | { kind: 'extra'; field: string; value: unknown }
  | { kind: 'nest'; field: string; wrap: 'array' | 'object' };

export const fieldMutation = (fields: readonly string[], replacement: fc.Arbitrary<unknown> = hostileValue): fc.Arbitrary<FieldMutation> =>
  fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('replace' as const), field: fc.constantFrom(...fields), value: replacement }), weight: 8 },
    { arbitrary: fc.record({ kind: fc.constant('delete' as const), field: fc.constantFrom(...fields) }), weight: 1 },
    {
      arbitrary: fc.record({
        kind: fc.constant('extra' as const),
        field: fc.oneof(fc.constantFrom('admin', 'role', 'ttl', 'id', 'isAdmin', 'email ', 'Email', 'publicKey2', '', ' ', '0', 'constructor', 'hasOwnProperty', 'toString'), fc.string({ maxLength: 12 })).filter((f) => !fields.includes(f)),
        value: hostileValue,
      }),
      weight: 1,
    },
    { arbitrary: fc.record({ kind: fc.constant('nest' as const), field: fc.constantFrom(...fields), wrap: fc.constantFrom('array' as const, 'object' as const) }), weight: 1 },
  );

export function applyMutation(body: Record<string, unknown>, mutation: FieldMutation): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  switch (mutation.kind) {
    case 'replace':
      out[mutation.field] = mutation.value;
      break;
    case 'delete':
      delete out[mutation.field];
      break;
    case 'extra':
      Object.defineProperty(out, mutation.field, { value: mutation.value, enumerable: true, writable: true, configurable: true });
      break;
    case 'nest':
      out[mutation.field] = mutation.wrap === 'array' ? [body[mutation.field]] : { value: body[mutation.field] };
      break;
  }
  return out;
}

/** Prototype-pollution payloads spliced into an otherwise valid JSON object, as raw text (JSON.stringify drops `__proto__` keys). */
export const protoPollution: fc.Arbitrary<string> = fc.constantFrom(
  '"__proto__":{"admin":true}',
  '"__proto__":{"role":"ROLE_ADMIN","isAdmin":true}',
  '"constructor":{"prototype":{"admin":true}}',
  '"__proto__":null',
  '"__proto__":[]',
  '"__proto__":"x"',
  '"prototype":{}',
);

export function spliceIntoObject(json: string, member: string, first: boolean): string {
  if (json === '{}') return `{${member}}`;
  return first ? `{${member},${json.slice(1)}` : `${json.slice(0, -1)},${member}}`;
}

/** A whole body that is not the expected object: any JSON, JSON-ish junk, or arbitrary bytes. */
export const wholeBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { arbitrary: fc.json({ maxDepth: 3 }), weight: 4 },
  {
    arbitrary: fc.constantFrom('', ' ', 'null', 'true', '0', '-0', '1e308', '"x"', '[]', '[{}]', '{', '}', '{"a":', '{"a":1,}', "{'a':1}", '{"a":1}{"b":2}', '{"a":1} x', 'NaN', '\ufeff{}', '{"a":"\\ud800"}', '{"a":"\\u0000"}', '[' .repeat(5000), '{"a":'.repeat(2000)),
    weight: 3,
  },
  { arbitrary: fc.uint8Array({ maxLength: 200 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 100 }), weight: 1 },
);

/** Content types a client could send with a JSON-looking body. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 4 },
  {
    arbitrary: fc.constantFrom(
      undefined,
      '',
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'Application/JSON',
      'application/json ; charset="utf-8"',
      'application/vnd.api+json',
      'application/merge-patch+json',
      'application/jsonx',
      'text/json',
      'text/plain',
      'text/html',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/octet-stream',
      'application/xml',
      '*/*',
      'application/*',
      ';',
      'application/json; boundary=',
      'application/json, text/plain',
    ),
    weight: 3,
  },
  { arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 30 }), weight: 1 },
);

/**
 * Decodes a JWT segment, changes one byte and re-encodes it canonically. Editing a base64url
 * character instead could leave the bytes unchanged (the last character carries spare bits).
 */
export function flipTokenByte(token: string, segment: number, index: number, mask: number): string {
  const parts = token.split('.');
  if (parts.length !== 3) return `${token}x`;
  const seg = segment % 3;
  const bytes = Buffer.from(parts[seg]!, 'base64url');
  if (bytes.length === 0) return `${token}x`;
  const i = index % bytes.length;
  // XOR with 1..255: the byte always changes, so the segment decodes to different bytes.
  bytes[i] = bytes[i]! ^ ((mask % 255) + 1);
  parts[seg] = bytes.toString('base64url');
  return parts.join('.');
}

/** Corruption of a real token that must make it worthless: a flipped byte, truncation, junk, a swapped part. */
export type TokenCorruption =
  | { kind: 'flip'; segment: number; index: number; mask: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'append'; junk: string }
  | { kind: 'drop-signature' }
  | { kind: 'alg-none' }
  | { kind: 'segments'; count: number };

export const tokenCorruption: fc.Arbitrary<TokenCorruption> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('flip' as const), segment: fc.nat({ max: 2 }), index: fc.nat({ max: 400 }), mask: fc.nat({ max: 254 }) }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat({ max: 600 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('append' as const), junk: fc.constantFrom('x', '.', '.x', '=', '==', ' x', 'AAAA', '.e30') }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'drop-signature' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'alg-none' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('segments' as const), count: fc.constantFrom(1, 2, 4, 5) }), weight: 1 },
);

export function corruptToken(token: string, corruption: TokenCorruption): string {
  const parts = token.split('.');
  switch (corruption.kind) {
    case 'flip':
      return flipTokenByte(token, corruption.segment, corruption.index, corruption.mask);
    case 'truncate':
      return token.slice(0, Math.min(corruption.keep, token.length - 1));
    case 'append':
      return token + corruption.junk;
    case 'drop-signature':
      return `${parts[0]}.${parts[1]}.`;
    case 'alg-none': {
      const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      return `${Buffer.from(JSON.stringify({ ...header, alg: 'none' })).toString('base64url')}.${parts[1]}.`;
    }
    case 'segments':
      return Array.from({ length: corruption.count }, (_, i) => parts[i % 3]).join('.');
  }
}

/** Authorization headers that authenticate nothing: garbage, and the accepted schemes with random payloads. */
export const garbageAuthorization: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', 'Bearer', 'Bearer ', 'JWT', 'Basic', 'Basic ', 'Bearer  ', 'Bearer a b', 'null', 'undefined', 'Digest x', 'Negotiate YII=', 'Bearer eyJ', 'a.b.c', 'Bearer a.b.c', 'JWT a.b.c', 'Basic Og==', 'Basic !!!', 'Basic ====', 'Basic ' + Buffer.from(':').toString('base64')),
  fc.tuple(fc.constantFrom('Bearer ', 'JWT ', 'Basic ', 'bearer ', 'BEARER\t', 'jwt  ', ''), fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 80 }), fc.base64String({ maxLength: 120 }), longString.map((s) => s.slice(0, 9000)))).map(([scheme, payload]) => scheme + payload),
  fc.tuple(fc.constantFrom('Basic ', 'basic '), fc.string({ unit: 'binary', maxLength: 60 })).map(([scheme, credentials]) => scheme + Buffer.from(credentials, 'utf8').toString('base64')),
  fc.tuple(fc.constantFrom('Bearer ', 'JWT ', ''), fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 })).map(
    ([scheme, header, payload]) => `${scheme}${Buffer.from(JSON.stringify(header) ?? '').toString('base64url')}.${Buffer.from(JSON.stringify(payload) ?? '').toString('base64url')}.${Buffer.alloc(64, 7).toString('base64url')}`,
  ),
);

/** Headers that should not matter to any endpoint, sent alongside. */
export const noiseHeaders: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom('x-forwarded-for', 'x-request-id', 'user-agent', 'accept', 'accept-encoding', 'x-real-ip', 'origin', 'cookie', 'x-http-method-override', 'accept-language', 'forwarded', 'x-forwarded-proto'),
  fc.oneof(boundaryString, fc.string({ unit: 'binary-ascii', maxLength: 60 }), fc.constantFrom('*', 'gzip, br', '127.0.0.1, 10.0.0.1', 'DELETE', '../..', 'a'.repeat(2000))),
  { maxKeys: 3 },
);
