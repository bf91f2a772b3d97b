import { Wallet } from 'ethers';
import { withSql } from './support/sql.js';
import { addUsers, FIB_BASE, fibLoginBody, seedUser, startService, stopAllServices, type ServiceProcess } from './support/process-service.js';
import { childEnv, runCli } from './support/cli.js';
import { createTestStorage, type TestStorage } from './support/test-app.js';

/**
 * Runs every API against a real service process logging at the most verbose level, then searches
 * everything it wrote for the secrets that passed through it.
 */
describe('logs carry no credential material', () => {
  let storage: TestStorage;
  let service: ServiceProcess;

  beforeAll(async () => {
    storage = await createTestStorage('log_secrecy');
  });
  afterAll(async () => {
    await stopAllServices();
    await storage?.cleanup();
  });

  it('no signature, token, password or private key appears in a full run at LOG_LEVEL=trace', async () => {
    service = await startService(storage.env, { LOG_LEVEL: 'trace' });
    const secrets = new Set<string>();
    const keep = <T extends string | undefined>(value: T): T => {
      if (value) secrets.add(value);
      return value;
    };

    const peer = seedUser('peer@logs.example', 'peer@logs');
    const admin = seedUser('admin@logs.example', 'admin@logs', 'ROLE_ADMIN');
    await addUsers(storage.env, [peer, admin]);
    keep(peer.key.seedHex);
    keep(admin.key.seedHex);
    const password = keep('s3cret-password-for-logs');
    const created = await runCli(['users', 'add', '--email', 'svc@logs.example', '--account', 'svc@logs', '--role', 'ROLE_SERVICE', '--password-stdin'], childEnv(storage.env), password);
    expect(created.status).toBe(0);

    // FIB: login, refresh, a failed login, logout, challenge login.
    const body = fibLoginBody(peer);
    keep(body.signature);
    const login = await service.http(`${FIB_BASE}/session`, { method: 'POST', body });
    expect(login.status).toBe(200);
    const pair = (login.body as { data: { accessToken: string; refreshToken: string } }).data;
    keep(pair.accessToken);
    keep(pair.refreshToken);
    const refreshed = await service.http(`${FIB_BASE}/session`, { method: 'PATCH', headers: { authorization: pair.refreshToken } });
    expect(refreshed.status).toBe(200);
    const next = (refreshed.body as { data: { accessToken: string; refreshToken: string } }).data;
    keep(next.accessToken);
    keep(next.refreshToken);
    expect((await service.http(`${FIB_BASE}/session`, { method: 'POST', body: { ...body, signature: keep('ab'.repeat(64)) } })).status).toBe(401);
    expect((await service.http(`${FIB_BASE}/session`, { method: 'PATCH', headers: { authorization: pair.refreshToken } })).status).toBe(200);
    const adminLogin = await service.http(`${FIB_BASE}/session`, { method: 'POST', body: keepBody(fibLoginBody(admin), keep) });
    const adminToken = keep((adminLogin.body as { data: { accessToken: string } }).data.accessToken);

    // Ethereum.
    const wallet = Wallet.createRandom();
    keep(wallet.privateKey);
    keep(wallet.privateKey.slice(2));
    expect((await service.http(`/auth/api/v1/admin/users`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` }, body: { email: 'eth@logs.example', account: 'eth@logs', wallets: [wallet.address], password: keep('another-admin-set-password') } })).status).toBe(201);
    const timestampInMs = Date.now();
    const ethSignature = keep(await wallet.signMessage(String(timestampInMs)));
    const eth = await service.http('/api/auth/login', { method: 'POST', body: { signer: wallet.address, timestampInMs, signature: ethSignature } });
    expect(eth.status).toBe(200);
    const ethPair = (eth.body as { data: { accessToken: string; refreshToken: string } }).data;
    keep(ethPair.accessToken);
    keep(ethPair.refreshToken);
    expect((await service.http('/api/auth/refresh', { method: 'POST', body: { expiredAccessToken: ethPair.accessToken, refreshToken: ethPair.refreshToken } })).status).toBe(200);

    // Service accounts, introspection, logout.
    const basic = keep(`Basic ${Buffer.from(`svc@logs.example:${password}`).toString('base64')}`);
    const authorize = await service.http('/v1/users/authorize', { method: 'POST', headers: { authorization: basic } });
    expect(authorize.status).toBe(200);
    const serviceToken = keep((authorize.body as { access_token: string }).access_token);
    expect((await service.http('/v1/users/authorize', { method: 'POST', headers: { authorization: keep(`Basic ${Buffer.from('svc@logs.example:wrong-password-x').toString('base64')}`) } })).status).toBe(401);
    expect((await service.http('/v1/users/refresh_jwt', { method: 'POST', headers: { authorization: `JWT ${serviceToken}` } })).status).toBe(200);
    expect((await service.http('/auth/api/v1/token/introspect', { method: 'POST', headers: { authorization: `Bearer ${serviceToken}` }, body: { token: next.accessToken } })).status).toBe(200);
    expect((await service.http(`${FIB_BASE}/logout`, { method: 'POST', headers: { authorization: next.accessToken } })).status).toBe(200);
    expect((await service.http(`${FIB_BASE}/session`, { method: 'POST', body: { ...body, junk: 'x'.repeat(2_000_000) } })).status).toBe(413);

    const stopped = await service.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    const signingKeys = await withSql(storage, (query) => query<{ private_key: string }>('SELECT private_key FROM signing_keys'));
    for (const row of signingKeys) keep(row.private_key);

    const output = service.output();
    expect(output.split('\n').filter((l) => l.startsWith('{')).length).toBeGreaterThan(20);
    const leaked = [...secrets].filter((secret) => secret.length >= 16 && output.includes(secret));
    expect(leaked).toEqual([]);
    // Token-shaped strings (three base64url parts) must not appear at all, ours or anyone's.
    expect(output.match(/eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}/g) ?? []).toEqual([]);
  });
});

function keepBody<T extends { signature: string }>(body: T, keep: (v: string) => string): T {
  keep(body.signature);
  return body;
}
