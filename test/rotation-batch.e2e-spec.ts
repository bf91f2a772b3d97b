import { randomUUID } from 'node:crypto';
import { SessionRepository, type Rotation, type RotationOutcome } from '../src/sessions/session.repository.js';
import { UsersService } from '../src/users/users.service.js';
import { decodeJwtPart, newClientKey, signEmail, type ClientKey } from './support/fib-client.js';
import { metric } from './support/metrics.js';
import { withSql } from './support/sql.js';
import { testBackend } from './support/database.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from './support/test-app.js';

/**
 * Concurrent refreshes share one statement (ROTATE_BATCH, issue 16): rotations handed to the
 * repository together go out as one batch behind the first, and each must be decided as it would
 * be alone. On PGlite every batch is one rotation, so there this pins the single statement.
 */
const FIB = '/auth/api/v1/authentication-management';
const EMAIL = 'batch@example.org';

interface Pair {
  accessToken: string;
  refreshToken: string;
}

const jtiOf = (token: string) => decodeJwtPart(token, 1).jti as string;
const sidOf = (token: string) => decodeJwtPart(token, 1).sid as string;

describe('rotations in one batch', () => {
  let storage: TestStorage;
  let service: TestApp;
  let key: ClientKey;
  let repository: SessionRepository;

  const login = async (): Promise<Pair> => {
    const res = await service.http().post(`${FIB}/session`).send({ email: EMAIL, signature: signEmail(key, EMAIL), authPublicKeyHex: key.publicKeyHex });
    expect(res.status).toBe(200);
    return res.body.data as Pair;
  };
  const refresh = async (pair: Pair): Promise<Pair> => {
    const res = await service.http().patch(`${FIB}/session`).set('Authorization', pair.refreshToken);
    expect(res.status).toBe(200);
    return res.body.data as Pair;
  };
  const rotation = (refreshToken: string, clientId = 'fib'): Rotation => ({
    jti: jtiOf(refreshToken),
    childJti: randomUUID(),
    accessJti: randomUUID(),
    kid: decodeJwtPart(refreshToken, 0).kid as string,
    clientId,
    now: new Date(),
    accessTtl: 900,
    refreshTtl: 3600,
    maxAgeSeconds: 86_400,
    graceMs: 30_000,
    proofJkt: null,
  });
  const childOf = (outcome: RotationOutcome | undefined) => (outcome?.kind === 'rotated' ? outcome.child : undefined);

  beforeAll(async () => {
    storage = await createTestStorage('rotation_batch');
    service = await startTestApp({ ...storage.env, RATE_LIMIT_PER_IP: '0', RATE_LIMIT_FAILURES_PER_IDENTITY: '0' });
    key = newClientKey();
    await service.app.get(UsersService).create({ email: EMAIL, account: 'batch@example', publicKeys: [key.publicKeyHex] });
    repository = service.app.get(SessionRepository);
  });
  afterAll(async () => {
    await service?.close();
    await storage?.cleanup();
  });

  it('decides each rotation of a batch as alone: live ones rotate, a repeat gets the same child, ended, foreign and reused ones do not', async () => {
    const [first, a, b, c, twice, loggedOut, foreign, reused] = await Promise.all(Array.from({ length: 8 }, login));
    const logout = await service.http().post(`${FIB}/logout`).set('Authorization', loggedOut!.accessToken);
    expect(logout.status).toBe(200);
    // The retired token's child has been used, so presenting it again is a reuse (outside the grace).
    await refresh(await refresh(reused!));

    // Handed over in one tick: the first is written at once, the other eight wait for it and go together.
    const rotations = [first!, a!, b!, c!, twice!, twice!, loggedOut!].map((p) => rotation(p.refreshToken));
    rotations.push(rotation(foreign!.refreshToken, 'oauth-client'), rotation(reused!.refreshToken));
    const counters = () => Promise.all(['batches', 'items', 'refused'].map((c) => metric(service, `sigauth_group_commit_${c}_total{write="rotations"}`)));
    const before = await counters();
    const outcomes = await Promise.all(rotations.map((r) => repository.rotate(r)));
    const written = (await counters()).map((n, i) => n - before[i]!);
    // Two statements on PostgreSQL, none refused; on PGlite one a rotation.
    expect(written).toEqual(testBackend() === 'postgresql' ? [2, 9, 0] : [9, 9, 0]);

    const live = [first!, a!, b!, c!];
    live.forEach((pair, i) => expect(outcomes[i]).toMatchObject({ kind: 'rotated', grace: false, child: { jti: rotations[i]!.childJti, sessionId: sidOf(pair.refreshToken) } }));
    // The same token twice: one rotation retires it, the other is its grace answer with that child.
    const repeated = [outcomes[4], outcomes[5]];
    expect(repeated.map((o) => o?.kind)).toEqual(['rotated', 'rotated']);
    expect(childOf(repeated[0])).toEqual(childOf(repeated[1]));
    expect(repeated.map((o) => o?.kind === 'rotated' && o.grace).sort()).toEqual([false, true]);
    expect([rotations[4]!.childJti, rotations[5]!.childJti]).toContain(childOf(repeated[0])!.jti);
    expect(outcomes[6]).toEqual({ kind: 'invalid', reason: 'ended' });
    expect(outcomes[7]!.kind).toBe('invalid');
    expect(outcomes[8]).toMatchObject({ kind: 'reused', sessionId: sidOf(reused!.refreshToken) });

    // The foreign client's refusal is the one the same rotation gets alone.
    expect(await repository.rotate(rotation(foreign!.refreshToken, 'oauth-client'))).toEqual(outcomes[7]);

    await withSql(storage, async (query) => {
      const children = await query<{ jti: string; parent_jti: string; session_id: string; rotated_at: Date | null }>(
        'SELECT jti, parent_jti, session_id, rotated_at FROM refresh_tokens WHERE parent_jti = ANY($1::uuid[]) ORDER BY jti',
        [[first, a, b, c, twice, loggedOut, foreign].map((p) => jtiOf(p!.refreshToken))],
      );
      // One child per live token, in its own session, unused; none for the ended or the foreign session.
      const expected = live.map((pair, i) => ({ jti: rotations[i]!.childJti, parent_jti: rotations[i]!.jti, session_id: sidOf(pair.refreshToken), rotated_at: null }));
      expected.push({ jti: childOf(repeated[0])!.jti, parent_jti: rotations[4]!.jti, session_id: sidOf(twice!.refreshToken), rotated_at: null });
      expect(children).toEqual(expected.sort((x, y) => (x.jti < y.jti ? -1 : 1)));
      const sessions = await query<{ id: string; revoked: boolean }>('SELECT id, revoked_at IS NOT NULL AS revoked FROM sessions WHERE id = ANY($1::uuid[]) ORDER BY id', [
        [a, foreign, reused].map((p) => sidOf(p!.refreshToken)),
      ]);
      expect(Object.fromEntries(sessions.map((s) => [s.id, s.revoked]))).toEqual({ [sidOf(a!.refreshToken)]: false, [sidOf(foreign!.refreshToken)]: false, [sidOf(reused!.refreshToken)]: true });
    });

    // A child from the batch is a working refresh token: presenting its parent again within the
    // grace window answers with that child, signed, and the child then refreshes.
    const graceAnswer = await refresh(a!);
    expect(jtiOf(graceAnswer.refreshToken)).toBe(rotations[1]!.childJti);
    expect(sidOf(await refresh(graceAnswer).then((p) => p.refreshToken))).toBe(sidOf(a!.refreshToken));
  });
});
