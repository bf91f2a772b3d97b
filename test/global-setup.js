// Plain JavaScript: Jest loads global setup outside its transform pipeline.
import pg from 'pg';

/**
 * Decides where the e2e suites run: on the PostgreSQL server when it answers; on embedded PGlite
 * when it does not, saying so, except under CI, where a missing PostgreSQL fails the run.
 */
export default async function globalSetup() {
  const url = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    process.env.SIGAUTH_TEST_BACKEND = 'postgresql';
    return;
  } catch {
    // unreachable: decided below
  } finally {
    await client.end().catch(() => undefined);
  }
  const where = new URL(url).host;
  if (process.env.CI) throw new Error(`CI is set and PostgreSQL at ${where} is unreachable: e2e tests need it`);
  process.env.SIGAUTH_TEST_BACKEND = 'pglite';
  process.stdout.write(`\nPostgreSQL at ${where} is unreachable: e2e suites run on embedded PGlite instead.\n`);
}
