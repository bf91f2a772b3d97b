import { Injectable } from '@nestjs/common';
import { LoginRules } from '../../auth/login-rules.js';
import type { VerifiedLogin } from '../../sessions/verified-login.js';
import type { WalletKind } from '../../users/user.types.js';
import { UsersService } from '../../users/users.service.js';

/**
 * What both Ethereum logins (a signed timestamp, a SIWE message) do with the address they name.
 * The wallet is looked up before the signature is checked: its kind decides whether the node is
 * asked at all (an `EOA` proves itself by recovery alone, a `CONTRACT` only through ERC-1271), and
 * an address no one holds is checked as an `EOA`, so it never makes the service call the node.
 */
@Injectable()
export class WalletLogins {
  constructor(
    private readonly users: UsersService,
    private readonly rules: LoginRules,
  ) {}

  /** The login `address` proves once `checkSignature` (which throws the API's error on a bad signature) passes for its kind. */
  async prove(address: string, checkSignature: (kind: WalletKind) => Promise<void>): Promise<VerifiedLogin> {
    const candidate = await this.users.findWalletLoginCandidate(address.toLowerCase());
    await checkSignature(candidate?.kind ?? 'EOA');
    if (!candidate) throw this.rules.unknownPrincipal('Signature is not valid.');
    return { principal: candidate.principal, credential: { kind: 'WALLET', id: candidate.walletId } };
  }
}
