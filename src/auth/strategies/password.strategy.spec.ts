import { jest } from '@jest/globals';
import type { FastifyRequest } from 'fastify';
import { Clock } from '../../common/clock.js';
import { loadConfig } from '../../config/app-config.js';
import { PasswordHasher } from '../../users/password-hasher.js';
import type { UsersService } from '../../users/users.service.js';
import { AuthError } from '../auth.errors.js';
import { PasswordStrategy } from './password.strategy.js';

const request = (email: string, password: string) =>
  ({ headers: { authorization: `Basic ${Buffer.from(`${email}:${password}`).toString('base64')}` }, body: undefined }) as unknown as FastifyRequest;

describe('PasswordStrategy', () => {
  const hasher = new PasswordHasher(loadConfig({ ARGON2_MEMORY_KIB: '1024', ARGON2_ITERATIONS: '1' }));
  let storedHash: string;
  const login = () => ({ principal: { userId: 'u', email: 'svc@x', account: 'svc', role: 'ROLE_SERVICE' as const }, passwordHash: storedHash, passwordExpiresAt: null });

  beforeAll(async () => {
    storedHash = await hasher.hash('right');
  });

  it('spends one Argon2 verification for an unknown user, as for a wrong password', async () => {
    const verify = jest.spyOn(hasher, 'verify');
    const unknown = new PasswordStrategy({ findPasswordLogin: async () => undefined } as unknown as UsersService, hasher, new Clock());
    const known = new PasswordStrategy({ findPasswordLogin: async () => login() } as unknown as UsersService, hasher, new Clock());
    await expect(unknown.validate(request('nobody@x', 'right'))).rejects.toEqual(new AuthError('BAD_CREDENTIALS', 'Unauthorized'));
    await expect(known.validate(request('svc@x', 'wrong'))).rejects.toEqual(new AuthError('BAD_CREDENTIALS', 'Unauthorized'));
    expect(verify).toHaveBeenCalledTimes(2);
    expect(verify.mock.calls[0]).toEqual([null, 'right']);
    expect(verify.mock.calls[1]).toEqual([storedHash, 'wrong']);
    await expect(known.validate(request('svc@x', 'right'))).resolves.toEqual({ principal: login().principal, credential: { kind: 'PASSWORD', id: null } });
  });
});
