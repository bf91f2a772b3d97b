import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Hex, Log } from 'viem';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { firstLine } from '../common/first-line.js';
import { AppConfig } from '../config/app-config.js';
import type { FactoryEvent } from '../config/factory-event.js';
import { MetricsService } from '../health/metrics.service.js';
import type { DatabaseConnection } from '../database/database-connection.js';
import { LeaderLock } from '../database/leader-lock.js';
import { DATABASE_CONNECTION } from '../database/prisma.module.js';
import { parseEthereumAddress } from '../users/ethereum-address.js';
import { UsersService } from '../users/users.service.js';
import { ChainClient } from './chain-client.js';
import { ChainError } from './chain.errors.js';
import { ChainCursorRepository, type AppliedCreation, type CreationLog, type Cursor, type FollowedEvent } from './chain-cursor.repository.js';
import { followedEvent } from './followed-event.js';

/** The advisory lock whose holder follows the Factory (beside Prisma's migration lock, 72707369). */
export const FACTORY_FOLLOWER_LOCK = 72707370;
/** A failed poll waits twice as long as the one before, up to this (or 16 poll intervals, if less). */
const MAX_BACKOFF_MS = 60_000;
/** A stall is logged on its first failure and then every this many. */
const LOG_EVERY_FAILURES = 10;

/**
 * Follows the Factory contract's creation event and registers each creator as a user holding two
 * wallets, its address (EOA) and the contract (CONTRACT). One instance follows at a time: the
 * one holding a PostgreSQL advisory lock on a session of its own; the others try again every poll
 * interval and take over when that session goes (the leader stopped, crashed or lost its
 * database connection). Each poll applies at most ETH_BLOCK_RANGE blocks, only blocks with
 * ETH_CONFIRMATIONS blocks after them, in one transaction with the cursor (ChainCursorRepository).
 * When the node cannot be reached following stalls with a backoff, a log line and the
 * sigauth_chain_node_up metric; logins of registered users need neither the node nor this loop.
 */
@Injectable()
export class FactoryFollower implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(FactoryFollower.name);
  private readonly followed?: { event: FactoryEvent; key: FollowedEvent };
  private stopped = false;
  private loop?: Promise<void>;
  private readonly leader: LeaderLock;
  private wake?: () => void;

  constructor(
    private readonly config: AppConfig,
    private readonly chain: ChainClient,
    private readonly cursors: ChainCursorRepository,
    private readonly users: UsersService,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
    @Inject(DATABASE_CONNECTION) private readonly db: DatabaseConnection,
  ) {
    this.followed = followedEvent(config);
    this.leader = new LeaderLock(db, FACTORY_FOLLOWER_LOCK, {
      taken: () => {
        this.metrics.chainLeader.set(1);
        this.logger.log(`following the Factory ${this.config.ETH_FACTORY_ADDRESS} on chain ${this.config.ETH_CHAIN_ID} (${this.config.ETH_CONFIRMATIONS} confirmations)`);
      },
      lost: () => this.logger.warn('lost the follower lock (its database session ended); another instance may follow now'),
      released: () => this.metrics.chainLeader.set(0),
    });
  }

  /** Whether this instance holds the lock and follows. */
  get leading(): boolean {
    return this.leader.held;
  }

  /**
   * At start the node must serve ETH_CHAIN_ID: another chain stops the service. A node that does
   * not answer yet is no reason not to serve logins: the check is made again before following.
   */
  async onApplicationBootstrap(): Promise<void> {
    this.metrics.chainLeader.set(0);
    if (!this.chain.configured) return;
    try {
      await this.chain.assertChain();
    } catch (error) {
      if (error instanceof ChainError && error.code === 'WRONG_CHAIN') throw new Error(error.message, { cause: error });
      this.logger.warn(`the Ethereum node does not answer at start (${firstLine(error)}); its chain id is checked once it does`);
    }
    if (this.followed) this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.leader.release();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let delay = this.config.ETH_POLL_INTERVAL_MS;
      try {
        if (await this.leader.lead()) {
          await this.chain.assertChain();
          const more = await this.poll();
          if (failures > 0) this.logger.log(`following resumed after ${failures} failed poll(s)`);
          failures = 0;
          this.metrics.chainNodeUp.set(1);
          this.metrics.chainLastProgress.set(Math.floor(this.clock.now() / 1000));
          if (more) continue;
        }
      } catch (error) {
        failures++;
        delay = this.backoff(failures);
        const cause = error instanceof ChainError ? 'node' : 'database';
        this.metrics.chainPollFailures.inc({ cause });
        if (cause === 'node') this.metrics.chainNodeUp.set(0);
        if (failures === 1 || failures % LOG_EVERY_FAILURES === 0) {
          this.logger.warn(`following the Factory is stalled (${cause}, ${failures} failed poll(s)): ${firstLine(error)}; next try in ${delay} ms`);
        }
      }
      await this.sleep(delay);
    }
  }

  /** One step: applies the next range of confirmed blocks. True when more confirmed blocks wait. */
  private async poll(): Promise<boolean> {
    const { key, event } = this.followed!;
    const head = await this.chain.headBlock();
    this.metrics.chainHeadBlock.set(Number(head));
    const cursor = await this.cursors.read(key);
    if (cursor) {
      const canonical = await this.chain.blockHash(cursor.blockNumber);
      if (canonical !== cursor.blockHash) return this.rewindAfterReorg(key, cursor, canonical);
    }
    const applied = cursor?.blockNumber ?? BigInt(this.config.ETH_START_BLOCK) - 1n;
    const safe = head - BigInt(this.config.ETH_CONFIRMATIONS);
    this.report(head, applied);
    if (safe <= applied) return false;
    const to = safe < applied + BigInt(this.config.ETH_BLOCK_RANGE) ? safe : applied + BigInt(this.config.ETH_BLOCK_RANGE);
    const logs = await this.chain.logs(key.factory as Hex, event.abi, applied + 1n, to);
    const creations = await this.withCode(this.creations(logs));
    const target: Cursor = { blockNumber: to, blockHash: await this.chain.blockHash(to) };
    const applying = await this.cursors.advance(key, cursor, target, creations, new Date(this.clock.now()), (tx, creations) =>
      this.users.registerFactoryWallets(tx, creations),
    );
    if (!applying) {
      this.logger.warn(`the cursor moved under this follower (block ${applied}); reading it again`);
      return true;
    }
    this.recorded(applying);
    this.report(head, to);
    return to < safe;
  }

  /**
   * The block the cursor names is no longer canonical: a reorganisation deeper than the
   * confirmation depth. Following goes back by that depth and reads again; what the replaced
   * blocks registered stays (an operator can see it in chain_registrations).
   */
  private async rewindAfterReorg(key: FollowedEvent, cursor: Cursor, canonical: string): Promise<boolean> {
    this.metrics.chainReorgs.inc();
    const depth = BigInt(Math.max(1, this.config.ETH_CONFIRMATIONS));
    const back = cursor.blockNumber - depth;
    const anchor = back >= BigInt(this.config.ETH_START_BLOCK) ? { blockNumber: back, blockHash: await this.chain.blockHash(back) } : undefined;
    this.logger.error(
      `reorganisation deeper than ETH_CONFIRMATIONS=${this.config.ETH_CONFIRMATIONS}: block ${cursor.blockNumber} was ${cursor.blockHash} when applied and is ${canonical} now; ` +
        `reading again from block ${back + 1n}. Users registered from the replaced blocks stay registered (chain_registrations).`,
    );
    await this.cursors.rewind(key, cursor, anchor, new Date(this.clock.now()));
    return true;
  }

  /** The creations in `logs`, once each by (transaction hash, log index), in chain order. */
  private creations(logs: Log[]): CreationLog[] {
    const { ownerArg, contractArg } = this.followed!.event;
    const seen = new Set<string>();
    const creations: CreationLog[] = [];
    for (const log of logs) {
      if (log.removed || log.transactionHash === null || log.logIndex === null || log.blockNumber === null || log.blockHash === null) continue;
      const id = `${log.transactionHash}:${log.logIndex}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const args = ((log as { args?: unknown }).args ?? {}) as Record<string, unknown>;
      const owner = args[ownerArg];
      const contract = args[contractArg];
      if (typeof owner !== 'string' || typeof contract !== 'string' || parseEthereumAddress(owner) === undefined || parseEthereumAddress(contract) === undefined) {
        this.logger.warn(`skipping log ${id}: its ${ownerArg} and ${contractArg} arguments do not decode as addresses`);
        continue;
      }
      creations.push({ transactionHash: log.transactionHash, logIndex: log.logIndex, blockNumber: log.blockNumber, blockHash: log.blockHash, owner: owner.toLowerCase(), contract: contract.toLowerCase() });
    }
    return creations.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
  }

  /**
   * The creations whose created wallet has code. A wallet without any is no contract: the event is
   * not the one configured, or its arguments are not what ETH_FACTORY_CONTRACT_ARG says. Asked at
   * the latest block rather than the event's, which a node that keeps no history cannot answer; a
   * contract's code does not go away (EIP-6780). This catches a misconfiguration, not a node that
   * lies: such a node answers this as it likes, which is why it is trusted for registration.
   */
  private async withCode(creations: CreationLog[]): Promise<CreationLog[]> {
    const kept: CreationLog[] = [];
    for (const creation of creations) {
      if ((await this.chain.code(creation.contract as Hex)) !== '0x') {
        kept.push(creation);
        continue;
      }
      this.metrics.chainRegistrations.inc({ result: 'refused' });
      this.logger.warn(`skipping creation ${creation.transactionHash}:${creation.logIndex}: ${creation.contract} has no code, so it is no contract wallet`);
    }
    return kept;
  }

  private recorded(applied: AppliedCreation[]): void {
    for (const { creation, registration } of applied) {
      if (registration.refused) {
        this.metrics.chainRegistrations.inc({ result: 'refused' });
        this.logger.warn(
          `creation ${creation.transactionHash}:${creation.logIndex} registers nothing: its creator ${creation.owner} is a wallet of a user the Factory did not register, ` +
            `and an event never adds a wallet to such a user (an admin can add ${creation.contract} with kind CONTRACT)`,
        );
        continue;
      }
      const result = registration.userCreated ? 'user' : registration.contractAdded ? 'wallet' : 'none';
      this.metrics.chainRegistrations.inc({ result });
      const details = { actor: 'factory', transactionHash: creation.transactionHash, block: Number(creation.blockNumber), owner: creation.owner, contract: creation.contract };
      if (registration.userCreated) this.audit.record({ type: 'user.created', outcome: 'success', userId: registration.userId, principal: creation.owner, details: { ...details, role: 'ROLE_PEER' } });
      else if (registration.contractAdded) this.audit.record({ type: 'credential.added', outcome: 'success', userId: registration.userId, principal: creation.owner, details: { ...details, kind: 'WALLET', walletKind: 'CONTRACT' } });
    }
  }

  private report(head: bigint, applied: bigint): void {
    this.metrics.chainCursorBlock.set(Number(applied));
    this.metrics.chainLagBlocks.set(Math.max(0, Number(head - applied)));
  }

  private backoff(failures: number): number {
    const interval = this.config.ETH_POLL_INTERVAL_MS;
    const cap = Math.max(interval, Math.min(MAX_BACKOFF_MS, 16 * interval));
    return Math.min(cap, interval * 2 ** Math.min(failures - 1, 20));
  }

  /** Waits `ms`, or less when the application stops. */
  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
