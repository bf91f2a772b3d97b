import { Injectable } from '@nestjs/common';
import type { SqlSession } from '../database/database-connection.js';
import { PrismaService } from '../database/prisma.service.js';
import type { FactoryRegistration } from '../users/user.types.js';

/** Which following a cursor belongs to: a chain, a Factory (lower-case address) and its event's topic. */
export interface FollowedEvent {
  chainId: number;
  factory: string;
  topic: string;
}

/** The last block whose events are applied, and its hash as it was then. */
export interface Cursor {
  blockNumber: bigint;
  blockHash: string;
  updatedAt?: Date;
}

/** One creation event, as the node reported it; addresses lower-case. */
export interface CreationLog {
  transactionHash: string;
  logIndex: number;
  blockNumber: bigint;
  blockHash: string;
  owner: string;
  contract: string;
}

/** A creation applied now for the first time, with what registering it did. */
export interface AppliedCreation {
  creation: CreationLog;
  registration: FactoryRegistration;
}

/**
 * The follower's cursor and its record of the creations it applied (tables chain_cursors and
 * chain_registrations). A block range is applied in one transaction that first moves the cursor
 * from where the follower read it (compare and set: a follower that lost the lock, or a second
 * one, moves nothing), then records each creation by (transaction hash, log index) and registers
 * only those new to the record, through the users module, inside the same transaction. So a
 * restart resumes at the cursor, a range is applied entirely or not at all, and no event twice.
 *
 * Why the transaction lives here: the cursor and the record are this module's tables, the users
 * module is the only one that writes user tables; `advance` hands its transaction to the users
 * module's registration (UsersService.registerFactoryWallets takes a SqlSession), so each module
 * writes its own tables and one commit covers both.
 */
@Injectable()
export class ChainCursorRepository {
  constructor(private readonly prisma: PrismaService) {}

  async read(key: FollowedEvent): Promise<Cursor | undefined> {
    const [row] = await this.prisma.connection.query<{ block_number: string | number | bigint; block_hash: string; updated_at: Date }>(
      'SELECT block_number, block_hash, updated_at FROM chain_cursors WHERE chain_id = $1::bigint AND factory_address = $2 AND event_topic = $3',
      [String(key.chainId), key.factory, key.topic],
    );
    return row ? { blockNumber: BigInt(row.block_number), blockHash: row.block_hash, updatedAt: new Date(row.updated_at) } : undefined;
  }

  /**
   * Applies `creations` (all from blocks after `from` up to `to`) and moves the cursor to `to`, in
   * one transaction. Returns the creations applied now for the first time, or undefined when the
   * cursor was no longer at `from`: then nothing is written.
   */
  async advance(
    key: FollowedEvent,
    from: Cursor | undefined,
    to: Cursor,
    creations: CreationLog[],
    now: Date,
    register: (tx: SqlSession, creations: CreationLog[]) => Promise<FactoryRegistration[]>,
  ): Promise<AppliedCreation[] | undefined> {
    return this.prisma.connection.transaction(async (tx) => {
      if (!(await this.move(tx, key, from, to, now))) return undefined;
      const fresh: CreationLog[] = [];
      for (const c of creations) {
        const inserted = await tx.query(
          `INSERT INTO chain_registrations (chain_id, transaction_hash, log_index, factory_address, block_number, block_hash, owner_address, contract_address, registered_at)
           VALUES ($1::bigint, $2, $3, $4, $5::bigint, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING log_index`,
          [String(key.chainId), c.transactionHash, c.logIndex, key.factory, String(c.blockNumber), c.blockHash, c.owner, c.contract, now],
        );
        if (inserted.length === 1) fresh.push(c);
      }
      const registrations = fresh.length > 0 ? await register(tx, fresh) : [];
      const applied = fresh.map((creation, i) => ({ creation, registration: registrations[i]! }));
      for (const { creation, registration } of applied) {
        await tx.query('UPDATE chain_registrations SET user_id = $4 WHERE chain_id = $1::bigint AND transaction_hash = $2 AND log_index = $3', [
          String(key.chainId),
          creation.transactionHash,
          creation.logIndex,
          registration.userId,
        ]);
      }
      return applied;
    });
  }

  /** Sets the cursor back to `to` (none: following starts over at ETH_START_BLOCK) if it is still at `from`. */
  async rewind(key: FollowedEvent, from: Cursor, to: Cursor | undefined, now: Date): Promise<boolean> {
    return this.prisma.connection.transaction(async (tx) => {
      if (to) return this.move(tx, key, from, to, now);
      const deleted = await tx.query(
        'DELETE FROM chain_cursors WHERE chain_id = $1::bigint AND factory_address = $2 AND event_topic = $3 AND block_number = $4::bigint AND block_hash = $5 RETURNING 1',
        [String(key.chainId), key.factory, key.topic, String(from.blockNumber), from.blockHash],
      );
      return deleted.length === 1;
    });
  }

  /** How many creations of this Factory have been applied. */
  async registrationCount(key: FollowedEvent): Promise<number> {
    const [row] = await this.prisma.connection.query<{ count: string | number }>(
      'SELECT count(*) AS count FROM chain_registrations WHERE chain_id = $1::bigint AND factory_address = $2',
      [String(key.chainId), key.factory],
    );
    return Number(row?.count ?? 0);
  }

  /** Compare and set: the cursor goes to `to` only from `from` (from none: only if there is none). */
  private async move(tx: SqlSession, key: FollowedEvent, from: Cursor | undefined, to: Cursor, now: Date): Promise<boolean> {
    const params = [String(key.chainId), key.factory, key.topic, String(to.blockNumber), to.blockHash, now];
    const moved = from
      ? await tx.query(
          `UPDATE chain_cursors SET block_number = $4::bigint, block_hash = $5, updated_at = $6
            WHERE chain_id = $1::bigint AND factory_address = $2 AND event_topic = $3 AND block_number = $7::bigint AND block_hash = $8 RETURNING 1`,
          [...params, String(from.blockNumber), from.blockHash],
        )
      : await tx.query(
          `INSERT INTO chain_cursors (chain_id, factory_address, event_topic, block_number, block_hash, updated_at)
           VALUES ($1::bigint, $2, $3, $4::bigint, $5, $6) ON CONFLICT DO NOTHING RETURNING 1`,
          params,
        );
    return moved.length === 1;
  }
}
