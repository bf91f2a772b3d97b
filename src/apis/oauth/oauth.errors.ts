import { DomainError } from '../../common/domain-error.js';

export type OAuthErrorCode =
  /** RFC 6749 section 5.2: a parameter is missing, repeated, or not understood. */
  | 'INVALID_REQUEST'
  | 'UNSUPPORTED_GRANT_TYPE'
  /** sigauth has no scopes. */
  | 'INVALID_SCOPE'
  /** The client authenticated, but may not use this grant (an account without ROLE_SERVICE or ROLE_ADMIN). */
  | 'UNAUTHORIZED_CLIENT';

/** What only the OAuth endpoints refuse; the rest (a refused client, a bad token) is shared with the other APIs. */
export class OAuthError extends DomainError<OAuthErrorCode> {
  readonly family = 'oauth';
}
