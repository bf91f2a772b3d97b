import { Injectable } from '@nestjs/common';
import { PasswordHasher } from '../users/password-hasher.js';
import { UsersService } from '../users/users.service.js';
import { AuthenticationError } from '../sessions/authentication.errors.js';
import { LoginRules } from './login-rules.js';
import type { VerifiedLogin } from '../sessions/verified-login.js';

/** Service accounts' email-and-password proof, shared by every API that takes one. */
@Injectable()
export class PasswordLogins {
  constructor(
    private readonly users: UsersService,
    private readonly passwords: PasswordHasher,
    private readonly rules: LoginRules,
  ) {}

  async verify(email: string | undefined, password: string | undefined): Promise<VerifiedLogin> {
    const login = email === undefined ? undefined : await this.users.findPasswordLogin({ email });
    // An unknown user costs one hash against a dummy, like a wrong password: the answer and its
    // timing do not tell which emails have accounts.
    const valid = await this.passwords.verify(login?.passwordHash ?? null, password ?? '');
    if (!login || !valid) throw new AuthenticationError('INVALID_PROOF', 'Unauthorized');
    this.rules.assertUnexpired(login.passwordExpiresAt);
    return { principal: login.principal, credential: { kind: 'PASSWORD', id: login.passwordId } };
  }
}
