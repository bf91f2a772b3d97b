import { Injectable } from '@nestjs/common';
import { ContractSignatures } from '../../chain/contract-signatures.js';
import { parseEthereumSignature, personalMessageHash, recoverPersonalSignAddress } from './ethereum-signature.js';

/** Both Ethereum logins' proof: who signed an EIP-191 (personal_sign) message. */
@Injectable()
export class WalletSignatures {
  constructor(private readonly contracts: ContractSignatures) {}

  /**
   * Whether `signer` (a lower-case address) signed `message`. ECDSA recovery first, which needs no
   * node, so an externally owned account never waits for one. Only when recovery names another
   * address, and ETH_RPC_URL is set, is the signer asked as a contract wallet (ERC-1271); a node
   * that does not answer then throws ChainError, which is never an acceptance.
   */
  async verify(signer: string, message: string, signatureHex: string): Promise<boolean> {
    const signature = parseEthereumSignature(signatureHex);
    if (typeof signature === 'object' && recoverPersonalSignAddress(message, signature) === signer) return true;
    if (!this.contracts.enabled) return false;
    return this.contracts.isValidSignature(signer, personalMessageHash(message), signatureHex);
  }
}
