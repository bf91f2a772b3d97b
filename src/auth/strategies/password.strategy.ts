import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Clock } from '../../common/clock.js';
import { PasswordHasher } from '../../users/password-hasher.js';
import { UsersService } from '../../users/users.service.js';
import { AuthError } from '../auth.errors.js';
import type { AuthenticatedLogin } from '../authenticated-login.js';
import { serviceTokenTtl } from '../dto/service-token.dto.js';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MAX_CREDENTIALS_LENGTH = 2048;

/** `Authorization: Basic base64(email:password)`, or undefined when absent or malformed. */
export function basicCredentials(header: string | undefined): { email: string; password: string } | undefined {
  const match = typeof header === 'string' ? /^Basic\s+(\S+)$/i.exec(header.trim()) : null;
  if (!match || match[1]!.length > MAX_CREDENTIALS_LENGTH || !BASE64.test(match[1]!)) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { email: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Service accounts: an email and an Argon2id-hashed password over HTTP Basic (the Redis Enterprise API). */
@Injectable()
export class PasswordStrategy {
  constructor(
    private readonly users: UsersService,
    private readonly passwords: PasswordHasher,
    private readonly clock: Clock,
  ) {}

  async validate(request: FastifyRequest): Promise<AuthenticatedLogin> {
    // A malformed body is refused before any hashing is spent on the request.
    await serviceTokenTtl(request.body);
    const credentials = basicCredentials(request.headers.authorization);
    const login = credentials ? await this.users.findPasswordLogin({ email: credentials.email }) : undefined;
    // An unknown user costs one hash against a dummy, like a wrong password: the answer and its
    // timing do not tell which emails have accounts.
    const valid = await this.passwords.verify(login?.passwordHash ?? null, credentials?.password ?? '');
    if (!login || !valid) throw new AuthError('BAD_CREDENTIALS', 'Unauthorized');
    if (login.passwordExpiresAt && login.passwordExpiresAt.getTime() <= this.clock.now()) {
      throw new AuthError('PASSWORD_EXPIRED', 'The password has expired and must be changed.');
    }
    return { principal: login.principal, credential: { kind: 'PASSWORD', id: null } };
  }
}
