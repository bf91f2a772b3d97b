import { schemaRef, type ReferenceObject, type SchemaObject } from '../../http/openapi-decorators.js';
import { ApiErrorRow, limitAndServerErrorRows, schemaOf, stacked, type AnyDecorator } from '../../http/openapi.js';

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
    ...limitAndServerErrorRows(ApiOAuthError, { tooLarge: 'invalid_request', tooMany: 'invalid_request', internal: 'server_error' }),
  );
}

/** A form body documented by its fields. */
export function formSchema(properties: Record<string, SchemaObject>, required: string[]): SchemaObject {
  return { type: 'object', properties, required };
}
