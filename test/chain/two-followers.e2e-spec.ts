import { PrismaService } from '../../src/database/prisma.service.js';
import { eventually, startTestChain, type Creator, type TestChain } from '../support/ethereum-node.js';
import { describeOnPostgres } from '../support/postgres.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from '../support/test-app.js';
import { metricValue, timestampLogin } from '../support/wallet-client.js';

const CONFIRMATIONS = 2;

/** Several instances on one PostgreSQL: one leader follows, another takes over. */
describeOnPostgres('Following the Factory with two instances', () => {
  let chain: TestChain;
  let storage: TestStorage;
  let instances: TestApp[];

  const leaders = async (apps: TestApp[]) => (await Promise.all(apps.map((a) => metricValue(a, 'sigauth_chain_leader')))).map((v, i) => (v === 1 ? i : -1)).filter((i) => i >= 0);
  const applied = async (apps: TestApp[]) => {
    let sum = 0;
    for (const app of apps) for (const result of ['user', 'wallet', 'none']) sum += await metricValue(app, 'sigauth_chain_registrations_total', { result });
    return sum;
  };
  const registered = (app: TestApp, creator: Creator) =>
    eventually(async () => ((await timestampLogin(app, creator.account)).status === 200 ? true : undefined), { what: `${creator.address} logging in`, withinMs: 10000 });

  beforeAll(async () => {
    chain = await startTestChain();
    storage = await createTestStorage('two_followers');
    const env = { ...storage.env, ...chain.env({ ETH_CONFIRMATIONS: String(CONFIRMATIONS) }) };
    instances = [await startTestApp(env), await startTestApp(env)];
  });
  afterAll(async () => {
    for (const app of instances ?? []) await app.close().catch(() => undefined);
    await storage?.cleanup();
    await chain?.close();
  });

  it('exactly one leads, every creation is applied once, and the other takes over when the leader goes', async () => {
    await eventually(async () => ((await leaders(instances)).length === 1 ? true : undefined), { what: 'one leader' });
    // It stays one: the other keeps trying and keeps failing to take the lock.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const [leader] = await leaders(instances);
    expect(await leaders(instances)).toEqual([leader]);

    const creators = [await chain.newCreator(), await chain.newCreator()];
    for (const c of creators) await c.create();
    await creators[0]!.create();
    await chain.mine(CONFIRMATIONS);
    for (const c of creators) await registered(instances[1 - leader!]!, c);

    await instances[leader!]!.close();
    const survivor = instances[1 - leader!]!;
    instances = [survivor];
    await eventually(async () => ((await metricValue(survivor, 'sigauth_chain_leader')) === 1 ? true : undefined), { what: 'the other instance taking over' });
    const late = await chain.newCreator();
    await late.create();
    await chain.mine(CONFIRMATIONS);
    await registered(survivor, late);

    const rows = await survivor.app.get(PrismaService).connection.query<{ owner_address: string; n: string; wallets: string }>(
      `SELECT r.owner_address, count(*) AS n, (SELECT count(*) FROM wallets w WHERE w.user_id = min(r.user_id::text)::uuid) AS wallets
         FROM chain_registrations r GROUP BY r.owner_address ORDER BY r.owner_address`,
    );
    const owners = [...creators, late].map((c) => c.address.toLowerCase()).sort();
    expect(rows.map((r) => [r.owner_address, Number(r.n), Number(r.wallets)])).toEqual(
      owners.map((o) => [o, o === creators[0]!.address.toLowerCase() ? 2 : 1, o === creators[0]!.address.toLowerCase() ? 3 : 2]),
    );
    // The survivor applied only what came after the takeover: one creation.
    expect(await applied([survivor])).toBe(1);
  });
});
