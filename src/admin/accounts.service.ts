import { Injectable } from '@nestjs/common';
import { SessionsService } from '../tokens/sessions.service.js';
import type { PublicKeyCredential, UserRecord, WalletCredential } from '../users/user.types.js';
import { UsersService } from '../users/users.service.js';

/**
 * Account changes that reach across users and sessions: disabling a user or revoking a credential
 * ends the sessions that depend on it. The credential is revoked first, so a failure in between
 * leaves sessions that refresh will still refuse (it re-checks user and credential).
 */
@Injectable()
export class AccountsService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
  ) {}

  async disableUser(email: string): Promise<UserRecord & { sessionsEnded: number }> {
    const user = await this.users.setStatus(email, 'DISABLED');
    return { ...user, sessionsEnded: await this.sessions.revokeForUser(user.id, 'user disabled') };
  }

  async revokePublicKey(email: string, publicKeyHex: string): Promise<PublicKeyCredential & { sessionsEnded: number }> {
    const key = await this.users.revokePublicKey(email, publicKeyHex);
    return { ...key, sessionsEnded: await this.sessions.revokeForCredential(key.id, 'key revoked') };
  }

  async revokeWallet(email: string, address: string): Promise<WalletCredential & { sessionsEnded: number }> {
    const wallet = await this.users.revokeWallet(email, address);
    return { ...wallet, sessionsEnded: await this.sessions.revokeForCredential(wallet.id, 'wallet revoked') };
  }
}
