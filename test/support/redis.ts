import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis the shared-budget cases use; TEST_REDIS_URL overrides the local default. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Whether Redis answers. Under CI a missing Redis fails the run (the shared budgets must be
 * tested); elsewhere the cases that need it are skipped, saying so.
 */
export async function requireRedis(): Promise<boolean> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    if ((await redis.ping()) === 'PONG') return true;
  } catch {
    // unreachable: decided below
  } finally {
    redis.disconnect();
  }
  if (process.env.CI) throw new Error(`CI is set and Redis at ${REDIS_URL} is unreachable`);
  console.warn(`Redis at ${REDIS_URL} is unreachable: the shared-budget cases are skipped`);
  return false;
}

/** A key prefix of the test's own, so that suites running at once on one Redis never share a budget. */
export const redisPrefix = (): string => `sigauth-test-${randomBytes(4).toString('hex')}:`;
