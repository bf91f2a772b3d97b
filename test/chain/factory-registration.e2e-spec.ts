import { PrismaService } from '../../src/database/prisma.service.js';
import { UsersService } from '../../src/users/users.service.js';
import { childEnv, jsonOf, runCli } from '../support/cli.js';
import { envelope } from '../support/envelope.js';
import { eventually, startTestChain, type Creation, type Creator, type TestChain } from '../support/ethereum-node.js';
import { decodeJwtPart } from '../support/fib-client.js';
import { startTestInstance } from '../support/process-service.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from '../support/test-app.js';
import { metricValue, timestampLogin } from '../support/wallet-client.js';

const CONFIRMATIONS = 3;

/** Registration through the Factory contract, against a real node. */
describe('Following the Factory', () => {
  let chain: TestChain;
  let storage: TestStorage;
  let service: TestApp;
  const env = () => ({ ...storage.env, ...chain.env({ ETH_CONFIRMATIONS: String(CONFIRMATIONS), ETH_BLOCK_RANGE: '10' }) });

  const registrations = async (owner: string) =>
    service.app
      .get(PrismaService)
      .connection.query<{ transaction_hash: string; user_id: string }>('SELECT transaction_hash, user_id FROM chain_registrations WHERE owner_address = $1', [owner.toLowerCase()]);
  /** The follower has applied every block up to `block`. */
  const appliedThrough = (block: bigint) =>
    eventually(async () => ((await metricValue(service, 'sigauth_chain_cursor_block')) >= Number(block) ? true : undefined), { what: `the cursor reaching block ${block}`, withinMs: 10000 });
  const registered = (creator: Creator) =>
    eventually(async () => {
      const res = await timestampLogin(service, creator.account);
      return res.status === 200 ? res : undefined;
    }, { what: `${creator.address} logging in`, withinMs: 10000 });

  beforeAll(async () => {
    chain = await startTestChain();
    storage = await createTestStorage('factory');
    service = await startTestApp(env());
  });
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
    await chain?.close();
  });

  it('refuses to start when the node serves another chain than ETH_CHAIN_ID', async () => {
    const other = await createTestStorage('factory_chain_id');
    try {
      // A process of its own: a boot that fails half-way must leave this process's login strategies to the running service.
      await expect(startTestInstance({ ...other.env, ...chain.env({ ETH_CHAIN_ID: '1' }) })).rejects.toThrow('ETH_CHAIN_ID=1, but the node at ETH_RPC_URL serves chain 31337');
    } finally {
      await other.cleanup();
    }
  });

  it(`registers the creator within 2 s of the block reaching ${CONFIRMATIONS} confirmations; before that, the login is 404`, async () => {
    const creator = await chain.newCreator();
    const creation = await creator.create();
    await chain.mine(CONFIRMATIONS - 1);
    // The follower has polled this head (the creation has CONFIRMATIONS - 1 blocks after it) and left it.
    await eventually(async () => ((await metricValue(service, 'sigauth_chain_head_block')) >= Number(creation.blockNumber) + CONFIRMATIONS - 1 ? true : undefined), { what: 'the follower seeing the head' });
    await appliedThrough(creation.blockNumber - 1n);
    const early = await timestampLogin(service, creator.account);
    expect(early.status).toBe(404);
    expect(early.body).toEqual(envelope(404, 'UserNotFound', 'User not found.'));

    await chain.mine(1);
    const deep = performance.now();
    const res = await eventually(
      async () => {
        const attempt = await timestampLogin(service, creator.account);
        return attempt.status === 200 ? attempt : undefined;
      },
      { withinMs: 2000, everyMs: 200, what: 'the creator logging in' },
    );
    expect(performance.now() - deep).toBeLessThan(2200);
    expect(res.body).toEqual({
      status: { code: 200, name: 'OK', message: 'User authorization has been successful.' },
      data: { accessToken: expect.any(String), refreshToken: expect.any(String), accessExpiryAt: expect.any(Number), refreshExpiryAt: expect.any(Number) },
    });
    // No email: the account, and so the subject, is the checksummed creator address.
    expect(decodeJwtPart(res.body.data.accessToken, 1)).toEqual(expect.objectContaining({ acc: creator.address, sub: creator.address, role: 'ROLE_PEER', client_id: 'wallet' }));
    const [row] = await registrations(creator.address);
    const user = await service.app.get(UsersService).getById(row!.user_id);
    expect(user).toMatchObject({ email: null, account: creator.address, role: 'ROLE_PEER', status: 'ACTIVE' });
    expect(user.wallets.map((w) => w.address).sort()).toEqual([creator.address.toLowerCase(), creation.wallet.toLowerCase()].sort());
  });

  it('a creation undone by evm_revert before it is deep enough registers nobody', async () => {
    const creator = await chain.newCreator();
    const snapshot = await chain.snapshot();
    const creation = await creator.create();
    await chain.mine(CONFIRMATIONS - 1);
    await eventually(async () => ((await metricValue(service, 'sigauth_chain_head_block')) >= Number(creation.blockNumber) + CONFIRMATIONS - 1 ? true : undefined), { what: 'the follower seeing the head' });
    await chain.revert(snapshot);
    await chain.mine(CONFIRMATIONS + 2);
    // The follower has gone past the height the creation had, on the chain without it.
    await appliedThrough(creation.blockNumber + 1n);
    const res = await timestampLogin(service, creator.account);
    expect(res.status).toBe(404);
    expect(res.body).toEqual(envelope(404, 'UserNotFound', 'User not found.'));
    expect(await registrations(creator.address)).toEqual([]);
  });

  it('a reorganisation deeper than the confirmations is seen by the stored hash, counted, and following goes on', async () => {
    const before = await metricValue(service, 'sigauth_chain_reorgs_total');
    const snapshot = await chain.snapshot();
    await chain.mine(CONFIRMATIONS + 2);
    const head = await chain.head();
    await appliedThrough(head - BigInt(CONFIRMATIONS));
    await chain.revert(snapshot);
    // Other blocks at the same heights: a later timestamp gives them other hashes.
    const { timestamp } = await chain.client.getBlock();
    for (let i = 0; i < CONFIRMATIONS + 4; i++) await chain.client.request({ method: 'evm_mine', params: [{ timestamp: Number(timestamp) + 1000 + i }] } as never);
    await eventually(async () => ((await metricValue(service, 'sigauth_chain_reorgs_total')) > before ? true : undefined), { what: 'the reorg being counted' });
    const creator = await chain.newCreator();
    await creator.create();
    await chain.mine(CONFIRMATIONS);
    expect((await registered(creator)).status).toBe(200);
  });

  it('creations made while sigauth is stopped register after the restart, which resumes inside a range; none is applied twice', async () => {
    const first = await chain.newCreator();
    const creation = await first.create();
    await chain.mine(CONFIRMATIONS);
    await registered(first);
    const cursor = await metricValue(service, 'sigauth_chain_cursor_block');
    await service.close();

    // While stopped: more creations, a second one by the first creator among them, all within the
    // next range (ETH_BLOCK_RANGE=10) from the cursor.
    const second = await chain.newCreator();
    const made: Creation[] = [await second.create(), await first.create(), await second.create()];
    await chain.mine(CONFIRMATIONS);
    expect(Number(made.at(-1)!.blockNumber) - cursor).toBeLessThan(10);

    // `chain status` reads the cursor the stopped service left, and the node's head.
    const status = jsonOf<{ cursor: { block: number; hash: string }; head: number; lag: number; registrations: number }>(await runCli(['chain', 'status'], childEnv(storage.env, chain.env({ ETH_CONFIRMATIONS: String(CONFIRMATIONS) }))));
    expect(status).toMatchObject({ cursor: { block: cursor, hash: expect.stringMatching(/^0x[0-9a-f]{64}$/) }, head: Number(await chain.head()) });
    expect(status.lag).toBe(status.head - cursor);

    service = await startTestApp(env());
    await registered(second);
    await appliedThrough(made.at(-1)!.blockNumber);
    // This instance applied exactly the three creations made while it was stopped.
    expect(await metricValue(service, 'sigauth_chain_registrations_total', { result: 'user' })).toBe(1);
    expect(await metricValue(service, 'sigauth_chain_registrations_total', { result: 'wallet' })).toBe(2);
    const firstRows = await registrations(first.address);
    expect(firstRows.map((r) => r.transaction_hash).sort()).toEqual([creation.transactionHash, made[1]!.transactionHash].sort());
    expect(new Set(firstRows.map((r) => r.user_id)).size).toBe(1);
    const user = await service.app.get(UsersService).getById(firstRows[0]!.user_id);
    expect(user.wallets.map((w) => w.address).sort()).toEqual([first.address, creation.wallet, made[1]!.wallet].map((a) => a.toLowerCase()).sort());
    expect((await registrations(second.address)).length).toBe(2);
  });

  it('with the node down, registered users still log in and /health/ready stays 200; a metric shows the stall; following resumes when it returns', async () => {
    const known = await chain.newCreator();
    await known.create();
    await chain.mine(CONFIRMATIONS);
    await registered(known);

    await chain.down();
    try {
      await eventually(async () => ((await metricValue(service, 'sigauth_chain_node_up')) === 0 ? true : undefined), { what: 'the stall showing' });
      expect(await metricValue(service, 'sigauth_chain_poll_failures_total', { cause: 'node' })).toBeGreaterThan(0);
      const login = await timestampLogin(service, known.account);
      expect(login.status).toBe(200);
      expect(login.body.status).toEqual({ code: 200, name: 'OK', message: 'User authorization has been successful.' });
      const ready = await service.http().get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: 'ok' });
      // The chain goes on without sigauth seeing it.
      const late = await chain.newCreator();
      await late.create();
      await chain.mine(CONFIRMATIONS);
      expect((await timestampLogin(service, late.account)).status).toBe(404);
      await chain.up();
      expect((await registered(late)).status).toBe(200);
      expect(await metricValue(service, 'sigauth_chain_node_up')).toBe(1);
    } finally {
      await chain.up();
    }
  });

});
