import { readFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import ganache from 'ganache';
import { createPublicClient, createWalletClient, decodeEventLog, http, parseEther, toHex, type Abi, type Hex, type PublicClient } from 'viem';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';

/** contracts/Factory.json: the compiled Factory and Wallet (scripts/compile-contracts.mjs). */
export const FACTORY_FIXTURE = JSON.parse(readFileSync(join(process.cwd(), 'contracts', 'Factory.json'), 'utf8')) as {
  compiler: string;
  evmVersion: string;
  contracts: { Factory: { abi: Abi; bytecode: Hex }; Wallet: { abi: Abi } };
};

export const TEST_CHAIN_ID = 31337;
/** ganache's first deterministic account: it deploys the Factory. */
const DEPLOYER_KEY = '0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d';
const chain = (url: string) => ({ id: TEST_CHAIN_ID, name: 'ganache', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [url] } } });

/**
 * A TCP relay in front of the node, so a test can take the node away (connections refused, open
 * ones cut) and bring it back on the same address, as an outage would, without losing its chain.
 */
class Relay {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: number) {}

  async open(): Promise<void> {
    if (this.server) return;
    this.server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}

export interface Creation {
  owner: Hex;
  wallet: Hex;
  blockNumber: bigint;
  transactionHash: Hex;
}

/** A funded account that can create wallets through the Factory and sign messages. */
export interface Creator {
  account: PrivateKeyAccount;
  address: Hex;
  create(): Promise<Creation>;
}

/** A real Ethereum node (ganache, in this process) with a Factory of this test file's own. */
export interface TestChain {
  /** The node's address as sigauth is given it: through the relay. */
  url: string;
  factory: Hex;
  client: PublicClient;
  head(): Promise<bigint>;
  mine(blocks?: number): Promise<void>;
  snapshot(): Promise<Hex>;
  revert(id: Hex): Promise<void>;
  newCreator(): Promise<Creator>;
  /** Takes the node off the network (sigauth sees an outage) and brings it back. */
  down(): Promise<void>;
  up(): Promise<void>;
  /** The environment sigauth follows this Factory with. */
  env(extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

export async function startTestChain(): Promise<TestChain> {
  // Without the gas option, deploys from the node's own accounts revert silently (ganache 7).
  const server = ganache.server({ chain: { chainId: TEST_CHAIN_ID }, miner: { defaultTransactionGasLimit: 'estimate' }, wallet: { deterministic: true }, logging: { quiet: true } });
  await server.listen(0, '127.0.0.1');
  const direct = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const relay = new Relay((server.address() as { port: number }).port);
  await relay.open();
  const url = `http://127.0.0.1:${relay.port}`;
  const client = createPublicClient({ transport: http(direct, { retryCount: 0 }), cacheTime: 0 }) as PublicClient;
  const rpc = (method: string, params: unknown[] = []) => client.request({ method, params } as never) as Promise<unknown>;
  const wallet = (account: PrivateKeyAccount) => createWalletClient({ account, chain: chain(direct), transport: http(direct, { retryCount: 0 }) });
  const { abi, bytecode } = FACTORY_FIXTURE.contracts.Factory;

  const deployed = await client.waitForTransactionReceipt({ hash: await wallet(privateKeyToAccount(DEPLOYER_KEY)).deployContract({ abi, bytecode }), pollingInterval: 20 });
  if (deployed.status !== 'success' || !deployed.contractAddress) throw new Error('the Factory did not deploy');
  const factory = deployed.contractAddress;

  return {
    url,
    factory,
    client,
    head: () => client.getBlockNumber(),
    mine: async (blocks = 1) => void (await rpc('evm_mine', [{ blocks }])),
    snapshot: async () => (await rpc('evm_snapshot')) as Hex,
    revert: async (id) => {
      if (!(await rpc('evm_revert', [id]))) throw new Error(`evm_revert ${id} failed`);
    },
    async newCreator() {
      const account = privateKeyToAccount(generatePrivateKey());
      await rpc('evm_setAccountBalance', [account.address, toHex(parseEther('10'))]);
      return {
        account,
        address: account.address,
        async create() {
          const hash = await wallet(account).writeContract({ address: factory, abi, functionName: 'create', chain: chain(direct) });
          const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 20 });
          const log = receipt.logs.find((l) => l.address.toLowerCase() === factory.toLowerCase());
          if (receipt.status !== 'success' || !log) throw new Error('create() failed');
          const { args } = decodeEventLog({ abi, data: log.data, topics: log.topics }) as unknown as { args: { owner: Hex; wallet: Hex } };
          return { owner: args.owner, wallet: args.wallet, blockNumber: receipt.blockNumber, transactionHash: hash };
        },
      };
    },
    down: () => relay.close(),
    up: () => relay.open(),
    env: (extra = {}) => ({
      ETH_RPC_URL: url,
      ETH_FACTORY_ADDRESS: factory,
      ETH_CHAIN_ID: String(TEST_CHAIN_ID),
      ETH_CONFIRMATIONS: '3',
      ETH_POLL_INTERVAL_MS: '100',
      ETH_RPC_TIMEOUT_MS: '2000',
      ...extra,
    }),
    async close() {
      await relay.close();
      await server.close();
    },
  };
}

export { eventually } from './eventually.js';
