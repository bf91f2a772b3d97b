import { createTestStorage, startTestApp, type TestApp } from './test-app.js';

/**
 * A service whose database has gone away under it: started on a database of its own, given what
 * `seed` writes, then the database is dropped (the shared server keeps running). For the 500 row
 * of every status table: the answer must be the generic 500, leaking nothing.
 */
export async function withDatabaseGone(label: string, seed: (service: TestApp) => Promise<void>, check: (service: TestApp) => Promise<void>): Promise<void> {
  const storage = await createTestStorage(label);
  const service = await startTestApp(storage.env);
  try {
    await seed(service);
    await storage.cleanup();
    await check(service);
  } finally {
    await service.close();
    await storage.cleanup();
  }
}
