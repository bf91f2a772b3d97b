import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { basicCredentials } from '../../http/authorization-header.js';
import { PasswordLogins } from '../../auth/password-logins.js';
import { LoginAttempts } from '../../auth/login-attempts.service.js';
import { LoginStrategy } from '../../auth/login-strategy.js';
import type { ProvenLogin } from '../../auth/proof-verifier.js';
import { claimedEmailKey } from '../../users/email.js';
import { serviceTokenTtl } from './dto/service-token.dto.js';

/** Service accounts: an email and an Argon2id-hashed password over HTTP Basic (the Redis Enterprise API). */
@Injectable()
export class PasswordStrategy extends LoginStrategy('service-account', 'password-login', 'password') {
  constructor(
    attempts: LoginAttempts,
    private readonly passwords: PasswordLogins,
  ) {
    super(attempts);
  }

  override claimedIdentity(request: FastifyRequest): string | undefined {
    return claimedEmailKey(basicCredentials(request.headers.authorization)?.email);
  }

  override async verify(request: FastifyRequest): Promise<ProvenLogin> {
    // A malformed body is refused before any hashing is spent on the request.
    await serviceTokenTtl(request.body);
    const credentials = basicCredentials(request.headers.authorization);
    return { login: await this.passwords.verify(credentials?.email, credentials?.password) };
  }
}
