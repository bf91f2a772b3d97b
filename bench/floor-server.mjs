// The floor: the least work a correct FIB login, refresh and introspection can do, on bare
// node:http with pg and node:crypto, no framework. `npm run bench` drives it beside sigauth so that
// sigauth's figures read as a distance to this one.
//
// Two logins: at the FIB path, the login that records nothing; at PERSISTED_LOGIN_PATH, the same
// login plus the session a refreshable, revocable login must persist: sigauth's own INSERT (the
// session row and its first refresh token in one statement, in sigauth's tables), in a commit of
// its own, answered only once it is committed.
//
//   DATABASE_URL=postgresql://... PORT=3100 FLOOR_WORKERS=2 node bench/floor-server.mjs
//
// It reads sigauth's tables (users, public_keys) and keeps its refresh tokens in a table of its
// own (floor_refresh_tokens), created at start.
import cluster from 'node:cluster';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto';
import http from 'node:http';
import { blake2b } from '@noble/hashes/blake2.js';
import pg from 'pg';

const PORT = Number(process.env.PORT ?? 3100);
const HOST = process.env.HOST ?? '127.0.0.1';
const WORKERS = Number(process.env.FLOOR_WORKERS ?? 2);
const POOL_SIZE = Number(process.env.DATABASE_POOL_SIZE ?? 10);
const ACCESS_TTL = 300;
const REFRESH_TTL = 86400;
const ISSUER = 'sigauth';
const AUDIENCE = 'sigauth';
const SESSION_PATH = '/auth/api/v1/authentication-management/session';
const INTROSPECT_PATH = '/auth/api/v1/token/introspect';
const PERSISTED_LOGIN_PATH = '/floor/persisted-session';
const FIB_CLIENT = 'fib';
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const HEX_64 = /^[0-9a-fA-F]{64}$/;
const HEX_128 = /^[0-9a-fA-F]{128}$/;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS floor_refresh_tokens (
  jti uuid PRIMARY KEY,
  parent_jti uuid,
  user_id uuid NOT NULL,
  sid uuid NOT NULL,
  expires_at timestamptz NOT NULL,
  rotated_at timestamptz
)`;

// One indexed read: the active user by normalized email (users_email_key) with its active keys.
const LOGIN_QUERY = {
  name: 'floor-login',
  text: `SELECT u.id, u.account, u.role, k.id AS key_id, k.public_key_hex
           FROM users u LEFT JOIN public_keys k ON k.user_id = u.id AND k.revoked_at IS NULL
          WHERE u.email = $1 AND u.status = 'ACTIVE'`,
};

// What sigauth's SessionRepository.create runs for a login: the session and its first refresh token.
const INSERT_SESSION_QUERY = {
  name: 'floor-insert-session',
  text: `WITH s AS (
           INSERT INTO sessions (id, user_id, client_id, credential_kind, credential_id, ip, user_agent, created_at, last_used_at, expires_at)
           VALUES ($1, $2, $3, 'ED25519_KEY'::"CredentialKind", $4, $5, $6, $7, $7, $8)
         ) INSERT INTO refresh_tokens (jti, session_id, issued_at, expires_at) VALUES ($9, $1, $7, $8)`,
};

// One round trip: retire the presented token (only once: rotated_at IS NULL), record its child,
// and read the still-active user the new access token is for.
const ROTATE_QUERY = {
  name: 'floor-rotate',
  text: `WITH old AS (
           UPDATE floor_refresh_tokens SET rotated_at = now()
            WHERE jti = $1 AND rotated_at IS NULL AND expires_at > now()
        RETURNING jti, user_id, sid
         ), child AS (
           INSERT INTO floor_refresh_tokens (jti, parent_jti, user_id, sid, expires_at)
           SELECT $2, old.jti, old.user_id, old.sid, $3 FROM old
             JOIN users u ON u.id = old.user_id AND u.status = 'ACTIVE'
        RETURNING user_id, sid
         )
         SELECT u.email, u.account, u.role, child.sid FROM child JOIN users u ON u.id = child.user_id`,
};

function primary() {
  const { privateKey } = generateKeyPairSync('ed25519');
  const signingKey = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('hex');
  let listening = 0;
  for (let i = 0; i < WORKERS; i++) {
    const worker = cluster.fork({ FLOOR_SIGNING_KEY: signingKey });
    worker.on('listening', () => {
      listening += 1;
      if (listening === WORKERS) console.log(`floor: ${WORKERS} workers listening on ${HOST}:${PORT}`);
    });
  }
  cluster.on('exit', (worker, code, signal) => {
    console.error(`floor: worker ${worker.process.pid} exited (${signal ?? code})`);
  });
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function base64urlJson(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function workerMain() {
  const privateKey = createPrivateKey({ key: Buffer.from(process.env.FLOOR_SIGNING_KEY, 'hex'), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  const kid = 'floor';
  const header = base64urlJson({ typ: 'JWT', alg: 'EdDSA', kid });
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: POOL_SIZE });
  const keyCache = new Map();

  function signJwt(claims, ttl, jti = randomUUID(), iat = Math.floor(Date.now() / 1000)) {
    const exp = iat + ttl;
    const input = `${header}.${base64urlJson({ ...claims, iss: ISSUER, aud: AUDIENCE, iat, exp, jti })}`;
    return { token: `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`, jti, exp };
  }

  /** The claims of a token this floor signed, unexpired and of the expected use, or undefined. */
  function verifyJwt(token, use) {
    if (typeof token !== 'string' || token.length > 4096) return undefined;
    const first = token.indexOf('.');
    const last = token.lastIndexOf('.');
    if (first <= 0 || last === first) return undefined;
    if (token.slice(0, first) !== header) return undefined;
    const signature = Buffer.from(token.slice(last + 1), 'base64url');
    if (signature.length !== 64 || !verify(null, Buffer.from(token.slice(0, last)), publicKey, signature)) return undefined;
    let claims;
    try {
      claims = JSON.parse(Buffer.from(token.slice(first + 1, last), 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    if (claims.token_use !== use || claims.iss !== ISSUER || claims.aud !== AUDIENCE) return undefined;
    if (typeof claims.exp !== 'number' || claims.exp <= Date.now() / 1000) return undefined;
    return claims;
  }

  function issuePair(user, sid, refreshJti = randomUUID(), iat = undefined) {
    const access = signJwt({ token_use: 'access', acc: user.account, sub: user.email, role: user.role, sid }, ACCESS_TTL, undefined, iat);
    const refresh = signJwt({ token_use: 'refresh', sub: user.email, acjti: access.jti, sid }, REFRESH_TTL, refreshJti, iat);
    return {
      accessToken: access.token,
      refreshToken: refresh.token,
      expirationTime: ACCESS_TTL,
      accessExpiryAt: access.exp * 1000,
      refreshExpiryAt: refresh.exp * 1000,
    };
  }

  function irohaDigests(email) {
    const plain = blake2b(Buffer.from(email, 'utf8'), { dkLen: 32 });
    const iroha = Uint8Array.from(plain);
    iroha[31] |= 1;
    return { plain, iroha };
  }

  function parsedKey(hex) {
    let key = keyCache.get(hex);
    if (!key) {
      key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
      keyCache.set(hex, key);
    }
    return key;
  }

  function send(res, code, name, message, data) {
    const body = JSON.stringify({ status: { code, name, message }, data });
    res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  function sendJson(res, code, value) {
    const body = JSON.stringify(value);
    res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  function readJson(req) {
    return new Promise((resolve) => {
      const chunks = [];
      let size = 0;
      req.on('data', (chunk) => {
        size += chunk.length;
        if (size <= 1048576) chunks.push(chunk);
      });
      req.on('end', () => {
        try {
          const value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          resolve(value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
  }

  function tokenOf(authorization) {
    if (typeof authorization !== 'string') return undefined;
    const match = /^(?:Bearer\s+)?(\S+)$/i.exec(authorization.trim());
    return match?.[1];
  }

  async function login(req, res, persist = false) {
    const body = await readJson(req);
    const email = body?.email;
    const keyHex = body?.authPublicKeyHex ?? body?.publicKey;
    if (typeof email !== 'string' || !email.includes('@') || typeof body.signature !== 'string' || typeof keyHex !== 'string') {
      return send(res, 422, 'ArgumentNotValid', 'malformed body', null);
    }
    if (!HEX_128.test(body.signature)) return send(res, 422, 'SignatureDecodeError', 'bad signature', null);
    if (!HEX_64.test(keyHex)) return send(res, 422, 'InvalidPublicKey', 'bad key', null);
    const { rows } = await pool.query({ ...LOGIN_QUERY, values: [email.trim().normalize('NFC').toLowerCase()] });
    if (rows.length === 0) return send(res, 404, 'UserNotFound', 'User not found.', null);
    const wanted = keyHex.toLowerCase();
    const row = rows.find((r) => r.public_key_hex === wanted);
    if (!row) return send(res, 401, 'InvalidSignature', 'Signature is not valid.', null);
    const key = parsedKey(row.public_key_hex);
    const signature = Buffer.from(body.signature, 'hex');
    const { plain, iroha } = irohaDigests(email);
    const valid = verify(null, iroha, key, signature) || ((plain[31] & 1) === 0 && verify(null, plain, key, signature));
    if (!valid) return send(res, 401, 'InvalidSignature', 'Signature is not valid.', null);
    const user = { email: email.trim().normalize('NFC').toLowerCase(), account: row.account, role: row.role };
    const sid = randomUUID();
    const refreshJti = randomUUID();
    const iat = Math.floor(Date.now() / 1000);
    const pair = issuePair(user, sid, refreshJti, iat);
    if (persist) {
      const userAgent = req.headers['user-agent']?.slice(0, 512) ?? null;
      const values = [sid, row.id, FIB_CLIENT, row.key_id, req.socket.remoteAddress ?? null, userAgent, new Date(iat * 1000), new Date(pair.refreshExpiryAt), refreshJti];
      await pool.query({ ...INSERT_SESSION_QUERY, values });
    }
    return send(res, 200, 'OK', 'User authorization has been successful.', pair);
  }

  async function refresh(req, res) {
    req.resume();
    const token = tokenOf(req.headers.authorization);
    if (!token) return send(res, 422, 'ArgumentNotValid', 'Authorization header is required', null);
    const claims = verifyJwt(token, 'refresh');
    if (!claims) return send(res, 401, 'InvalidToken', 'token is not valid', null);
    const childJti = randomUUID();
    const childExpiresAt = new Date((Math.floor(Date.now() / 1000) + REFRESH_TTL) * 1000);
    const { rows } = await pool.query({ ...ROTATE_QUERY, values: [claims.jti, childJti, childExpiresAt] });
    if (rows.length === 0) return send(res, 401, 'InvalidToken', 'refresh token is not live', null);
    return send(res, 200, 'OK', 'Tokens have been refreshed.', issuePair(rows[0], rows[0].sid, childJti));
  }

  // The caller's bearer and the token asked about are both verified: no DB, no revocation lookup.
  async function introspect(req, res) {
    const caller = verifyJwt(tokenOf(req.headers.authorization), 'access');
    const body = await readJson(req);
    if (!caller) return sendJson(res, 401, { error: 'unauthorized' });
    if (caller.role !== 'ROLE_SERVICE' && caller.role !== 'ROLE_ADMIN') return sendJson(res, 403, { error: 'forbidden' });
    if (typeof body?.token !== 'string') return sendJson(res, 400, { error: 'invalid_request' });
    const claims = verifyJwt(body.token, 'access');
    if (!claims) return sendJson(res, 200, { active: false });
    const { sub, acc, role, exp, iat, jti, iss, aud, token_use } = claims;
    return sendJson(res, 200, { active: true, sub, acc, role, exp, iat, jti, iss, aud, token_use });
  }

  // Bench setup only, never measured: `count` recorded refresh tokens for one user, so that the
  // refresh scenario has valid tokens to rotate (the floor's login records none).
  async function refreshPool(req, res) {
    const body = await readJson(req);
    const count = Math.min(Number(body?.count ?? 0), 10000);
    const { rows } = await pool.query(`SELECT id, email, account, role FROM users WHERE email = $1`, [body?.email]);
    if (rows.length === 0 || !(count > 0)) return sendJson(res, 400, { error: 'unknown user or bad count' });
    const user = rows[0];
    const expiresAt = new Date((Math.floor(Date.now() / 1000) + REFRESH_TTL) * 1000);
    const jtis = [];
    const sids = [];
    const tokens = [];
    for (let i = 0; i < count; i++) {
      const jti = randomUUID();
      const sid = randomUUID();
      jtis.push(jti);
      sids.push(sid);
      tokens.push(issuePair(user, sid, jti).refreshToken);
    }
    await pool.query(
      `INSERT INTO floor_refresh_tokens (jti, user_id, sid, expires_at) SELECT j, $1, s, $2 FROM unnest($3::uuid[], $4::uuid[]) AS t(j, s)`,
      [user.id, expiresAt, jtis, sids],
    );
    return sendJson(res, 200, { tokens });
  }

  async function ready(req, res) {
    req.resume();
    await pool.query('SELECT 1');
    return sendJson(res, 200, { status: 'ok' });
  }

  const routes = {
    [`POST ${SESSION_PATH}`]: (req, res) => login(req, res, false),
    [`POST ${PERSISTED_LOGIN_PATH}`]: (req, res) => login(req, res, true),
    [`PATCH ${SESSION_PATH}`]: refresh,
    [`POST ${INTROSPECT_PATH}`]: introspect,
    'POST /bench/refresh-pool': refreshPool,
    'GET /health/ready': ready,
  };

  const server = http.createServer((req, res) => {
    const handler = routes[`${req.method} ${req.url}`];
    if (!handler) {
      req.resume();
      return sendJson(res, 404, { error: 'not found' });
    }
    handler(req, res).catch((error) => {
      console.error(`floor: ${req.method} ${req.url}: ${error.message}`);
      if (!res.headersSent) send(res, 500, 'InternalError', 'internal error', null);
    });
  });
  server.keepAliveTimeout = 65_000;

  pool
    .query(CREATE_TABLE)
    .catch((error) => {
      // Two workers may race to create the table; the loser sees a duplicate and the table exists.
      if (error.code !== '23505' && error.code !== '42P07') throw error;
    })
    .then(() => server.listen(PORT, HOST))
    .catch((error) => {
      console.error(`floor: cannot start: ${error.message}`);
      process.exit(1);
    });

  process.on('SIGTERM', () => {
    server.close();
    pool.end().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  });
}

if (cluster.isPrimary && WORKERS > 1) primary();
else {
  if (cluster.isPrimary) process.env.FLOOR_SIGNING_KEY ??= generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('hex');
  workerMain();
}
