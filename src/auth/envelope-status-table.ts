import type { ApiError } from './api-error.js';

export interface Rendered {
  status: number;
  name: string;
  message: string;
}

/**
 * The status table of every API that answers in the `{ status, data }` envelope: the FIB API
 * (DESIGN section 3), the Ethereum API (section 5), introspection, admin and health. Where the
 * two login APIs share a case they share its name. Exhaustive: a new error code does not compile
 * until it has a row here.
 */
export function envelopeStatusFor(error: ApiError): Rendered {
  switch (error.family) {
    case 'request':
      switch (error.code) {
        case 'ARGUMENT_NOT_VALID':
        case 'UNSUPPORTED_MEDIA_TYPE':
          return { status: 422, name: 'ArgumentNotValid', message: error.message };
        case 'PAYLOAD_TOO_LARGE':
          return { status: 413, name: 'PayloadTooLarge', message: error.message };
        case 'HEADERS_TOO_LARGE':
          return { status: 431, name: 'RequestHeaderFieldsTooLarge', message: error.message };
        case 'ROUTE_NOT_FOUND':
          return { status: 404, name: 'NotFound', message: error.message };
        case 'UNAUTHENTICATED':
          return { status: 401, name: 'Unauthorized', message: error.message };
        case 'FORBIDDEN':
          return { status: 403, name: 'Forbidden', message: error.message };
      }
      break;
    case 'auth':
      switch (error.code) {
        case 'INVALID_SIGNATURE':
          return { status: 401, name: 'InvalidSignature', message: error.message };
        case 'USER_NOT_FOUND':
          return { status: 404, name: 'UserNotFound', message: error.message };
        case 'SIGNATURE_DECODE':
          return { status: 422, name: 'SignatureDecodeError', message: error.message };
        case 'INVALID_PUBLIC_KEY':
          return { status: 422, name: 'InvalidPublicKey', message: error.message };
        case 'TIMESTAMP_OUT_OF_WINDOW':
          return { status: 401, name: 'TimestampOutOfWindow', message: error.message };
        case 'SIGNATURE_REPLAYED':
          return { status: 401, name: 'SignatureReplayed', message: error.message };
        case 'CHALLENGE_REQUIRED':
          return { status: 401, name: 'ChallengeRequired', message: error.message };
        case 'INVALID_CHALLENGE':
          return { status: 401, name: 'InvalidChallenge', message: error.message };
        case 'BAD_CREDENTIALS':
          return { status: 401, name: 'Unauthorized', message: error.message };
        case 'PASSWORD_EXPIRED':
          return { status: 401, name: 'PasswordExpired', message: error.message };
        case 'TOO_MANY_REQUESTS':
          return { status: 429, name: 'TooManyRequests', message: error.message };
      }
      break;
    case 'token':
      switch (error.code) {
        case 'INVALID_TOKEN':
        case 'TOKEN_PAIR_MISMATCH':
          return { status: 401, name: 'InvalidToken', message: error.message };
        case 'MISSING_TOKEN':
          return { status: 422, name: 'ArgumentNotValid', message: error.message };
      }
      break;
    case 'user':
      switch (error.code) {
        case 'USER_NOT_FOUND':
          return { status: 404, name: 'UserNotFound', message: error.message };
        case 'CREDENTIAL_NOT_FOUND':
          return { status: 404, name: 'CredentialNotFound', message: error.message };
        case 'SESSION_NOT_FOUND':
          return { status: 404, name: 'SessionNotFound', message: error.message };
        case 'EMAIL_TAKEN':
        case 'CREDENTIAL_EXISTS':
          return { status: 409, name: 'Conflict', message: error.message };
        case 'INVALID_PUBLIC_KEY':
          return { status: 422, name: 'InvalidPublicKey', message: error.message };
        case 'INVALID_EMAIL':
        case 'INVALID_ACCOUNT':
        case 'INVALID_ROLE':
        case 'INVALID_WALLET':
        case 'INVALID_PASSWORD':
        case 'INVALID_SEED_FILE':
          return { status: 422, name: 'ArgumentNotValid', message: error.message };
      }
      break;
    case 'health':
      return { status: 503, name: 'ServiceUnavailable', message: error.message };
  }
  return assertNever(error);
}

function assertNever(value: never): never {
  throw new Error(`unmapped error ${JSON.stringify(value)}`);
}
