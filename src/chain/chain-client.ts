import { Injectable } from '@nestjs/common';
import type { AbiEvent, Hex, Log, PublicClient } from 'viem';
import { AppConfig } from '../config/app-config.js';
import { firstLine } from '../common/first-line.js';
import { ChainError } from './chain.errors.js';

/** What eth_call answered: the returned data, or that the call reverted. */
export type CallResult = { reverted: false; data: Hex } | { reverted: true };

type Viem = typeof import('viem');

/**
 * Whether the node answered that the call reverted: geth says so with code 3, ganache and hardhat
 * with a message that says "revert". Any other failure (no answer, another error) is not a revert.
 */
function isRevert(viem: Viem, error: unknown): boolean {
  return error instanceof viem.BaseError && Boolean(error.walk((e) => e instanceof viem.RpcRequestError && (e.code === 3 || /revert/i.test(e.details))));
}

/**
 * The Ethereum node, through viem over HTTP JSON-RPC: the one place sigauth talks to it. Every
 * failure to get an answer is a ChainError (NODE_UNAVAILABLE). The client caches nothing
 * (`cacheTime: 0`: viem would otherwise answer eth_blockNumber from a cache across polls) and
 * retries nothing: a login waiting for the node waits at most ETH_RPC_TIMEOUT_MS, and the
 * follower has a backoff of its own. viem is loaded on the first request to the node, not at boot:
 * its index takes about 0.4 s and 25 MB to load, which a worker without ETH_RPC_URL, or one that
 * never meets a contract wallet, has no use for.
 */
@Injectable()
export class ChainClient {
  private client?: Promise<{ viem: Viem; client: PublicClient }>;
  /** Set once the node has said which chain it serves, and it is ETH_CHAIN_ID. */
  private chainConfirmed = false;

  constructor(private readonly config: AppConfig) {}

  /** Whether ETH_RPC_URL is set at all. */
  get configured(): boolean {
    return this.config.ETH_RPC_URL !== undefined;
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
    const { viem, client } = await this.required();
    try {
      const result = await client.call({ to, data });
      return { reverted: false, data: result.data ?? '0x' };
    } catch (error) {
      if (isRevert(viem, error)) return { reverted: true };
      throw unavailable(viem, 'eth_call', error);
    }
  }

  private required(): Promise<{ viem: Viem; client: PublicClient }> {
    const url = this.config.ETH_RPC_URL;
    if (!url) return Promise.reject(new ChainError('NODE_UNAVAILABLE', 'ETH_RPC_URL is not set'));
    this.client ??= import('viem').then((viem) => ({
      viem,
      client: viem.createPublicClient({ transport: viem.http(url, { timeout: this.config.ETH_RPC_TIMEOUT_MS, retryCount: 0 }), cacheTime: 0 }),
    }));
    return this.client;
  }

  private async ask<T>(method: string, request: (client: PublicClient) => Promise<T>): Promise<T> {
    const { viem, client } = await this.required();
    try {
      return await request(client);
    } catch (error) {
      throw unavailable(viem, method, error);
    }
  }
}

function unavailable(viem: Viem, method: string, error: unknown): ChainError {
  const reason = error instanceof viem.BaseError ? error.shortMessage : firstLine(error);
  return new ChainError('NODE_UNAVAILABLE', `the Ethereum node did not answer ${method}: ${reason}`);
}
