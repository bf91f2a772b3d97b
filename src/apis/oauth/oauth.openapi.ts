import { schemaRef, type ReferenceObject, type SchemaObject } from '../../http/openapi-decorators.js';
import { ApiErrorRow, schemaOf, stacked, type AnyDecorator } from '../../http/openapi.js';

/** The OAuth endpoints' error body (RFC 6749 section 5.2), registered once in the document's components (app.factory.ts). */
export const OAUTH_ERROR_SCHEMA: SchemaObject = {
  ...schemaOf({ error: 'invalid_client', error_description: 'client authentication failed' }),
  description: 'Every error of the OAuth endpoints (RFC 6749 section 5.2), sent with Cache-Control: no-store.',
};
const OAUTH_ERROR_REF: ReferenceObject = schemaRef('OAuthError');

/** One row of the OAuth status table: its HTTP status, `error`, an example description and when it happens. */
export function ApiOAuthError(status: number, error: string, description: string, when: string = description): AnyDecorator {
  return ApiErrorRow(status, error, when, OAUTH_ERROR_REF, { error, error_description: description });
}

/** The rows every OAuth endpoint shares: a malformed request, a refused client, the limits, the unexpected. */
export function ApiOAuthCommonErrors(): AnyDecorator {
  return stacked(
    ApiOAuthError(400, 'invalid_request', 'grant_type is required', 'a parameter is missing, repeated or malformed, or the body is not application/x-www-form-urlencoded'),
    ApiOAuthError(401, 'invalid_client', 'client authentication failed', 'client authentication failed: unknown client, wrong secret, or an assertion that is expired, for another audience, or already used; with `WWW-Authenticate`'),
    ApiOAuthError(413, 'invalid_request', 'request body is larger than the limit', 'the body is over its limit: LOGIN_BODY_LIMIT_BYTES on login, nonce, token and refresh routes, BODY_LIMIT_BYTES elsewhere'),
    ApiOAuthError(429, 'invalid_request', 'Too many requests; retry after 42 s.', 'a rate limit tripped; `Retry-After` (RFC 6585) says when to come back'),
    ApiOAuthError(500, 'server_error', 'Internal error (request id 3f1c2a9e-5d4b-4c1e-9a7f-2b8d6e0c4a11)', 'anything unexpected; only the request id is told'),
  );
}

/** A form body documented by its fields. */
export function formSchema(properties: Record<string, SchemaObject>, required: string[]): SchemaObject {
  return { type: 'object', properties, required };
}
