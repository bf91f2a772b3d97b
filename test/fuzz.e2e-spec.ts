import fc from 'fast-check';
import { hashMessage } from 'ethers';
import {
  applyMutation,
  boundaryString,
  contentType,
  corruptToken,
  fieldMutation,
  garbageAuthorization,
  hostileNumber,
  hostileString,
  hostileValue,
  nearHex,
  noiseHeaders,
  protoPollution,
  spliceIntoObject,
  tokenCorruption,
  wholeBody,
  type FieldMutation,
  type TokenCorruption,
} from './support/fuzz-arbitraries.js';
import { basicAuth, createFuzzWorld, FIB, fibLogin, INTROSPECT, walletLogin, walletLoginBody, type FuzzWorld, type Lane, type TokenPool } from './support/fuzz-fixtures.js';
import {
  carriesToken,
  describeRequest,
  describeResponse,
  envelopeProblems,
  errorShapeOf,
  FuzzClient,
  shapeProblems,
  type FuzzRequest,
  type FuzzResponse,
} from './support/fuzz-http.js';
import { testBackend } from './support/database.js';
import { withSql } from './support/sql.js';
import { createTestStorage, startTestApp, type TestApp, type TestStorage } from './support/test-app.js';

/**
 * Property-based fuzzing of every public endpoint's body and headers (issue 8). For each generated
 * request: never a 5xx, never a hang, every error in the API's own shape, and a token only for a
 * valid request built here. Reproduce a run with FUZZ_SEED; FUZZ_SCALE multiplies the run counts.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const REQUIRED_REQUESTS = 10_000;
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
/** Requests in flight at once: each run of a property is a batch of this many cases, one per lane. */
const LANES = 8;
/** An answer slower than this is a hang. */
const REQUEST_TIMEOUT_MS = 15_000;
/** Generous: the suite takes about a minute on an idle 2-core machine, and CI machines are busier. */
const PROPERTY_TIMEOUT_MS = 240_000;
/** Bodies above this get 413; small, so that crossing it is cheap. */
const BODY_LIMIT = 65_536;

/** `arbitrary` one time in `n`, undefined otherwise (fc.option's freq counts the other way). */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: n - 1 }, { arbitrary, weight: 1 });

/** What a case may answer: 'ok' must be 2xx, 'fail' must not be 2xx nor carry a token, 'either' only obeys the shapes. */
type Expectation = 'ok' | 'fail' | 'either';

interface Built {
  req: FuzzRequest;
  expect: Expectation;
  /** Further checks of this response. */
  check?: (res: FuzzResponse) => string[];
  /** Runs after a 2xx: a chain advances to the tokens it returned. */
  onSuccess?: (json: Record<string, unknown>) => void;
}

interface Stats {
  generated: number;
  byEndpoint: Record<string, number>;
  byStatus: Record<string, number>;
  rateLimited: number;
  slowest: { ms: number; what: string };
}

type Encoding = { as: 'json' } | { as: 'form' } | { as: 'type'; type: string | undefined };

const encoding: fc.Arbitrary<Encoding> = fc.oneof(
  { arbitrary: fc.constant({ as: 'json' as const }), weight: 8 },
  { arbitrary: fc.constant({ as: 'form' as const }), weight: 1 },
  { arbitrary: contentType.map((type) => ({ as: 'type' as const, type })), weight: 1 },
);

function formValue(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? ''));
  return [typeof value === 'string' ? value : JSON.stringify(value) ?? String(value)];
}

/** The body as the server sees it after parsing, for deciding whether a mutation left it equivalent. */
function encodeBody(body: Record<string, unknown>, how: Encoding, proto?: string): { headers: Record<string, string>; body: string; seen: Record<string, unknown> } {
  if (how.as === 'form') {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(body)) for (const item of formValue(v)) params.append(k, item);
    // The form parser builds an object from names: prototype names are its pollution vector.
    if (proto) params.append(['__proto__', 'constructor', 'prototype', '__proto__[admin]'][proto.length % 4]!, 'true');
    const seen: Record<string, unknown> = {};
    for (const key of new Set(params.keys())) {
      const all = params.getAll(key);
      seen[key] = all.length === 1 ? all[0] : all;
    }
    return { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: params.toString(), seen };
  }
  const json = proto ? spliceIntoObject(JSON.stringify(body), proto, proto.length % 2 === 0) : JSON.stringify(body);
  const headers: Record<string, string> = {};
  const type = how.as === 'json' ? 'application/json' : how.type;
  if (type !== undefined) headers['content-type'] = type;
  return { headers, body: json, seen: proto ? { ...body, [proto.slice(1, proto.indexOf('"', 1))]: 'proto' } : body };
}

const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);

/** Changes one hex digit of a string to a different value (case-insensitively different). */
function flipHexDigit(hex: string, index: number, xor: number, skip = 0): string {
  const i = skip + (index % Math.max(1, hex.length - skip));
  const digit = parseInt(hex[i] ?? '0', 16);
  if (Number.isNaN(digit)) return `${hex}0`;
  return hex.slice(0, i) + ((digit ^ ((xor % 15) + 1)) & 15).toString(16) + hex.slice(i + 1);
}

describe('fuzz: every public endpoint, seeded', () => {
  let storage: TestStorage;
  let service: TestApp;
  let client: FuzzClient;
  let world: FuzzWorld;
  const started = Date.now();
  const stats: Stats = { generated: 0, byEndpoint: {}, byStatus: {}, rateLimited: 0, slowest: { ms: 0, what: '' } };

  beforeAll(async () => {
    storage = await createTestStorage('fuzz');
    service = await startTestApp({
      ...storage.env,
      BODY_LIMIT_BYTES: String(BODY_LIMIT),
      // Rate limits (0 turns each off) would turn thousands of requests from one address into 429s.
      RATE_LIMIT_PER_IP: '0',
      RATE_LIMIT_FAILURES_PER_IDENTITY: '0',
    });
    client = FuzzClient.of(service.app, REQUEST_TIMEOUT_MS);
    world = await createFuzzWorld(service.app, client, LANES);
    console.log(`fuzz: seed ${SEED} (FUZZ_SEED), scale ${SCALE} (FUZZ_SCALE), body limit ${BODY_LIMIT} bytes`);
  }, 120_000);

  afterAll(async () => {
    console.log(
      `fuzz: seed ${SEED}; ${stats.generated} generated requests (${client?.sent ?? 0} sent in all, ${world?.helperRequests ?? 0} of them helper logins) in ${((Date.now() - started) / 1000).toFixed(1)} s` +
        `\n  per endpoint: ${JSON.stringify(stats.byEndpoint)}\n  statuses: ${JSON.stringify(stats.byStatus)}\n  429 rate-limited: ${stats.rateLimited}; slowest answer ${stats.slowest.ms} ms (${stats.slowest.what})`,
    );
    client?.close();
    await service?.close();
    await storage?.cleanup();
  });

  /** Sends one generated request and checks every property; throws with the request and response. */
  async function exercise(endpoint: string, built: Built): Promise<void> {
    stats.generated += 1;
    stats.byEndpoint[endpoint] = (stats.byEndpoint[endpoint] ?? 0) + 1;
    let res: FuzzResponse;
    const sentAt = Date.now();
    try {
      res = await client.send(built.req);
      const ms = Date.now() - sentAt;
      if (ms > stats.slowest.ms) stats.slowest = { ms, what: `${built.req.method} ${built.req.path} -> ${res.status}` };
    } catch (error) {
      throw new Error(`no HTTP answer (${(error as Error).message})\n${describeRequest(built.req)}`, { cause: error });
    }
    stats.byStatus[res.status] = (stats.byStatus[res.status] ?? 0) + 1;
    const problems = shapeProblems(built.req, res);
    const ok = res.status >= 200 && res.status < 300;
    if (res.status >= 500) problems.unshift(`HTTP ${res.status}`);
    if (res.status === 429) {
      stats.rateLimited += 1;
    } else if (res.status < 500) {
      if (built.expect === 'ok' && !ok) problems.push(`a valid request was refused`);
      if (built.expect === 'fail' && ok) problems.push(`an invalid request succeeded`);
      if (built.expect === 'fail' && carriesToken(res.json)) problems.push(`a token was issued for an invalid request`);
      if (built.check) problems.push(...built.check(res));
    }
    if (problems.length > 0) {
      throw new Error(`${problems.join('; ')} (expected ${built.expect})\n${describeRequest(built.req)}\n  => ${describeResponse(res)}`);
    }
    if (ok && built.onSuccess) built.onSuccess(res.json as Record<string, unknown>);
  }

  /**
   * Checks `build` over `requests` generated cases, LANES at a time: one run is a batch of LANES
   * cases sent together, the i-th with lane i's chains.
   */
  const property = <T>(endpoint: string, arbitrary: fc.Arbitrary<T>, build: (c: T, lane: Lane) => Built | Promise<Built>, requests: number) =>
    fc.assert(
      fc.asyncProperty(fc.array(arbitrary, { minLength: LANES, maxLength: LANES }), async (batch) => {
        const outcomes = await Promise.allSettled(batch.map(async (c, i) => exercise(endpoint, await build(c, world.lanes[i]!))));
        const failures = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [`[lane ${i}] ${(o.reason as Error).message}`] : []));
        if (failures.length > 0) throw new Error(failures.join('\n\n'));
      }),
      // No shrinking: the service keeps state (rotated chains, replay records), so a replayed case would not fail for the same reason.
      { seed: SEED, numRuns: Math.ceil(requests / LANES), endOnFailure: true },
    );

  const withHeaders = (req: FuzzRequest, ...extra: (Record<string, string> | undefined)[]): FuzzRequest => ({
    ...req,
    headers: Object.assign({}, ...extra.filter(Boolean), req.headers) as Record<string, string>,
  });

  const envelopeOk = (res: FuzzResponse): string[] => (res.status === 200 ? envelopeProblems(res, false) : []);

  /** The FIB and Ethereum token responses: the envelope with both tokens. */
  const pairAnswer = (res: FuzzResponse): string[] => {
    if (res.status !== 200) return [];
    const data = (res.json as { data?: Record<string, unknown> }).data;
    const problems = envelopeProblems(res, false);
    if (typeof data?.accessToken !== 'string' || typeof data?.refreshToken !== 'string') problems.push('200 without a token pair');
    return problems;
  };

  // ---- POST /auth/api/v1/authentication-management/session -------------------------------------

  type FibMutation = FieldMutation | { kind: 'flip'; field: 'signature' | 'authPublicKeyHex'; index: number; xor: number } | { kind: 'borrow'; field: 'email' | 'signature' | 'authPublicKeyHex'; from: number } | { kind: 'both-keys'; from: number };
  type FibLoginCase =
    | { t: 'valid'; user: number; login: number; alias: boolean; auth?: string; noise: Record<string, string> }
    | { t: 'mutate'; user: number; login: number; mutation: FibMutation; how: Encoding; proto?: string; auth?: string }
    | { t: 'whole'; body: string | Uint8Array; type: string | undefined; auth?: string };

  const fibFields = ['email', 'signature', 'authPublicKeyHex'] as const;
  const fibLoginCase: fc.Arbitrary<FibLoginCase> = fc.oneof(
    { arbitrary: fc.record({ t: fc.constant('valid' as const), user: fc.nat(3), login: fc.nat(2), alias: fc.boolean(), auth: sometimes(garbageAuthorization, 3), noise: noiseHeaders }), weight: 2 },
    {
      arbitrary: fc.record({
        t: fc.constant('mutate' as const),
        user: fc.nat(3),
        login: fc.nat(2),
        mutation: fc.oneof(
          { arbitrary: fieldMutation(fibFields, fc.oneof(hostileValue, nearHex(128), nearHex(64))), weight: 6 },
          { arbitrary: fc.record({ kind: fc.constant('flip' as const), field: fc.constantFrom('signature' as const, 'authPublicKeyHex' as const), index: fc.nat(127), xor: fc.nat(14) }), weight: 2 },
          { arbitrary: fc.record({ kind: fc.constant('borrow' as const), field: fc.constantFrom(...fibFields), from: fc.nat(3) }), weight: 1 },
          { arbitrary: fc.record({ kind: fc.constant('both-keys' as const), from: fc.nat(3) }), weight: 1 },
        ),
        how: encoding,
        proto: sometimes(protoPollution, 8),
        auth: sometimes(garbageAuthorization, 2),
      }),
      weight: 6,
    },
    { arbitrary: fc.record({ t: fc.constant('whole' as const), body: wholeBody, type: contentType, auth: sometimes(garbageAuthorization, 2) }), weight: 2 },
  );

  function buildFibLogin(c: FibLoginCase): Built {
    const path = `${FIB}/session`;
    if (c.t === 'whole') {
      return { req: { method: 'POST', path, headers: { ...(c.type !== undefined ? { 'content-type': c.type } : {}), ...(c.auth !== undefined ? { authorization: c.auth } : {}) }, body: c.body }, expect: 'fail' };
    }
    const who = world.fib[c.user]!;
    const login = who.logins[c.login % who.logins.length]!;
    const valid: Record<string, unknown> = { email: login.email, signature: login.signature, authPublicKeyHex: who.key.publicKeyHex };
    if (c.t === 'valid') {
      const body = c.alias ? { email: login.email, signature: login.signature, publicKey: who.key.publicKeyHex } : valid;
      const req = withHeaders({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, c.noise, c.auth !== undefined ? { authorization: c.auth } : undefined);
      return { req, expect: 'ok', check: pairAnswer };
    }
    let mutated: Record<string, unknown>;
    const m = c.mutation;
    if (m.kind === 'flip') mutated = { ...valid, [m.field]: flipHexDigit(valid[m.field] as string, m.index, m.xor) };
    else if (m.kind === 'borrow') {
      const other = world.fib[m.from === c.user ? (m.from + 1) % world.fib.length : m.from]!;
      const theirs = { email: other.logins[0]!.email, signature: other.logins[0]!.signature, authPublicKeyHex: other.key.publicKeyHex };
      mutated = { ...valid, [m.field]: theirs[m.field] };
    } else if (m.kind === 'both-keys') {
      const other = world.fib[m.from === c.user ? (m.from + 1) % world.fib.length : m.from]!;
      mutated = { ...valid, publicKey: other.key.publicKeyHex };
    } else mutated = applyMutation(valid, m);
    const encoded = encodeBody(mutated, c.how, c.proto);
    const seen = encoded.seen;
    const keys = Object.keys(seen).sort().join(',');
    // A mutation that leaves the body meaning the same (hex case, an identical value) may succeed.
    const equivalent =
      (keys === 'authPublicKeyHex,email,signature' || keys === 'email,publicKey,signature') &&
      seen.email === valid.email &&
      lower(seen.signature) === lower(valid.signature) &&
      lower(seen.authPublicKeyHex ?? seen.publicKey) === lower(valid.authPublicKeyHex);
    const req = withHeaders({ method: 'POST', path, headers: encoded.headers, body: encoded.body }, c.auth !== undefined ? { authorization: c.auth } : undefined);
    return { req, expect: equivalent ? 'either' : 'fail', check: pairAnswer };
  }

  it('POST /session (FIB login): valid, one field mutated, whole bodies, content types', async () => {
    await property('fib-login', fibLoginCase, buildFibLogin, runs(1700));
  }, PROPERTY_TIMEOUT_MS);

  // ---- PATCH /session and POST /logout ------------------------------------------------------------

  type TokenSource = keyof TokenPool | 'chain';
  type HeaderTokenCase =
    | { t: 'valid'; scheme: string }
    | { t: 'corrupt'; source: TokenSource; corruption: TokenCorruption; scheme: string }
    | { t: 'wrong-kind'; source: keyof TokenPool; scheme: string }
    | { t: 'garbage'; auth: string | undefined }
    | { t: 'junk-body'; auth: string | undefined; body: string | Uint8Array; type: string | undefined };

  const scheme = fc.constantFrom('', 'Bearer ', 'bearer ', 'BEARER ', 'Bearer   ', ' Bearer ', 'JWT ');
  const headerTokenCase = (wrongKinds: (keyof TokenPool)[], corruptible: TokenSource[], validWeight: number): fc.Arbitrary<HeaderTokenCase> =>
    fc.oneof(
      { arbitrary: fc.record({ t: fc.constant('valid' as const), scheme }), weight: validWeight },
      { arbitrary: fc.record({ t: fc.constant('corrupt' as const), source: fc.constantFrom(...corruptible), corruption: tokenCorruption, scheme }), weight: 5 },
      { arbitrary: fc.record({ t: fc.constant('wrong-kind' as const), source: fc.constantFrom(...wrongKinds), scheme }), weight: 1 },
      { arbitrary: fc.record({ t: fc.constant('garbage' as const), auth: fc.option(garbageAuthorization, { nil: undefined, freq: 10 }) }), weight: 3 },
      { arbitrary: fc.record({ t: fc.constant('junk-body' as const), auth: fc.option(garbageAuthorization, { nil: undefined, freq: 5 }), body: wholeBody, type: contentType }), weight: 1 },
    );

  function headerTokenRequest(method: string, path: string, c: Exclude<HeaderTokenCase, { t: 'valid' }>, chain: string): FuzzRequest {
    const token = (source: TokenSource) => (source === 'chain' ? chain : world.pool[source]);
    switch (c.t) {
      case 'corrupt':
        return { method, path, headers: { authorization: c.scheme + corruptToken(token(c.source), c.corruption) } };
      case 'wrong-kind':
        return { method, path, headers: { authorization: c.scheme + token(c.source) } };
      case 'garbage':
        return { method, path, headers: c.auth !== undefined ? { authorization: c.auth } : {} };
      case 'junk-body':
        return { method, path, headers: { ...(c.auth !== undefined ? { authorization: c.auth } : {}), ...(c.type !== undefined ? { 'content-type': c.type } : {}) }, body: c.body };
    }
  }

  it('PATCH /session (FIB refresh): the live token, corrupted tokens, wrong kinds, garbage headers', async () => {
    const arbitrary = headerTokenCase(['fibAccess', 'walletAccess', 'serviceAccess'], ['chain', 'fibRefresh', 'walletRefresh'], 2);
    await property(
      'fib-refresh',
      arbitrary,
      (c, lane): Built => {
        if (c.t === 'valid') {
          return {
            req: { method: 'PATCH', path: `${FIB}/session`, headers: { authorization: c.scheme + lane.fibRefresh } },
            expect: 'ok',
            check: pairAnswer,
            onSuccess: (json) => {
              lane.fibRefresh = (json.data as { refreshToken: string }).refreshToken;
            },
          };
        }
        return {
          req: headerTokenRequest('PATCH', `${FIB}/session`, c, lane.fibRefresh),
          expect: 'fail',
          // Only a success that presented the chain's own token (a known defect) rotates the chain.
          onSuccess: (json) => {
            if (c.t === 'corrupt' && c.source === 'chain') lane.fibRefresh = (json.data as { refreshToken: string }).refreshToken;
          },
        };
      },
      runs(1000),
    );
  }, PROPERTY_TIMEOUT_MS);

  it('POST /logout: a fresh access token, corrupted tokens, refresh tokens, garbage headers', async () => {
    const arbitrary = headerTokenCase(['fibRefresh', 'walletRefresh'], ['fibAccess', 'walletAccess', 'serviceAccess'], 1);
    await property(
      'fib-logout',
      arbitrary,
      async (c): Promise<Built> => {
        if (c.t === 'valid') {
          const pair = await fibLogin(world, world.fib[1]!);
          return {
            req: { method: 'POST', path: `${FIB}/logout`, headers: { authorization: c.scheme + pair.accessToken } },
            expect: 'ok',
            check: (res) => (res.status === 200 && JSON.stringify((res.json as { data?: unknown }).data) !== '{}' ? ['logout answered data other than {}'] : envelopeOk(res)),
          };
        }
        return { req: headerTokenRequest('POST', `${FIB}/logout`, c, world.pool.fibAccess), expect: 'fail' };
      },
      runs(700),
    );
  }, PROPERTY_TIMEOUT_MS);

  // ---- POST /api/auth/login ----------------------------------------------------------------------

  type WalletMutation =
    | FieldMutation
    | { kind: 'flip'; field: 'signature' | 'signer'; index: number; xor: number }
    | { kind: 'shift'; by: number }
    | { kind: 'other-signer' }
    | { kind: 'stale'; minutes: number }
    | { kind: 'seconds' }
    | { kind: 'replay' };
  type WalletLoginCase =
    | { t: 'valid'; wallet: number; form: 'rsv' | 'v01' | 'compact'; lowerSigner: boolean; noise: Record<string, string> }
    | { t: 'mutate'; wallet: number; mutation: WalletMutation; how: Encoding; proto?: string }
    | { t: 'whole'; body: string | Uint8Array; type: string | undefined };

  const walletFields = ['signer', 'timestampInMs', 'signature'] as const;
  const walletLoginCase: fc.Arbitrary<WalletLoginCase> = fc.oneof(
    { arbitrary: fc.record({ t: fc.constant('valid' as const), wallet: fc.nat(1), form: fc.constantFrom('rsv' as const, 'v01' as const, 'compact' as const), lowerSigner: fc.boolean(), noise: noiseHeaders }), weight: 2 },
    {
      arbitrary: fc.record({
        t: fc.constant('mutate' as const),
        wallet: fc.nat(1),
        mutation: fc.oneof(
          { arbitrary: fieldMutation(walletFields, fc.oneof(hostileValue, nearHex(40).map((h) => `0x${h}`), nearHex(130), hostileNumber)), weight: 6 },
          { arbitrary: fc.record({ kind: fc.constant('flip' as const), field: fc.constantFrom('signature' as const, 'signer' as const), index: fc.nat(129), xor: fc.nat(14) }), weight: 3 },
          { arbitrary: fc.record({ kind: fc.constant('shift' as const), by: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.constantFrom(-1, 1, 1000, -86_400_000)).filter((n) => n !== 0) }), weight: 1 },
          { arbitrary: fc.constant({ kind: 'other-signer' as const }), weight: 1 },
          { arbitrary: fc.record({ kind: fc.constant('stale' as const), minutes: fc.constantFrom(-60, -6, 6, 60 * 24) }), weight: 1 },
          { arbitrary: fc.constant({ kind: 'seconds' as const }), weight: 1 },
          { arbitrary: fc.constant({ kind: 'replay' as const }), weight: 1 },
        ),
        how: encoding,
        proto: sometimes(protoPollution, 8),
      }),
      weight: 6,
    },
    { arbitrary: fc.record({ t: fc.constant('whole' as const), body: wholeBody, type: contentType }), weight: 1 },
  );

  let lastWalletLogin: Record<string, unknown> | undefined;

  function buildWalletLogin(c: WalletLoginCase): Built {
    const path = '/api/auth/login';
    if (c.t === 'whole') return { req: { method: 'POST', path, headers: c.type !== undefined ? { 'content-type': c.type } : {}, body: c.body }, expect: 'fail' };
    const wallet = world.wallets[c.wallet]!;
    if (c.t === 'valid') {
      const body = walletLoginBody(world, wallet, c.form, c.lowerSigner);
      return {
        req: withHeaders({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, c.noise),
        expect: 'ok',
        check: pairAnswer,
        onSuccess: () => {
          lastWalletLogin = body;
        },
      };
    }
    const valid: Record<string, unknown> = walletLoginBody(world, wallet);
    const m = c.mutation;
    let mutated: Record<string, unknown>;
    switch (m.kind) {
      case 'flip':
        mutated = { ...valid, [m.field]: flipHexDigit(valid[m.field] as string, m.index, m.xor, 2) };
        break;
      case 'shift':
        mutated = { ...valid, timestampInMs: (valid.timestampInMs as number) + m.by };
        break;
      case 'other-signer':
        mutated = { ...valid, signer: world.wallets[(c.wallet + 1) % world.wallets.length]!.address };
        break;
      case 'stale': {
        const timestampInMs = world.nextTimestamp() + m.minutes * 60_000;
        mutated = { signer: wallet.address, timestampInMs, signature: wallet.signingKey.sign(hashTimestamp(timestampInMs)).serialized };
        break;
      }
      case 'seconds': {
        const timestampInMs = Math.floor(world.nextTimestamp() / 1000);
        mutated = { signer: wallet.address, timestampInMs, signature: wallet.signingKey.sign(hashTimestamp(timestampInMs)).serialized };
        break;
      }
      case 'replay':
        mutated = lastWalletLogin ?? { ...valid, signature: '0x' };
        break;
      default:
        mutated = applyMutation(valid, m);
    }
    const encoded = encodeBody(mutated, c.how, c.proto);
    const seen = encoded.seen;
    const equivalent =
      m.kind !== 'replay' &&
      Object.keys(seen).sort().join(',') === 'signature,signer,timestampInMs' &&
      lower(seen.signer) === lower(valid.signer) &&
      seen.timestampInMs === valid.timestampInMs &&
      lower(seen.signature) === lower(valid.signature);
    return { req: { method: 'POST', path, headers: encoded.headers, body: encoded.body }, expect: equivalent ? 'either' : 'fail', check: pairAnswer };
  }

  it('POST /api/auth/login (Ethereum): fresh signatures, one field mutated, replays, stale timestamps', async () => {
    await property('wallet-login', walletLoginCase, buildWalletLogin, runs(1400));
  }, PROPERTY_TIMEOUT_MS);

  // ---- POST /api/auth/refresh --------------------------------------------------------------------

  type WalletRefreshCase =
    | { t: 'valid'; noise: Record<string, string> }
    | { t: 'mutate'; mutation: FieldMutation | { kind: 'corrupt'; field: 'expiredAccessToken' | 'refreshToken'; corruption: TokenCorruption } | { kind: 'swap' } | { kind: 'foreign'; field: 'expiredAccessToken' | 'refreshToken'; source: keyof TokenPool }; how: Encoding; proto?: string }
    | { t: 'whole'; body: string | Uint8Array; type: string | undefined };

  const walletRefreshCase: fc.Arbitrary<WalletRefreshCase> = fc.oneof(
    { arbitrary: fc.record({ t: fc.constant('valid' as const), noise: noiseHeaders }), weight: 2 },
    {
      arbitrary: fc.record({
        t: fc.constant('mutate' as const),
        mutation: fc.oneof(
          { arbitrary: fieldMutation(['expiredAccessToken', 'refreshToken']), weight: 4 },
          { arbitrary: fc.record({ kind: fc.constant('corrupt' as const), field: fc.constantFrom('expiredAccessToken' as const, 'refreshToken' as const), corruption: tokenCorruption }), weight: 4 },
          { arbitrary: fc.constant({ kind: 'swap' as const }), weight: 1 },
          { arbitrary: fc.record({ kind: fc.constant('foreign' as const), field: fc.constantFrom('expiredAccessToken' as const, 'refreshToken' as const), source: fc.constantFrom<keyof TokenPool>('fibAccess', 'fibRefresh', 'walletAccess', 'walletRefresh', 'serviceAccess') }), weight: 2 },
        ),
        how: encoding,
        proto: sometimes(protoPollution, 8),
      }),
      weight: 6,
    },
    { arbitrary: fc.record({ t: fc.constant('whole' as const), body: wholeBody, type: contentType }), weight: 1 },
  );

  it('POST /api/auth/refresh (Ethereum): the live pair, mutated pairs of fresh sessions, foreign tokens', async () => {
    await property(
      'wallet-refresh',
      walletRefreshCase,
      async (c, lane): Promise<Built> => {
        const path = '/api/auth/refresh';
        if (c.t === 'whole') return { req: { method: 'POST', path, headers: c.type !== undefined ? { 'content-type': c.type } : {}, body: c.body }, expect: 'fail' };
        if (c.t === 'valid') {
          const { accessToken, refreshToken } = lane.walletPair;
          return {
            req: withHeaders({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ expiredAccessToken: accessToken, refreshToken }) }, c.noise),
            expect: 'ok',
            check: pairAnswer,
            onSuccess: (json) => {
              lane.walletPair = json.data as Lane['walletPair'];
            },
          };
        }
        // Each mutation breaks a live pair of its own: a broken pair revokes its session, so the chain is never used here.
        const pair = await walletLogin(world, world.wallets[1]!);
        const valid: Record<string, unknown> = { expiredAccessToken: pair.accessToken, refreshToken: pair.refreshToken };
        const m = c.mutation;
        let mutated: Record<string, unknown>;
        if (m.kind === 'corrupt') mutated = { ...valid, [m.field]: corruptToken(valid[m.field] as string, m.corruption) };
        else if (m.kind === 'swap') mutated = { expiredAccessToken: pair.refreshToken, refreshToken: pair.accessToken };
        else if (m.kind === 'foreign') mutated = { ...valid, [m.field]: world.pool[m.source] };
        else mutated = applyMutation(valid, m);
        const encoded = encodeBody(mutated, c.how, c.proto);
        const seen = encoded.seen;
        const equivalent = Object.keys(seen).sort().join(',') === 'expiredAccessToken,refreshToken' && seen.expiredAccessToken === valid.expiredAccessToken && seen.refreshToken === valid.refreshToken;
        return { req: { method: 'POST', path, headers: encoded.headers, body: encoded.body }, expect: equivalent ? 'either' : 'fail', check: pairAnswer };
      },
      runs(800),
    );
  }, PROPERTY_TIMEOUT_MS);

  // ---- POST /v1/users/authorize ------------------------------------------------------------------

  type AuthorizeBody = { t: 'none' } | { t: 'empty' } | { t: 'ttl'; ttl: number };
  type AuthorizeCase =
    | { t: 'valid'; emailForm: 'exact' | 'upper' | 'padded'; scheme: string; body: AuthorizeBody; noise: Record<string, string> }
    | { t: 'bad-credentials'; change: 'flip' | 'append' | 'truncate' | 'unknown' | 'empty-password' | 'no-colon' | 'case'; index: number; body: AuthorizeBody }
    | { t: 'bad-body'; body: { t: 'mutate'; mutation: FieldMutation; how: Encoding; proto?: string } | { t: 'whole'; body: string | Uint8Array; type: string | undefined }; goodCredentials: boolean }
    | { t: 'garbage'; auth: string | undefined };

  const validTtl = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 86400;
  const authorizeBody: fc.Arbitrary<AuthorizeBody> = fc.oneof(
    fc.constant({ t: 'none' as const }),
    fc.constant({ t: 'empty' as const }),
    fc.record({ t: fc.constant('ttl' as const), ttl: fc.oneof(fc.constantFrom(1, 60, 300, 86400), fc.integer({ min: 1, max: 86400 })) }),
  );
  const ttlMutation = fieldMutation(['ttl'], fc.oneof(hostileValue, hostileNumber).filter((v) => !validTtl(v)));
  const authorizeCase: fc.Arbitrary<AuthorizeCase> = fc.oneof(
    { arbitrary: fc.record({ t: fc.constant('valid' as const), emailForm: fc.constantFrom('exact' as const, 'upper' as const, 'padded' as const), scheme: fc.constantFrom('Basic ', 'basic ', 'BASIC ', 'Basic  '), body: authorizeBody, noise: noiseHeaders }), weight: 2 },
    { arbitrary: fc.record({ t: fc.constant('bad-credentials' as const), change: fc.constantFrom('flip' as const, 'append' as const, 'truncate' as const, 'unknown' as const, 'empty-password' as const, 'no-colon' as const, 'case' as const), index: fc.nat(40), body: authorizeBody }), weight: 3 },
    {
      arbitrary: fc.record({
        t: fc.constant('bad-body' as const),
        body: fc.oneof(
          fc.record({ t: fc.constant('mutate' as const), mutation: ttlMutation, how: encoding, proto: sometimes(protoPollution, 6) }),
          fc.record({ t: fc.constant('whole' as const), body: wholeBody, type: contentType }),
        ),
        goodCredentials: fc.boolean(),
      }),
      weight: 3,
    },
    { arbitrary: fc.record({ t: fc.constant('garbage' as const), auth: fc.option(garbageAuthorization, { nil: undefined, freq: 10 }) }), weight: 2 },
  );

  function authorizeBodyRequest(body: AuthorizeBody): Pick<FuzzRequest, 'headers' | 'body'> {
    if (body.t === 'none') return { headers: {} };
    return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body.t === 'empty' ? {} : { ttl: body.ttl }) };
  }

  const accessTokenAnswer = (res: FuzzResponse): string[] =>
    res.status === 200 && (Object.keys(res.json as object).join(',') !== 'access_token' || typeof (res.json as { access_token?: unknown }).access_token !== 'string') ? ['200 is not { access_token }'] : [];

  function buildAuthorize(c: AuthorizeCase): Built {
    const path = '/v1/users/authorize';
    const { email, password } = world.service;
    if (c.t === 'valid') {
      const who = c.emailForm === 'exact' ? email : c.emailForm === 'upper' ? email.toUpperCase() : `  ${email} `;
      const body = authorizeBodyRequest(c.body);
      const credentials = Buffer.from(`${who}:${password}`).toString('base64');
      return { req: withHeaders({ method: 'POST', path, headers: { ...body.headers, authorization: c.scheme + credentials }, body: body.body }, c.noise), expect: 'ok', check: accessTokenAnswer };
    }
    if (c.t === 'bad-credentials') {
      const i = c.index % password.length;
      const pick: Record<typeof c.change, string> = {
        flip: basicAuth(email, password.slice(0, i) + String.fromCharCode(password.charCodeAt(i) ^ 1) + password.slice(i + 1)),
        append: basicAuth(email, `${password}x`),
        truncate: basicAuth(email, password.slice(0, i)),
        unknown: basicAuth(`nobody${c.index}@svc.example`, password),
        'empty-password': basicAuth(email, ''),
        'no-colon': `Basic ${Buffer.from(email + password).toString('base64')}`,
        case: basicAuth(email, password.toUpperCase()),
      };
      const body = authorizeBodyRequest(c.body);
      return { req: { method: 'POST', path, headers: { ...body.headers, authorization: pick[c.change] }, body: body.body }, expect: 'fail', check: accessTokenAnswer };
    }
    if (c.t === 'garbage') return { req: { method: 'POST', path, headers: c.auth !== undefined ? { authorization: c.auth } : {} }, expect: 'fail' };
    const auth = c.goodCredentials ? basicAuth(email, password) : basicAuth(email, 'wrong');
    if (c.body.t === 'whole') {
      // null, "" and an absent body mean the default ttl: with good credentials these may succeed.
      const text = (typeof c.body.body === 'string' ? c.body.body : Buffer.from(c.body.body).toString('utf8')).trim();
      const harmless = text === '' || text === 'null' || text === '{}' || text === '""';
      return {
        req: { method: 'POST', path, headers: { authorization: auth, ...(c.body.type !== undefined ? { 'content-type': c.body.type } : {}) }, body: c.body.body },
        expect: c.goodCredentials && harmless ? 'either' : 'fail',
        check: accessTokenAnswer,
      };
    }
    const encoded = encodeBody(applyMutation({ ttl: 300 }, c.body.mutation), c.body.how, c.body.proto);
    const seen = encoded.seen;
    const harmless = Object.keys(seen).length === 0 || (Object.keys(seen).join(',') === 'ttl' && validTtl(seen.ttl));
    return { req: { method: 'POST', path, headers: { ...encoded.headers, authorization: auth }, body: encoded.body }, expect: c.goodCredentials && harmless ? 'either' : 'fail', check: accessTokenAnswer };
  }

  it('POST /v1/users/authorize: good and bad Basic credentials, ttl values, bodies', async () => {
    await property('service-authorize', authorizeCase, buildAuthorize, runs(1300));
  }, PROPERTY_TIMEOUT_MS);

  // ---- POST /v1/users/refresh_jwt ----------------------------------------------------------------

  type RefreshJwtCase =
    | { t: 'valid'; scheme: 'JWT ' | 'Bearer ' | 'jwt ' | 'bearer '; ttl?: number }
    | { t: 'bad-ttl'; mutation: FieldMutation; how: Encoding }
    | { t: 'token'; inner: HeaderTokenCase };

  const refreshJwtCase: fc.Arbitrary<RefreshJwtCase> = fc.oneof(
    { arbitrary: fc.record({ t: fc.constant('valid' as const), scheme: fc.constantFrom('JWT ' as const, 'Bearer ' as const, 'jwt ' as const, 'bearer ' as const), ttl: fc.option(fc.integer({ min: 60, max: 86400 }), { nil: undefined }) }), weight: 2 },
    { arbitrary: fc.record({ t: fc.constant('bad-ttl' as const), mutation: ttlMutation, how: encoding }), weight: 2 },
    { arbitrary: fc.record({ t: fc.constant('token' as const), inner: headerTokenCase(['fibAccess', 'fibRefresh', 'walletAccess', 'walletRefresh'], ['chain', 'serviceAccess'], 0) }), weight: 5 },
  );

  it('POST /v1/users/refresh_jwt: the live token, ttl values, corrupted and foreign tokens', async () => {
    await property(
      'service-refresh-jwt',
      refreshJwtCase,
      (c, lane): Built => {
        const path = '/v1/users/refresh_jwt';
        const onSuccess = (json: Record<string, unknown>) => {
          lane.serviceToken = json.access_token as string;
        };
        if (c.t === 'valid') {
          const body = c.ttl === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ttl: c.ttl }) };
          return { req: { method: 'POST', path, headers: { authorization: c.scheme + lane.serviceToken, ...body.headers }, body: body.body }, expect: 'ok', check: accessTokenAnswer, onSuccess };
        }
        if (c.t === 'bad-ttl') {
          const encoded = encodeBody(applyMutation({ ttl: 300 }, c.mutation), c.how);
          const seen = encoded.seen;
          const harmless = Object.keys(seen).length === 0 || (Object.keys(seen).join(',') === 'ttl' && validTtl(seen.ttl));
          return {
            req: { method: 'POST', path, headers: { ...encoded.headers, authorization: `JWT ${lane.serviceToken}` }, body: encoded.body },
            expect: harmless ? 'either' : 'fail',
            check: accessTokenAnswer,
            onSuccess,
          };
        }
        if (c.inner.t === 'valid') throw new Error('unreachable: no valid weight');
        const inner = c.inner;
        return {
          req: headerTokenRequest('POST', path, inner, lane.serviceToken),
          expect: 'fail',
          check: accessTokenAnswer,
          onSuccess: (json) => {
            if (inner.t === 'corrupt' && inner.source === 'chain') onSuccess(json);
          },
        };
      },
      runs(900),
    );
  }, PROPERTY_TIMEOUT_MS);

  // ---- POST /auth/api/v1/token/introspect --------------------------------------------------------

  type Subject = { t: 'real'; source: keyof TokenPool } | { t: 'corrupt'; source: keyof TokenPool; corruption: TokenCorruption } | { t: 'garbage'; token: string };
  type IntrospectCase =
    | { t: 'ask'; caller: HeaderTokenCase; subject: Subject; how: Encoding; hint?: string }
    | { t: 'bad-body'; mutation: FieldMutation; how: Encoding; proto?: string }
    | { t: 'whole'; body: string | Uint8Array; type: string | undefined };

  const subject: fc.Arbitrary<Subject> = fc.oneof(
    fc.record({ t: fc.constant('real' as const), source: fc.constantFrom<keyof TokenPool>('fibAccess', 'fibRefresh', 'walletAccess', 'walletRefresh', 'serviceAccess') }),
    fc.record({ t: fc.constant('corrupt' as const), source: fc.constantFrom<keyof TokenPool>('fibAccess', 'fibRefresh', 'walletAccess', 'walletRefresh', 'serviceAccess'), corruption: tokenCorruption }),
    fc.record({ t: fc.constant('garbage' as const), token: fc.oneof(hostileString, garbageAuthorization) }),
  );
  const introspectCase: fc.Arbitrary<IntrospectCase> = fc.oneof(
    {
      arbitrary: fc.record({
        t: fc.constant('ask' as const),
        caller: headerTokenCase(['fibAccess', 'fibRefresh', 'walletAccess', 'walletRefresh'], ['chain', 'serviceAccess'], 5),
        subject,
        how: fc.oneof(fc.constant({ as: 'json' as const }), fc.constant({ as: 'form' as const })),
        hint: sometimes(fc.oneof(fc.constantFrom('access_token', 'refresh_token'), boundaryString), 3),
      }),
      weight: 6,
    },
    { arbitrary: fc.record({ t: fc.constant('bad-body' as const), mutation: fieldMutation(['token']), how: encoding, proto: sometimes(protoPollution, 6) }), weight: 2 },
    { arbitrary: fc.record({ t: fc.constant('whole' as const), body: wholeBody, type: contentType }), weight: 1 },
  );

  it('POST /token/introspect: callers of every kind, real, corrupted and garbage tokens, JSON and form bodies', async () => {
    await property(
      'introspect',
      introspectCase,
      (c): Built => {
        const bearer = { authorization: `Bearer ${world.introspector}` };
        if (c.t === 'whole') {
          const text = typeof c.body === 'string' ? c.body : '';
          // A random JSON object could be { "token": "..." }: then 200 { active: false } is right.
          return { req: { method: 'POST', path: INTROSPECT, headers: { ...bearer, ...(c.type !== undefined ? { 'content-type': c.type } : {}) }, body: c.body }, expect: /"token"/.test(text) ? 'either' : 'fail', check: inactiveUnlessReal(false) };
        }
        if (c.t === 'bad-body') {
          const encoded = encodeBody(applyMutation({ token: world.pool.fibAccess }, c.mutation), c.how, c.proto);
          const seen = encoded.seen;
          const stillValid = typeof seen.token === 'string' && Object.keys(seen).join(',') === 'token';
          return { req: { method: 'POST', path: INTROSPECT, headers: { ...encoded.headers, ...bearer }, body: encoded.body }, expect: stillValid ? 'either' : 'fail', check: inactiveUnlessReal(seen.token === world.pool.fibAccess) };
        }
        const token = c.subject.t === 'real' ? world.pool[c.subject.source] : c.subject.t === 'corrupt' ? corruptToken(world.pool[c.subject.source], c.subject.corruption) : c.subject.token;
        const body: Record<string, unknown> = c.hint === undefined ? { token } : { token, token_type_hint: c.hint };
        const encoded = encodeBody(body, c.how);
        const caller: FuzzRequest =
          c.caller.t === 'valid'
            ? { method: 'POST', path: INTROSPECT, headers: { authorization: c.caller.scheme.replace('JWT ', 'Bearer ') + world.introspector } }
            : headerTokenRequest('POST', INTROSPECT, c.caller.t === 'junk-body' ? { t: 'garbage', auth: c.caller.auth } : c.caller, world.introspector);
        const req: FuzzRequest = { ...caller, headers: { ...caller.headers, ...encoded.headers }, body: encoded.body };
        const goodCaller = c.caller.t === 'valid' && c.caller.scheme.trim().length > 0;
        const bodyValid = token.length >= 1 && token.length <= 8192 && (c.hint === undefined || c.hint === 'access_token' || c.hint === 'refresh_token');
        const expect: Expectation = !goodCaller && c.caller.t !== 'valid' ? 'fail' : goodCaller && bodyValid ? 'ok' : 'either';
        return { req, expect, check: inactiveUnlessReal(c.subject.t === 'real') };
      },
      runs(1100),
    );
  }, PROPERTY_TIMEOUT_MS);

  /** Introspection answers { active }: a token that is not a real one of ours is never active. */
  function inactiveUnlessReal(real: boolean) {
    return (res: FuzzResponse): string[] => {
      if (res.status !== 200) return [];
      const body = res.json as Record<string, unknown> | undefined;
      if (typeof body?.active !== 'boolean') return ['200 without a boolean active'];
      if (body.active && !real) return ['a corrupted or garbage token is active'];
      if (!body.active && Object.keys(body).length !== 1) return ['an inactive answer says more than { active: false }'];
      return [];
    };
  }

  // ---- GET /.well-known/jwks.json, /health/live, /health/ready -----------------------------------

  type PublicGetCase = { path: string; method: 'GET' | 'HEAD'; query?: string; auth?: string; noise: Record<string, string>; body?: { body: string | Uint8Array; type: string | undefined } };
  const publicGetCase: fc.Arbitrary<PublicGetCase> = fc.record({
    path: fc.constantFrom('/.well-known/jwks.json', '/health/live', '/health/ready'),
    method: fc.constantFrom('GET' as const, 'GET' as const, 'GET' as const, 'HEAD' as const),
    query: sometimes(fc.oneof(fc.webQueryParameters(), fc.constantFrom('a=1&a=2', '__proto__[x]=1', 'constructor=1', '=', '&&', 'a'.repeat(3000))), 2),
    auth: sometimes(garbageAuthorization, 3),
    noise: noiseHeaders,
    body: sometimes(fc.record({ body: wholeBody, type: contentType }), 5),
  });

  it('GET /.well-known/jwks.json and /health/*: query strings, headers and bodies do not matter', async () => {
    await property(
      'public-get',
      publicGetCase,
      (c): Built => {
        const req: FuzzRequest = withHeaders(
          { method: c.method, path: c.query === undefined ? c.path : `${c.path}?${c.query}`, headers: c.body?.type !== undefined ? { 'content-type': c.body.type } : {}, body: c.body?.body },
          c.noise,
          c.auth !== undefined ? { authorization: c.auth } : undefined,
        );
        const check = (res: FuzzResponse): string[] => {
          if (res.status !== 200 || c.method === 'HEAD') return [];
          const body = res.json as Record<string, unknown> | undefined;
          if (c.path === '/.well-known/jwks.json') {
            const keys = body?.keys;
            return Array.isArray(keys) && keys.length > 0 && keys.every((k: Record<string, unknown>) => k.kty === 'OKP' && k.crv === 'Ed25519' && !('d' in k)) ? [] : ['JWKS is not a list of public Ed25519 keys'];
          }
          return body?.status === 'ok' ? [] : ['health 200 without status ok'];
        };
        return { req, expect: c.body === undefined ? 'ok' : 'either', check };
      },
      runs(600),
    );
  }, PROPERTY_TIMEOUT_MS);

  // ---- Unknown routes and methods ----------------------------------------------------------------

  const ROUTES: [string, string][] = [
    ['POST', `${FIB}/session`],
    ['PATCH', `${FIB}/session`],
    ['POST', `${FIB}/logout`],
    ['POST', '/api/auth/login'],
    ['POST', '/api/auth/refresh'],
    ['POST', '/v1/users/authorize'],
    ['POST', '/v1/users/refresh_jwt'],
    ['POST', INTROSPECT],
    ['GET', '/.well-known/jwks.json'],
    ['GET', '/health/live'],
    ['GET', '/health/ready'],
  ];
  /** Paths other work may add routes under (admin, metrics, docs, challenges): only the shape is checked there. */
  const OPEN_PREFIXES = ['/auth/api/v1/admin', '/metrics', '/docs', `${FIB}/challenge`, '/api/auth/challenge', '/auth/api/v1/authentication-management/challenge'];

  type RouteCase = {
    method: string;
    base: number;
    change: 'none' | 'case' | 'slash' | 'double-slash' | 'segment' | 'drop' | 'dot' | 'prefix' | 'bad-escape';
    segment: string;
    index: number;
    auth?: string;
    body?: { body: string | Uint8Array; type: string | undefined };
    /** A header over Node's 16 KiB limit. */
    hugeHeader?: number;
  };
  const routeCase: fc.Arbitrary<RouteCase> = fc.record({
    // FOO is no HTTP method Node's parser knows: it is refused before routing.
    method: fc.oneof({ arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'SEARCH'), weight: 30 }, { arbitrary: fc.constant('FOO'), weight: 1 }),
    base: fc.nat(ROUTES.length - 1),
    change: fc.constantFrom('none' as const, 'case' as const, 'slash' as const, 'double-slash' as const, 'segment' as const, 'drop' as const, 'dot' as const, 'prefix' as const, 'bad-escape' as const),
    segment: fc.stringMatching(/^[a-z0-9_-]{1,12}$/),
    index: fc.nat(60),
    auth: sometimes(garbageAuthorization, 3),
    body: sometimes(fc.record({ body: wholeBody, type: contentType }), 3),
    hugeHeader: sometimes(fc.constantFrom(17_000, 40_000), 40),
  });

  function routePath(c: RouteCase): string {
    const path = ROUTES[c.base]![1];
    switch (c.change) {
      case 'none':
        return path;
      case 'case': {
        const letters = [...path].map((ch, i) => (/[a-z]/.test(ch) ? i : -1)).filter((i) => i >= 0);
        const i = letters[c.index % letters.length]!;
        return path.slice(0, i) + path[i]!.toUpperCase() + path.slice(i + 1);
      }
      case 'slash':
        return `${path}/`;
      case 'double-slash':
        return path.replace('/', '//');
      case 'segment':
        return `${path}/${c.segment}`;
      case 'drop':
        return path.slice(0, path.lastIndexOf('/')) || '/';
      case 'dot':
        return `${path}/../${path.split('/').pop()}`;
      case 'prefix':
        return `/${c.segment}${path}`;
      case 'bad-escape':
        return `${path.slice(0, path.lastIndexOf('/'))}/${['%', '%z', '%zz', '%E0%A4%A', '%C0%AF', '%00', '%ff'][c.index % 7]}`;
    }
  }

  it('unknown routes and methods: 404 in the shape of the API the path belongs to', async () => {
    await property(
      'routes',
      routeCase,
      (c): Built => {
        const path = routePath(c);
        const req: FuzzRequest = {
          // The 431 for an oversized header carries a body even for HEAD, which Node's client cannot parse.
          method: c.hugeHeader !== undefined && c.method === 'HEAD' ? 'GET' : c.method,
          path,
          headers: {
            ...(c.auth !== undefined ? { authorization: c.auth } : {}),
            ...(c.body?.type !== undefined ? { 'content-type': c.body.type } : {}),
            ...(c.hugeHeader !== undefined ? { 'x-padding': 'p'.repeat(c.hugeHeader) } : {}),
          },
          body: c.hugeHeader === undefined ? c.body?.body : undefined,
          ownConnection: c.hugeHeader !== undefined || c.method === 'FOO',
        };
        const routed = ROUTES.some(([m, p]) => p === path && (m === req.method || (m === 'GET' && req.method === 'HEAD')));
        const open = OPEN_PREFIXES.some((prefix) => path.startsWith(prefix)) || req.method === 'OPTIONS' || c.change === 'bad-escape' || c.change === 'dot';
        // Fastify parses a body before it finds no route: a body it cannot parse may be refused (413, 422, 400) first.
        const allowed = c.body === undefined ? [404, 429] : [404, 429, 413, errorShapeOf(path) === 'redis' ? 400 : 422];
        // Node's parser refuses what it cannot read (a method it does not know, a header over 16 KiB)
        // before any route is looked up: the API's 422 (400) or 431, with Connection: close.
        if (c.method === 'FOO') allowed.push(errorShapeOf(path) === 'redis' ? 400 : 422);
        if (c.hugeHeader !== undefined) allowed.push(431);
        const check = (res: FuzzResponse): string[] => (!routed && !open && !allowed.includes(res.status) ? [`HTTP ${res.status} for a route that does not exist`] : []);
        // Only the anonymous GETs may succeed: every POST and PATCH needs a body or token garbage cannot give.
        const anonymous = req.method === 'GET' || req.method === 'HEAD';
        return { req, expect: routed ? (anonymous ? 'either' : 'fail') : open ? 'either' : 'fail', check };
      },
      runs(800),
    );
  }, PROPERTY_TIMEOUT_MS);

  /** Whether a failed login claiming `email` reaches audit_events within `ms`. */
  async function audited(email: string, ms: number): Promise<boolean> {
    const key = world.fib[0]!.key;
    await client.send({ method: 'POST', path: `${FIB}/session`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, signature: '00'.repeat(64), authPublicKeyHex: key.publicKeyHex }) });
    for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      const rows = await withSql(storage, (query) => query('SELECT 1 FROM audit_events WHERE principal = $1', [email]));
      if (rows.length > 0) return true;
    }
    return false;
  }

  // PGlite is held by the service in this process: the audit table is read from outside only on PostgreSQL.
  const onPostgres = testBackend() === 'postgresql' ? it : it.skip;
  onPostgres('the audit log still records after the fuzz, and after identities carrying NUL', async () => {
    expect(await audited('sentinel-before@example.org', 5000)).toBe(true);
    const nul = 'nul\u0000@example.org';
    const poison: FuzzRequest[] = [
      { method: 'POST', path: `${FIB}/session`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: nul, signature: '00'.repeat(64), authPublicKeyHex: world.fib[0]!.key.publicKeyHex }) },
      { method: 'POST', path: '/api/auth/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ signer: '\u0000', timestampInMs: 1, signature: 'x' }) },
      { method: 'POST', path: '/v1/users/authorize', headers: { authorization: basicAuth(nul, 'x') } },
    ];
    for (const req of poison) await exercise('audit-poison', { req, expect: 'fail' });
    expect(await audited('sentinel-after@example.org', 3000)).toBe(true);
    // The poisoned identity itself is recorded, its NUL replaced.
    const rows = await withSql(storage, (query) => query('SELECT 1 FROM audit_events WHERE principal = $1', ['nul\uFFFD@example.org']));
    expect(rows.length).toBeGreaterThan(0);
  }, 30_000);

  it(`sent at least ${REQUIRED_REQUESTS} generated requests`, () => {
    if (SCALE >= 1) expect(stats.generated).toBeGreaterThanOrEqual(REQUIRED_REQUESTS);
  });
});

/** The EIP-191 hash of a decimal timestamp, as personal_sign computes it. */
function hashTimestamp(timestampInMs: number): string {
  return hashMessage(String(timestampInMs));
}
