import { plainToInstance, Transform } from 'class-transformer';
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
  validateSync,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};

const emptyToUndefined = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

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

  /** After SIGTERM or SIGINT the process is gone within this, whatever hangs (exit code 1 when it had to cut shutdown short). */
  @Transform(toInt) @IsInt() @Min(100) @Max(600000)
  SHUTDOWN_TIMEOUT_MS = 10000;

  @Transform(toInt) @IsInt() @Min(5) @Max(86400)
  ACCESS_TOKEN_TTL = 300;

  @Transform(toInt) @IsInt() @Min(60) @Max(31536000)
  REFRESH_TOKEN_TTL = 86400;

  @Transform(toInt) @IsInt() @Min(0) @Max(300)
  REFRESH_REUSE_GRACE = 10;

  /** The Ethereum API's lifetimes (DESIGN section 5): access 15 min, refresh 24 h. */
  @Transform(toInt) @IsInt() @Min(5) @Max(86400)
  WALLET_ACCESS_TOKEN_TTL = 900;

  @Transform(toInt) @IsInt() @Min(60) @Max(31536000)
  WALLET_REFRESH_TOKEN_TTL = 86400;

  @IsString() @MinLength(1)
  JWT_ISSUER = 'sigauth';

  @IsString() @MinLength(1)
  JWT_AUDIENCE = 'sigauth';

  /** 32 bytes as 64 hex digits; encrypts signing keys at rest (AES-256-GCM) when set. */
  @Transform(emptyToUndefined) @IsOptional() @Matches(/^[0-9a-fA-F]{64}$/, { message: 'SIGNING_KEY_ENCRYPTION_KEY must be 64 hex digits (32 bytes)' })
  SIGNING_KEY_ENCRYPTION_KEY?: string;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** Behind a proxy, take the client address from X-Forwarded-For (rate limits and audit use it). */
  @Transform(toBool) @IsBoolean()
  TRUST_PROXY = false;

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

  /** Shares rate-limit budgets between instances; unset keeps them in each process's memory. */
  @Transform(emptyToUndefined) @IsOptional() @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @Transform(toInt) @IsInt() @Min(1) @Max(86400)
  RATE_LIMIT_WINDOW_SECONDS = 60;

  /** Requests per client address per window on each credential endpoint; 0 turns the limit off. */
  @Transform(toInt) @IsInt() @Min(0) @Max(1000000)
  RATE_LIMIT_PER_IP = 300;

  /** Failed attempts per identity (email, wallet) per window before 429; 0 turns the limit off. */
  @Transform(toInt) @IsInt() @Min(0) @Max(1000000)
  RATE_LIMIT_FAILURES_PER_IDENTITY = 10;

  /** Challenge login: off, optional (static signatures still accepted), or required. */
  @IsIn(['off', 'optional', 'required'])
  LOGIN_CHALLENGE: 'off' | 'optional' | 'required' = 'optional';

  /** Answer an unknown user like a bad signature (401 instead of 404), with the same work done. */
  @Transform(toBool) @IsBoolean()
  HIDE_USER_EXISTENCE = false;
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigValidationError';
  }
}

/** Parses and validates the environment; throws a ConfigValidationError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const known = Object.keys(new AppConfig()).concat(['DATABASE_URL', 'SIGNING_KEY_ENCRYPTION_KEY', 'REDIS_URL']);
  const raw: Record<string, unknown> = {};
  for (const key of known) {
    if (env[key] !== undefined) raw[key] = env[key];
  }
  const config = plainToInstance(AppConfig, raw);
  const errors = validateSync(config, { forbidUnknownValues: true });
  if (errors.length > 0) {
    throw new ConfigValidationError(
      errors.map((e) => `${e.property}=${JSON.stringify(e.value)}: ${Object.values(e.constraints ?? {}).join(', ')}`),
    );
  }
  return config;
}
