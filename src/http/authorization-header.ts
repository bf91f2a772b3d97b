/** A token as an Authorization header presents it, and whether under RFC 9449's `DPoP` scheme. */
export interface AuthorizationToken {
  token: string;
  /** A DPoP-bound access token counts only under this scheme (RFC 9449 section 7.1). */
  dpop: boolean;
}

/**
 * The token of an Authorization header in the schemes these APIs accept: `Bearer <token>`, the
 * Redis API's `JWT <token>`, RFC 9449's `DPoP <token>` and the FIB API's bare `<token>`. Undefined
 * when absent or empty.
 */
export function authorizationToken(header: string | string[] | undefined): AuthorizationToken | undefined {
  if (typeof header !== 'string') return undefined;
  const value = header.trim();
  const match = /^(Bearer|JWT|DPoP)\s+(\S+)$/i.exec(value);
  if (match) return { token: match[2]!, dpop: match[1]!.toLowerCase() === 'dpop' };
  return value.length > 0 && !/\s/.test(value) ? { token: value, dpop: false } : undefined;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MAX_CREDENTIALS_LENGTH = 2048;

/**
 * `Authorization: Basic base64(user:password)` (RFC 7617), or undefined when absent or malformed.
 * The service-account API and OAuth client authentication both read it here.
 */
export function basicCredentials(header: string | string[] | undefined): { email: string; password: string } | undefined {
  const match = typeof header === 'string' ? /^Basic\s+(\S+)$/i.exec(header.trim()) : null;
  if (!match || match[1]!.length > MAX_CREDENTIALS_LENGTH || !BASE64.test(match[1]!)) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { email: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
