import { Injectable } from '@nestjs/common';
import { BaseError, createPublicClient, http, RpcRequestError, type AbiEvent, type Hex, type Log, type PublicClient } from 'viem';
import { AppConfig } from '../config/app-config.js';
import { firstLine } from '../common/first-line.js';
import { ChainError } from './chain.errors.js';

/** What eth_call answered: the returned data, or that the call reverted. */
export type CallResult = { reverted: false; data: Hex } | { reverted: true };

/**
 * Whether the node answered that the call reverted: geth says so with code 3, ganache and hardhat
 * with a message that says "revert". Any other failure (no answer, another error) is not a revert.
 */
function isRevert(error: unknown): boolean {
  return error instanceof BaseError && Boolean(error.walk((e) => e instanceof RpcRequestError && (e.code === 3 || /revert/i.test(e.details))));
}

/**
 * The Ethereum node, through viem over HTTP JSON-RPC: the one place sigauth talks to it. Every
 * failure to get an answer is a ChainError (NODE_UNAVAILABLE). The client caches nothing
 * (`cacheTime: 0`: viem would otherwise answer eth_blockNumber from a cache across polls) and
 * retries nothing: a login waiting for the node waits at most ETH_RPC_TIMEOUT_MS, and the
 * follower has a backoff of its own.
 */
@Injectable()
export class ChainClient {
  private readonly client?: PublicClient;
  /** Set once the node has said which chain it serves, and it is ETH_CHAIN_ID. */
  private chainConfirmed = false;

  constructor(private readonly config: AppConfig) {
    if (config.ETH_RPC_URL) {
      this.client = createPublicClient({ transport: http(config.ETH_RPC_URL, { timeout: config.ETH_RPC_TIMEOUT_MS, retryCount: 0 }), cacheTime: 0 });
    }
  }

  /** Whether ETH_RPC_URL is set at all. */
  get configured(): boolean {
    return this.client !== undefined;
  }

  /** The chain id the node reports. */
  chainId(): Promise<number> {
    return this.ask('eth_chainId', (c) => c.getChainId());
  }

  /**
   * Checks, once per process, that the node serves ETH_CHAIN_ID: an answer from another chain
   * could register users who never created anything here, or accept a contract's signature there.
   */
  async assertChain(): Promise<void> {
    if (this.chainConfirmed) return;
    const reported = await this.chainId();
    if (reported !== this.config.ETH_CHAIN_ID) {
      throw new ChainError('WRONG_CHAIN', `ETH_CHAIN_ID=${this.config.ETH_CHAIN_ID}, but the node at ETH_RPC_URL serves chain ${reported}`);
    }
    this.chainConfirmed = true;
  }

  headBlock(): Promise<bigint> {
    return this.ask('eth_blockNumber', (c) => c.getBlockNumber());
  }

  /** The hash of the canonical block at `number`. */
  async blockHash(number: bigint): Promise<Hex> {
    const block = await this.ask('eth_getBlockByNumber', (c) => c.getBlock({ blockNumber: number }));
    if (!block.hash) throw new ChainError('NODE_UNAVAILABLE', `the node returned block ${number} without a hash`);
    return block.hash;
  }

  logs<E extends AbiEvent>(address: Hex, event: E, fromBlock: bigint, toBlock: bigint): Promise<Log<bigint, number, false, E, false>[]> {
    return this.ask('eth_getLogs', (c) => c.getLogs({ address, event, fromBlock, toBlock, strict: false })) as Promise<Log<bigint, number, false, E, false>[]>;
  }

  /** The code at `address` ('0x' for an account without any). */
  async code(address: Hex): Promise<Hex> {
    return (await this.ask('eth_getCode', (c) => c.getCode({ address }))) ?? '0x';
  }

  /** eth_call at the latest block. A revert is an answer (the contract said no); no answer is a ChainError. */
  async call(to: Hex, data: Hex): Promise<CallResult> {
    const client = this.required();
    try {
      const result = await client.call({ to, data });
      return { reverted: false, data: result.data ?? '0x' };
    } catch (error) {
      if (isRevert(error)) return { reverted: true };
      throw unavailable('eth_call', error);
    }
  }

  private required(): PublicClient {
    if (!this.client) throw new ChainError('NODE_UNAVAILABLE', 'ETH_RPC_URL is not set');
    return this.client;
  }

  private async ask<T>(method: string, request: (client: PublicClient) => Promise<T>): Promise<T> {
    const client = this.required();
    try {
      return await request(client);
    } catch (error) {
      throw unavailable(method, error);
    }
  }
}

function unavailable(method: string, error: unknown): ChainError {
  const reason = error instanceof BaseError ? error.shortMessage : firstLine(error);
  return new ChainError('NODE_UNAVAILABLE', `the Ethereum node did not answer ${method}: ${reason}`);
}
