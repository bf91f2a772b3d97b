import { DomainError } from '../common/domain-error.js';

export const USER_ERROR_CODES = [
  'INVALID_EMAIL',
  'INVALID_ACCOUNT',
  'INVALID_ROLE',
  'INVALID_PUBLIC_KEY',
  'INVALID_WALLET',
  'INVALID_PASSWORD',
  'EMAIL_TAKEN',
  'USER_NOT_FOUND',
  'CREDENTIAL_NOT_FOUND',
  'CREDENTIAL_EXISTS',
  'INVALID_SEED_FILE',
  'SESSION_NOT_FOUND',
] as const;

export type UserErrorCode = (typeof USER_ERROR_CODES)[number];

export class UserError extends DomainError<UserErrorCode> {
  readonly family = 'user';
}
