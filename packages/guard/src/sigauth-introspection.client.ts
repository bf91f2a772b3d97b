import type { ResolvedSigauthGuardOptions } from './sigauth-guard.options.js';
import { SigauthUnavailableError } from './sigauth-token.errors.js';

type IntrospectionOptions = NonNullable<ResolvedSigauthGuardOptions['introspection']>;

/** Asks sigauth (RFC 7662) whether a token it signed is still active, which covers logout and revocation. */
export class SigauthIntrospectionClient {
  constructor(private readonly options: IntrospectionOptions) {}

  async isActive(token: string): Promise<boolean> {
    const caller = await this.callerToken();
    let response: Response;
    try {
      response = await fetch(this.options.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${caller}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ token }),
        // The caller's token must not follow a redirect to another host.
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      throw new SigauthUnavailableError(`token introspection failed: ${(error as Error).message}`, { cause: error });
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new SigauthUnavailableError(`token introspection answered HTTP ${response.status}`);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new SigauthUnavailableError('token introspection answered with a body that is not JSON', { cause: error });
    }
    const active = typeof body === 'object' && body !== null ? (body as { active?: unknown }).active : undefined;
    if (typeof active !== 'boolean') throw new SigauthUnavailableError('token introspection answered without an "active" boolean');
    return active && (body as { token_use?: unknown }).token_use === 'access';
  }

  private async callerToken(): Promise<string> {
    const { token } = this.options;
    if (typeof token === 'string') return token;
    let value: unknown;
    try {
      value = await token();
    } catch (error) {
      throw new SigauthUnavailableError(`the introspection caller token could not be obtained: ${(error as Error).message}`, { cause: error });
    }
    if (typeof value !== 'string' || value.length === 0) throw new SigauthUnavailableError('the introspection caller token function returned no token');
    return value;
  }
}
