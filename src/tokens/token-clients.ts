import { Injectable } from '@nestjs/common';

/** What the core must know about a client it issues tokens to; each login API registers its own. */
export interface TokenClient {
  /**
   * The `client_id` its tokens and sessions carry. Absent for an API whose every account is a
   * client of its own (an OAuth client's id is its email): it registers only its lifetimes, and
   * its clients are confidential.
   */
  clientId?: string;
  /** Seconds: the longest access token it is issued. */
  accessTtl: number;
  /** Seconds: the longest refresh token it is issued (0 when it gets none). */
  refreshTtl: number;
  /**
   * RFC 6749 section 2.1: a public client runs on the user's own device and keeps no secret, so
   * whoever holds its token may revoke it; a confidential client authenticates to.
   */
  publicClient: boolean;
}

/**
 * The clients this service issues tokens to, as their APIs register them when their modules are
 * built: the signing keys ask how long a retired key must stay published, revocation whether a
 * client is public. Nothing below the APIs lists them.
 */
@Injectable()
export class TokenClients {
  private readonly clients: TokenClient[] = [];

  /** Registers `client` and returns it, so that an adapter's policy provider is its registration. */
  register<C extends TokenClient>(client: C): C {
    if (client.publicClient && client.clientId === undefined) throw new Error('a public client is registered with its client id');
    if (client.clientId !== undefined && this.clients.some((c) => c.clientId === client.clientId)) throw new Error(`client ${client.clientId} is registered twice`);
    this.clients.push(client);
    return client;
  }

  /** Whether tokens issued to `clientId` are revoked by whoever holds them; an unregistered client is confidential. */
  isPublic(clientId: string): boolean {
    return this.clients.some((c) => c.clientId === clientId && c.publicClient);
  }

  /** Seconds the longest-lived token issued to any registered client can live (0 when none is registered, as in the command line). */
  longestLifetime(): number {
    return Math.max(0, ...this.clients.map((c) => Math.max(c.accessTtl, c.refreshTtl)));
  }
}
