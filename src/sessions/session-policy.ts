import type { FactoryProvider } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { TokenClients, type TokenClient } from '../tokens/token-clients.js';

/** How the sessions of one API live: the client id they are bound to, and their token lifetimes in seconds. */
export interface SessionPolicy {
  clientId: string;
  accessTtl: number;
  refreshTtl: number;
}

/** Each adapter module provides its own SessionPolicy under this token. */
export const SESSION_POLICY = Symbol('SESSION_POLICY');

/**
 * An adapter's SESSION_POLICY provider: the policy its controllers inject is the registration the
 * core reads (lifetimes for how long a signing key stays published, whether its tokens are
 * public), so the two cannot drift apart and the core never names the adapter.
 */
export function sessionPolicy<C extends TokenClient>(policy: (config: AppConfig) => C): FactoryProvider<C> {
  return { provide: SESSION_POLICY, inject: [AppConfig, TokenClients], useFactory: (config: AppConfig, clients: TokenClients) => clients.register(policy(config)) };
}
