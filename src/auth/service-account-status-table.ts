import type { ApiError } from './api-error.js';

export interface RedisRendered {
  status: number;
  errorCode: string;
  message: string;
}

/**
 * The service-account API's status table (DESIGN section 6), in the Redis Enterprise error body
 * `{ error_code, message }`. Every failure to authenticate is one `unauthorized`, whatever its
 * cause, except an expired password, which the client must act on.
 */
export function serviceAccountStatusFor(error: ApiError): RedisRendered {
  switch (error.family) {
    case 'request':
      switch (error.code) {
        case 'ARGUMENT_NOT_VALID':
        case 'UNSUPPORTED_MEDIA_TYPE':
          return { status: 400, errorCode: 'invalid_schema', message: error.message };
        case 'PAYLOAD_TOO_LARGE':
          return { status: 413, errorCode: 'payload_too_large', message: error.message };
        case 'HEADERS_TOO_LARGE':
          return { status: 431, errorCode: 'request_header_fields_too_large', message: error.message };
        case 'ROUTE_NOT_FOUND':
          return { status: 404, errorCode: 'not_found', message: error.message };
        case 'UNAUTHENTICATED':
          return { status: 401, errorCode: 'unauthorized', message: error.message };
        case 'FORBIDDEN':
          return { status: 403, errorCode: 'forbidden', message: error.message };
      }
      break;
    case 'auth':
      switch (error.code) {
        case 'PASSWORD_EXPIRED':
          return { status: 401, errorCode: 'password_expired', message: error.message };
        case 'TOO_MANY_REQUESTS':
          return { status: 429, errorCode: 'too_many_requests', message: error.message };
        case 'BAD_CREDENTIALS':
        case 'INVALID_SIGNATURE':
        case 'USER_NOT_FOUND':
        case 'SIGNATURE_DECODE':
        case 'INVALID_PUBLIC_KEY':
        case 'TIMESTAMP_OUT_OF_WINDOW':
        case 'SIGNATURE_REPLAYED':
        case 'CHALLENGE_REQUIRED':
        case 'INVALID_CHALLENGE':
          return { status: 401, errorCode: 'unauthorized', message: 'Unauthorized' };
      }
      break;
    case 'token':
      switch (error.code) {
        case 'INVALID_TOKEN':
        case 'TOKEN_PAIR_MISMATCH':
        case 'MISSING_TOKEN':
          return { status: 401, errorCode: 'unauthorized', message: error.message };
      }
      break;
    case 'user':
      return { status: 400, errorCode: 'invalid_schema', message: error.message };
    case 'health':
      return { status: 503, errorCode: 'service_unavailable', message: error.message };
  }
  return assertNever(error);
}

function assertNever(value: never): never {
  throw new Error(`unmapped error ${JSON.stringify(value)}`);
}
