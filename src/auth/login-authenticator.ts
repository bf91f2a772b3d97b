import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Authenticator } from 'passport';
import { Strategy as CustomStrategy } from 'passport-custom';
import type { AuthenticatedLogin } from './authenticated-login.js';
import { EmailSignatureStrategy } from './strategies/email-signature.strategy.js';
import { PasswordStrategy } from './strategies/password.strategy.js';
import { WalletSignatureStrategy } from './strategies/wallet-signature.strategy.js';

export type LoginStrategyName = 'email-signature' | 'wallet-signature' | 'password';

/**
 * Passport, scoped to this application. @nestjs/passport registers strategies on passport's
 * process-wide singleton, so a second application in the same process (a test starting another
 * instance) would silently take over the first one's login routes; an Authenticator of our own
 * keeps each application's strategies, and the services behind them, its own.
 */
@Injectable()
export class LoginAuthenticator {
  private readonly passport = new Authenticator();

  constructor(email: EmailSignatureStrategy, wallet: WalletSignatureStrategy, password: PasswordStrategy) {
    for (const [name, strategy] of [['email-signature', email], ['wallet-signature', wallet], ['password', password]] as const) {
      this.passport.use(
        name,
        new CustomStrategy((request, done) => {
          strategy.validate(request as unknown as FastifyRequest).then((login) => done(null, login), done);
        }),
      );
    }
  }

  /** Runs a strategy; resolves with the login it proved, rejects with the domain error it threw. */
  authenticate(name: LoginStrategyName, request: FastifyRequest, reply: FastifyReply): Promise<AuthenticatedLogin> {
    return new Promise((resolve, reject) => {
      const middleware = this.passport.authenticate(name, { session: false }, (error: unknown, login: AuthenticatedLogin | false) => {
        if (error) reject(error);
        else if (login) resolve(login);
        else reject(new Error(`strategy ${name} yielded neither a login nor an error`));
      });
      middleware(request, reply, (error: unknown) => reject(error ?? new Error(`strategy ${name} did not finish`)));
    });
  }
}
