import { Redis } from 'ioredis';

export interface WindowCount {
  count: number;
  /** Seconds until the window resets. */
  resetIn: number;
}

/** Fixed-window counters: in memory for one process, in Redis to share one budget across instances. */
export interface RateLimitStore {
  /** Adds `by` (0 reads) to the counter of `key` in a window of `windowSeconds`. */
  increment(key: string, windowSeconds: number, by?: number): Promise<WindowCount>;
  close(): Promise<void>;
}

export class MemoryRateLimitStore implements RateLimitStore {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private lastSweep = Date.now();

  async increment(key: string, windowSeconds: number, by = 1): Promise<WindowCount> {
    const now = Date.now();
    this.sweep(now);
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + windowSeconds * 1000 };
      if (by > 0) this.windows.set(key, window);
    }
    window.count += by;
    return { count: window.count, resetIn: Math.max(1, Math.ceil((window.resetAt - now) / 1000)) };
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 10_000) return;
    this.lastSweep = now;
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }

  async close(): Promise<void> {}
}

// INCRBY and the expiry of a new window in one step, so two instances never see a window without one.
const INCREMENT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return { count, ttl }`;

export class RedisRateLimitStore implements RateLimitStore {
  private readonly redis: Redis;

  constructor(url: string, private readonly prefix = 'sigauth:rl:') {
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
    // Errors surface on the commands that fail; without a listener ioredis would print each one.
    this.redis.on('error', () => undefined);
  }

  async increment(key: string, windowSeconds: number, by = 1): Promise<WindowCount> {
    const [count, ttl] = (await this.redis.eval(INCREMENT, 1, this.prefix + key, by, windowSeconds * 1000)) as [number, number];
    return { count, resetIn: Math.max(1, Math.ceil(ttl / 1000)) };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
