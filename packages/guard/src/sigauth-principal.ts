/** The roles sigauth puts in the `role` claim of an access token. */
export type SigauthRole = 'ROLE_PEER' | 'ROLE_ADMIN' | 'ROLE_SERVICE';

/** The verified claims of a sigauth access token, attached to `request.user` by SigauthAuthGuard. */
export interface SigauthPrincipal {
  token_use: 'access';
  /** The user's account name, e.g. `alice@wonderland`. */
  acc: string;
  /** The user's email. */
  sub: string;
  role: SigauthRole;
  /** The API that opened the session (`fib`, `wallet`, `service`, or an OAuth client); absent on tokens of sigauth before 0.2. */
  client_id?: string;
  /** The session (refresh family) the token belongs to. */
  sid: string;
  iss: string;
  aud: string | string[];
  /** Epoch seconds. */
  iat: number;
  /** Epoch seconds. */
  exp: number;
  jti: string;
  /** RFC 9449: the thumbprint of the DPoP key a bound token must be presented with. */
  cnf?: { jkt: string };
}

/** The part of an HTTP request (Fastify or Express) the guard reads and writes. */
export interface SigauthRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The method and the URL path (with query), to check a DPoP proof against. */
  method?: string;
  url?: string;
  /** `http` or `https` where the framework knows it (Fastify, Express behind trust proxy). */
  protocol?: string;
  user?: SigauthPrincipal;
}
