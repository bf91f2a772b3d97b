import { RateLimiterRes } from 'rate-limiter-flexible';
import { BoundedMemoryRateLimiter, BoundedMemoryStorage } from './bounded-memory-rate-limiter.js';

describe('BoundedMemoryStorage', () => {
  it('counts within a window and starts a new one when it ends', () => {
    let now = 1_000_000;
    const store = new BoundedMemoryStorage(10, () => now);
    expect(store.incrby('k', 1, 60)).toMatchObject({ consumedPoints: 1, msBeforeNext: 60_000, isFirstInDuration: true });
    now += 1000;
    expect(store.incrby('k', 2, 60)).toMatchObject({ consumedPoints: 3, msBeforeNext: 59_000, isFirstInDuration: false });
    expect(store.incrby('k', -1, 60)).toMatchObject({ consumedPoints: 2 });
    expect(store.get('k')).toMatchObject({ consumedPoints: 2 });
    now += 59_000;
    expect(store.get('k')).toBeNull();
    expect(store.incrby('k', 1, 60)).toMatchObject({ consumedPoints: 1, isFirstInDuration: true });
    expect(store.delete('k')).toBe(true);
    expect(store.size).toBe(0);
  });

  it('drops the least recently used key first', () => {
    const store = new BoundedMemoryStorage(2);
    store.incrby('a', 1, 60);
    store.incrby('b', 1, 60);
    store.incrby('a', 1, 60); // a is now the most recent
    store.incrby('c', 1, 60);
    expect(store.get('b')).toBeNull();
    expect(store.get('a')).toMatchObject({ consumedPoints: 2 });
    expect(store.get('c')).toMatchObject({ consumedPoints: 1 });
    expect(store.size).toBe(2);
  });
});

describe('BoundedMemoryRateLimiter', () => {
  it("refuses past its points and gives points back with reward, as rate-limiter-flexible's limiter does", async () => {
    const limiter = new BoundedMemoryRateLimiter({ points: 2, duration: 60 }, 100);
    await limiter.consume('alice');
    await limiter.consume('alice');
    const refused = await limiter.consume('alice').then(() => undefined, (res: unknown) => res);
    expect(refused).toBeInstanceOf(RateLimiterRes);
    expect(refused).toMatchObject({ consumedPoints: 3, remainingPoints: 0 });
    await limiter.reward('alice', 2);
    await expect(limiter.consume('alice')).resolves.toMatchObject({ consumedPoints: 2 });
    expect(limiter.storage.size).toBe(1);
  });

  it('fed 1,000,000 distinct addresses, stays under its cap', async () => {
    const cap = 100_000;
    const limiter = new BoundedMemoryRateLimiter({ points: 300, duration: 60, keyPrefix: 'fib-login' }, cap);
    const before = process.memoryUsage().rss;
    let largest = 0;
    for (let i = 0; i < 1_000_000; i++) {
      await limiter.consume(`${(i >>> 24) & 255}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`);
      if ((i & 0xffff) === 0) largest = Math.max(largest, limiter.storage.size);
    }
    largest = Math.max(largest, limiter.storage.size);
    expect(largest).toBe(cap);
    const rss = process.memoryUsage().rss;
    console.log(`bounded limiter, 1,000,000 addresses, cap ${cap}: ${limiter.storage.size} keys held, RSS ${Math.round(rss / 2 ** 20)} MB (+${Math.round((rss - before) / 2 ** 20)} MB)`);
  }, 60_000);
});
