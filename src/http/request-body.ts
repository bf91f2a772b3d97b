import { parse as parseQueryString } from 'node:querystring';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { RequestError } from '../common/domain-error.js';

/**
 * How deep a body may nest and how many members (object keys and array elements, counted together)
 * it may hold. No request of any API comes near either: the largest, an admin's new user, has a
 * dozen keys at depth two. class-transformer's work grows with the square of the key count and its
 * recursion overflows the stack near 2,000 levels, so a body is measured before it is parsed, in
 * one pass over its text.
 */
export const MAX_BODY_DEPTH = 32;
export const MAX_BODY_MEMBERS = 256;

/** The route option that marks a login, nonce, token or refresh route (LOGIN_BODY_LIMIT_BYTES). */
const SMALL_BODY = 'sigauthSmallBody';

/** A login, nonce, token or refresh route: its body is refused over LOGIN_BODY_LIMIT_BYTES. */
export const SmallBody = (): MethodDecorator => RouteConfig({ [SMALL_BODY]: true });

/**
 * Sets the body limit of each route as Fastify adds it: LOGIN_BODY_LIMIT_BYTES on the routes marked
 * with SmallBody, the server's BODY_LIMIT_BYTES on the others. Fastify refuses a body over the limit
 * from its Content-Length, or as soon as the bytes received pass it, before anything is parsed.
 */
export function limitBodies(fastify: FastifyInstance, loginLimitBytes: number): void {
  fastify.addHook('onRoute', (route) => {
    if ((route.config as Record<string, unknown> | undefined)?.[SMALL_BODY] === true) route.bodyLimit = loginLimitBytes;
  });
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;

/**
 * Why a JSON text is refused before parsing, or undefined when its nesting and member count are
 * within bounds. One pass over the characters, outside strings: each `{` or `[` opens a level, each
 * `:` is an object's key, each `[` and each `,` inside an array an element. Malformed text is left
 * to JSON.parse, which refuses it.
 */
export function jsonShapeProblem(text: string): string | undefined {
  // The kind of each open level (true: an array), at most MAX_BODY_DEPTH of them.
  const arrays: boolean[] = [];
  let members = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    switch (c) {
      case QUOTE:
        inString = true;
        break;
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        if (arrays.length === MAX_BODY_DEPTH) return `request body nests deeper than ${MAX_BODY_DEPTH} levels`;
        arrays.push(c === OPEN_ARRAY);
        if (c === OPEN_ARRAY) members++;
        break;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        arrays.pop();
        break;
      case COLON:
        members++;
        break;
      case COMMA:
        if (arrays.at(-1) === true) members++;
        break;
      default:
        continue;
    }
    if (members > MAX_BODY_MEMBERS) return `request body has more than ${MAX_BODY_MEMBERS} keys and array elements`;
  }
  return undefined;
}

/** secure-json-parse's rule, which Fastify's own JSON parser applied: no key may reach an object's prototype. */
function poisonedKey(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, member] of Object.entries(value)) {
    if (key === '__proto__') return key;
    if (key === 'constructor' && typeof member === 'object' && member !== null && Object.hasOwn(member, 'prototype')) return 'constructor.prototype';
    const inner = poisonedKey(member);
    if (inner) return inner;
  }
  return undefined;
}

/** A JSON body, measured, then parsed: cost linear in its size, whatever its shape. */
export function parseJsonBody(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  if (text.trim() === '') throw new RequestError('ARGUMENT_NOT_VALID', 'request body must be a JSON object');
  const problem = jsonShapeProblem(text);
  if (problem) throw new RequestError('ARGUMENT_NOT_VALID', problem);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RequestError('ARGUMENT_NOT_VALID', 'request body is not valid JSON');
  }
  // Bounded by the shape check: at most MAX_BODY_MEMBERS members, MAX_BODY_DEPTH deep.
  const poisoned = poisonedKey(body);
  if (poisoned) throw new RequestError('ARGUMENT_NOT_VALID', `request body must not contain ${poisoned}`);
  return body;
}

/**
 * An application/x-www-form-urlencoded body (the OAuth endpoints, introspection): at most
 * MAX_BODY_MEMBERS parameters; a repeated one becomes an array, which the OAuth form reader refuses.
 */
export function parseFormBody(raw: Buffer): Record<string, string | string[]> {
  const text = raw.toString('latin1');
  let pairs = text === '' ? 0 : 1;
  for (let i = text.indexOf('&'); i !== -1 && pairs <= MAX_BODY_MEMBERS; i = text.indexOf('&', i + 1)) pairs++;
  if (pairs > MAX_BODY_MEMBERS) throw new RequestError('ARGUMENT_NOT_VALID', `request body has more than ${MAX_BODY_MEMBERS} parameters`);
  const body = parseQueryString(raw.toString('utf8'), '&', '=', { maxKeys: 0 });
  if (Object.hasOwn(body, '__proto__')) throw new RequestError('ARGUMENT_NOT_VALID', 'request body must not contain __proto__');
  return { ...body } as Record<string, string | string[]>;
}

/**
 * A string field of a body not validated yet, or undefined: what a budget keyed by the identity a
 * request claims reads before anything is checked.
 */
export function claimedField(body: unknown, name: string): string | undefined {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : undefined;
}
