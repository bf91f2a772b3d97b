import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import { AccountsService } from '../../src/accounts/accounts.service.js';
import { PrismaService } from '../../src/database/prisma.service.js';
import { envelope } from '../support/envelope.js';
import { eventually, startTestChain, type Creation, type Creator, type TestChain } from '../support/ethereum-node.js';
import { decodeJwtPart } from '../support/fib-client.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from '../support/test-app.js';
import { metricValue, siweText, timestampLogin } from '../support/wallet-client.js';

const DOMAIN = 'app.example.com';

/**
 * Smart-contract wallets (ERC-1271) through both Ethereum logins, against a real
 * node: the Factory's Wallet accepts its owner's signature through isValidSignature.
 */
describe('Contract wallets (ERC-1271)', () => {
  let chain: TestChain;
  let storage: TestStorage;
  let service: TestApp;
  let owner: Creator;
  let creation: Creation;
  const stranger = privateKeyToAccount(generatePrivateKey());

  const siweLogin = async (signer: string, sign: (text: string) => Promise<string>) => {
    const nonce = (await service.http().post('/api/auth/siwe/nonce')).body.data.nonce as string;
    const text = siweText({ domain: DOMAIN, address: signer, uri: `https://${DOMAIN}/login`, chainId: 31337, nonce, issuedAt: new Date().toISOString() });
    return service.http().post('/api/auth/siwe/login').send({ message: text, signature: await sign(text) });
  };
  const ownerSigns = (text: string) => owner.account.signMessage({ message: text });
  const strangerSigns = (text: string) => stranger.signMessage({ message: text });

  beforeAll(async () => {
    chain = await startTestChain();
    storage = await createTestStorage('contract_wallets');
    service = await startTestApp({ ...storage.env, ...chain.env({ ETH_CONFIRMATIONS: '0' }), SIWE_DOMAINS: DOMAIN });
    owner = await chain.newCreator();
    creation = await owner.create();
    await eventually(async () => ((await timestampLogin(service, owner.account)).status === 200 ? true : undefined), { what: 'the owner registering' });
  });
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
    await chain?.close();
  });

  it("200: the Factory's contract wallet logs in with its owner's signature, by timestamp and by SIWE", async () => {
    const byTimestamp = await timestampLogin(service, owner.account, creation.wallet);
    const bySiwe = await siweLogin(creation.wallet, ownerSigns);
    for (const res of [byTimestamp, bySiwe]) {
      expect(res.status).toBe(200);
      expect(res.body.status).toEqual({ code: 200, name: 'OK', message: 'User authorization has been successful.' });
      expect(decodeJwtPart(res.body.data.accessToken, 1)).toEqual(expect.objectContaining({ acc: owner.address, sub: owner.address, client_id: 'wallet' }));
    }
    expect(await metricValue(service, 'sigauth_erc1271_checks_total', { outcome: 'valid' })).toBe(2);
  });

  it("401 InvalidSignature: a stranger's signature for the contract wallet, by timestamp and by SIWE", async () => {
    const byTimestamp = await timestampLogin(service, stranger, creation.wallet);
    const bySiwe = await siweLogin(creation.wallet, strangerSigns);
    for (const res of [byTimestamp, bySiwe]) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidSignature', 'Signature is not valid.'));
    }
  });

  it('401 InvalidSignature: a contract that is no ERC-1271 wallet (the Factory) and an account without code', async () => {
    for (const signer of [chain.factory, privateKeyToAccount(generatePrivateKey()).address]) {
      const res = await timestampLogin(service, owner.account, signer);
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope(401, 'InvalidSignature', 'Signature is not valid.'));
    }
  });

  it("a creator an admin registered gets no wallet from the Factory's event; added by an admin as CONTRACT the wallet logs in through ERC-1271, added as an address it never does", async () => {
    const creator = await chain.newCreator();
    const accounts = service.app.get(AccountsService);
    const user = await accounts.createUser({ email: 'carol@example.org', account: 'carol@example', wallets: [creator.address] }, 'test');
    const created = await creator.create();
    await eventually(
      async () => {
        const rows = await service.app.get(PrismaService).connection.query('SELECT 1 FROM chain_registrations WHERE transaction_hash = $1', [created.transactionHash]);
        return rows.length === 1 ? true : undefined;
      },
      { what: 'the follower applying the creation' },
    );
    const unregistered = await timestampLogin(service, creator.account, created.wallet);
    expect(unregistered.status).toBe(401);
    expect(unregistered.body).toEqual(envelope(401, 'InvalidSignature', 'Signature is not valid.'));

    const asAddress = await accounts.addWallet({ id: user.id }, created.wallet, 'EOA', 'test');
    expect(asAddress).toMatchObject({ address: created.wallet.toLowerCase(), kind: 'EOA' });
    const refused = await timestampLogin(service, creator.account, created.wallet);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual(envelope(401, 'InvalidSignature', 'Signature is not valid.'));

    await accounts.revokeWallet({ id: user.id }, created.wallet, 'test');
    expect(await accounts.addWallet({ id: user.id }, created.wallet, 'CONTRACT', 'test')).toMatchObject({ address: created.wallet.toLowerCase(), kind: 'CONTRACT' });
    const accepted = await timestampLogin(service, creator.account, created.wallet);
    expect(accepted.status).toBe(200);
    expect(decodeJwtPart(accepted.body.data.accessToken, 1)).toEqual(expect.objectContaining({ sub: 'carol@example.org', acc: 'carol@example' }));
  });

  it('with the node down: the contract-wallet login is 503, by timestamp and by SIWE, and an EOA login still works', async () => {
    await chain.down();
    try {
      const byTimestamp = await timestampLogin(service, owner.account, creation.wallet);
      const bySiwe = await siweLogin(creation.wallet, ownerSigns);
      for (const res of [byTimestamp, bySiwe]) {
        expect(res.status).toBe(503);
        expect(res.body).toEqual(envelope(503, 'ServiceUnavailable', 'The Ethereum node is unreachable: a contract wallet cannot be checked now.'));
      }
      const eoa = await timestampLogin(service, owner.account);
      expect(eoa.status).toBe(200);
      const eoaSiwe = await siweLogin(owner.address, ownerSigns);
      expect(eoaSiwe.status).toBe(200);
    } finally {
      await chain.up();
    }
    expect((await timestampLogin(service, owner.account, creation.wallet)).status).toBe(200);
  });
});
