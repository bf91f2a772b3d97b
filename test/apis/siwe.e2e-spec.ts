import { Wallet } from 'ethers';
import { UsersService } from '../../src/users/users.service.js';
import { envelope } from '../support/envelope.js';
import { decodeJwtPart } from '../support/fib-client.js';
import { withDatabaseGone } from '../support/outage.js';
import { onPostgres } from '../support/postgres.js';
import { siweVectors } from '../support/siwe-vectors.js';
import { controlClock, type TestClock } from '../support/test-clock.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from '../support/test-app.js';
import { siweText } from '../support/wallet-client.js';

const DOMAIN = 'app.example.com';
const SIWE_ENV = { SIWE_DOMAINS: `${DOMAIN},other.example.com`, SIWE_URIS: `https://${DOMAIN},https://other.example.com` };
const iso = (ms: number) => new Date(ms).toISOString();

/** Sign-In with Ethereum (EIP-4361): every row of its status table. Signatures from ethers. */
describe('Sign-In with Ethereum', () => {
  let storage: TestStorage;
  let service: TestApp;
  let clock: TestClock;
  let wallet: Wallet;

  const nonce = async (): Promise<string> => {
    const res = await service.http().post('/api/auth/siwe/nonce');
    expect(res.status).toBe(200);
    return res.body.data.nonce as string;
  };
  const message = async (overrides: Partial<Parameters<typeof siweText>[0]> = {}, signer: Wallet = wallet) =>
    siweText({ domain: DOMAIN, address: signer.address, statement: 'Sign in to Example.', uri: `https://${DOMAIN}/login`, chainId: 1, nonce: overrides.nonce ?? (await nonce()), issuedAt: iso(clock.now()), ...overrides });
  const login = (body: unknown) => service.http().post('/api/auth/siwe/login').send(body as object);
  const signed = async (text: string, by: Wallet = wallet) => login({ message: text, signature: await by.signMessage(text) });

  beforeAll(async () => {
    storage = await createTestStorage('siwe');
    service = await startTestApp({ ...storage.env, ...SIWE_ENV });
    clock = controlClock(service.app);
    wallet = Wallet.createRandom() as unknown as Wallet;
    await service.app.get(UsersService).create({ email: 'sia@example.org', account: 'sia@example', wallets: [wallet.address] });
  });
  afterEach(() => clock.reset());
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  describe('POST /api/auth/siwe/nonce', () => {
    it('200: a fresh 128-bit nonce, valid for 5 minutes', async () => {
      clock.set(Date.now());
      const res = await service.http().post('/api/auth/siwe/nonce');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: { code: 200, name: 'OK', message: 'Nonce issued.' }, data: { nonce: expect.stringMatching(/^[0-9a-f]{32}$/), expiresAt: clock.now() + 300_000 } });
      expect(await nonce()).not.toBe(res.body.data.nonce);
    });
  });

  describe('POST /api/auth/siwe/login', () => {
    it('200: a valid message logs in as a wallet session, refreshed by /api/auth/refresh', async () => {
      const res = await signed(await message({ expirationTime: iso(clock.now() + 600_000), notBefore: iso(clock.now() - 1000) }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: { code: 200, name: 'OK', message: 'User authorization has been successful.' },
        data: { accessToken: expect.any(String), refreshToken: expect.any(String), accessExpiryAt: expect.any(Number), refreshExpiryAt: expect.any(Number) },
      });
      const access = decodeJwtPart(res.body.data.accessToken, 1);
      expect(access).toEqual(expect.objectContaining({ sub: 'sia@example.org', acc: 'sia@example', client_id: 'wallet' }));
      expect((access.exp as number) - (access.iat as number)).toBe(15 * 60);
      const refreshed = await service.http().post('/api/auth/refresh').send({ expiredAccessToken: res.body.data.accessToken, refreshToken: res.body.data.refreshToken });
      expect(refreshed.status).toBe(200);
    });

    it('200: a message with no statement, a scheme, a request id and resources', async () => {
      const text = (await message({ statement: undefined })).replace(`${DOMAIN} wants`, `https://${DOMAIN} wants`) + '\nRequest ID: r-1\nResources:\n- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq';
      const res = await signed(text);
      expect(res.status).toBe(200);
    });

    it('401 InvalidNonce: a nonce used before, one sigauth did not issue, and an expired one', async () => {
      const text = await message();
      const signature = await wallet.signMessage(text);
      expect((await login({ message: text, signature })).status).toBe(200);
      const reused = await login({ message: text, signature });
      expect(reused.status).toBe(401);
      expect(reused.body).toEqual(envelope(401, 'InvalidNonce', 'the nonce was not issued by this service, has expired or has been used'));

      const unissued = await signed(await message({ nonce: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' }));
      expect(unissued.status).toBe(401);
      expect(unissued.body).toEqual(envelope(401, 'InvalidNonce', 'the nonce was not issued by this service, has expired or has been used'));

      const issued = await nonce();
      clock.advance(300_001);
      const expired = await signed(await message({ nonce: issued }));
      expect(expired.status).toBe(401);
      expect(expired.body).toEqual(envelope(401, 'InvalidNonce', 'the nonce was not issued by this service, has expired or has been used'));
    });

    it('a refused login leaves the nonce usable: consumed only by a login that verifies', async () => {
      const issued = await nonce();
      const stranger = Wallet.createRandom() as unknown as Wallet;
      const text = await message({ nonce: issued });
      expect((await signed(text, stranger)).status).toBe(401);
      expect((await signed(text)).status).toBe(200);
    });

    it.each([
      ['another domain', { domain: 'evil.example.net' }, 'the message is for evil.example.net, not for this service (SIWE_DOMAINS)'],
      ['another URI', { uri: 'https://evil.example.net/login' }, "the message's URI https://evil.example.net/login is not at an origin of this service (SIWE_URIS)"],
      ['the domain over http', { uri: `http://${DOMAIN}/login` }, `the message's URI http://${DOMAIN}/login is not at an origin of this service (SIWE_URIS)`],
      ['another chain', { chainId: 5 }, 'the message is for chain 5, not 1 (ETH_CHAIN_ID)'],
    ])('401 InvalidSignature: a message for %s', async (_why, overrides, why) => {
      const res = await signed(await message(overrides));
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidSignature', why));
    });

    it("401 InvalidSignature: another wallet's signature, and a signature of another text", async () => {
      const text = await message();
      const stranger = Wallet.createRandom() as unknown as Wallet;
      for (const signature of [await stranger.signMessage(text), await wallet.signMessage(text + ' ')]) {
        const res = await login({ message: text, signature });
        expect(res.status).toBe(401);
        expect(res.body).toEqual(envelope(401, 'InvalidSignature', 'Signature is not valid.'));
      }
    });

    it('401 MessageExpired: after expirationTime, before notBefore, and an issuedAt more than 5 minutes away', async () => {
      const now = Date.now();
      clock.set(now);
      const expiring = await message({ expirationTime: iso(now + 60_000) });
      clock.set(now + 60_000);
      const late = await signed(expiring);
      expect(late.status).toBe(401);
      expect(late.body).toEqual(envelope(401, 'MessageExpired', `the message expired at ${iso(now + 60_000)}`));

      const early = await signed(await message({ notBefore: iso(now + 120_000) }));
      expect(early.body).toEqual(envelope(401, 'MessageExpired', `the message is not valid before ${iso(now + 120_000)}`));
      for (const issuedAt of [now + 60_000 - 300_001, now + 60_000 + 300_001]) {
        const res = await signed(await message({ issuedAt: iso(issuedAt) }));
        expect(res.status).toBe(401);
        expect(res.body).toEqual(envelope(401, 'MessageExpired', 'issuedAt is more than 5 minutes from the server time'));
      }
    });

    it('404 UserNotFound: a valid message from a wallet no active user holds', async () => {
      const stranger = Wallet.createRandom() as unknown as Wallet;
      const res = await signed(await message({}, stranger), stranger);
      expect(res.status).toBe(404);
      expect(res.body).toEqual(envelope(404, 'UserNotFound', 'User not found.'));
    });

    const negative = siweVectors<string>('parsing_negative.json');
    (negative ? it : it.skip)('422 InvalidMessage: every vector of parsing_negative.json', async () => {
      const signature = await wallet.signMessage('anything');
      for (const [name, text] of Object.entries(negative ?? {})) {
        const res = await login({ message: text, signature });
        expect({ name, status: res.status, body: res.body }).toEqual({ name, status: 422, body: envelope(422, 'InvalidMessage', expect.stringMatching(/^not an EIP-4361 message: /)) });
      }
    });

    it.each([
      ['a missing message', async () => ({ signature: await wallet.signMessage('x') })],
      ['a missing signature', async () => ({ message: await message() })],
      ['an extra field', async () => ({ message: 'x', signature: await wallet.signMessage('x'), nonce: 'x' })],
      ['a message that is not a string', async () => ({ message: 1, signature: await wallet.signMessage('x') })],
      ['a signature without 0x', async () => ({ message: 'x', signature: (await wallet.signMessage('x')).slice(2) })],
      ['a signature of an odd number of digits', async () => ({ message: 'x', signature: (await wallet.signMessage('x')).slice(0, -1) })],
    ])('422 ArgumentNotValid: %s', async (_why, body) => {
      const res = await login(await body());
      expect(res.status).toBe(422);
      expect(res.body).toEqual(envelope(422, 'ArgumentNotValid'));
    });
  });
});

describe('Sign-In with Ethereum: 413, 429 and 500', () => {
  it('413 PayloadTooLarge and 429 TooManyRequests with Retry-After, in the envelope', async () => {
    const storage = await createTestStorage('siwe_limits');
    const service = await startTestApp({ ...storage.env, ...SIWE_ENV, LOGIN_BODY_LIMIT_BYTES: '2048', RATE_LIMIT_PER_IP: '1' });
    try {
      const big = await service.http().post('/api/auth/siwe/login').send({ message: 'x'.repeat(4096), signature: '0x00' });
      expect(big.status).toBe(413);
      expect(big.body).toEqual(envelope(413, 'PayloadTooLarge', 'request body is larger than the limit'));
      expect((await service.http().post('/api/auth/siwe/nonce')).status).toBe(200);
      const limited = await service.http().post('/api/auth/siwe/nonce');
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual(envelope(429, 'TooManyRequests', expect.stringMatching(/^Too many requests; retry after \d+ s\.$/)));
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await service.close();
      await storage.cleanup();
    }
  });

  onPostgres('500 InternalError when the database is unreachable: only the request id is told', async () => {
    await withDatabaseGone(
      'siwe_500',
      async () => undefined,
      async (service) => {
        const res = await service.http().post('/api/auth/siwe/nonce').set('X-Request-Id', 'req-500-siwe');
        expect(res.status).toBe(500);
        expect(res.body).toEqual({ status: { code: 500, name: 'InternalError', message: 'Internal error (request id req-500-siwe)' }, data: null });
      },
    );
  });
});
