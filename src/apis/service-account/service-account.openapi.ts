import { schemaRef, type ReferenceObject, type SchemaObject } from '../../http/openapi-decorators.js';
import { ApiErrorRow, limitAndServerErrorRows, schemaOf, stacked, type AnyDecorator } from '../../http/openapi.js';

/** The service-account API's error body, registered once in the document's components (app.factory.ts). */
export const REDIS_ERROR_SCHEMA: SchemaObject = {
  ...schemaOf({ error_code: 'unauthorized', message: 'Unauthorized' }),
  description: 'Every error of the service-account API, in the Redis Enterprise shape.',
};
const REDIS_ERROR_REF: ReferenceObject = schemaRef('RedisError');

/** One row of the service-account status table: its HTTP status, `error_code`, an example message and when it happens. */
export function ApiRedisError(status: number, errorCode: string, message: string, when: string = message): AnyDecorator {
  return ApiErrorRow(status, errorCode, when, REDIS_ERROR_REF, { error_code: errorCode, message });
}

/** The rows both service-account routes share: a malformed body or ttl, an oversized body, the rate limit, the unexpected. */
export function ApiRedisCommonErrors(): AnyDecorator {
  return stacked(
    ApiRedisError(400, 'invalid_schema', 'ttl must not be greater than 86400', 'the body is not a JSON object, or ttl is not an integer from 1 to 86400'),
    ...limitAndServerErrorRows(ApiRedisError, { tooLarge: 'payload_too_large', tooMany: 'too_many_requests', internal: 'internal_error' }),
  );
}
