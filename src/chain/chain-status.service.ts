import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { ChainClient } from './chain-client.js';
import { ChainError } from './chain.errors.js';
import { ChainCursorRepository } from './chain-cursor.repository.js';
import { followedEvent } from './followed-event.js';

export interface ChainStatus {
  chainId: number;
  factory: string | null;
  event: string;
  confirmations: number;
  /** The last block applied; null before the first range. */
  cursor: { block: number; hash: string; updatedAt: string | null } | null;
  /** The node's latest block; null when it does not answer. */
  head: number | null;
  /** Blocks from the cursor (or from ETH_START_BLOCK) to the head; following keeps it at ETH_CONFIRMATIONS. */
  lag: number | null;
  registrations: number;
  node: { reachable: boolean; error?: string };
}

/** Where following the Factory stands: `npm run cli -- chain status`. */
@Injectable()
export class ChainStatusService {
  constructor(
    private readonly config: AppConfig,
    private readonly chain: ChainClient,
    private readonly cursors: ChainCursorRepository,
  ) {}

  async status(): Promise<ChainStatus> {
    const followed = followedEvent(this.config);
    const cursor = followed ? await this.cursors.read(followed.key) : undefined;
    let head: number | null = null;
    let node: ChainStatus['node'] = { reachable: false, error: 'ETH_RPC_URL is not set' };
    if (this.chain.configured) {
      try {
        await this.chain.assertChain();
        head = Number(await this.chain.headBlock());
        node = { reachable: true };
      } catch (error) {
        if (!(error instanceof ChainError)) throw error;
        node = { reachable: error.code !== 'NODE_UNAVAILABLE', error: error.message };
      }
    }
    const applied = cursor ? Number(cursor.blockNumber) : this.config.ETH_START_BLOCK - 1;
    return {
      chainId: this.config.ETH_CHAIN_ID,
      factory: this.config.ETH_FACTORY_ADDRESS ?? null,
      event: this.config.ETH_FACTORY_EVENT,
      confirmations: this.config.ETH_CONFIRMATIONS,
      cursor: cursor ? { block: Number(cursor.blockNumber), hash: cursor.blockHash, updatedAt: cursor.updatedAt?.toISOString() ?? null } : null,
      head,
      lag: head === null ? null : Math.max(0, head - applied),
      registrations: followed ? await this.cursors.registrationCount(followed.key) : 0,
      node,
    };
  }
}
