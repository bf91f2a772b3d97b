import { createPublicKey, type KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { decodeJwt, errors, jwtVerify } from 'jose';
import { Clock } from '../common/clock.js';
import { RequestError } from '../common/domain-error.js';
import { basicCredentials } from '../http/authorization-header.js';
import { claimedEmailKey, isSameEmail, isWellFormedEmail, normalizeEmail } from '../users/email.js';
import { UsersService } from '../users/users.service.js';
import { AuthenticationError } from '../sessions/authentication.errors.js';
import { SingleUseStore } from './single-use.repository.js';
import type { ProofOfPossession } from '../sessions/sessions.service.js';
import { LoginAttempts, type LoginConditions } from './login-attempts.service.js';
import { PasswordLogins } from './password-logins.js';
import type { ProofVerifier, ProvenLogin } from './proof-verifier.js';
import type { VerifiedLogin } from '../sessions/verified-login.js';

/** RFC 7523 section 2.2: the only assertion type sigauth takes. */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export type ClientAuthMethod = 'client_secret_basic' | 'private_key_jwt';

/** A service account that authenticated as an OAuth client; its client id is its email. */
export interface AuthenticatedClient extends VerifiedLogin {
  /** The account's normalized email, however the client spelled it. */
  clientId: string;
  method: ClientAuthMethod;
  /** The DPoP key the request proved, when the endpoint asked for one (LoginConditions.dpop). */
  possession: ProofOfPossession;
}

/**
 * How far ahead a client assertion's `exp` may be: an hour, the default of real clients (Authlib
 * signs with `exp` = `iat` + 3600). Its `jti` is kept until then, so a replay is refused however
 * long the assertion lives.
 */
const MAX_ASSERTION_LIFETIME_SECONDS = 3600;
/** How far a client's clock may run ahead of ours, for `iat` and the lifetime bound alike. */
const CLOCK_SKEW_SECONDS = 60;
const MAX_ASSERTION_LENGTH = 4096;
const REFUSED = 'client authentication failed';

type FormBody = Record<string, unknown> | undefined;

/** A single string field of a form body; a repeated field (an array) is a malformed request. */
function formField(body: FormBody, name: string): string | undefined {
  const value = body?.[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new RequestError('ARGUMENT_NOT_VALID', `${name} must be given once, as a string`);
  return value;
}

/** RFC 6749 section 2.3.1: client_secret_basic form-urlencodes the id and the secret before Base64. */
function formDecoded(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** RFC 8725 section 3.11: an explicit `typ` other than JWT (a DPoP proof's `dpop+jwt`, an access token's `at+jwt`) is another kind of token. */
function isAssertionType(typ: string | undefined): boolean {
  return typ === undefined || ['jwt', 'application/jwt'].includes(typ.toLowerCase());
}

function ed25519Key(publicKeyHex: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKeyHex, 'hex').toString('base64url') }, format: 'jwk' });
}

/**
 * OAuth client authentication (RFC 6749 section 2.3) of service accounts, for the token,
 * introspection and revocation endpoints: `client_secret_basic`, the account's email and password
 * (Argon2id, as the Redis-style API), or `private_key_jwt` (RFC 7523), an assertion signed by one
 * of the account's Ed25519 keys, addressed to this service, short-lived, and used once across all
 * instances. Every attempt passes through LoginAttempts: budgets, and the audit of failures.
 */
@Injectable()
export class ClientAuthentication {
  constructor(
    private readonly attempts: LoginAttempts,
    private readonly passwords: PasswordLogins,
    private readonly users: UsersService,
    private readonly singleUse: SingleUseStore,
    private readonly clock: Clock,
  ) {}

  /** The method the request authenticates its client with, or undefined; two at once is a malformed request. */
  presented(request: FastifyRequest): ClientAuthMethod | undefined {
    const body = request.body as FormBody;
    const basic = /^Basic\s/i.test(request.headers.authorization?.trim() ?? '');
    const assertion = formField(body, 'client_assertion') !== undefined || formField(body, 'client_assertion_type') !== undefined;
    if (basic && assertion) throw new RequestError('ARGUMENT_NOT_VALID', 'a request authenticates its client with one method, not two');
    return basic ? 'client_secret_basic' : assertion ? 'private_key_jwt' : undefined;
  }

  /**
   * The client the request authenticates. `audiences` are the values an assertion's `aud` may
   * name: the issuer, the token endpoint's URL and this endpoint's. `conditions` are the
   * endpoint's own (a DPoP proof, a role), decided by LoginAttempts before the assertion's jti is
   * spent.
   */
  async authenticate(request: FastifyRequest, audiences: string[], conditions: LoginConditions = {}): Promise<AuthenticatedClient> {
    const method = this.presented(request);
    if (method === undefined) throw new AuthenticationError('INVALID_PROOF', 'client authentication is required (client_secret_basic or private_key_jwt)');
    const body = request.body as FormBody;
    if (method === 'client_secret_basic') {
      const credentials = basicCredentials(request.headers.authorization);
      const email = credentials && formDecoded(credentials.email);
      const password = credentials && formDecoded(credentials.password);
      const verifier = this.verifier('password', email);
      const admit = async (login: VerifiedLogin) => {
        this.assertSameClient(formField(body, 'client_id'), email!);
        await conditions.admit?.(login);
      };
      const { login, possession } = await this.attempts.attempt(verifier, request, async () => ({ login: await this.passwords.verify(email, password) }), { ...conditions, admit });
      return { ...login, clientId: normalizeEmail(email!), method, possession };
    }
    const assertion = formField(body, 'client_assertion');
    if (formField(body, 'client_assertion_type') !== JWT_BEARER_ASSERTION) {
      throw new AuthenticationError('INVALID_PROOF', `client_assertion_type must be ${JWT_BEARER_ASSERTION}`);
    }
    const issuer = this.unverifiedIssuer(assertion);
    this.assertSameClient(formField(body, 'client_id'), issuer);
    const { login, possession } = await this.attempts.attempt(this.verifier('signature', issuer), request, () => this.verifyAssertion(assertion!, issuer, audiences), conditions);
    return { ...login, clientId: normalizeEmail(issuer), method, possession };
  }

  private verifier(proof: 'password' | 'signature', identity: string | undefined): Pick<ProofVerifier, 'endpoint' | 'proof' | 'claimedIdentity'> {
    return { endpoint: 'client-auth', proof, claimedIdentity: () => claimedEmailKey(identity) };
  }

  /** A client_id in the body, if sent, must name the client that authenticates, in any spelling of its email. */
  private assertSameClient(clientId: string | undefined, authenticated: string): void {
    if (clientId !== undefined && !isSameEmail(clientId, authenticated)) throw new AuthenticationError('INVALID_PROOF', 'client_id is not the client that authenticates');
  }

  /** The assertion's `iss`, read before its signature is checked only to find whose keys check it. */
  private unverifiedIssuer(assertion: string | undefined): string {
    let issuer: unknown;
    try {
      issuer = assertion && assertion.length <= MAX_ASSERTION_LENGTH ? decodeJwt(assertion).iss : undefined;
    } catch {
      issuer = undefined;
    }
    if (typeof issuer !== 'string' || !isWellFormedEmail(issuer)) throw new AuthenticationError('INVALID_PROOF', 'client_assertion is not a JWT whose iss is the client id');
    return issuer;
  }

  private async verifyAssertion(assertion: string, issuer: string, audiences: string[]): Promise<ProvenLogin> {
    const candidate = await this.users.findLoginCandidate(issuer);
    if (!candidate) throw new AuthenticationError('INVALID_PROOF', REFUSED);
    const now = this.clock.now();
    for (const key of candidate.activeKeys) {
      let payload, protectedHeader;
      try {
        ({ payload, protectedHeader } = await jwtVerify(assertion, ed25519Key(key.publicKeyHex), {
          algorithms: ['EdDSA', 'Ed25519'],
          audience: audiences,
          requiredClaims: ['exp', 'jti'],
          currentDate: new Date(now),
        }));
      } catch (error) {
        if (error instanceof errors.JWSSignatureVerificationFailed) continue;
        if (error instanceof errors.JWTExpired) throw new AuthenticationError('INVALID_PROOF', 'client_assertion has expired');
        if (error instanceof errors.JWTClaimValidationFailed) throw new AuthenticationError('INVALID_PROOF', `client_assertion ${error.claim} is not accepted`);
        throw new AuthenticationError('INVALID_PROOF', 'client_assertion is malformed or not signed with EdDSA');
      }
      const { iss, sub, exp, iat, jti } = payload as { iss: unknown; sub: unknown; exp: number; iat?: number; jti: unknown };
      if (!isAssertionType(protectedHeader.typ)) throw new AuthenticationError('INVALID_PROOF', 'client_assertion typ is not JWT');
      // RFC 7523 section 3: iss and sub are both the client id.
      if (!isSameEmail(iss, candidate.email)) throw new AuthenticationError('INVALID_PROOF', 'client_assertion iss is not accepted');
      if (!isSameEmail(sub, candidate.email)) throw new AuthenticationError('INVALID_PROOF', 'client_assertion sub is not accepted');
      if (iat !== undefined && iat > now / 1000 + CLOCK_SKEW_SECONDS) throw new AuthenticationError('INVALID_PROOF', 'client_assertion iat is in the future');
      if (exp > now / 1000 + MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) throw new AuthenticationError('INVALID_PROOF', `client_assertion must expire within ${MAX_ASSERTION_LIFETIME_SECONDS} s`);
      if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw new AuthenticationError('INVALID_PROOF', 'client_assertion needs a jti');
      return {
        login: {
          principal: { userId: candidate.id, email: candidate.email, account: candidate.account, role: candidate.role },
          credential: { kind: 'ED25519_KEY', id: key.id },
        },
        spend: async () => {
          if (!(await this.singleUse.claim('client-assertion', `${candidate.id}:${jti}`, new Date(exp * 1000), new Date(now)))) {
            throw new AuthenticationError('INVALID_PROOF', 'client_assertion was already used');
          }
        },
      };
    }
    throw new AuthenticationError('INVALID_PROOF', REFUSED);
  }
}
