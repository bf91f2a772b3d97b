import type { DomainError, NotReadyError, RequestError } from '../common/domain-error.js';
import type { RateLimitError } from '../rate-limit/rate-limit.errors.js';
import type { AuthenticationError } from '../sessions/authentication.errors.js';
import type { DpopError } from '../sessions/dpop.errors.js';
import type { TokenError } from '../tokens/token.errors.js';
import type { UserError } from '../users/users.errors.js';
import { dpopChallenge } from './dpop-challenge.js';
import { envelope } from './envelope.js';
import { statusTable, type FamilyRows, type StatusTable } from './status-table.js';

/** The errors every API can meet: the request itself, a login refused, a token, a DPoP proof, a user, a budget, readiness. */
export type CommonApiError = RequestError | AuthenticationError | TokenError | DpopError | UserError | RateLimitError | NotReadyError;

/**
 * The rows every API that answers in the `{ status, data }` envelope shares: the FIB API, the
 * Ethereum API, tokens, admin and health. Where the two login APIs
 * share a case they share its name.
 */
export const ENVELOPE_ROWS: FamilyRows<CommonApiError> = {
  request: {
    ARGUMENT_NOT_VALID: [422, 'ArgumentNotValid'],
    UNSUPPORTED_MEDIA_TYPE: [422, 'ArgumentNotValid'],
    PAYLOAD_TOO_LARGE: [413, 'PayloadTooLarge'],
    HEADERS_TOO_LARGE: [431, 'RequestHeaderFieldsTooLarge'],
    ROUTE_NOT_FOUND: [404, 'NotFound'],
    UNAUTHENTICATED: [401, 'Unauthorized'],
    FORBIDDEN: [403, 'Forbidden'],
  },
  authentication: {
    INVALID_PROOF: [401, 'InvalidSignature'],
    UNKNOWN_PRINCIPAL: [404, 'UserNotFound'],
    PASSWORD_EXPIRED: [401, 'PasswordExpired'],
  },
  token: {
    INVALID_TOKEN: [401, 'InvalidToken'],
    TOKEN_PAIR_MISMATCH: [401, 'InvalidToken'],
    MISSING_TOKEN: [422, 'ArgumentNotValid'],
  },
  dpop: { INVALID_DPOP_PROOF: [401, 'InvalidDpopProof'], UNPROVEN_KEY: [401, 'InvalidToken'] },
  user: {
    USER_NOT_FOUND: [404, 'UserNotFound'],
    CREDENTIAL_NOT_FOUND: [404, 'CredentialNotFound'],
    SESSION_NOT_FOUND: [404, 'SessionNotFound'],
    EMAIL_TAKEN: [409, 'Conflict'],
    CREDENTIAL_EXISTS: [409, 'Conflict'],
    INVALID_PUBLIC_KEY: [422, 'InvalidPublicKey'],
    INVALID_EMAIL: [422, 'ArgumentNotValid'],
    INVALID_ACCOUNT: [422, 'ArgumentNotValid'],
    INVALID_ROLE: [422, 'ArgumentNotValid'],
    INVALID_WALLET: [422, 'ArgumentNotValid'],
    INVALID_PASSWORD: [422, 'ArgumentNotValid'],
    INVALID_SEED_FILE: [422, 'ArgumentNotValid'],
  },
  'rate-limit': { TOO_MANY_REQUESTS: [429, 'TooManyRequests'] },
  health: { NOT_READY: [503, 'ServiceUnavailable'] },
};

/** An envelope table: the shared rows, and those of the API's own error families. */
export function envelopeStatusTable<Own extends DomainError = never>(own?: FamilyRows<Own>): StatusTable {
  return statusTable<CommonApiError | Own>({ ...ENVELOPE_ROWS, ...own } as FamilyRows<CommonApiError | Own>, {
    internal: (requestId) => ({ status: 500, name: 'InternalError', message: `Internal error (request id ${requestId})` }),
    body: (row) => envelope(row.status, row.name, row.message),
    headers: dpopChallenge,
  });
}

/** The table of the envelope APIs that raise no errors of their own: tokens, admin, health. */
export const ENVELOPE_STATUS_TABLE = envelopeStatusTable();
