import { Signature, Wallet } from 'ethers';
import { UsersService } from '../../src/users/users.service.js';
import { envelope } from '../support/envelope.js';
import { decodeJwtPart } from '../support/fib-client.js';
import { withDatabaseGone } from '../support/outage.js';
import { onPostgres } from '../support/postgres.js';
import { controlClock, type TestClock } from '../support/test-clock.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from '../support/test-app.js';

/** Signatures come from ethers, an implementation independent of the service's @noble/curves. */
const sign = (wallet: Wallet, timestampInMs: number) => wallet.signMessage(String(timestampInMs));

/** The same signature with v = 0/1 instead of 27/28. */
const withZeroOneV = (sig: string) => sig.slice(0, 130) + (parseInt(sig.slice(130), 16) - 27).toString(16).padStart(2, '0');
/** The same signature in EIP-2098 compact form (64 bytes). */
const compact = (sig: string) => Signature.from(sig).compactSerialized;

/** Distinct timestamps within the window: each (address, timestamp) logs in once. */
let lastTimestamp = 0;
const uniqueTimestamp = () => (lastTimestamp = Math.max(Date.now() - 1000, lastTimestamp + 1));

/** The Ethereum wallet API: every row of its status table, and its refresh. */
describe('Ethereum wallet API', () => {
  let storage: TestStorage;
  let service: TestApp;
  let wallet: Wallet;
  let stranger: Wallet;
  let clock: TestClock;

  const login = (body: unknown) => service.http().post('/api/auth/login').send(body as object);
  const refresh = (body: unknown) => service.http().post('/api/auth/refresh').send(body as object);
  const freshLogin = async (w = wallet) => {
    const timestampInMs = uniqueTimestamp();
    const res = await login({ signer: w.address, timestampInMs, signature: await sign(w, timestampInMs) });
    expect([res.status, res.body.status]).toEqual([200, expect.anything()]);
    return res.body.data as { accessToken: string; refreshToken: string; accessExpiryAt: number; refreshExpiryAt: number };
  };

  beforeAll(async () => {
    storage = await createTestStorage('wallet');
    service = await startTestApp(storage.env);
    clock = controlClock(service.app);
    wallet = Wallet.createRandom() as unknown as Wallet;
    stranger = Wallet.createRandom() as unknown as Wallet;
    await service.app.get(UsersService).create({ email: 'eve@example.org', account: 'eve@example', wallets: [wallet.address] });
  });
  afterEach(() => clock.reset());
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  describe('POST /api/auth/login', () => {
    it('200: a fresh signature logs in; the same signature again, in any of its forms, gets 401', async () => {
      const timestampInMs = Date.now();
      const signature = await sign(wallet, timestampInMs);
      const res = await login({ signer: wallet.address, timestampInMs, signature });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: { code: 200, name: 'OK', message: 'User authorization has been successful.' },
        data: { accessToken: expect.any(String), refreshToken: expect.any(String), accessExpiryAt: expect.any(Number), refreshExpiryAt: expect.any(Number) },
      });
      const access = decodeJwtPart(res.body.data.accessToken, 1);
      const refreshClaims = decodeJwtPart(res.body.data.refreshToken, 1);
      expect((access.exp as number) - (access.iat as number)).toBe(15 * 60);
      expect((refreshClaims.exp as number) - (refreshClaims.iat as number)).toBe(24 * 3600);
      expect(res.body.data.accessExpiryAt).toBe((access.exp as number) * 1000);
      expect(res.body.data.refreshExpiryAt).toBe((refreshClaims.exp as number) * 1000);
      expect(access).toEqual(expect.objectContaining({ sub: 'eve@example.org', acc: 'eve@example', role: 'ROLE_PEER' }));

      for (const replay of [signature, withZeroOneV(signature), compact(signature), signature.toUpperCase().replace('0X', '0x')]) {
        const again = await login({ signer: wallet.address, timestampInMs, signature: replay });
        expect(again.status).toBe(401);
        expect(again.body).toEqual(envelope(401, 'SignatureReplayed', 'this signed timestamp has already been used'));
      }
    });

    it('the v = 0/1 and 64-byte forms log in on their first use', async () => {
      for (const form of [withZeroOneV, compact]) {
        const timestampInMs = uniqueTimestamp();
        const res = await login({ signer: wallet.address, timestampInMs, signature: form(await sign(wallet, timestampInMs)) });
        expect(res.status).toBe(200);
      }
    });

    it('the signer address is matched case-insensitively (lower-case and checksummed)', async () => {
      const timestampInMs = Date.now() - 5;
      const res = await login({ signer: wallet.address.toLowerCase(), timestampInMs, signature: await sign(wallet, timestampInMs) });
      expect(res.status).toBe(200);
    });

    it('timestamps at now - 299,999 and now + 299,999 ms log in; now - 300,001 and now + 300,001 ms get 401', async () => {
      // The server's clock is held still at `now`; a moving clock cannot test a 1 ms boundary over HTTP.
      const now = Date.now();
      clock.set(now);
      for (const offset of [-299_999, 299_999]) {
        const timestampInMs = now + offset;
        const res = await login({ signer: wallet.address, timestampInMs, signature: await sign(wallet, timestampInMs) });
        expect(res.status).toBe(200);
      }
      for (const offset of [-300_001, 300_001]) {
        const timestampInMs = now + offset;
        const res = await login({ signer: wallet.address, timestampInMs, signature: await sign(wallet, timestampInMs) });
        expect(res.status).toBe(401);
        expect(res.body).toEqual(envelope(401, 'TimestampOutOfWindow', 'timestampInMs is more than 5 minutes from the server time'));
      }
    });

    it('401 InvalidSignature: a signature by another wallet, over another timestamp, or high-s', async () => {
      const timestampInMs = Date.now();
      const cases = [
        await sign(stranger, timestampInMs),
        await sign(wallet, timestampInMs + 1),
      ];
      // High-s: s' = n - s with v flipped recovers the same key but is the malleable twin EIP-2 forbids.
      const sig = Signature.from(await sign(wallet, timestampInMs));
      const n = BigInt('0xfffffffffffffffffffffffffffffffebaae dce6af48a03bbfd25e8cd0364141'.replace(' ', ''));
      const highS = '0x' + (n - BigInt(sig.s)).toString(16).padStart(64, '0');
      cases.push(sig.r + highS.slice(2) + (sig.v === 27 ? '1c' : '1b'));
      cases.push(sig.r + sig.s.slice(2) + '1d'); // v = 29 is no recovery id
      for (const signature of cases) {
        const res = await login({ signer: wallet.address, timestampInMs, signature });
        expect(res.status).toBe(401);
        expect(res.body).toEqual(envelope(401, 'InvalidSignature', 'Signature is not valid.'));
      }
    });

    it('404 UserNotFound: a valid signature by a wallet no active user holds', async () => {
      const timestampInMs = Date.now();
      const res = await login({ signer: stranger.address, timestampInMs, signature: await sign(stranger, timestampInMs) });
      expect(res.status).toBe(404);
      expect(res.body).toEqual(envelope(404, 'UserNotFound', 'User not found.'));
    });

    it('404 UserNotFound: a disabled user, and a revoked wallet', async () => {
      const users = service.app.get(UsersService);
      const disabled = Wallet.createRandom();
      const revoked = Wallet.createRandom();
      await users.create({ email: 'off@example.org', account: 'off@example', wallets: [disabled.address] });
      await users.setStatus('off@example.org', 'DISABLED');
      await users.create({ email: 'rev@example.org', account: 'rev@example', wallets: [revoked.address] });
      await users.revokeWallet('rev@example.org', revoked.address);
      for (const w of [disabled, revoked]) {
        const timestampInMs = Date.now();
        const res = await login({ signer: w.address, timestampInMs, signature: await w.signMessage(String(timestampInMs)) });
        expect(res.status).toBe(404);
        expect(res.body).toEqual(envelope(404, 'UserNotFound', 'User not found.'));
      }
    });

    it.each([
      ['a missing signer', async () => ({ timestampInMs: Date.now(), signature: await sign(wallet, 1) })],
      ['a missing timestamp', async () => ({ signer: wallet.address, signature: await sign(wallet, 1) })],
      ['a missing signature', async () => ({ signer: wallet.address, timestampInMs: Date.now() })],
      ['an extra field', async () => ({ signer: wallet.address, timestampInMs: Date.now(), signature: await sign(wallet, 1), extra: 1 })],
      ['a signer without 0x', async () => ({ signer: wallet.address.slice(2), timestampInMs: Date.now(), signature: await sign(wallet, 1) })],
      ['a 19-byte signer', async () => ({ signer: wallet.address.slice(0, 40), timestampInMs: Date.now(), signature: await sign(wallet, 1) })],
      ['a non-hex signer', async () => ({ signer: '0x' + 'z'.repeat(40), timestampInMs: Date.now(), signature: await sign(wallet, 1) })],
      ['a timestamp that is not an integer', async () => ({ signer: wallet.address, timestampInMs: Date.now() + 0.5, signature: await sign(wallet, 1) })],
      ['a timestamp as a string', async () => ({ signer: wallet.address, timestampInMs: String(Date.now()), signature: await sign(wallet, 1) })],
      ['a timestamp in seconds', async () => ({ signer: wallet.address, timestampInMs: Math.floor(Date.now() / 1000), signature: await sign(wallet, Math.floor(Date.now() / 1000)) })],
      ['a signature of 63 bytes', async () => ({ signer: wallet.address, timestampInMs: Date.now(), signature: (await sign(wallet, 1)).slice(0, 128) })],
      ['a signature of 66 bytes', async () => ({ signer: wallet.address, timestampInMs: Date.now(), signature: (await sign(wallet, 1)) + '00' })],
      ['a signature without 0x', async () => ({ signer: wallet.address, timestampInMs: Date.now(), signature: (await sign(wallet, 1)).slice(2) })],
      ['a signature with junk', async () => ({ signer: wallet.address, timestampInMs: Date.now(), signature: (await sign(wallet, 1)).slice(0, 130) + 'zz' })],
    ])('422 ArgumentNotValid: %s', async (_why, body) => {
      const res = await login(await body());
      expect(res.status).toBe(422);
      expect(res.body).toEqual(envelope(422, 'ArgumentNotValid'));
    });

    it('422 ArgumentNotValid: a body that is not a JSON object', async () => {
      const res = await service.http().post('/api/auth/login').set('Content-Type', 'application/json').send('[]');
      expect(res.status).toBe(422);
      expect(res.body).toEqual(envelope(422, 'ArgumentNotValid'));
    });
  });

  describe('POST /api/auth/refresh', () => {
    it('200: the right pair returns a new pair', async () => {
      const first = await freshLogin();
      const res = await refresh({ expiredAccessToken: first.accessToken, refreshToken: first.refreshToken });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: { code: 200, name: 'OK', message: 'Tokens have been refreshed.' },
        data: { accessToken: expect.any(String), refreshToken: expect.any(String), accessExpiryAt: expect.any(Number), refreshExpiryAt: expect.any(Number) },
      });
      const access = decodeJwtPart(res.body.data.accessToken, 1);
      expect((access.exp as number) - (access.iat as number)).toBe(15 * 60);
      expect(decodeJwtPart(res.body.data.refreshToken, 1).acjti).toBe(access.jti);
      const next = await refresh({ expiredAccessToken: res.body.data.accessToken, refreshToken: res.body.data.refreshToken });
      expect(next.status).toBe(200);
    });

    it('200: an expired access token is accepted when it is ours and pairs with the refresh token', async () => {
      const first = await freshLogin();
      // 15 minutes and a second later: the access token has expired, the refresh token has not.
      clock.advance(15 * 60 * 1000 + 1000);
      const expired = await service.http().post('/auth/api/v1/me/sessions').set('Authorization', `Bearer ${first.accessToken}`);
      expect(expired.status).not.toBe(200);
      const refreshed = await refresh({ expiredAccessToken: first.accessToken, refreshToken: first.refreshToken });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.status).toEqual({ code: 200, name: 'OK', message: 'Tokens have been refreshed.' });
    });

    it('401: a refresh token paired with another login\'s access token, and it is unusable afterwards', async () => {
      const a = await freshLogin();
      const b = await freshLogin();
      const res = await refresh({ expiredAccessToken: b.accessToken, refreshToken: a.refreshToken });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidToken', 'the access token was not issued with this refresh token'));
      const after = await refresh({ expiredAccessToken: a.accessToken, refreshToken: a.refreshToken });
      expect(after.status).toBe(401);
      expect(after.body).toEqual(envelope(401, 'InvalidToken', 'session has ended'));
      expect((await refresh({ expiredAccessToken: b.accessToken, refreshToken: b.refreshToken })).status).toBe(200);
    });

    it('401: an access token that is not ours revokes the refresh token', async () => {
      const a = await freshLogin();
      const [h, p] = a.accessToken.split('.');
      const forged = `${h}.${p}.${Buffer.alloc(64).toString('base64url')}`;
      const res = await refresh({ expiredAccessToken: forged, refreshToken: a.refreshToken });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidToken'));
      expect((await refresh({ expiredAccessToken: a.accessToken, refreshToken: a.refreshToken })).status).toBe(401);
    });

    it('401: tokens swapped (access where refresh belongs)', async () => {
      const a = await freshLogin();
      const res = await refresh({ expiredAccessToken: a.refreshToken, refreshToken: a.accessToken });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidToken', 'expected a refresh token'));
    });

    it.each([
      ['a missing refresh token', { expiredAccessToken: 'x' }],
      ['a missing access token', { refreshToken: 'x' }],
      ['a mistyped field', { expiredAccessToken: 1, refreshToken: 'x' }],
      ['an extra field', { expiredAccessToken: 'x', refreshToken: 'y', z: 1 }],
    ])('422 ArgumentNotValid: %s', async (_why, body) => {
      const res = await refresh(body);
      expect(res.status).toBe(422);
      expect(res.body).toEqual(envelope(422, 'ArgumentNotValid'));
    });
  });
});

describe('Ethereum wallet API: 413, 429 and 500', () => {
  const body = async (wallet: Wallet, timestampInMs = uniqueTimestamp()) => ({ signer: wallet.address, timestampInMs, signature: await sign(wallet, timestampInMs) });

  it('413 PayloadTooLarge: a body over the limit, in the envelope', async () => {
    const storage = await createTestStorage('wallet_413');
    const service = await startTestApp({ ...storage.env, LOGIN_BODY_LIMIT_BYTES: '2048' });
    try {
      const wallet = Wallet.createRandom() as unknown as Wallet;
      const res = await service.http().post('/api/auth/login').send({ ...(await body(wallet)), padding: 'x'.repeat(4096) });
      expect(res.status).toBe(413);
      expect(res.body).toEqual(envelope(413, 'PayloadTooLarge', 'request body is larger than the limit'));
    } finally {
      await service.close();
      await storage.cleanup();
    }
  });

  onPostgres('429 TooManyRequests with Retry-After on login and refresh once the address has spent its budget', async () => {
    const storage = await createTestStorage('wallet_429');
    const limited = await startTestApp({ ...storage.env, RATE_LIMIT_PER_IP: '1' });
    try {
      const wallet = Wallet.createRandom() as unknown as Wallet;
      await limited.app.get(UsersService).create({ email: 'fay@example.org', account: 'fay@example', wallets: [wallet.address] });
      const first = await limited.http().post('/api/auth/login').send(await body(wallet));
      expect(first.status).toBe(200);
      const login = await limited.http().post('/api/auth/login').send(await body(wallet));
      const pair = { expiredAccessToken: first.body.data.accessToken, refreshToken: first.body.data.refreshToken };
      expect((await limited.http().post('/api/auth/refresh').send(pair)).status).toBe(200);
      const refresh = await limited.http().post('/api/auth/refresh').send(pair);
      for (const res of [login, refresh]) {
        expect(res.status).toBe(429);
        expect(res.body).toEqual(envelope(429, 'TooManyRequests', expect.stringMatching(/^Too many requests; retry after \d+ s\.$/)));
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
    } finally {
      await limited.close();
      await storage.cleanup();
    }
  });

  onPostgres('500 InternalError when the database is unreachable: only the request id is told', async () => {
    const wallet = Wallet.createRandom() as unknown as Wallet;
    await withDatabaseGone(
      'wallet_500',
      (service) => service.app.get(UsersService).create({ email: 'gus@example.org', account: 'gus@example', wallets: [wallet.address] }).then(() => undefined),
      async (service) => {
        const res = await service.http().post('/api/auth/login').set('X-Request-Id', 'req-500-eth').send(await body(wallet));
        expect(res.status).toBe(500);
        expect(res.body).toEqual({ status: { code: 500, name: 'InternalError', message: 'Internal error (request id req-500-eth)' }, data: null });
      },
    );
  });
});
