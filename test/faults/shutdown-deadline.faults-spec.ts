import { startPrivatePostgres, type PrivatePostgres } from '../support/pg-server.js';
import {
  addUsers,
  FIB_BASE,
  fibLoginBody,
  loginPair,
  seedUser,
  startService,
  stopAllServices,
  type ServiceProcess,
} from '../support/process-service.js';

const SHUTDOWN_TIMEOUT_MS = 2000;
/** A loaded machine is slow to deliver the signal and reap the process; never this slow. */
const SLACK_MS = 2000;

/** The test's own PostgreSQL, frozen with SIGSTOP: connections open, nothing answers. The shared server is never touched. */
let postgres: PrivatePostgres | undefined;

beforeAll(async () => {
  postgres = await startPrivatePostgres();
});

afterAll(async () => {
  postgres?.thaw();
  await stopAllServices();
  postgres?.destroy();
});

describe.each([
  { mode: 'one process', workers: '1' },
  { mode: 'cluster mode (WORKERS=2)', workers: '2' },
])('SHUTDOWN_TIMEOUT_MS with the database hung, $mode', ({ workers }) => {
  let service: ServiceProcess;
  const peer = seedUser(`deadline-${workers}@example.org`, `deadline-${workers}@example`);

  beforeAll(async () => {
    const env = { DATABASE_URL: postgres!.url };
    await addUsers(env, [peer]);
    // The pool would wait a minute for the hung server: only the deadline can end shutdown in time.
    service = await startService(env, { SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS), DATABASE_TIMEOUT_MS: '60000', WORKERS: workers, LOG_LEVEL: 'info' });
    // Each worker answers once it has its connections: log in through the shared port until both have.
    for (let i = 0; i < 4; i++) await loginPair(service, peer);
  });

  afterEach(() => postgres?.thaw());

  it(`exits with code 1 within SHUTDOWN_TIMEOUT_MS (${SHUTDOWN_TIMEOUT_MS} ms) of SIGTERM, a login stuck in flight`, async () => {
    postgres!.freeze();
    let sent!: () => void;
    const inFlight = new Promise<void>((resolve) => (sent = resolve));
    const stuck = service
      .http(`${FIB_BASE}/session`, { method: 'POST', body: fibLoginBody(peer), timeoutMs: 60000, onSent: sent })
      .then((res) => `answered ${res.status}`, (error: NodeJS.ErrnoException) => error.code ?? error.message);
    await inFlight;

    const stopped = await service.stop('SIGTERM', SHUTDOWN_TIMEOUT_MS + 10000);

    expect({ code: stopped.code, signal: stopped.signal }).toEqual({ code: 1, signal: null });
    expect(stopped.ms).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_MS - 100);
    expect(stopped.ms).toBeLessThan(SHUTDOWN_TIMEOUT_MS + SLACK_MS);
    expect(service.output()).toMatch(workers === '1' ? /shutdown did not finish within SHUTDOWN_TIMEOUT_MS \(2000 ms\): exiting/ : /SHUTDOWN_TIMEOUT_MS/);
    // The login never got an answer: the process ended under it.
    await expect(stuck).resolves.toBe('ECONNRESET');
  });
});
