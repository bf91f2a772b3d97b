import { plainToInstance, Transform } from 'class-transformer';
import { isAuthority } from '../common/rfc3986.js';
import { parseEthereumAddress } from '../users/ethereum-address.js';
import { parseFactoryEvent } from './factory-event.js';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  registerDecorator,
  validateSync,
} from 'class-validator';
import { isIP } from 'node:net';

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};

/** TRUST_PROXY: false, a hop count, or a list of proxy addresses, CIDRs and proxy-addr's names. */
export type TrustProxy = false | number | string[];

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function isProxyAddress(entry: string): boolean {
  if (PROXY_NAMES.includes(entry)) return true;
  const [address, prefix, extra] = entry.split('/');
  if (extra !== undefined || !address || !isIP(address)) return false;
  if (prefix === undefined) return true;
  const bits = isIP(address) === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= bits;
}

const toTrustProxy = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim();
  if (['', 'false', 'no', 'off', '0'].includes(v.toLowerCase())) return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v.split(',').map((entry) => entry.trim());
};

function IsTrustProxy(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isTrustProxy',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) =>
          value === false ||
          (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 10) ||
          (Array.isArray(value) && value.length > 0 && value.every((entry) => typeof entry === 'string' && isProxyAddress(entry))),
        defaultMessage: () =>
          'TRUST_PROXY must be false, a hop count from 1 to 10, or a comma-separated list of proxy addresses and CIDRs (true would let any client choose its own address)',
      },
    });
}

const emptyToUndefined = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/** A comma-separated list; blanks around the commas are ignored. */
const toList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.split(',').map((item) => item.trim()).filter((item) => item !== '') : value;

/**
 * Every environment variable sigauth reads, validated once at boot. Nothing else reads
 * process.env: services receive this object through dependency injection.
 */
export class AppConfig {
  @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT = 3000;

  @IsString() @MinLength(1)
  HOST = '0.0.0.0';

  @Transform(emptyToUndefined) @IsOptional() @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgresql:// URL' })
  DATABASE_URL?: string;

  @IsString() @MinLength(1)
  DATA_DIR = './data';

  @Transform(toBool) @IsBoolean()
  MIGRATE_ON_START = true;

  @Transform(toInt) @IsInt() @Min(1) @Max(200)
  DATABASE_POOL_SIZE = 10;

  @Transform(toInt) @IsInt() @Min(100) @Max(60000)
  DATABASE_TIMEOUT_MS = 4000;

  /**
   * How often a LISTEN connection proves it is alive, and how long its answer may take: a frozen
   * or vanished listener is noticed within twice this, and meanwhile the liveness cache reads the
   * database on every lookup.
   */
  @Transform(toInt) @IsInt() @Min(100) @Max(60000)
  LISTEN_HEARTBEAT_MS = 2000;

  /** After SIGTERM or SIGINT the process is gone within this, whatever hangs (exit code 1 when it had to cut shutdown short). */
  @Transform(toInt) @IsInt() @Min(100) @Max(600000)
  SHUTDOWN_TIMEOUT_MS = 10000;

  @Transform(toInt) @IsInt() @Min(5) @Max(86400)
  ACCESS_TOKEN_TTL = 300;

  @Transform(toInt) @IsInt() @Min(60) @Max(31536000)
  REFRESH_TOKEN_TTL = 86400;

  @Transform(toInt) @IsInt() @Min(0) @Max(300)
  REFRESH_REUSE_GRACE = 10;

  /** No rotation extends a session past this many seconds from its login (30 days). */
  @Transform(toInt) @IsInt() @Min(1) @Max(31536000)
  SESSION_MAX_AGE = 2592000;

  // ---- Bounded growth: how long what logins, refreshes and requests write is kept ----

  /** How often the cleanup runs; one instance at a time does (an advisory lock), the first one interval after start. */
  @Transform(toInt) @IsInt() @Min(100) @Max(86400000)
  CLEANUP_INTERVAL_MS = 60000;

  /** A session that ended (revoked or expired) is deleted with its refresh tokens this many seconds later (7 days). */
  @Transform(toInt) @IsInt() @Min(0) @Max(315360000)
  SESSION_RETENTION = 604800;

  /** Audit events are kept this many days, and at most one month more: retention drops whole monthly partitions. */
  @Transform(toInt) @IsInt() @Min(1) @Max(36500)
  AUDIT_RETENTION_DAYS = 90;

  /** The Ethereum API's lifetimes, those its existing clients were written against: access 15 min, refresh 24 h. */
  @Transform(toInt) @IsInt() @Min(5) @Max(86400)
  WALLET_ACCESS_TOKEN_TTL = 900;

  @Transform(toInt) @IsInt() @Min(60) @Max(31536000)
  WALLET_REFRESH_TOKEN_TTL = 86400;

  /**
   * The address clients reach sigauth at, scheme and authority (and a path prefix, if a proxy adds
   * one): the discovery metadata's endpoints and the `htu` of DPoP proofs are read against it.
   * Default http://localhost:<PORT>.
   */
  @Transform(emptyToUndefined) @IsOptional() @IsString()
  PUBLIC_URL!: string;

  /** The `iss` of every token; defaults to PUBLIC_URL, as RFC 8414 discovery requires. */
  @Transform(emptyToUndefined) @IsOptional() @IsString() @MinLength(1)
  JWT_ISSUER!: string;

  /** How old (or how far in the future) a DPoP proof's `iat` may be, in seconds; its `jti` is remembered this long. */
  @Transform(toInt) @IsInt() @Min(5) @Max(3600)
  DPOP_PROOF_WINDOW_SECONDS = 60;

  @IsString() @MinLength(1)
  JWT_AUDIENCE = 'sigauth';

  /** 32 bytes as 64 hex digits; encrypts signing keys at rest (AES-256-GCM) when set. */
  @Transform(emptyToUndefined) @IsOptional() @Matches(/^[0-9a-fA-F]{64}$/, { message: 'SIGNING_KEY_ENCRYPTION_KEY must be 64 hex digits (32 bytes)' })
  SIGNING_KEY_ENCRYPTION_KEY?: string;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /**
   * Which proxies may say who the client is (X-Forwarded-For): none (false), the nearest N hops,
   * or the proxies' own addresses and CIDRs. Rate limits, sessions and the audit log use the
   * address found. `true` (every hop) is refused: it lets a client choose its own address.
   */
  @Transform(toTrustProxy) @IsTrustProxy()
  TRUST_PROXY: TrustProxy = false;

  @Transform(toInt) @IsInt() @Min(1) @Max(64)
  WORKERS = 1;

  @Transform(toInt) @IsInt() @Min(1024) @Max(4194304)
  ARGON2_MEMORY_KIB = 19456;

  @Transform(toInt) @IsInt() @Min(1) @Max(20)
  ARGON2_ITERATIONS = 2;

  @Transform(toInt) @IsInt() @Min(1) @Max(16)
  ARGON2_PARALLELISM = 1;

  @Transform(toInt) @IsInt() @Min(1024) @Max(104857600)
  BODY_LIMIT_BYTES = 1048576;

  /** The body limit of the login, nonce, token and refresh routes, which anyone may call: their bodies are a few hundred bytes. */
  @Transform(toInt) @IsInt() @Min(1024) @Max(104857600)
  LOGIN_BODY_LIMIT_BYTES = 16384;

  /** Shares rate-limit budgets between instances; unset keeps them in each process's memory. */
  @Transform(emptyToUndefined) @IsOptional() @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  /** Prefixes every key sigauth writes in Redis, so that deployments sharing one Redis keep apart. */
  @Matches(/^[A-Za-z0-9:_.-]{1,64}$/, { message: 'REDIS_KEY_PREFIX must be 1 to 64 letters, digits or : _ . -' })
  REDIS_KEY_PREFIX = 'sigauth:';

  @Transform(toInt) @IsInt() @Min(1) @Max(86400)
  RATE_LIMIT_WINDOW_SECONDS = 60;

  /** Requests per client address per window on each credential endpoint; 0 turns the limit off. */
  @Transform(toInt) @IsInt() @Min(0) @Max(1000000)
  RATE_LIMIT_PER_IP = 300;

  /** Failed attempts per identity (email, wallet) per window before 429; 0 turns the limit off. */
  @Transform(toInt) @IsInt() @Min(0) @Max(1000000)
  RATE_LIMIT_FAILURES_PER_IDENTITY = 10;

  /** The most counters an in-memory budget keeps (least recently used go first); about 150 bytes each. */
  @Transform(toInt) @IsInt() @Min(1000) @Max(10000000)
  RATE_LIMIT_MEMORY_MAX_KEYS = 100000;

  /** Challenge login: off, optional (static signatures still accepted), or required. */
  @IsIn(['off', 'optional', 'required'])
  LOGIN_CHALLENGE: 'off' | 'optional' | 'required' = 'optional';

  /** Answer an unknown user like a bad signature (401 instead of 404), with the same work done. */
  @Transform(toBool) @IsBoolean()
  HIDE_USER_EXISTENCE = false;

  // ---- Ethereum: the node the Factory is followed through and contract wallets are checked with ----

  /** A JSON-RPC endpoint: the Factory is followed through it, and contract wallets (ERC-1271) checked. */
  @Transform(emptyToUndefined) @IsOptional() @Matches(/^https?:\/\/\S+$/, { message: 'ETH_RPC_URL must be an http:// or https:// URL' })
  ETH_RPC_URL?: string;

  /** The Factory contract whose creation events register users; needs ETH_RPC_URL. */
  @Transform(emptyToUndefined) @IsOptional() @Matches(/^0x[0-9a-fA-F]{40}$/, { message: 'ETH_FACTORY_ADDRESS must be a 0x-prefixed 20-byte address' })
  ETH_FACTORY_ADDRESS?: string;

  @IsString() @MinLength(1)
  ETH_FACTORY_EVENT = 'WalletCreated(address indexed owner, address wallet)';

  @IsString() @MinLength(1)
  ETH_FACTORY_OWNER_ARG = 'owner';

  @IsString() @MinLength(1)
  ETH_FACTORY_CONTRACT_ARG = 'wallet';

  /** An event counts once its block has this many blocks after it. */
  @Transform(toInt) @IsInt() @Min(0) @Max(10000)
  ETH_CONFIRMATIONS = 12;

  @Transform(toInt) @IsInt() @Min(0)
  ETH_START_BLOCK = 0;

  @Transform(toInt) @IsInt() @Min(10) @Max(3600000)
  ETH_POLL_INTERVAL_MS = 4000;

  /** The chain the node must be on (checked against eth_chainId) and SIWE messages must name. */
  @Transform(toInt) @IsInt() @Min(1) @Max(Number.MAX_SAFE_INTEGER)
  ETH_CHAIN_ID = 1;

  /** At most this many blocks per eth_getLogs request: providers cap the range they answer. */
  @Transform(toInt) @IsInt() @Min(1) @Max(100000)
  ETH_BLOCK_RANGE = 1000;

  /** The longest wait for one JSON-RPC answer; a login that needs the node answers 503 after it. */
  @Transform(toInt) @IsInt() @Min(100) @Max(60000)
  ETH_RPC_TIMEOUT_MS = 5000;

  /** Sign-In with Ethereum: the domains (RFC 3986 authorities) a message may be bound to; none means SIWE refuses every message. */
  @Transform(toList) @IsString({ each: true })
  SIWE_DOMAINS: string[] = [];

  /** The origins a message's `uri` may have; unset, each of SIWE_DOMAINS over https. */
  @Transform(toList) @IsOptional() @IsString({ each: true })
  SIWE_URIS?: string[];
}

/**
 * Variables whose whole value is a secret: a key, or a URL that carries a password or an API key
 * (in its userinfo, its query, or, for RPC providers, its path). An error names them and says what
 * is wrong, and never shows the value, since configuration errors end up in logs.
 */
const SECRET_VARIABLES = new Set(['SIGNING_KEY_ENCRYPTION_KEY', 'DATABASE_URL', 'REDIS_URL', 'ETH_RPC_URL']);

/** Any other variable is shown as given, except the userinfo (user:password@) of a URL or authority in it. */
function shown(name: string, value: unknown): string {
  if (SECRET_VARIABLES.has(name)) return `${name} (a secret, not shown)`;
  const visible = Array.isArray(value) ? value.map(withoutCredentials) : withoutCredentials(value);
  return `${name}=${JSON.stringify(visible)}`;
}

/** Everything from the authority's start to its last '@' goes: more than the userinfo when a path holds an '@', never less. */
function withoutCredentials(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const at = value.lastIndexOf('@');
  if (at < 0) return value;
  const slashes = value.indexOf('//');
  const from = slashes >= 0 && slashes < at ? slashes + 2 : 0;
  return `${value.slice(0, from)}…${value.slice(at)}`;
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigValidationError';
  }
}

/** Parses and validates the environment; throws a ConfigValidationError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const known = Object.keys(new AppConfig()).concat(['DATABASE_URL', 'SIGNING_KEY_ENCRYPTION_KEY', 'REDIS_URL', 'ETH_RPC_URL', 'ETH_FACTORY_ADDRESS', 'SIWE_URIS', 'PUBLIC_URL', 'JWT_ISSUER']);
  const raw: Record<string, unknown> = {};
  for (const key of known) {
    if (env[key] !== undefined) raw[key] = env[key];
  }
  const config = plainToInstance(AppConfig, raw);
  const errors = validateSync(config, { forbidUnknownValues: true });
  if (errors.length > 0) {
    throw new ConfigValidationError(
      errors.map((e) => `${shown(e.property, e.value)}: ${Object.values(e.constraints ?? {}).join(', ')}`),
    );
  }
  const problems = [...ethereumProblems(config), ...publicUrlProblems(config)];
  if (problems.length > 0) throw new ConfigValidationError(problems);
  config.PUBLIC_URL = (config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, '');
  config.JWT_ISSUER ??= config.PUBLIC_URL;
  config.SIWE_URIS = (config.SIWE_URIS ?? config.SIWE_DOMAINS.map((domain) => `https://${domain}`)).map((uri) => new URL(uri).origin);
  return config;
}

/** PUBLIC_URL is an http(s) URL without query, fragment or credentials: endpoints are built by appending paths to it. */
function publicUrlProblems(config: AppConfig): string[] {
  if (config.PUBLIC_URL === undefined) return [];
  let url: URL | undefined;
  try {
    url = new URL(config.PUBLIC_URL);
  } catch {
    url = undefined;
  }
  const valid = url && (url.protocol === 'https:' || url.protocol === 'http:') && !url.search && !url.hash && !url.username && !url.password;
  return valid ? [] : [`${shown('PUBLIC_URL', config.PUBLIC_URL)}: must be an http(s) URL without query, fragment or credentials`];
}

/** https, or http to this machine's own loopback interface, where no one else is on the path. */
function isTrustedNodeTransport(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  const host = url.hostname;
  return host === 'localhost' || host === '[::1]' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** What one variable cannot tell alone: the Factory's event and its arguments, lists of domains and origins. */
function ethereumProblems(config: AppConfig): string[] {
  const problems: string[] = [];
  if (config.ETH_FACTORY_ADDRESS !== undefined) {
    if (parseEthereumAddress(config.ETH_FACTORY_ADDRESS) === undefined) problems.push(`${shown('ETH_FACTORY_ADDRESS', config.ETH_FACTORY_ADDRESS)}: the EIP-55 checksum does not match`);
    if (config.ETH_RPC_URL === undefined) problems.push('ETH_FACTORY_ADDRESS: following the Factory needs ETH_RPC_URL');
  }
  if (config.ETH_RPC_URL !== undefined && !isTrustedNodeTransport(config.ETH_RPC_URL)) {
    // The node's answers register users and vouch for contract wallets: whoever can rewrite them on the way owns those accounts.
    problems.push(`${shown('ETH_RPC_URL', config.ETH_RPC_URL)}: must be an https:// URL, or http:// only to a loopback address (localhost, 127.0.0.0/8, [::1])`);
  }
  const event = parseFactoryEvent(config.ETH_FACTORY_EVENT, config.ETH_FACTORY_OWNER_ARG, config.ETH_FACTORY_CONTRACT_ARG);
  if (typeof event === 'string') problems.push(event);
  for (const domain of config.SIWE_DOMAINS) {
    if (!isAuthority(domain)) problems.push(`SIWE_DOMAINS: ${JSON.stringify(withoutCredentials(domain))} is not an RFC 3986 authority (host[:port])`);
  }
  for (const uri of config.SIWE_URIS ?? []) {
    let url: URL | undefined;
    try {
      url = new URL(uri);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) problems.push(`SIWE_URIS: ${JSON.stringify(withoutCredentials(uri))} is not an http(s) origin`);
  }
  return problems;
}
