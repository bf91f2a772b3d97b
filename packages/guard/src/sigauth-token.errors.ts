export type SigauthRejectionReason = 'invalid' | 'expired' | 'not_an_access_token' | 'revoked' | 'invalid_dpop_proof';

/** The token is not one this service accepts: the guard answers 401. */
export class SigauthTokenRejectedError extends Error {
  override readonly name = 'SigauthTokenRejectedError';

  constructor(
    readonly reason: SigauthRejectionReason,
    message: string,
  ) {
    super(message);
  }
}

/** sigauth's key set or introspection could not be consulted: the guard answers 503, since the token may well be good. */
export class SigauthUnavailableError extends Error {
  override readonly name = 'SigauthUnavailableError';
}
