import { createTestStorage, startTestApp, type TestApp, type TestStorage } from './support/test-app.js';

describe('health', () => {
  let storage: TestStorage;
  let service: TestApp;

  beforeAll(async () => {
    storage = await createTestStorage('health');
    service = await startTestApp(storage.env);
  });
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  it('GET /health/live answers 200', async () => {
    const res = await service.http().get('/health/live');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /health/ready answers 200 once migrations are applied', async () => {
    const res = await service.http().get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: storage.backend, migrations: { applied: expect.any(Number) } });
    expect(res.body.migrations.applied).toBeGreaterThan(0);
  });

  it('an unknown route answers 404 in the envelope', async () => {
    const res = await service.http().get('/no/such/route');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ status: { code: 404, name: 'NotFound', message: 'no such route' }, data: null });
  });
});

describe('health without migrations', () => {
  it('GET /health/ready answers 503 while migrations are pending', async () => {
    const storage = await createTestStorage('health_pending');
    const service = await startTestApp({ ...storage.env, MIGRATE_ON_START: 'false' });
    try {
      const res = await service.http().get('/health/ready');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({
        status: { code: 503, name: 'ServiceUnavailable', message: expect.stringMatching(/^migrations pending: \d+_init/) },
        data: null,
      });
    } finally {
      await service.close();
      await storage.cleanup();
    }
  });
});
