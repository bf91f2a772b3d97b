import type { CommonApiError } from '../../http/envelope-status-table.js';
import { statusTable } from '../../http/status-table.js';

/**
 * The service-account API's status table (DESIGN section 6), in the Redis Enterprise error body
 * `{ error_code, message }`. Every failure to authenticate is one `unauthorized`, whatever its
 * cause, except an expired password, which the client must act on.
 */
export const SERVICE_ACCOUNT_STATUS_TABLE = statusTable<CommonApiError>(
  {
    request: {
      ARGUMENT_NOT_VALID: [400, 'invalid_schema'],
      UNSUPPORTED_MEDIA_TYPE: [400, 'invalid_schema'],
      PAYLOAD_TOO_LARGE: [413, 'payload_too_large'],
      HEADERS_TOO_LARGE: [431, 'request_header_fields_too_large'],
      ROUTE_NOT_FOUND: [404, 'not_found'],
      UNAUTHENTICATED: [401, 'unauthorized'],
      FORBIDDEN: [403, 'forbidden'],
    },
    authentication: {
      PASSWORD_EXPIRED: [401, 'password_expired'],
      INVALID_PROOF: [401, 'unauthorized', 'Unauthorized'],
      UNKNOWN_PRINCIPAL: [401, 'unauthorized', 'Unauthorized'],
    },
    token: {
      INVALID_TOKEN: [401, 'unauthorized'],
      TOKEN_PAIR_MISMATCH: [401, 'unauthorized'],
      MISSING_TOKEN: [401, 'unauthorized'],
    },
    user: {
      USER_NOT_FOUND: [400, 'invalid_schema'],
      CREDENTIAL_NOT_FOUND: [400, 'invalid_schema'],
      SESSION_NOT_FOUND: [400, 'invalid_schema'],
      EMAIL_TAKEN: [400, 'invalid_schema'],
      CREDENTIAL_EXISTS: [400, 'invalid_schema'],
      INVALID_PUBLIC_KEY: [400, 'invalid_schema'],
      INVALID_EMAIL: [400, 'invalid_schema'],
      INVALID_ACCOUNT: [400, 'invalid_schema'],
      INVALID_ROLE: [400, 'invalid_schema'],
      INVALID_WALLET: [400, 'invalid_schema'],
      INVALID_PASSWORD: [400, 'invalid_schema'],
      INVALID_SEED_FILE: [400, 'invalid_schema'],
    },
    'rate-limit': { TOO_MANY_REQUESTS: [429, 'too_many_requests'] },
    health: { NOT_READY: [503, 'service_unavailable'] },
  },
  {
    internal: (requestId) => ({ status: 500, name: 'internal_error', message: `Internal error (request id ${requestId})` }),
    body: (row) => ({ error_code: row.name, message: row.message }),
  },
);
