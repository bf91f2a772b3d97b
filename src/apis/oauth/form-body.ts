import type { FastifyRequest } from 'fastify';
import { OAuthError } from './oauth.errors.js';

export type FormBody = Record<string, unknown>;

/** RFC 6749 section 3.2: the OAuth endpoints take application/x-www-form-urlencoded bodies only. */
export function formBody(request: FastifyRequest): FormBody {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  const body = request.body;
  if (type !== 'application/x-www-form-urlencoded' || typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new OAuthError('INVALID_REQUEST', 'the body must be application/x-www-form-urlencoded');
  }
  return body as FormBody;
}

/**
 * One parameter: given once (section 3.1: "request and response parameters MUST NOT be included
 * more than once"); an empty value counts as omitted.
 */
export function formParam(body: FormBody, name: string): string | undefined {
  const value = body[name];
  if (Array.isArray(value)) throw new OAuthError('INVALID_REQUEST', `${name} must not be given more than once`);
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new OAuthError('INVALID_REQUEST', `${name} must be a string`);
  return value;
}

export function requiredFormParam(body: FormBody, name: string): string {
  const value = formParam(body, name);
  if (value === undefined) throw new OAuthError('INVALID_REQUEST', `${name} is required`);
  return value;
}
