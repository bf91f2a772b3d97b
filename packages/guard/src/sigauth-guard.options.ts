import type { FactoryProvider, ModuleMetadata } from '@nestjs/common';

/** The injection token of the options given to SigauthGuardModule.forRoot / forRootAsync. */
export const SIGAUTH_GUARD_OPTIONS = Symbol('SIGAUTH_GUARD_OPTIONS');

export interface SigauthIntrospectionOptions {
  /** sigauth's RFC 7662 endpoint, e.g. `https://auth.example.org/auth/api/v1/token/introspect`. */
  url: string;
  /**
   * An access token of a sigauth account with role ROLE_SERVICE (or ROLE_ADMIN), sent as
   * `Authorization: Bearer`. A function is called for every introspection, so it can hand out a
   * token it renews before expiry.
   */
  token: string | (() => Promise<string>);
  /** How long to wait for sigauth's answer; default 2000 ms. */
  timeoutMs?: number;
}

export interface SigauthGuardOptions {
  /** sigauth's key set, e.g. `https://auth.example.org/.well-known/jwks.json`. */
  jwksUrl: string;
  /** The `iss` sigauth writes into its tokens (sigauth's JWT_ISSUER). */
  issuer: string;
  /** The `aud` this service accepts (sigauth's JWT_AUDIENCE); a list accepts any of them. */
  audience: string | string[];
  /** Also ask sigauth whether the token is still active (revocation, logout) on every request. */
  introspection?: SigauthIntrospectionOptions;
  /** Clock skew allowed when checking `exp`; default 0. */
  clockToleranceSeconds?: number;
  /**
   * Minimum time between two key-set fetches caused by an unknown `kid`; default 5 s. It bounds how
   * often forged kids can make this service fetch, and how long a token signed with a freshly
   * rotated key may be refused.
   */
  jwksCooldownSeconds?: number;
  /** How long a fetched key set is used before it is fetched again; default 600 s. */
  jwksCacheMaxAgeSeconds?: number;
  /** How long to wait for the key set; default 5000 ms. */
  jwksTimeoutMs?: number;
  /**
   * Also accept access tokens of sigauth before 0.2, typed `JWT` rather than `at+jwt` (RFC 9068),
   * identified by their `token_use: "access"` claim. Only for a rolling upgrade: deploy consumers
   * with it first, then sigauth, then remove it once the old tokens have expired. Default false.
   */
  acceptUntypedAccessTokens?: boolean;
  /**
   * How this service checks the DPoP proofs (RFC 9449) that DPoP-bound tokens come with. `publicUrl`
   * is this service's address as clients reach it (e.g. `https://api.example.org`); without it the
   * URL is read from the request's protocol and Host header. `proofWindowSeconds` (default 60) is
   * how far a proof's `iat` may be from now; seen proof ids are remembered that long, up to
   * `maxRememberedProofs` (default 100000).
   */
  dpop?: { publicUrl?: string; proofWindowSeconds?: number; maxRememberedProofs?: number };
}

export interface SigauthGuardAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: never[]) => SigauthGuardOptions | Promise<SigauthGuardOptions>;
  inject?: FactoryProvider['inject'];
}

export interface ResolvedSigauthGuardOptions {
  jwksUrl: URL;
  issuer: string;
  audience: string | string[];
  introspection?: { url: URL; token: string | (() => Promise<string>); timeoutMs: number };
  clockToleranceSeconds: number;
  jwksCooldownMs: number;
  jwksCacheMaxAgeMs: number;
  jwksTimeoutMs: number;
  acceptUntypedAccessTokens: boolean;
  dpop: { publicUrl?: string; proofWindowSeconds: number; maxRememberedProofs: number };
}

function httpUrl(value: unknown, name: string): URL {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new Error(`SigauthGuardModule: ${name} must be an http(s) URL`);
  }
  return url;
}

function nonNegative(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new Error(`SigauthGuardModule: ${name} must be a non-negative number`);
  }
  return value;
}

const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

/** Checks the options once, at boot, so a misconfigured service refuses to start and says why. */
export function resolveSigauthGuardOptions(options: SigauthGuardOptions): ResolvedSigauthGuardOptions {
  if (typeof options !== 'object' || options === null) throw new Error('SigauthGuardModule: options are required');
  if (!isNonEmptyString(options.issuer)) throw new Error('SigauthGuardModule: issuer must be a non-empty string');
  const audiences = Array.isArray(options.audience) ? options.audience : [options.audience];
  if (audiences.length === 0 || !audiences.every(isNonEmptyString)) {
    throw new Error('SigauthGuardModule: audience must be a non-empty string or a non-empty list of them');
  }
  const { introspection } = options;
  if (introspection !== undefined) {
    if (!isNonEmptyString(introspection.token) && typeof introspection.token !== 'function') {
      throw new Error('SigauthGuardModule: introspection.token must be a non-empty string or a function returning one');
    }
  }
  return {
    jwksUrl: httpUrl(options.jwksUrl, 'jwksUrl'),
    issuer: options.issuer,
    audience: options.audience,
    introspection: introspection && {
      url: httpUrl(introspection.url, 'introspection.url'),
      token: introspection.token,
      timeoutMs: Math.round(nonNegative(introspection.timeoutMs, 'introspection.timeoutMs', 2000)),
    },
    clockToleranceSeconds: nonNegative(options.clockToleranceSeconds, 'clockToleranceSeconds', 0),
    jwksCooldownMs: nonNegative(options.jwksCooldownSeconds, 'jwksCooldownSeconds', 5) * 1000,
    jwksCacheMaxAgeMs: nonNegative(options.jwksCacheMaxAgeSeconds, 'jwksCacheMaxAgeSeconds', 600) * 1000,
    jwksTimeoutMs: Math.round(nonNegative(options.jwksTimeoutMs, 'jwksTimeoutMs', 5000)),
    acceptUntypedAccessTokens: options.acceptUntypedAccessTokens === true,
    dpop: {
      ...(options.dpop?.publicUrl === undefined ? {} : { publicUrl: httpUrl(options.dpop.publicUrl, 'dpop.publicUrl').href.replace(/\/+$/, '') }),
      proofWindowSeconds: nonNegative(options.dpop?.proofWindowSeconds, 'dpop.proofWindowSeconds', 60),
      maxRememberedProofs: Math.max(1, Math.round(nonNegative(options.dpop?.maxRememberedProofs, 'dpop.maxRememberedProofs', 100_000))),
    },
  };
}
