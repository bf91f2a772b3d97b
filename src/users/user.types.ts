import type { CredentialKind, Role, UserStatus, WalletKind } from '../generated/prisma/enums.js';

export type { CredentialKind, Role, UserStatus, WalletKind };
export const ROLES: readonly Role[] = ['ROLE_PEER', 'ROLE_ADMIN', 'ROLE_SERVICE'];
/**
 * EOA: an address, accepted only by ECDSA recovery, so no node is ever asked about it. CONTRACT:
 * accepted only by its ERC-1271 isValidSignature through the node, never by a key.
 */
export const WALLET_KINDS: readonly WalletKind[] = ['EOA', 'CONTRACT'];

export interface PublicKeyCredential {
  id: string;
  publicKeyHex: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface WalletCredential {
  id: string;
  address: string;
  kind: WalletKind;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface UserRecord {
  id: string;
  /** Null for a user the Factory contract registered: the account names them. */
  email: string | null;
  account: string;
  role: Role;
  status: UserStatus;
  hasPassword: boolean;
  passwordExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface UserWithCredentials extends UserRecord {
  publicKeys: PublicKeyCredential[];
  wallets: WalletCredential[];
}

/** What a login needs to know about an active user: identity, claims, active keys. */
export interface LoginCandidate {
  id: string;
  email: string;
  account: string;
  role: Role;
  activeKeys: { id: string; publicKeyHex: string }[];
}

export interface NewUser {
  email: string;
  account: string;
  role: Role;
  publicKeys: string[];
  wallets: NewWallet[];
  passwordHash: string | null;
  passwordExpiresAt: Date | null;
}

/** A wallet to add: a lower-case address and what proves it. */
export interface NewWallet {
  address: string;
  kind: WalletKind;
}

/** Who a session belongs to, as its tokens carry it. */
export interface SessionPrincipal {
  userId: string;
  email: string | null;
  account: string;
  role: Role;
}

/**
 * What a principal's tokens carry as `sub` and the audit log as its principal: the email, or the
 * account (the checksummed address) of a user the Factory registered without one.
 */
export function subjectOf(principal: { email: string | null; account: string }): string {
  return principal.email ?? principal.account;
}

/** A creation the Factory contract reported: its creator and the contract, lower-case 0x addresses. */
export interface FactoryWallets {
  owner: string;
  contract: string;
}

/** An active user's active wallet, as an Ethereum login finds it before it checks any signature. */
export interface WalletLoginCandidate {
  principal: SessionPrincipal;
  walletId: string;
  kind: WalletKind;
}

/**
 * What registering a creation did: the user who holds the contract now (none when the creation
 * was refused), and what was new.
 */
export interface FactoryRegistration {
  userId: string | null;
  /** A new user (the creator held no wallet), rather than a wallet added to an existing one. */
  userCreated: boolean;
  /** False when the contract was already an active wallet of someone, or the creation was refused. */
  contractAdded: boolean;
  /** Why nothing was registered: the creator's address belongs to a user the Factory did not create. */
  refused?: 'CREATOR_NOT_FROM_FACTORY';
}

/** A user as a caller names one: by email (a string), or by id. */
export type UserRef = string | { id: string };

/** What a password login needs: the principal of an active user, the hash, its id and its expiry. */
export interface PasswordLogin {
  principal: SessionPrincipal;
  passwordHash: string;
  /** The credential id of the sessions this password opens; a new password gets a new one. */
  passwordId: string;
  passwordExpiresAt: Date | null;
}

/** A password as a seed gives it: the hash to store, and the id of the password it replaces, if any. */
export interface StoredPassword {
  passwordHash: string;
  passwordId: string;
}
