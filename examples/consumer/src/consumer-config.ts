import type { SigauthGuardOptions } from '@sigauth/guard';
import { serviceAccountToken } from './service-account-token.js';

/** What the example service needs to know about sigauth. */
export interface ConsumerConfig {
  /** sigauth's base URL, e.g. `https://auth.example.org`. */
  sigauthUrl: string;
  /** sigauth's JWT_ISSUER (its PUBLIC_URL by default). */
  issuer: string;
  /** The audience this service accepts: sigauth's JWT_AUDIENCE. */
  audience: string;
  /**
   * An access token of a ROLE_SERVICE account, or a function returning a current one: when given,
   * every token is also checked by sigauth's introspection.
   */
  introspectionToken?: string | (() => Promise<string>);
  /** How soon an unknown kid may trigger another key-set fetch (the guard's default is 5 s). */
  jwksCooldownSeconds?: number;
}

/** Reads the configuration from the environment once, at boot, and refuses to start without what it needs. */
export function loadConsumerConfig(env: NodeJS.ProcessEnv): ConsumerConfig {
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) throw new Error(`${name} is required`);
    return value;
  };
  const cooldown = env.SIGAUTH_JWKS_COOLDOWN_SECONDS?.trim();
  if (cooldown && !/^\d+$/.test(cooldown)) throw new Error('SIGAUTH_JWKS_COOLDOWN_SECONDS must be a whole number of seconds');
  const sigauthUrl = required('SIGAUTH_URL');
  const staticToken = env.SIGAUTH_INTROSPECTION_TOKEN?.trim() || undefined;
  const email = env.SIGAUTH_SERVICE_EMAIL?.trim() || undefined;
  const password = env.SIGAUTH_SERVICE_PASSWORD || undefined;
  if (Boolean(email) !== Boolean(password)) throw new Error('SIGAUTH_SERVICE_EMAIL and SIGAUTH_SERVICE_PASSWORD go together');
  if (staticToken && email) throw new Error('set SIGAUTH_INTROSPECTION_TOKEN or SIGAUTH_SERVICE_EMAIL/PASSWORD, not both');
  return {
    sigauthUrl,
    // sigauth's issuer is its PUBLIC_URL unless JWT_ISSUER says otherwise, and SIGAUTH_URL is where this service reaches it.
    issuer: env.SIGAUTH_ISSUER?.trim() || sigauthUrl.replace(/\/+$/, ''),
    audience: env.SIGAUTH_AUDIENCE?.trim() || 'sigauth',
    introspectionToken: email && password ? serviceAccountToken({ sigauthUrl, email, password }) : staticToken,
    jwksCooldownSeconds: cooldown ? Number(cooldown) : undefined,
  };
}

/** sigauth publishes its keys and introspection at fixed paths under its base URL. */
export function guardOptions(config: ConsumerConfig): SigauthGuardOptions {
  const base = config.sigauthUrl.replace(/\/+$/, '');
  return {
    jwksUrl: `${base}/.well-known/jwks.json`,
    issuer: config.issuer,
    audience: config.audience,
    jwksCooldownSeconds: config.jwksCooldownSeconds,
    introspection: config.introspectionToken ? { url: `${base}/auth/api/v1/token/introspect`, token: config.introspectionToken } : undefined,
  };
}
