import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { subjectOf, type PublicKeyCredential, type UserRecord, type UserRef, type UserWithCredentials, type WalletCredential, type WalletKind } from '../users/user.types.js';
import { UsersService, type UserInput } from '../users/users.service.js';

/** Who made a change: an admin's token subject, or `cli` for the command line. */
export type Actor = string;

/**
 * Account changes that reach across users, sessions and the audit log: disabling a user or
 * revoking a credential ends the sessions that depend on it. The credential is revoked first, so
 * a failure in between leaves sessions that refresh will still refuse (it re-checks both). A user
 * is named by email or by id: one the Factory contract registered has no email.
 */
@Injectable()
export class AccountsService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
  ) {}

  async createUser(input: UserInput, actor: Actor): Promise<UserWithCredentials> {
    const user = await this.users.create(input);
    this.audit.record({ type: 'user.created', outcome: 'success', userId: user.id, principal: subjectOf(user), details: { actor, role: user.role } });
    return user;
  }

  async disableUser(ref: UserRef, actor: Actor): Promise<UserRecord & { sessionsEnded: number }> {
    const user = await this.users.setStatus(ref, 'DISABLED');
    const sessionsEnded = await this.sessions.revokeForUser(user.id, 'user disabled');
    this.audit.record({ type: 'user.disabled', outcome: 'success', userId: user.id, principal: subjectOf(user), details: { actor, sessionsEnded } });
    return { ...user, sessionsEnded };
  }

  /** A new password for a user; the sessions the old one opened end. */
  async setPassword(ref: UserRef, password: string, passwordExpiresAt: string | null | undefined, actor: Actor): Promise<UserRecord & { sessionsEnded: number }> {
    const { user, replacedPasswordId } = await this.users.setPassword(ref, password, passwordExpiresAt);
    const sessionsEnded = replacedPasswordId ? await this.sessions.revokeForCredential(replacedPasswordId, 'password changed') : 0;
    this.audit.record({ type: 'credential.replaced', outcome: 'success', userId: user.id, principal: subjectOf(user), details: { actor, kind: 'PASSWORD', sessionsEnded } });
    return { ...user, sessionsEnded };
  }

  /**
   * Upserts a seed's users; a password the seed changes ends the sessions the old one opened, and a
   * role it changes ends all of the user's sessions (their tokens carry the old role).
   */
  async seed(inputs: UserInput[]): Promise<{ created: number; updated: number; sessionsEnded: number }> {
    const { created, updated, replacedPasswordIds, roleChangedUserIds } = await this.users.upsertMany(inputs);
    let sessionsEnded = 0;
    for (const id of replacedPasswordIds) sessionsEnded += await this.sessions.revokeForCredential(id, 'password changed');
    for (const id of roleChangedUserIds) sessionsEnded += await this.sessions.revokeForUser(id, 'role changed');
    return { created, updated, sessionsEnded };
  }

  async enableUser(ref: UserRef, actor: Actor): Promise<UserRecord> {
    const user = await this.users.setStatus(ref, 'ACTIVE');
    this.audit.record({ type: 'user.enabled', outcome: 'success', userId: user.id, principal: subjectOf(user), details: { actor } });
    return user;
  }

  async addPublicKey(ref: UserRef, publicKeyHex: string, actor: Actor): Promise<PublicKeyCredential> {
    const user = await this.users.get(ref);
    const key = await this.users.addPublicKey({ id: user.id }, publicKeyHex);
    this.audit.record({ type: 'credential.added', outcome: 'success', userId: user.id, principal: subjectOf(user), details: { actor, kind: 'ED25519_KEY', credentialId: key.id } });
    return key;
  }

  async revokePublicKey(ref: UserRef, publicKeyHex: string, actor: Actor): Promise<PublicKeyCredential & { sessionsEnded: number }> {
    const user = await this.users.get(ref);
    const key = await this.users.revokePublicKey({ id: user.id }, publicKeyHex);
    const sessionsEnded = await this.sessions.revokeForCredential(key.id, 'key revoked');
    this.audit.record({ type: 'credential.revoked', outcome: 'success', userId: user.id, principal: subjectOf(user), details: { actor, kind: 'ED25519_KEY', credentialId: key.id, sessionsEnded } });
    return { ...key, sessionsEnded };
  }

  async addWallet(ref: UserRef, address: string, kind: WalletKind, actor: Actor): Promise<WalletCredential> {
    const user = await this.users.get(ref);
    const wallet = await this.users.addWallet({ id: user.id }, address, kind);
    this.audit.record({ type: 'credential.added', outcome: 'success', userId: user.id, principal: subjectOf(user), details: { actor, kind: 'WALLET', walletKind: wallet.kind, credentialId: wallet.id } });
    return wallet;
  }

  async revokeWallet(ref: UserRef, address: string, actor: Actor): Promise<WalletCredential & { sessionsEnded: number }> {
    const user = await this.users.get(ref);
    const wallet = await this.users.revokeWallet({ id: user.id }, address);
    const sessionsEnded = await this.sessions.revokeForCredential(wallet.id, 'wallet revoked');
    this.audit.record({ type: 'credential.revoked', outcome: 'success', userId: user.id, principal: subjectOf(user), details: { actor, kind: 'WALLET', credentialId: wallet.id, sessionsEnded } });
    return { ...wallet, sessionsEnded };
  }
}
