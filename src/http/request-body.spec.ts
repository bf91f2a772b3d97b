import fc from 'fast-check';
import { RequestError } from '../common/domain-error.js';
import { jsonShapeProblem, MAX_BODY_DEPTH, MAX_BODY_MEMBERS, parseFormBody, parseJsonBody } from './request-body.js';

/** The reference: depth and members counted on the parsed value. */
function measure(value: unknown, level = 0): { depth: number; members: number } {
  if (typeof value !== 'object' || value === null) return { depth: level, members: 0 };
  const children = Array.isArray(value) ? value : Object.values(value as object);
  // An array counts one member for itself and one per element after the first (its `[` and its commas).
  let members = Array.isArray(value) ? Math.max(children.length, 1) : children.length;
  let depth = level + 1;
  for (const child of children) {
    const inner = measure(child, level + 1);
    members += inner.members;
    depth = Math.max(depth, inner.depth);
  }
  return { depth, members };
}

describe('jsonShapeProblem', () => {
  it('agrees with the parsed value on depth and member count, strings with brackets, quotes and escapes included', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 40 }), (value) => {
        const text = JSON.stringify(value);
        const { depth, members } = measure(value);
        const problem = jsonShapeProblem(text);
        if (depth > MAX_BODY_DEPTH) expect(problem).toBeDefined();
        else if (members > MAX_BODY_MEMBERS) expect(problem).toMatch(/more than 256 keys/);
        else expect(problem).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('counts depth at the limit and one past it', () => {
    expect(jsonShapeProblem(`${'['.repeat(MAX_BODY_DEPTH)}${']'.repeat(MAX_BODY_DEPTH)}`)).toBeUndefined();
    expect(jsonShapeProblem(`${'['.repeat(MAX_BODY_DEPTH + 1)}${']'.repeat(MAX_BODY_DEPTH + 1)}`)).toBe('request body nests deeper than 32 levels');
  });

  it('counts keys at the limit and one past it', () => {
    const keys = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":1`).join(',')}}`;
    expect(jsonShapeProblem(keys(MAX_BODY_MEMBERS))).toBeUndefined();
    expect(jsonShapeProblem(keys(MAX_BODY_MEMBERS + 1))).toBe('request body has more than 256 keys and array elements');
  });

  it('ignores brackets, colons and commas inside strings, escaped quotes included', () => {
    expect(jsonShapeProblem(JSON.stringify({ a: '[[[[{{{{::::,,,,\\"'.repeat(100) }))).toBeUndefined();
  });
});

describe('parseJsonBody', () => {
  const refused = (text: string) => {
    try {
      parseJsonBody(Buffer.from(text));
    } catch (error) {
      expect(error).toBeInstanceOf(RequestError);
      return (error as RequestError).message;
    }
    throw new Error('not refused');
  };

  it('parses an ordinary body', () => {
    expect(parseJsonBody(Buffer.from('{"email":"a@b.example","n":[1,2]}'))).toEqual({ email: 'a@b.example', n: [1, 2] });
  });

  it.each([
    ['', 'request body must be a JSON object'],
    ['{"a":', 'request body is not valid JSON'],
    ['{"__proto__":{"x":1}}', 'request body must not contain __proto__'],
    ['{"a":{"\\u005f_proto__":1}}', 'request body must not contain __proto__'],
    ['{"constructor":{"prototype":{}}}', 'request body must not contain constructor.prototype'],
  ])('refuses %j: %s', (text, message) => {
    expect(refused(text)).toBe(message);
  });
});

describe('parseFormBody', () => {
  it('parses parameters, a repeated one as an array', () => {
    expect(parseFormBody(Buffer.from('grant_type=client_credentials&scope=a&scope=b'))).toEqual({ grant_type: 'client_credentials', scope: ['a', 'b'] });
  });

  it('refuses more than 256 parameters and __proto__', () => {
    expect(() => parseFormBody(Buffer.from(Array.from({ length: 257 }, (_, i) => `p${i}=1`).join('&')))).toThrow('request body has more than 256 parameters');
    expect(() => parseFormBody(Buffer.from(Array.from({ length: 256 }, (_, i) => `p${i}=1`).join('&')))).not.toThrow();
    expect(() => parseFormBody(Buffer.from('__proto__=1'))).toThrow('request body must not contain __proto__');
  });
});
