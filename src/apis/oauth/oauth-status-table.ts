import type { CommonApiError } from '../../http/envelope-status-table.js';
import { oneRowFor, statusTable, type RowSpec } from '../../http/status-table.js';
import { USER_ERROR_CODES } from '../../users/users.errors.js';
import type { OAuthError } from './oauth.errors.js';

const INVALID_REQUEST: RowSpec = [400, 'invalid_request'];
const INVALID_CLIENT: RowSpec = [401, 'invalid_client'];
const INVALID_GRANT: RowSpec = [400, 'invalid_grant'];
const UNAVAILABLE: RowSpec = [503, 'temporarily_unavailable'];

/**
 * The OAuth endpoints' status table (RFC 6749 section 5.2, RFC 7009, RFC 9449): errors as
 * `{ error, error_description }`, never cached. A client that failed to authenticate gets 401
 * with a `WWW-Authenticate` challenge; a refused refresh token is `invalid_grant`.
 */
export const OAUTH_STATUS_TABLE = statusTable<CommonApiError | OAuthError>(
  {
    request: {
      ARGUMENT_NOT_VALID: INVALID_REQUEST,
      UNSUPPORTED_MEDIA_TYPE: INVALID_REQUEST,
      PAYLOAD_TOO_LARGE: [413, 'invalid_request'],
      HEADERS_TOO_LARGE: [431, 'invalid_request'],
      ROUTE_NOT_FOUND: [404, 'invalid_request'],
      UNAUTHENTICATED: INVALID_CLIENT,
      FORBIDDEN: [400, 'unauthorized_client'],
    },
    authentication: { INVALID_PROOF: INVALID_CLIENT, UNKNOWN_PRINCIPAL: [401, 'invalid_client', 'client authentication failed'], PASSWORD_EXPIRED: INVALID_CLIENT },
    token: { INVALID_TOKEN: INVALID_GRANT, TOKEN_PAIR_MISMATCH: INVALID_GRANT, MISSING_TOKEN: INVALID_REQUEST },
    dpop: { INVALID_DPOP_PROOF: [400, 'invalid_dpop_proof'], UNPROVEN_KEY: INVALID_GRANT },
    // This API manages no users: whatever a user error says, the request named something it cannot act on.
    user: oneRowFor(USER_ERROR_CODES, INVALID_REQUEST),
    // RFC 6749 section 5.2 has no code for "slow down" at the token endpoint (temporarily_unavailable
    // belongs to the authorization endpoint, RFC 8628's slow_down to device-code polling): the 429
    // status and its Retry-After (RFC 6585) are what a client acts on, the code is the generic one.
    'rate-limit': { TOO_MANY_REQUESTS: [429, 'invalid_request'] },
    health: { NOT_READY: UNAVAILABLE },
    oauth: { INVALID_REQUEST, UNSUPPORTED_GRANT_TYPE: [400, 'unsupported_grant_type'], INVALID_SCOPE: [400, 'invalid_scope'], UNAUTHORIZED_CLIENT: [400, 'unauthorized_client'] },
  },
  {
    internal: (requestId) => ({ status: 500, name: 'server_error', message: `Internal error (request id ${requestId})` }),
    body: (row) => ({ error: row.name, error_description: row.message }),
    // RFC 6749 sections 5.1 and 5.2: token responses are not cached; a client that tried to
    // authenticate and failed is challenged.
    headers: (row) => ({ 'cache-control': 'no-store', pragma: 'no-cache', ...(row.status === 401 ? { 'www-authenticate': 'Basic realm="sigauth", charset="UTF-8"' } : {}) }),
  },
);
