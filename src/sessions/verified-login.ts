import type { CredentialKind, SessionPrincipal } from '../users/user.types.js';

/** The credential a login proved: a key, a wallet or a password (its id changes with each new password). */
export interface Credential {
  kind: CredentialKind;
  id: string;
}

/** What a proof verifier yields: who proved themselves, and with which credential. */
export interface VerifiedLogin {
  principal: SessionPrincipal;
  credential: Credential;
}
