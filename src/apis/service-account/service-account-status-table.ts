import { dpopChallenge } from '../../http/dpop-challenge.js';
import type { CommonApiError } from '../../http/envelope-status-table.js';
import { oneRowFor, statusTable, type RowSpec } from '../../http/status-table.js';
import { USER_ERROR_CODES } from '../../users/users.errors.js';

/**
 * The service-account API's status table, in the Redis Enterprise error body
 * `{ error_code, message }`. Every failure to authenticate is one `unauthorized`, whatever its
 * cause, except an expired password, which the client must act on.
 */
/** The Redis API answers most cases with one of a few codes. */
const INVALID_SCHEMA: RowSpec = [400, 'invalid_schema'];
const UNAUTHORIZED: RowSpec = [401, 'unauthorized'];
/** A login refused for any reason but an expired password: the same body, so it tells nothing. */
const REFUSED: RowSpec = [401, 'unauthorized', 'Unauthorized'];

export const SERVICE_ACCOUNT_STATUS_TABLE = statusTable<CommonApiError>(
  {
    request: {
      ARGUMENT_NOT_VALID: INVALID_SCHEMA,
      UNSUPPORTED_MEDIA_TYPE: INVALID_SCHEMA,
      PAYLOAD_TOO_LARGE: [413, 'payload_too_large'],
      HEADERS_TOO_LARGE: [431, 'request_header_fields_too_large'],
      ROUTE_NOT_FOUND: [404, 'not_found'],
      UNAUTHENTICATED: UNAUTHORIZED,
      FORBIDDEN: [403, 'forbidden'],
    },
    authentication: { PASSWORD_EXPIRED: [401, 'password_expired'], INVALID_PROOF: REFUSED, UNKNOWN_PRINCIPAL: REFUSED },
    token: { INVALID_TOKEN: UNAUTHORIZED, TOKEN_PAIR_MISMATCH: UNAUTHORIZED, MISSING_TOKEN: UNAUTHORIZED },
    dpop: { INVALID_DPOP_PROOF: UNAUTHORIZED, UNPROVEN_KEY: UNAUTHORIZED },
    // This API manages no users: whatever a user error says, the request named something it cannot act on.
    user: oneRowFor(USER_ERROR_CODES, INVALID_SCHEMA),
    'rate-limit': { TOO_MANY_REQUESTS: [429, 'too_many_requests'] },
    health: { NOT_READY: [503, 'service_unavailable'] },
  },
  {
    internal: (requestId) => ({ status: 500, name: 'internal_error', message: `Internal error (request id ${requestId})` }),
    body: (row) => ({ error_code: row.name, message: row.message }),
    headers: dpopChallenge,
  },
);
