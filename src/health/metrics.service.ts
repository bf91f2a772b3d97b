import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of this process. With WORKERS > 1 each worker keeps its own registry, and a
 * scrape through the shared port reaches one of them: scrape each instance, or run one worker per
 * container (see README).
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'sigauth_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly latency = new Histogram({
    name: 'sigauth_http_request_duration_seconds',
    help: 'HTTP request latency by route and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly refreshReuse = new Counter({
    name: 'sigauth_refresh_reuse_detected_total',
    help: 'Refresh tokens presented again after rotation (their family was revoked)',
    registers: [this.registry],
  });

  readonly groupCommitBatches = new Counter({
    name: 'sigauth_group_commit_batches_total',
    help: 'Statements that wrote a batch of concurrent requests (group commit), by write: sessions (logins) or rotations (refreshes)',
    labelNames: ['write'] as const,
    registers: [this.registry],
  });

  readonly groupCommitItems = new Counter({
    name: 'sigauth_group_commit_items_total',
    help: 'Requests those statements carried, by write; divided by the batches, the mean batch size',
    labelNames: ['write'] as const,
    registers: [this.registry],
  });

  readonly groupCommitRefused = new Counter({
    name: 'sigauth_group_commit_refused_total',
    help: 'Batches the database refused (a deadlock between instances, or one bad row), each then written request by request',
    labelNames: ['write'] as const,
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'sigauth_rate_limited_total',
    help: 'Requests refused with 429, by endpoint',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });

  readonly auditRejected = new Counter({
    name: 'sigauth_audit_rejected_total',
    help: 'Audit events the database refused on their own, logged and set aside',
    registers: [this.registry],
  });

  readonly auditRepaired = new Counter({
    name: 'sigauth_audit_repaired_total',
    help: 'Audit strings made storable (a lone surrogate or NUL replaced) before they were written',
    registers: [this.registry],
  });

  // ---- Following the Factory contract, and contract wallets (src/chain) ----

  readonly chainLeader = new Gauge({
    name: 'sigauth_chain_leader',
    help: '1 while this instance holds the lock and follows the Factory, 0 otherwise',
    registers: [this.registry],
  });

  readonly chainNodeUp = new Gauge({
    name: 'sigauth_chain_node_up',
    help: '1 when the last poll of the Ethereum node succeeded, 0 while following is stalled on it',
    registers: [this.registry],
  });

  readonly chainPollFailures = new Counter({
    name: 'sigauth_chain_poll_failures_total',
    help: 'Polls of the Factory that failed, by cause (node or database)',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });

  readonly chainHeadBlock = new Gauge({ name: 'sigauth_chain_head_block', help: "The node's latest block number, as last seen", registers: [this.registry] });

  readonly chainCursorBlock = new Gauge({ name: 'sigauth_chain_cursor_block', help: 'The last block whose Factory events are applied', registers: [this.registry] });

  readonly chainLagBlocks = new Gauge({
    name: 'sigauth_chain_lag_blocks',
    help: 'Blocks between the head and the cursor (at least ETH_CONFIRMATIONS once caught up)',
    registers: [this.registry],
  });

  readonly chainLastProgress = new Gauge({
    name: 'sigauth_chain_last_poll_success_timestamp_seconds',
    help: 'When a poll of the Factory last succeeded (Unix seconds)',
    registers: [this.registry],
  });

  readonly chainReorgs = new Counter({
    name: 'sigauth_chain_reorgs_total',
    help: 'Reorganisations deeper than ETH_CONFIRMATIONS: the stored cursor hash is no longer the canonical block',
    registers: [this.registry],
  });

  readonly chainRegistrations = new Counter({
    name: 'sigauth_chain_registrations_total',
    help: 'Factory creation events applied, by what they did (user: a new user; wallet: a wallet added; none; refused: a wallet without code, or a creator held by a user the Factory did not register)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly contractSignatureChecks = new Counter({
    name: 'sigauth_erc1271_checks_total',
    help: 'ERC-1271 isValidSignature checks of contract wallets, by outcome (valid, invalid, unavailable)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  // ---- Bounded growth: the retention cleanup (src/retention) ----

  readonly cleanupLeader = new Gauge({
    name: 'sigauth_cleanup_leader',
    help: '1 while this instance holds the lock and runs the retention cleanup, 0 otherwise',
    registers: [this.registry],
  });

  readonly cleanupRemoved = new Counter({
    name: 'sigauth_cleanup_removed_rows_total',
    help: 'Rows the retention cleanup removed, by table (sessions, refresh_tokens, single_use_records, audit_events; a dropped audit partition counts by the planner estimate)',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  readonly cleanupPartitions = new Counter({
    name: 'sigauth_cleanup_audit_partitions_total',
    help: 'Monthly audit partitions the retention cleanup created ahead or dropped, by action',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });

  readonly cleanupRuns = new Counter({
    name: 'sigauth_cleanup_runs_total',
    help: 'Runs of the retention cleanup on this instance, by result (success, failure)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly cleanupLastSuccess = new Gauge({
    name: 'sigauth_cleanup_last_success_timestamp_seconds',
    help: 'When a run of the retention cleanup last finished without error (Unix seconds)',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Called once per answered request; `route` is the route pattern, never the raw URL. */
  observe(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.latency.observe({ route, method }, seconds);
  }
}
