import { createTestStorage, type TestStorage } from './support/test-app.js';
import { addUsers, fibLogin, fibRefresh, seedUser, startService, stopAllServices, type FibPair, type HttpResult, type ServiceProcess } from './support/process-service.js';

/**
 * A login's 200 is sent only once its session row is committed: the server process is killed
 * (SIGKILL, no shutdown hook runs) at the moment the first of many concurrent logins is answered,
 * and every login that was answered 200 refreshes on the restarted server. A session written
 * after the answer (a write-behind buffer, a group commit that answers early) would be lost here.
 */
describe('a login answered 200 survives a SIGKILL of the server right after the answer', () => {
  let storage: TestStorage;
  let service: ServiceProcess | undefined;
  const users = Array.from({ length: 40 }, (_, i) => seedUser(`durable${i}@example.org`, `durable${i}@example`));

  beforeAll(async () => {
    storage = await createTestStorage('login_durability');
    await addUsers(storage.env, users);
  });

  afterAll(async () => {
    await stopAllServices();
    await storage?.cleanup();
  });

  it('every 200 before the kill refreshes after the restart', async () => {
    const first = await startService(storage.env);
    service = first;
    const answered: FibPair[] = [];
    let killed = false;
    const logins = users.map((user) =>
      fibLogin(first, user).then(
        (res: HttpResult) => {
          if (res.status !== 200) return;
          answered.push((res.body as { data: FibPair }).data);
          if (!killed) {
            killed = true;
            // Synchronously, in the callback of the first 200: nothing else of the server runs first.
            process.kill(first.pid, 'SIGKILL');
          }
        },
        // Logins in flight when the process dies are reset: they were never answered.
        () => undefined,
      ),
    );
    await Promise.all(logins);
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(answered.length).toBeGreaterThanOrEqual(1);

    const second = await startService(storage.env);
    service = second;
    const refreshed = await Promise.all(answered.map((pair) => fibRefresh(second, pair.refreshToken)));
    expect(refreshed.map((r) => r.status)).toEqual(answered.map(() => 200));
    await service.stop();
  });
});
