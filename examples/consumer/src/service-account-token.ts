import { decodeJwt } from 'jose';

/** A token is renewed this long before it expires, so a request never carries one that lapses on the way. */
const RENEW_BEFORE_SECONDS = 30;

export interface ServiceAccountCredentials {
  /** sigauth's base URL. */
  sigauthUrl: string;
  /** A sigauth user with role ROLE_SERVICE and a password. */
  email: string;
  password: string;
  /** Lifetime asked for each token (sigauth accepts 1 to 86400 s); default 900. */
  ttlSeconds?: number;
}

/**
 * The introspection caller token for SigauthGuardModule, obtained from sigauth's service-account API
 * (`POST /v1/users/authorize` with Basic credentials) and reused until shortly before it expires.
 * Concurrent requests share one authorization.
 */
export function serviceAccountToken(credentials: ServiceAccountCredentials): () => Promise<string> {
  const url = `${credentials.sigauthUrl.replace(/\/+$/, '')}/v1/users/authorize`;
  const basic = Buffer.from(`${credentials.email}:${credentials.password}`, 'utf8').toString('base64');
  let cached: { token: string; exp: number } | undefined;
  let pending: Promise<string> | undefined;

  const authorize = async (): Promise<string> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ttl: credentials.ttlSeconds ?? 900 }),
      redirect: 'error',
      signal: AbortSignal.timeout(5000),
    });
    const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; error_code?: unknown };
    if (response.status !== 200 || typeof body.access_token !== 'string') {
      throw new Error(`sigauth refused the service account (HTTP ${response.status}${typeof body.error_code === 'string' ? `, ${body.error_code}` : ''})`);
    }
    const { exp } = decodeJwt(body.access_token);
    cached = { token: body.access_token, exp: typeof exp === 'number' ? exp : 0 };
    return body.access_token;
  };

  return () => {
    if (cached && cached.exp - RENEW_BEFORE_SECONDS > Date.now() / 1000) return Promise.resolve(cached.token);
    pending ??= authorize().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}
