import { Clock } from '../common/clock.js';
import { MetricsService } from '../health/metrics.service.js';
import type { AuditRepository, AuditRow } from './audit.repository.js';
import { AuditService } from './audit.service.js';

/** A repository that refuses, as PostgreSQL would, any batch holding a row whose reason is 'bad'. */
class RefusingRepository {
  readonly written: AuditRow[] = [];
  calls = 0;
  down = false;

  async insertMany(rows: AuditRow[]): Promise<void> {
    this.calls += 1;
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    if (rows.some((r) => r.reason === 'bad')) throw Object.assign(new Error('invalid input syntax for type uuid'), { code: '22P02' });
    this.written.push(...rows);
  }
}

const counter = async (metrics: MetricsService, name: string) => (await metrics.registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;

describe('AuditService', () => {
  let repository: RefusingRepository;
  let metrics: MetricsService;
  let audit: AuditService;

  beforeEach(() => {
    repository = new RefusingRepository();
    metrics = new MetricsService();
    audit = new AuditService(repository as unknown as AuditRepository, new Clock(), metrics);
  });
  afterEach(() => audit.onModuleDestroy());

  it('splits a refused batch until the refused row stands alone, writes the rest in order, and sets that row aside', async () => {
    for (let i = 0; i < 100; i++) audit.record({ type: 'login.failure', outcome: 'failure', reason: i === 37 ? 'bad' : `r${i}` });
    await audit.flush();
    expect(repository.written.map((r) => r.reason)).toEqual(Array.from({ length: 100 }, (_, i) => `r${i}`).filter((r) => r !== 'r37'));
    expect(await counter(metrics, 'sigauth_audit_rejected_total')).toBe(1);
    // Halving: about 2 log2(100) writes, not one per row.
    expect(repository.calls).toBeLessThan(20);
  });

  it('keeps every event, in order, while the database is unreachable, and writes them once it is back', async () => {
    repository.down = true;
    for (let i = 0; i < 3; i++) audit.record({ type: 'logout', outcome: 'success', reason: `r${i}` });
    await audit.flush();
    expect(repository.written).toEqual([]);
    repository.down = false;
    await audit.flush();
    expect(repository.written.map((r) => r.reason)).toEqual(['r0', 'r1', 'r2']);
    expect(await counter(metrics, 'sigauth_audit_rejected_total')).toBe(0);
  });

  it('stores lone surrogates and NUL as U+FFFD, cuts before repairing, and counts each repair', async () => {
    audit.record({ type: 'login.failure', outcome: 'failure', principal: '\ud800@x', details: { email: 'a\u0000b', ['k\udc00']: 1 } });
    audit.record({ type: 'login.failure', outcome: 'failure', principal: `${'a'.repeat(1023)}\ud83d\ude00` });
    await audit.flush();
    expect(repository.written[0]).toMatchObject({ principal: '\ufffd@x', details: { email: 'a\ufffdb', 'k\ufffd': 1 } });
    expect(repository.written[1]!.principal).toBe(`${'a'.repeat(1023)}\ufffd`);
    expect(await counter(metrics, 'sigauth_audit_repaired_total')).toBe(4);
  });
});
