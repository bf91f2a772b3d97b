import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { DPOP_ALGORITHMS } from '@sigauth/guard/dpop';

/** The paths of the endpoints the metadata lists, below PUBLIC_URL. */
export const OAUTH_PATHS = {
  token: '/oauth/token',
  revocation: '/oauth/revoke',
  introspection: '/auth/api/v1/token/introspect',
  jwks: '/.well-known/jwks.json',
  docs: '/docs',
} as const;

const CLIENT_AUTH = ['client_secret_basic', 'private_key_jwt'];
const ASSERTION_ALGORITHMS = ['EdDSA', 'Ed25519'];

/** The path of a URL without its trailing slash; '' for an issuer that is no URL. */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname.replace(/\/+$/, '');
  } catch {
    return '';
  }
}

/** RFC 8414 authorization server metadata: what sigauth serves, and where. */
export interface AuthorizationServerMetadata {
  issuer: string;
  jwks_uri: string;
  token_endpoint: string;
  introspection_endpoint: string;
  revocation_endpoint: string;
  grant_types_supported: string[];
  response_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  token_endpoint_auth_signing_alg_values_supported: string[];
  introspection_endpoint_auth_methods_supported: string[];
  introspection_endpoint_auth_signing_alg_values_supported: string[];
  revocation_endpoint_auth_methods_supported: string[];
  revocation_endpoint_auth_signing_alg_values_supported: string[];
  dpop_signing_alg_values_supported: string[];
  service_documentation: string;
}

/** The endpoints' absolute URLs, from PUBLIC_URL, and the metadata that lists them. */
@Injectable()
export class OAuthMetadata {
  readonly document: AuthorizationServerMetadata;
  /**
   * The paths of PUBLIC_URL and of the issuer, when they have one: RFC 8414 section 3.1 puts the
   * metadata of `https://example.com/auth` at `/.well-known/oauth-authorization-server/auth`.
   */
  readonly issuerPaths: readonly string[];

  constructor(private readonly config: AppConfig) {
    this.issuerPaths = [...new Set([config.PUBLIC_URL, config.JWT_ISSUER].map(pathOf).filter((path) => path !== ''))];
    this.document = {
      issuer: config.JWT_ISSUER,
      jwks_uri: this.url('jwks'),
      token_endpoint: this.url('token'),
      introspection_endpoint: this.url('introspection'),
      revocation_endpoint: this.url('revocation'),
      grant_types_supported: ['client_credentials', 'refresh_token'],
      // No authorization endpoint: users log in through the signature APIs, not a browser redirect.
      response_types_supported: [],
      token_endpoint_auth_methods_supported: CLIENT_AUTH,
      token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
      introspection_endpoint_auth_methods_supported: CLIENT_AUTH,
      introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
      // A user's own tokens are revoked by whoever holds them (RFC 7009 section 5).
      revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH, 'none'],
      revocation_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
      dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
      service_documentation: this.url('docs'),
    };
  }

  url(endpoint: keyof typeof OAUTH_PATHS): string {
    return `${this.config.PUBLIC_URL}${OAUTH_PATHS[endpoint]}`;
  }

  /**
   * What a client assertion sent to `endpoint` may name as its audience: the issuer, that endpoint,
   * or the token endpoint, which RFC 7523 section 3 says the audience SHOULD be and which clients
   * such as Authlib put in the assertions they send to introspection and revocation too.
   */
  assertionAudiences(endpoint: keyof typeof OAUTH_PATHS): string[] {
    return [...new Set([this.config.JWT_ISSUER, this.url(endpoint), this.url('token')])];
  }
}
