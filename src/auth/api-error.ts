import type { NotReadyError, RequestError } from '../common/domain-error.js';
import type { TokenError } from '../tokens/token.errors.js';
import type { UserError } from '../users/users.errors.js';
import type { AuthError } from './auth.errors.js';

/** Every error family a status table must render. */
export type ApiError = RequestError | AuthError | TokenError | UserError | NotReadyError;
