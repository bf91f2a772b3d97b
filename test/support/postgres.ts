import { testBackend } from './database.js';

/**
 * Cases that need a PostgreSQL server: a second instance on the same data (PGlite serves one
 * process), or a database that can be taken away. CI always has the server (global-setup fails
 * without it), so these are skipped only on a developer's machine that runs on PGlite.
 */
export const onPostgres: jest.It = testBackend() === 'postgresql' ? it : it.skip;
export const describeOnPostgres: jest.Describe = testBackend() === 'postgresql' ? describe : describe.skip;
