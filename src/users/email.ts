import { UserError } from './users.errors.js';

export const MAX_EMAIL_LENGTH = 254;

// Deliberately loose (one @, something on each side, no whitespace or control characters):
// FIB account addresses such as alice@wonderland have no dot in the domain.
const EMAIL_SHAPE = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u;

/** One @, something on each side, at most 254 characters, and well-formed Unicode (a lone surrogate has no UTF-8 form). */
export function isWellFormedEmail(email: string): boolean {
  const trimmed = email.trim();
  return trimmed.length > 0 && trimmed.length <= MAX_EMAIL_LENGTH && trimmed.isWellFormed() && EMAIL_SHAPE.test(trimmed);
}

/**
 * The stored, unique form of an email: trimmed, Unicode NFC, lower-cased. Signatures are still
 * checked over the exact string the client sent.
 */
export function normalizeEmail(email: string): string {
  if (!isWellFormedEmail(email)) throw new UserError('INVALID_EMAIL', 'email is empty, longer than 254 characters or malformed');
  return email.trim().normalize('NFC').toLowerCase();
}

/** The normalised form of whatever a client claims as its email, for keying budgets; never throws. */
export function claimedEmailKey(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= 1024 ? value.trim().normalize('NFC').toLowerCase().slice(0, MAX_EMAIL_LENGTH) : undefined;
}

/** Whether two strings are spellings of one email (an OAuth client id is one): both well-formed, with one normalized form. */
export function isSameEmail(a: unknown, b: unknown): boolean {
  return typeof a === 'string' && typeof b === 'string' && isWellFormedEmail(a) && isWellFormedEmail(b) && normalizeEmail(a) === normalizeEmail(b);
}
