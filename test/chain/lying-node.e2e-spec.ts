import { randomBytes } from 'node:crypto';
import { keccak256, pad, toBytes, toHex, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { PrismaService } from '../../src/database/prisma.service.js';
import { UsersService } from '../../src/users/users.service.js';
import { envelope } from '../support/envelope.js';
import { eventually, startTestChain, TEST_CHAIN_ID, type TestChain } from '../support/ethereum-node.js';
import { startLyingNode, type LyingNode } from '../support/lying-node.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from '../support/test-app.js';
import { metricValue, siweText, timestampLogin } from '../support/wallet-client.js';

const DOMAIN = 'app.example.com';
/** What a contract answers isValidSignature with when it accepts: bytes4 0x1626ba7e, ABI-padded. */
const MAGIC = '0x1626ba7e' + '0'.repeat(56);
const WALLET_CREATED = keccak256(toBytes('WalletCreated(address,address)'));
const INVALID_SIGNATURE = envelope(401, 'InvalidSignature', 'Signature is not valid.');
const USER_NOT_FOUND = envelope(404, 'UserNotFound', 'User not found.');

/**
 * The Ethereum node is trusted for registration, and for contract wallets' signatures, and for
 * nothing else: against a real chain (ganache) behind a stand-in that lies, a node's answers never
 * log anyone in as a wallet registered as an address, and one forged creation event never gives
 * its forger a way into an account the Factory did not create.
 */
describe('A node that lies', () => {
  let chain: TestChain;
  let node: LyingNode;
  let storage: TestStorage;
  /** Asks the node for contract wallets only; follows no Factory, so every request it makes is a login's. */
  let service: TestApp;
  let users: UsersService;
  const victim = privateKeyToAccount(generatePrivateKey());
  const attacker = privateKeyToAccount(generatePrivateKey());

  const siweLogin = async (app: TestApp, signer: string, sign: (text: string) => Promise<string>) => {
    const nonce = (await app.http().post('/api/auth/siwe/nonce')).body.data.nonce as string;
    const text = siweText({ domain: DOMAIN, address: signer, uri: `https://${DOMAIN}/login`, chainId: TEST_CHAIN_ID, nonce, issuedAt: new Date().toISOString() });
    return app.http().post('/api/auth/siwe/login').send({ message: text, signature: await sign(text) });
  };
  const attackerSigns = (text: string) => attacker.signMessage({ message: text });
  /** Every address has code, and every contract accepts every signature. */
  const everythingIsAWallet = () => {
    node.lies.eth_getCode = () => '0x6080604052';
    node.lies.eth_call = () => MAGIC;
  };

  beforeAll(async () => {
    chain = await startTestChain();
    node = await startLyingNode(chain.url);
    storage = await createTestStorage('lying_node');
    service = await startTestApp({ ...storage.env, ETH_RPC_URL: node.url, ETH_CHAIN_ID: String(TEST_CHAIN_ID), ETH_RPC_TIMEOUT_MS: '2000', SIWE_DOMAINS: DOMAIN });
    users = service.app.get(UsersService);
    await users.create({ email: 'root@example.org', account: 'root@example', role: 'ROLE_ADMIN', wallets: [victim.address] });
  });
  afterEach(() => {
    node.lies = {};
  });
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
    await node?.close();
    await chain?.close();
  });

  it('"has code, returns the magic value" does not let another key log in as a wallet registered as an address: 401, by timestamp and by SIWE, and the node is not asked', async () => {
    everythingIsAWallet();
    node.reset();
    const byTimestamp = await timestampLogin(service, attacker, victim.address);
    const bySiwe = await siweLogin(service, victim.address, attackerSigns);
    for (const res of [byTimestamp, bySiwe]) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual(INVALID_SIGNATURE);
    }
    expect(node.asked).toEqual([]);
    // The victim's own key still logs in.
    const own = await timestampLogin(service, victim);
    expect(own.status).toBe(200);
    expect(own.body.status).toEqual({ code: 200, name: 'OK', message: 'User authorization has been successful.' });
  });

  it('a login for an address no one registered asks the node nothing: 401 for a signature by another key, 404 for its own, by timestamp and by SIWE', async () => {
    const nobody = privateKeyToAccount(generatePrivateKey());
    everythingIsAWallet();
    node.reset();
    const foreign = [await timestampLogin(service, attacker, nobody.address), await siweLogin(service, nobody.address, attackerSigns)];
    for (const res of foreign) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual(INVALID_SIGNATURE);
    }
    const own = [await timestampLogin(service, nobody), await siweLogin(service, nobody.address, (text) => nobody.signMessage({ message: text }))];
    for (const res of own) {
      expect(res.status).toBe(404);
      expect(res.body).toEqual(USER_NOT_FOUND);
    }
    expect(node.asked).toEqual([]);
  });

  it('refuses to start with ETH_RPC_URL http:// to a host that is not a loopback address, and does not show the URL; http:// to loopback starts', async () => {
    const started = (url: string) =>
      startTestApp({ ...storage.env, ETH_RPC_URL: url, ETH_CHAIN_ID: String(TEST_CHAIN_ID) }).then(
        async (app) => {
          await app.close();
          return 'started';
        },
        (error: Error) => error.message,
      );
    const refused = await started('http://node.invalid:8545/v3/0123456789abcdef');
    expect(refused).toMatch(/^Invalid configuration: ETH_RPC_URL \(a secret, not shown\): must be an https:\/\/ URL, or http:\/\/ only to a loopback address/);
    expect(refused).not.toContain('0123456789abcdef');
    expect(refused).not.toContain('node.invalid');
    expect(await started(node.url.replace('127.0.0.1', 'localhost'))).toBe('started');
  });

  describe('a forged WalletCreated event', () => {
    let follower: TestApp;
    /** One creation that never happened: `owner` created `wallet`, in whatever range the follower asks for. */
    const forge = (owner: Hex, wallet: Hex) => {
      const forgedTransaction = toHex(randomBytes(32));
      node.lies.eth_getLogs = async (params, honest) => {
        const filter = params[0] as { fromBlock: Hex; address: Hex };
        const logs = (await honest()) as unknown[];
        return [
          ...logs,
          {
            address: filter.address,
            topics: [WALLET_CREATED, pad(owner.toLowerCase() as Hex)],
            data: pad(wallet.toLowerCase() as Hex),
            blockNumber: filter.fromBlock,
            blockHash: toHex(randomBytes(32)),
            transactionHash: forgedTransaction,
            transactionIndex: '0x0',
            logIndex: '0x0',
            removed: false,
          },
        ];
      };
      // And the "created wallet" has code, as a real one would.
      node.lies.eth_getCode = (params, honest) => ((params[0] as string).toLowerCase() === wallet.toLowerCase() ? '0x6080604052' : honest());
      return forgedTransaction;
    };
    /** Forges the creation and mines a block, so that the follower reads a range again. */
    const forgeAndMine = async (owner: Hex, wallet: Hex) => {
      const transaction = forge(owner, wallet);
      await chain.mine(1);
      return transaction;
    };
    /** The follower has applied the forged creation (whatever registering it did). */
    const applied = (transaction: Hex) =>
      eventually(
        async () => {
          const rows = await follower.app.get(PrismaService).connection.query('SELECT 1 FROM chain_registrations WHERE transaction_hash = $1', [transaction]);
          return rows.length === 1 ? true : undefined;
        },
        { what: 'the follower applying the forged event', withinMs: 10000 },
      );

    beforeAll(async () => {
      follower = await startTestApp({ ...storage.env, ...chain.env({ ETH_RPC_URL: node.url, ETH_CONFIRMATIONS: '0' }), SIWE_DOMAINS: DOMAIN });
    });
    afterAll(async () => {
      await follower?.close();
    });

    it("naming an admin's wallet as creator does not give the forger's address a login as that admin once the node is honest: 404, and the admin holds only their own wallet", async () => {
      await applied(await forgeAndMine(victim.address, attacker.address));
      node.lies = {};

      const res = await timestampLogin(follower, attacker);
      expect(res.status).toBe(404);
      expect(res.body).toEqual(USER_NOT_FOUND);
      const bySiwe = await siweLogin(follower, attacker.address, attackerSigns);
      expect(bySiwe.status).toBe(404);
      expect(bySiwe.body).toEqual(USER_NOT_FOUND);
      const admin = await users.getByEmail('root@example.org');
      expect(admin.wallets.map((w) => w.address)).toEqual([victim.address.toLowerCase()]);
      expect(await metricValue(follower, 'sigauth_chain_registrations_total', { result: 'refused' })).toBe(1);
      // The admin's own key is untouched.
      expect((await timestampLogin(follower, victim)).status).toBe(200);
    });

    it("naming a Factory user's wallet as creator adds the forger's address as a contract wallet: once the node is honest, the forger's key does not log in with it (401)", async () => {
      const creator = await chain.newCreator();
      await creator.create();
      await eventually(async () => ((await timestampLogin(follower, creator.account)).status === 200 ? true : undefined), { what: 'the creator registering', withinMs: 10000 });
      const forger = privateKeyToAccount(generatePrivateKey());
      await applied(await forgeAndMine(creator.address, forger.address));
      node.lies = {};

      const res = await timestampLogin(follower, forger);
      expect(res.status).toBe(401);
      expect(res.body).toEqual(INVALID_SIGNATURE);
      const bySiwe = await siweLogin(follower, forger.address, (text) => forger.signMessage({ message: text }));
      expect(bySiwe.status).toBe(401);
      expect(bySiwe.body).toEqual(INVALID_SIGNATURE);
    });
  });
});
