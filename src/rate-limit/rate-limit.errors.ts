import { DomainError } from '../common/domain-error.js';

/** A budget is spent: the caller must wait `details.retryAfterSeconds`. */
export class RateLimitError extends DomainError<'TOO_MANY_REQUESTS'> {
  readonly family = 'rate-limit';

  constructor(retryAfterSeconds: number) {
    super('TOO_MANY_REQUESTS', `Too many requests; retry after ${retryAfterSeconds} s.`, { retryAfterSeconds });
  }
}
