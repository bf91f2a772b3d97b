import type { DatabaseConnection, HeldLock } from './database-connection.js';

/** What a LeaderLock tells its owner: it took the lock, found it lost, or let it go. */
export interface LeadershipEvents {
  taken(): void;
  lost(): void;
  released(): void;
}

/**
 * One instance at a time for work that runs in every instance: the one holding PostgreSQL advisory
 * lock `lockId` on a session of its own (DatabaseConnection.tryHoldLock) leads; the others try
 * again on each of their rounds and take over when that session goes (the leader stopped, crashed
 * or lost its database connection).
 */
export class LeaderLock {
  private lock?: HeldLock;

  constructor(
    private readonly db: DatabaseConnection,
    private readonly lockId: number,
    private readonly events: LeadershipEvents,
  ) {}

  /** Whether this instance holds the lock. */
  get held(): boolean {
    return this.lock !== undefined;
  }

  /** Holds the lock, or takes it if free; false while another instance holds it. */
  async lead(): Promise<boolean> {
    if (this.lock) {
      if (await this.lock.alive()) return true;
      this.events.lost();
      await this.release();
      return false;
    }
    this.lock = await this.db.tryHoldLock(this.lockId);
    if (!this.lock) return false;
    this.events.taken();
    return true;
  }

  async release(): Promise<void> {
    const lock = this.lock;
    this.lock = undefined;
    this.events.released();
    await lock?.release();
  }
}
