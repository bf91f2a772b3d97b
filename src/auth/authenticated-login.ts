import type { Credential } from '../tokens/sessions.service.js';
import type { SessionPrincipal } from '../users/user.types.js';

/** What a login strategy yields: who proved themselves, and with which credential. */
export interface AuthenticatedLogin {
  principal: SessionPrincipal;
  credential: Credential;
}
