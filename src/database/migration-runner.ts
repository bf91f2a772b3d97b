import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseConnection, SqlSession } from './database-connection.js';

/** Prisma's own advisory-lock key for migrations, so `prisma migrate deploy` and sigauth exclude each other. */
const PRISMA_MIGRATION_LOCK = 72707369;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

/** The same table Prisma Migrate keeps, so a connected `prisma migrate deploy` sees these as applied. */
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum"            VARCHAR(64) NOT NULL,
  "finished_at"         TIMESTAMPTZ,
  "migration_name"      VARCHAR(255) NOT NULL,
  "logs"                TEXT,
  "rolled_back_at"      TIMESTAMPTZ,
  "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Reads prisma/migrations/<timestamp>_<name>/migration.sql in name order, with Prisma's checksum (SHA-256 of the file). */
export function readMigrations(dir: string): MigrationFile[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

export class MigrationRunner {
  constructor(
    private readonly db: DatabaseConnection,
    private readonly migrations: MigrationFile[],
  ) {}

  /** Applies every pending migration, each in its own transaction; returns the names applied. */
  async migrate(): Promise<string[]> {
    return this.db.exclusive(PRISMA_MIGRATION_LOCK, async (session) => {
      await session.exec(CREATE_MIGRATIONS_TABLE);
      const done = await this.appliedRows(session);
      const applied: string[] = [];
      for (const migration of this.migrations) {
        const row = done.get(migration.name);
        if (row) {
          if (row.checksum !== migration.checksum) {
            throw new MigrationError(`migration ${migration.name} was modified after it was applied (checksum differs)`);
          }
          continue;
        }
        await this.apply(session, migration);
        applied.push(migration.name);
      }
      return applied;
    });
  }

  async status(): Promise<MigrationStatus> {
    const exists = await this.db.query<{ t: string | null }>(`SELECT to_regclass('"_prisma_migrations"')::text AS t`);
    const done = exists[0]?.t ? await this.appliedRows(this.db) : new Map();
    const names = this.migrations.map((m) => m.name);
    return {
      applied: names.filter((n) => done.has(n)),
      pending: names.filter((n) => !done.has(n)),
    };
  }

  private async appliedRows(session: SqlSession): Promise<Map<string, { checksum: string }>> {
    const rows = await session.query<{ migration_name: string; checksum: string }>(
      `SELECT migration_name, checksum FROM "_prisma_migrations"
        WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    return new Map(rows.map((r) => [r.migration_name, r]));
  }

  private async apply(session: SqlSession, migration: MigrationFile): Promise<void> {
    const id = randomUUID();
    await session.exec('BEGIN');
    try {
      await session.exec(migration.sql);
      await session.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
         VALUES ($1, $2, $3, now(), now(), 1)`,
        [id, migration.checksum, migration.name],
      );
      await session.exec('COMMIT');
    } catch (error) {
      await session.exec('ROLLBACK');
      throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}`);
    }
  }
}
