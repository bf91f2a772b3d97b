/**
 * @sigauth/guard: verify sigauth's access tokens in another NestJS service. Depends only on
 * @nestjs/common, @nestjs/core and jose, never on the rest of sigauth.
 */
export { SigauthGuardModule } from './sigauth-guard.module.js';
export { SigauthAuthGuard } from './sigauth-auth.guard.js';
export { SigauthTokenVerifier } from './sigauth-token.verifier.js';
export { Roles, SIGAUTH_ROLES_KEY } from './roles.decorator.js';
export { Public, SIGAUTH_PUBLIC_KEY } from './public.decorator.js';
export { CurrentPrincipal } from './current-principal.decorator.js';
export { SIGAUTH_GUARD_OPTIONS } from './sigauth-guard.options.js';
export type { SigauthGuardAsyncOptions, SigauthGuardOptions, SigauthIntrospectionOptions } from './sigauth-guard.options.js';
export type { SigauthPrincipal, SigauthRequest, SigauthRole } from './sigauth-principal.js';
export { verifyDpopProof, accessTokenHash, DpopProofError, DPOP_ALGORITHMS, type DpopRequest, type VerifiedDpopProof } from './dpop-proof.js';
export { SigauthTokenRejectedError, SigauthUnavailableError, type SigauthRejectionReason } from './sigauth-token.errors.js';
