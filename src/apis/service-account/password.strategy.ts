import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy as CustomStrategy } from 'passport-custom';
import { basicCredentials } from '../../http/authorization-header.js';
import { PasswordLogins } from '../../auth/password-logins.js';
import { LoginAttempts, type AdmittedLogin } from '../../auth/login-attempts.service.js';
import { LOGIN_STRATEGY_OPTIONS, type LoginOptions } from '../../auth/login.guard.js';
import type { ProofVerifier, ProvenLogin } from '../../auth/proof-verifier.js';
import { claimedEmailKey } from '../../users/email.js';
import { serviceTokenTtl } from './dto/service-token.dto.js';

/** Service accounts: an email and an Argon2id-hashed password over HTTP Basic (the Redis Enterprise API). */
@Injectable()
export class PasswordStrategy extends PassportStrategy(CustomStrategy, 'service-account') implements ProofVerifier {
  readonly endpoint = 'password-login';
  readonly proof = 'password';

  constructor(
    private readonly attempts: LoginAttempts,
    private readonly passwords: PasswordLogins,
  ) {
    super(LOGIN_STRATEGY_OPTIONS);
  }

  validate(request: FastifyRequest, options: LoginOptions): Promise<AdmittedLogin> {
    return this.attempts.attempt(this, request, () => this.verify(request), options.conditions);
  }

  claimedIdentity(request: FastifyRequest): string | undefined {
    return claimedEmailKey(basicCredentials(request.headers.authorization)?.email);
  }

  async verify(request: FastifyRequest): Promise<ProvenLogin> {
    // A malformed body is refused before any hashing is spent on the request.
    await serviceTokenTtl(request.body);
    const credentials = basicCredentials(request.headers.authorization);
    return { login: await this.passwords.verify(credentials?.email, credentials?.password) };
  }
}
