import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../health/metrics.service.js';
import { RateLimitError } from './rate-limit.errors.js';
import { MemoryRateLimitStore, RedisRateLimitStore, type RateLimitStore } from './rate-limit.store.js';

export type RateLimitedEndpoint = 'fib-login' | 'wallet-login' | 'password-login' | 'refresh' | 'challenge';

/**
 * Budgets for the credential endpoints, per client address (every request) and per identity
 * (failed attempts: an email, a wallet), in fixed windows. Redis when REDIS_URL is set, so that
 * every instance spends one budget; memory otherwise. If Redis cannot be reached the request is
 * let through and the failure logged: an outage of the limiter must not become an outage of login.
 */
@Injectable()
export class RateLimiterService implements OnApplicationShutdown {
  private readonly logger = new Logger(RateLimiterService.name);
  private readonly store: RateLimitStore;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    this.store = config.REDIS_URL ? new RedisRateLimitStore(config.REDIS_URL) : new MemoryRateLimitStore();
  }

  /** Throws RateLimitError (with the seconds to wait) when the address or the identity is over budget. */
  async check(endpoint: RateLimitedEndpoint, ip: string | null, identity?: string): Promise<void> {
    if (this.config.RATE_LIMIT_PER_IP > 0 && ip) {
      const perIp = await this.count(`${endpoint}:ip:${ip}`, 1);
      if (perIp && perIp.count > this.config.RATE_LIMIT_PER_IP) throw this.refuse(endpoint, perIp.resetIn);
    }
    const limit = this.config.RATE_LIMIT_FAILURES_PER_IDENTITY;
    if (limit > 0 && identity) {
      // A challenge spends the identity's budget when asked for; a login only when it fails
      // (recordFailure), so here it is only read, and refused once the budget is spent.
      const spendsNow = endpoint === 'challenge';
      const perIdentity = await this.count(`${endpoint}:id:${identity}`, spendsNow ? 1 : 0);
      if (perIdentity && (spendsNow ? perIdentity.count > limit : perIdentity.count >= limit)) throw this.refuse(endpoint, perIdentity.resetIn);
    }
  }

  private refuse(endpoint: RateLimitedEndpoint, retryAfterSeconds: number): RateLimitError {
    this.metrics.rateLimited.inc({ endpoint });
    return new RateLimitError(retryAfterSeconds);
  }

  async recordFailure(endpoint: RateLimitedEndpoint, identity: string | undefined): Promise<void> {
    if (this.config.RATE_LIMIT_FAILURES_PER_IDENTITY > 0 && identity) await this.count(`${endpoint}:id:${identity}`, 1);
  }

  private async count(key: string, by: number) {
    try {
      return await this.store.increment(key, this.config.RATE_LIMIT_WINDOW_SECONDS, by);
    } catch (error) {
      this.logger.warn(`rate limit store unavailable, request allowed: ${(error as Error).message}`);
      return undefined;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
