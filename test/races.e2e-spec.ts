import { hashMessage, Wallet } from 'ethers';
import type { Response } from 'supertest';
import { UserError } from '../src/users/users.errors.js';
import { UsersService } from '../src/users/users.service.js';
import { childEnv, runCli } from './support/cli.js';
import { testBackend } from './support/database.js';
import { decodeJwtPart, newClientKey, signEmail, type ClientKey } from './support/fib-client.js';
import { withSql, type Query } from './support/sql.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from './support/test-app.js';

/**
 * Concurrency (issue 8): many requests at once on one token, one user, one email or one signature.
 * No 5xx, no duplicate, and the refresh-family invariants hold in the database.
 */
const FIB = '/auth/api/v1/authentication-management';

interface RefreshRow {
  jti: string;
  session_id: string;
  parent_jti: string | null;
  rotated_at: Date | null;
}

const statusesOf = (responses: Response[]) => responses.map((r) => r.status).sort((a, b) => a - b);
const sidOf = (token: string) => decodeJwtPart(token, 1).sid as string;
const jtiOf = (token: string) => decodeJwtPart(token, 1).jti as string;

// The CLI race needs a server several processes can share, and the checks read the database from outside.
const onPostgres = testBackend() === 'postgresql' ? describe : describe.skip;

onPostgres('races', () => {
  let storage: TestStorage;
  let service: TestApp;
  let racer: ClientKey;
  let wallet: Wallet;
  const races: string[] = [];

  const sql = <T>(fn: (query: Query) => Promise<T>) => withSql(storage, fn);
  const fibLogin = (email = 'racer@example.org', key = racer) =>
    service.http().post(`${FIB}/session`).send({ email, signature: signEmail(key, email), authPublicKeyHex: key.publicKeyHex });
  const fibRefresh = (token: string) => service.http().patch(`${FIB}/session`).set('Authorization', token);
  const walletBody = (timestampInMs: number) => ({ signer: wallet.address, timestampInMs, signature: wallet.signingKey.sign(hashMessage(String(timestampInMs))).serialized });

  /**
   * The refresh family after concurrent refreshes of `presented`: it is retired, every token issued
   * for it names it as parent, sits in its session and is live, and the session is not revoked.
   */
  async function expectOneRotation(presented: string, issued: string[]): Promise<void> {
    const sid = sidOf(presented);
    await sql(async (query) => {
      const [parent] = await query<RefreshRow>('SELECT jti, session_id, parent_jti, rotated_at FROM refresh_tokens WHERE jti = $1', [jtiOf(presented)]);
      expect(parent).toBeDefined();
      expect(parent!.rotated_at).not.toBeNull();
      const children = await query<RefreshRow>('SELECT jti, session_id, parent_jti, rotated_at FROM refresh_tokens WHERE parent_jti = $1 ORDER BY jti', [jtiOf(presented)]);
      expect(children.map((c) => c.jti).sort()).toEqual(issued.map(jtiOf).sort());
      for (const child of children) {
        expect(child.session_id).toBe(sid);
        expect(child.rotated_at).toBeNull();
      }
      const [session] = await query<{ id: string; revoked_at: Date | null }>('SELECT id, revoked_at FROM sessions WHERE id = $1', [sid]);
      expect(session).toEqual({ id: sid, revoked_at: null });
      // A family is a tree: every token but the first has a parent in the same session.
      const orphans = await query('SELECT c.jti FROM refresh_tokens c LEFT JOIN refresh_tokens p ON p.jti = c.parent_jti WHERE c.session_id = $1 AND c.parent_jti IS NOT NULL AND (p.jti IS NULL OR p.session_id <> c.session_id)', [sid]);
      expect(orphans).toEqual([]);
    });
  }

  beforeAll(async () => {
    storage = await createTestStorage('races');
    // Rate limits (0 turns each off) would answer a burst from one address with 429s.
    service = await startTestApp({ ...storage.env, RATE_LIMIT_PER_IP: '0', RATE_LIMIT_FAILURES_PER_IDENTITY: '0' });
    racer = newClientKey();
    wallet = Wallet.createRandom() as unknown as Wallet;
    const users = service.app.get(UsersService);
    await users.create({ email: 'racer@example.org', account: 'racer@example', publicKeys: [racer.publicKeyHex] });
    await users.create({ email: 'wallet-racer@example.org', account: 'wallet-racer@example', wallets: [wallet.address] });
  });
  afterAll(async () => {
    console.log(`races run: ${races.length}\n  ${races.join('\n  ')}`);
    await service?.close();
    await storage?.cleanup();
  });

  it('20 parallel FIB refreshes of one token: all 200 with the same pair, one child, still usable', async () => {
    const login = await fibLogin();
    expect(login.status).toBe(200);
    const presented = login.body.data.refreshToken as string;
    const sid = sidOf(presented);

    const results = await Promise.all(Array.from({ length: 20 }, () => fibRefresh(presented)));
    expect(statusesOf(results)).toEqual(Array(20).fill(200));
    const issued = results.map((r) => r.body.data.refreshToken as string);
    for (const res of results) {
      expect(sidOf(res.body.data.accessToken)).toBe(sid);
      expect(sidOf(res.body.data.refreshToken)).toBe(sid);
      expect(decodeJwtPart(res.body.data.refreshToken, 1).acjti).toBe(jtiOf(res.body.data.accessToken));
    }
    // The winner's pair, and the same pair again for every presentation inside the grace window: never a sibling.
    for (const res of results) expect(res.body).toEqual(results[0]!.body);
    await expectOneRotation(presented, [issued[0]!]);

    const next = await fibRefresh(issued[7]!);
    expect(next.status).toBe(200);
    expect(sidOf(next.body.data.refreshToken)).toBe(sid);
    await expectOneRotation(issued[7]!, [next.body.data.refreshToken]);
    races.push('20 parallel FIB refreshes of one token: 20 x 200 with one pair, one child, usable after');
  });

  it('20 parallel FIB logins of one user: 20 distinct sessions, each with one unrotated first token', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => fibLogin()));
    expect(statusesOf(results)).toEqual(Array(20).fill(200));
    const sids = results.map((r) => sidOf(r.body.data.refreshToken as string));
    expect(new Set(sids).size).toBe(20);
    await sql(async (query) => {
      const rows = await query<{ id: string; revoked_at: Date | null; tokens: string; firsts: string }>(
        `SELECT s.id, s.revoked_at, count(t.jti) AS tokens, count(t.jti) FILTER (WHERE t.parent_jti IS NULL AND t.rotated_at IS NULL) AS firsts
           FROM sessions s JOIN refresh_tokens t ON t.session_id = s.id WHERE s.id = ANY($1::uuid[]) GROUP BY s.id`,
        [sids],
      );
      expect(rows).toHaveLength(20);
      for (const row of rows) expect([row.revoked_at, Number(row.tokens), Number(row.firsts)]).toEqual([null, 1, 1]);
    });
    // Each session refreshes on its own.
    const refreshed = await Promise.all(results.map((r) => fibRefresh(r.body.data.refreshToken)));
    expect(statusesOf(refreshed)).toEqual(Array(20).fill(200));
    races.push('20 parallel FIB logins of one user: 20 x 200, 20 distinct sessions, each refreshable');
  });

  it('10 FIB refreshes racing a logout of the same session: no token issued in the race outlives the logout', async () => {
    const login = await fibLogin();
    expect(login.status).toBe(200);
    const { accessToken, refreshToken } = login.body.data as { accessToken: string; refreshToken: string };
    const logout = () => service.http().post(`${FIB}/logout`).set('Authorization', accessToken);
    const results = await Promise.all([...Array.from({ length: 5 }, () => fibRefresh(refreshToken)), logout(), ...Array.from({ length: 5 }, () => fibRefresh(refreshToken))]);
    for (const res of results) expect([200, 401]).toContain(res.status);
    expect(results[5]!.status).toBe(200);
    const issued = results.filter((r, i) => i !== 5 && r.status === 200).map((r) => r.body.data as { accessToken: string; refreshToken: string });
    for (const pair of issued) {
      expect((await fibRefresh(pair.refreshToken)).status).toBe(401);
      expect((await service.http().post(`${FIB}/logout`).set('Authorization', pair.accessToken)).status).toBe(401);
    }
    const [session] = await sql((query) => query<{ revoked_at: Date | null }>('SELECT revoked_at FROM sessions WHERE id = $1', [sidOf(refreshToken)]));
    expect(session!.revoked_at).not.toBeNull();
    races.push(`10 FIB refreshes racing a logout: ${issued.length} of them won before it, none usable after, session revoked`);
  });

  it('20 concurrent UsersService.create of one email (case and whitespace varied): exactly one user', async () => {
    const users = service.app.get(UsersService);
    const spellings = ['dup@example.org', 'DUP@example.org', ' dup@example.org', 'dup@EXAMPLE.ORG ', 'Dup@Example.Org'];
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => users.create({ email: spellings[i % spellings.length]!, account: `dup${i}@example`, publicKeys: [newClientKey().publicKeyHex] })),
    );
    const created = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(created).toHaveLength(1);
    expect(refused).toHaveLength(19);
    for (const { reason } of refused) {
      expect(reason).toBeInstanceOf(UserError);
      expect((reason as UserError).code).toBe('EMAIL_TAKEN');
    }
    const rows = await sql((query) => query<{ n: string }>("SELECT count(*) AS n FROM users WHERE lower(trim(email)) = 'dup@example.org'"));
    expect(Number(rows[0]!.n)).toBe(1);
    races.push('20 concurrent UsersService.create of one email: 1 created, 19 EMAIL_TAKEN, 1 row');
  });

  it('5 concurrent `users add` CLI processes with one email: exactly one exits 0', async () => {
    const env = childEnv(storage.env);
    const spellings = ['cli-dup@example.org', 'CLI-DUP@example.org', ' cli-dup@example.org ', 'Cli-Dup@Example.org', 'cli-dup@EXAMPLE.org'];
    const results = await Promise.all(spellings.map((email, i) => runCli(['users', 'add', '--email', email, '--account', `cli-dup${i}@example`], env)));
    const succeeded = results.filter((r) => r.status === 0);
    const failed = results.filter((r) => r.status !== 0);
    expect(succeeded).toHaveLength(1);
    expect(JSON.parse(succeeded[0]!.stdout)).toEqual(expect.objectContaining({ email: 'cli-dup@example.org' }));
    expect(failed).toHaveLength(4);
    for (const result of failed) {
      expect(result.status).not.toBeNull();
      expect(result.stderr).toMatch(/^error: a user with email .+ already exists$/m);
    }
    const rows = await sql((query) => query<{ n: string }>("SELECT count(*) AS n FROM users WHERE email = 'cli-dup@example.org'"));
    expect(Number(rows[0]!.n)).toBe(1);
    races.push('5 concurrent CLI `users add` of one email: 1 exit 0, 4 "already exists", 1 row');
  }, 120_000);

  it('10 parallel Ethereum refreshes of one pair: all 200 with the same pair, one child', async () => {
    const login = await service.http().post('/api/auth/login').send(walletBody(Date.now()));
    expect(login.status).toBe(200);
    const pair = { expiredAccessToken: login.body.data.accessToken as string, refreshToken: login.body.data.refreshToken as string };
    const sid = sidOf(pair.refreshToken);

    const results = await Promise.all(Array.from({ length: 10 }, () => service.http().post('/api/auth/refresh').send(pair)));
    expect(statusesOf(results)).toEqual(Array(10).fill(200));
    for (const res of results) {
      expect(sidOf(res.body.data.accessToken)).toBe(sid);
      expect(sidOf(res.body.data.refreshToken)).toBe(sid);
    }
    for (const res of results) expect(res.body).toEqual(results[0]!.body);
    await expectOneRotation(pair.refreshToken, [results[0]!.body.data.refreshToken as string]);

    const next = await service.http().post('/api/auth/refresh').send({ expiredAccessToken: results[3]!.body.data.accessToken, refreshToken: results[3]!.body.data.refreshToken });
    expect(next.status).toBe(200);
    expect(sidOf(next.body.data.refreshToken)).toBe(sid);
    races.push('10 parallel Ethereum refreshes of one pair: 10 x 200 with one pair, one child, usable after');
  });

  it('10 parallel Ethereum logins with one signature: one 200, nine 401 SignatureReplayed', async () => {
    const sessionsOfRacer = async () =>
      Number((await sql((query) => query<{ n: string }>("SELECT count(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'wallet-racer@example.org'")))[0]!.n);
    const before = await sessionsOfRacer();
    const body = walletBody(Date.now() - 1234);
    const results = await Promise.all(Array.from({ length: 10 }, () => service.http().post('/api/auth/login').send(body)));
    expect(statusesOf(results)).toEqual([200, ...Array(9).fill(401)]);
    for (const res of results.filter((r) => r.status === 401)) {
      expect(res.body).toEqual({ status: { code: 401, name: 'SignatureReplayed', message: 'this signed timestamp has already been used' }, data: null });
    }
    expect(await sessionsOfRacer()).toBe(before + 1);
    races.push('10 parallel Ethereum logins with one signature: 1 x 200, 9 x 401 SignatureReplayed');
  });
});
