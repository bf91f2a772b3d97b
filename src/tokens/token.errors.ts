import { DomainError } from '../common/domain-error.js';

export type TokenErrorCode = 'INVALID_TOKEN' | 'MISSING_TOKEN' | 'TOKEN_PAIR_MISMATCH';

export class TokenError extends DomainError<TokenErrorCode> {
  readonly family = 'token';
}
