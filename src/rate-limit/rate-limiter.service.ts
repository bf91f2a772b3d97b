import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AuditService } from '../audit/audit.service.js';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../health/metrics.service.js';
import { BoundedMemoryRateLimiter } from './bounded-memory-rate-limiter.js';
import { budgetAddress } from './budget-address.js';
import { RateLimitError } from './rate-limit.errors.js';

/**
 * The name an API gives one of its credential endpoints: its budgets are kept under it and its
 * refusals counted by it. Routes that give the same name share a budget.
 */
export type RateLimitedEndpoint = string;

/**
 * What a login proves with. A signature cannot be guessed, so one that verifies is never refused
 * for failures on its identity; a password can, so its failures are bounded before it is checked.
 */
export type ProofKind = 'signature' | 'password';

/** The budget a login attempt took before its proof was checked. */
export interface LoginBudget {
  /** The attempt took the identity past its budget: a proof that fails is answered 429. */
  readonly exhausted: boolean;
  /** Gives back what the attempt took: it succeeded, or it proved nothing either way. */
  refund(): Promise<void>;
  refusal(): RateLimitError;
}

const NO_BUDGET: LoginBudget = { exhausted: false, refund: async () => undefined, refusal: () => new RateLimitError(1) };

/** One budget: a limiter and what it counts, for the metrics, the audit log and the logs. */
interface Budget {
  name: 'address' | 'identity' | 'identity-address' | 'identity-all';
  limiter: RateLimiterAbstract;
}

/**
 * Budgets for the credential endpoints, in fixed windows of RATE_LIMIT_WINDOW_SECONDS, through
 * rate-limiter-flexible: consume and reward are atomic (a Lua script in Redis, one step in memory),
 * so parallel requests cannot overdraw a budget. With REDIS_URL every instance spends one budget;
 * if Redis cannot be reached, each instance falls back to a budget of its own in memory (the
 * insurance limiter) rather than letting requests through or refusing them all. Memory budgets
 * are bounded (least recently used keys go first); IPv6 addresses count by their /64.
 *
 * - every request to a credential endpoint spends the address's budget (RATE_LIMIT_PER_IP);
 * - a signature login takes its identity's budget before the proof and gives it back on success:
 *   past RATE_LIMIT_FAILURES_PER_IDENTITY failures a failing proof gets 429, a verifying one never;
 * - a password login takes the budget of (identity, address) and that of the identity over all
 *   addresses, at ten times the limit, before the password is hashed, and is refused with 429
 *   when either is spent; a success gives both back.
 *
 * A refusal is audited once per budget and window, not once per request.
 */
@Injectable()
export class RateLimiterService implements OnApplicationShutdown {
  private readonly logger = new Logger(RateLimiterService.name);
  private readonly redis?: Redis;
  private readonly perAddress?: Budget;
  private readonly perIdentity?: Budget;
  private readonly perIdentityAddress?: Budget;
  private readonly perIdentityAll?: Budget;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly audit: AuditService,
  ) {
    if (config.REDIS_URL) {
      this.redis = new Redis(config.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
      // Errors surface on the commands that fail (and send them to the insurance limiter); without a
      // listener ioredis would print each one.
      this.redis.on('error', () => undefined);
    }
    const failures = config.RATE_LIMIT_FAILURES_PER_IDENTITY;
    this.perAddress = this.budget('address', config.RATE_LIMIT_PER_IP);
    this.perIdentity = this.budget('identity', failures);
    this.perIdentityAddress = this.budget('identity-address', failures);
    this.perIdentityAll = this.budget('identity-all', failures * 10);
  }

  private budget(name: Budget['name'], points: number): Budget | undefined {
    if (points === 0) return undefined;
    const options = { points, duration: this.config.RATE_LIMIT_WINDOW_SECONDS, keyPrefix: `${this.config.REDIS_KEY_PREFIX}rl:${name}` };
    const memory = new BoundedMemoryRateLimiter(options, this.config.RATE_LIMIT_MEMORY_MAX_KEYS);
    const limiter = this.redis ? new RateLimiterRedis({ ...options, storeClient: this.redis, insuranceLimiter: memory }) : memory;
    return { name, limiter };
  }

  /** Spends the address's budget for `endpoint`, and the identity's when the route names one (a challenge, its email): 429 when spent. */
  async takeRequest(endpoint: RateLimitedEndpoint, ip: string | null, identity?: string): Promise<void> {
    if (ip) await this.spend(this.perAddress, endpoint, budgetAddress(ip));
    if (identity) await this.spend(this.perIdentity, endpoint, identity);
  }

  /** Takes a login attempt's budget before its proof is checked; a password login over budget is refused here. */
  async takeLoginAttempt(endpoint: RateLimitedEndpoint, proof: ProofKind, identity: string | undefined, ip: string | null): Promise<LoginBudget> {
    if (!identity) return NO_BUDGET;
    if (proof === 'signature') {
      if (!this.perIdentity) return NO_BUDGET;
      const taken = await this.take(this.perIdentity, endpoint, identity);
      return this.loginBudget(endpoint, [taken]);
    }
    const takes = [];
    if (this.perIdentityAddress && ip) takes.push(await this.take(this.perIdentityAddress, endpoint, `${identity}|${budgetAddress(ip)}`));
    if (this.perIdentityAll) takes.push(await this.take(this.perIdentityAll, endpoint, identity));
    const budget = this.loginBudget(endpoint, takes);
    if (budget.exhausted) {
      await budget.refund();
      throw budget.refusal();
    }
    return budget;
  }

  private loginBudget(endpoint: RateLimitedEndpoint, takes: Take[]): LoginBudget {
    const over = takes.find((t) => t.refused);
    return {
      exhausted: over !== undefined,
      refund: async () => {
        for (const t of takes) await this.give(t.budget, t.key);
      },
      refusal: () => this.refuse(endpoint, over!),
    };
  }

  private async spend(budget: Budget | undefined, endpoint: RateLimitedEndpoint, key: string): Promise<void> {
    if (!budget) return;
    const taken = await this.take(budget, endpoint, key);
    if (taken.refused) throw this.refuse(endpoint, taken);
  }

  /** One point of `budget` for `key`; a refusal is reported, not thrown. */
  private async take(budget: Budget, endpoint: RateLimitedEndpoint, key: string): Promise<Take> {
    const fullKey = `${endpoint}:${key}`;
    try {
      const res = await budget.limiter.consume(fullKey);
      return { budget, key: fullKey, refused: false, res };
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) {
        // Both Redis and the insurance limiter failed: nothing can be counted, and a limiter outage must not become a login outage.
        this.logger.warn(`rate limit store unavailable, request allowed: ${(rejection as Error).message}`);
        return { budget, key: fullKey, refused: false };
      }
      if (rejection.consumedPoints === budget.limiter.points + 1) this.recordFirstRefusal(budget, endpoint, key, rejection);
      return { budget, key: fullKey, refused: true, res: rejection };
    }
  }

  private async give(budget: Budget, key: string): Promise<void> {
    await budget.limiter.reward(key).catch((error: Error) => this.logger.warn(`rate limit refund failed: ${error.message}`));
  }

  private refuse(endpoint: RateLimitedEndpoint, taken: Take): RateLimitError {
    this.metrics.rateLimited.inc({ endpoint });
    return new RateLimitError(Math.max(1, Math.ceil((taken.res?.msBeforeNext ?? 1000) / 1000)));
  }

  /** The first request past a budget in its window is audited; the rest of the window's refusals are only counted. */
  private recordFirstRefusal(budget: Budget, endpoint: RateLimitedEndpoint, key: string, res: RateLimiterRes): void {
    this.audit.record({
      type: 'rate_limit.refused',
      outcome: 'failure',
      reason: 'TOO_MANY_REQUESTS',
      principal: budget.name === 'address' ? null : key.split('|')[0]!,
      details: { endpoint, budget: budget.name, limit: budget.limiter.points, windowEndsInMs: res.msBeforeNext },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis?.disconnect();
  }
}

interface Take {
  budget: Budget;
  key: string;
  refused: boolean;
  res?: RateLimiterRes;
}
