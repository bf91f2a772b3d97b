import { setTimeout as sleep } from 'node:timers/promises';
import { AccountsService } from '../src/accounts/accounts.service.js';
import { UsersService } from '../src/users/users.service.js';
import { newClientKey, signEmail, type ClientKey } from './support/fib-client.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from './support/test-app.js';

const FIB = '/auth/api/v1/authentication-management';
const ADMIN = '/auth/api/v1/admin';
const basic = (email: string, password: string) => `Basic ${Buffer.from(`${email}:${password}`).toString('base64')}`;

type Change = 'disable' | 'password' | 'role' | 'key';
const CHANGES: Change[] = ['disable', 'password', 'role', 'key'];
const ROUNDS_PER_CHANGE = 5;

/**
 * A login in flight against a change of its principal: the change commits while the proof is being
 * checked (Argon2 runs at a cost that takes about 100 ms here), and from then on no token of
 * that login may pass introspection, the admin routes or a refresh, whichever finished first.
 */
describe('a principal that changes while its login is in flight', () => {
  let storage: TestStorage;
  let service: TestApp;
  let adminToken: string;
  /** How each round ended: the login answered before the change, answered 200 after it (in flight across it), or refused. */
  const tally = Object.fromEntries(CHANGES.map((kind) => [kind, { before: 0, across: 0, refused: 0 }])) as Record<Change, { before: number; across: number; refused: number }>;

  beforeAll(async () => {
    storage = await createTestStorage('principal_race');
    // Real Argon2 cost, so that the change can land while a password is being checked.
    service = await startTestApp({ ...storage.env, ARGON2_MEMORY_KIB: '65536', ARGON2_ITERATIONS: '3' });
    await service.app.get(UsersService).create({ email: 'root@race.example', account: 'root@race', role: 'ROLE_ADMIN', password: 'root password for the race' });
    const res = await service.http().post('/v1/users/authorize').set('Authorization', basic('root@race.example', 'root password for the race')).send({ ttl: 3600 });
    expect(res.status).toBe(200);
    adminToken = res.body.access_token;
  });
  afterAll(async () => {
    console.log(`principal-change races (login answered before the change / 200 across it / refused): ${JSON.stringify(tally)}`);
    await service?.close();
    await storage?.cleanup();
  });

  const admin = (method: 'get' | 'post' | 'put' | 'delete', path: string) => service.http()[method](`${ADMIN}${path}`).set('Authorization', `Bearer ${adminToken}`);

  async function introspect(token: string): Promise<unknown> {
    const res = await service.http().post('/auth/api/v1/token/introspect').set('Authorization', `Bearer ${adminToken}`).send({ token });
    expect(res.status).toBe(200);
    return res.body;
  }

  /** The change, through the admin API as an operator makes it (the role through a seed, as only a seed changes one). */
  async function change(kind: Change, user: { id: string; email: string }, key: ClientKey): Promise<void> {
    switch (kind) {
      case 'disable':
        expect((await admin('post', `/users/${user.id}/disable`)).status).toBe(200);
        return;
      case 'password':
        expect((await admin('put', `/users/${user.id}/password`).send({ password: 'a brand new password' })).status).toBe(200);
        return;
      case 'role':
        await service.app.get(AccountsService).seed([{ email: user.email, account: user.email, role: 'ROLE_PEER' }]);
        return;
      case 'key':
        expect((await admin('delete', `/users/${user.id}/keys/${key.publicKeyHex}`)).status).toBe(200);
        return;
    }
  }

  /** The login the change races: a password one (Argon2 in flight), or for a key revocation the key's own FIB login. */
  function login(kind: Change, email: string, key: ClientKey) {
    if (kind === 'key') return service.http().post(`${FIB}/session`).send({ email, signature: signEmail(key, email), authPublicKeyHex: key.publicKeyHex });
    return service.http().post('/v1/users/authorize').set('Authorization', basic(email, 'the password in flight')).send({ ttl: 86400 });
  }

  async function expectRefused(kind: Change, body: { access_token?: string; data?: { accessToken: string; refreshToken: string } }): Promise<void> {
    const access = body.access_token ?? body.data!.accessToken;
    expect(await introspect(access)).toEqual({ active: false });
    const adminRoute = await service.http().get(`${ADMIN}/users?limit=1`).set('Authorization', `Bearer ${access}`);
    expect(adminRoute.status).toBe(401);
    expect(adminRoute.body.status).toEqual({ code: 401, name: 'InvalidToken', message: 'session has ended' });
    if (kind === 'key') {
      const refresh = await service.http().patch(`${FIB}/session`).set('Authorization', body.data!.refreshToken);
      expect(refresh.status).toBe(401);
      expect(refresh.body.status).toEqual(expect.objectContaining({ code: 401, name: 'InvalidToken' }));
    } else {
      const refresh = await service.http().post('/v1/users/refresh_jwt').set('Authorization', `Bearer ${access}`).send({ ttl: 60 });
      expect(refresh.status).toBe(401);
      expect(refresh.body).toEqual({ error_code: expect.any(String), message: expect.any(String) });
    }
  }

  it.each(CHANGES.flatMap((kind) => Array.from({ length: ROUNDS_PER_CHANGE }, (_, round) => [kind, round] as const)))(
    '%s, round %i: no token of the racing login outlives the change',
    async (kind, round) => {
      const email = `${kind}-${round}@race.example`;
      const key = newClientKey();
      const user = await service.app.get(UsersService).create({ email, account: email, role: 'ROLE_ADMIN', password: 'the password in flight', publicKeys: [key.publicKeyHex] });
      let answered = false;
      const send = () =>
        login(kind, email, key).then((res) => {
          answered = true;
          return res;
        });
      let inFlight: ReturnType<typeof send>;
      if (kind === 'password') {
        // Setting a password runs Argon2 too: the login starts while the new hash is computed, checks the old one, and finishes after the change commits.
        const changing = change(kind, { id: user.id, email }, key);
        await sleep(round * 10);
        inFlight = send();
        await changing;
      } else {
        inFlight = send();
        // Spread the change over the login's Argon2 check (about 100 ms), so rounds land before, during and after it.
        await sleep(round * 15);
        await change(kind, { id: user.id, email }, key);
      }
      const answeredBeforeChange = answered;
      const res = await inFlight;
      if (res.status === 200) {
        tally[kind][answeredBeforeChange ? 'before' : 'across'] += 1;
        await expectRefused(kind, res.body);
      } else {
        tally[kind].refused += 1;
        expect([401, 404]).toContain(res.status);
        if (kind === 'key') expect(res.body.status).toEqual(expect.objectContaining({ code: res.status }));
        else expect(res.body).toEqual({ error_code: expect.any(String), message: expect.any(String) });
      }
    },
  );
});
