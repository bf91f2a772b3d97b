import { Module } from '@nestjs/common';
import { AuthModule } from '../../auth/auth.module.js';
import { AppConfig } from '../../config/app-config.js';
import { SessionsModule } from '../../sessions/sessions.module.js';
import { sessionPolicy } from '../../sessions/session-policy.js';
import { ChainModule } from '../../chain/chain.module.js';
import { UsersModule } from '../../users/users.module.js';
import { SiweController } from './siwe.controller.js';
import { SiweLoginStrategy } from './siwe-login.strategy.js';
import { SiweNonces } from './siwe-nonces.js';
import { SIWE_POLICY, siwePolicy, SiweVerifier } from './siwe-verifier.js';
import { WalletLogins } from './wallet-logins.js';
import { WalletSignatures } from './wallet-signatures.js';
import { WalletSignatureStrategy } from './wallet-signature.strategy.js';
import { WalletController } from './wallet.controller.js';

/**
 * The Ethereum wallet API: EIP-191 signatures of a timestamp, and Sign-In with
 * Ethereum (EIP-4361); either from an account or, through the chain, from a contract wallet.
 */
@Module({
  imports: [UsersModule, SessionsModule, AuthModule, ChainModule],
  controllers: [WalletController, SiweController],
  providers: [
    WalletSignatureStrategy,
    WalletSignatures,
    WalletLogins,
    SiweLoginStrategy,
    SiweVerifier,
    SiweNonces,
    { provide: SIWE_POLICY, inject: [AppConfig], useFactory: siwePolicy },
    // Access 15 min, refresh 24 h by default; the wallet is the user's own, a public client.
    sessionPolicy((c) => ({ clientId: 'wallet', accessTtl: c.WALLET_ACCESS_TOKEN_TTL, refreshTtl: c.WALLET_REFRESH_TOKEN_TTL, publicClient: true })),
  ],
})
export class WalletModule {}
