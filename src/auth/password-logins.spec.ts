import { jest } from '@jest/globals';
import { Clock } from '../common/clock.js';
import { loadConfig } from '../config/app-config.js';
import { PasswordHasher } from '../users/password-hasher.js';
import type { UsersService } from '../users/users.service.js';
import { AuthenticationError } from '../sessions/authentication.errors.js';
import { LoginRules } from './login-rules.js';
import { PasswordLogins } from './password-logins.js';

describe('PasswordLogins', () => {
  const config = loadConfig({ ARGON2_MEMORY_KIB: '1024', ARGON2_ITERATIONS: '1' });
  const hasher = new PasswordHasher(config);
  const clock = new Clock();
  const rules = new LoginRules(config, clock);
  let storedHash: string;
  const login = (passwordExpiresAt: Date | null = null) => ({
    principal: { userId: 'u', email: 'svc@x', account: 'svc', role: 'ROLE_SERVICE' as const },
    passwordHash: storedHash,
    passwordId: '9a7c5e3b-1d2f-4a6b-8c0e-2f4d6b8a0c13',
    passwordExpiresAt,
  });
  const logins = (found: ReturnType<typeof login> | undefined) => new PasswordLogins({ findPasswordLogin: async () => found } as unknown as UsersService, hasher, rules);

  beforeAll(async () => {
    storedHash = await hasher.hash('right');
  });

  it('spends one Argon2 verification for an unknown user, as for a wrong password', async () => {
    const verify = jest.spyOn(hasher, 'verify');
    await expect(logins(undefined).verify('nobody@x', 'right')).rejects.toEqual(new AuthenticationError('INVALID_PROOF', 'Unauthorized'));
    await expect(logins(login()).verify('svc@x', 'wrong')).rejects.toEqual(new AuthenticationError('INVALID_PROOF', 'Unauthorized'));
    expect(verify).toHaveBeenCalledTimes(2);
    expect(verify.mock.calls[0]).toEqual([null, 'right']);
    expect(verify.mock.calls[1]).toEqual([storedHash, 'wrong']);
    verify.mockRestore();
  });

  it('proves the principal with the password as its credential, by the password id', async () => {
    await expect(logins(login()).verify('svc@x', 'right')).resolves.toEqual({
      principal: login().principal,
      credential: { kind: 'PASSWORD', id: '9a7c5e3b-1d2f-4a6b-8c0e-2f4d6b8a0c13' },
    });
  });

  it('refuses an expired password as of the injected clock, and only after checking it', async () => {
    const expiresAt = new Date(clock.now() + 60_000);
    await expect(logins(login(expiresAt)).verify('svc@x', 'right')).resolves.toBeDefined();
    const later = new PasswordLogins({ findPasswordLogin: async () => login(expiresAt) } as unknown as UsersService, hasher, new LoginRules(config, { now: () => expiresAt.getTime() } as Clock));
    await expect(later.verify('svc@x', 'right')).rejects.toEqual(new AuthenticationError('PASSWORD_EXPIRED', 'The password has expired and must be changed.'));
    await expect(later.verify('svc@x', 'wrong')).rejects.toEqual(new AuthenticationError('INVALID_PROOF', 'Unauthorized'));
  });
});
