import { Injectable } from '@nestjs/common';
import { ContractSignatures } from '../../chain/contract-signatures.js';
import type { WalletKind } from '../../users/user.types.js';
import { parseEthereumSignature, personalMessageHash, recoverPersonalSignAddress } from './ethereum-signature.js';

/** Both Ethereum logins' proof: who signed an EIP-191 (personal_sign) message. */
@Injectable()
export class WalletSignatures {
  constructor(private readonly contracts: ContractSignatures) {}

  /**
   * Whether `signer` (a lower-case address) signed `message`, proven the one way its kind allows.
   * An EOA only by ECDSA recovery: no node is asked, so a node that lies cannot speak for an
   * address. A CONTRACT only by its ERC-1271 isValidSignature through the node (a node that does
   * not answer throws ChainError, never an acceptance): a contract has no key, and recovery
   * would let whoever named it in a registration sign for it. An address no one holds is asked
   * as an EOA, so a stranger can never make the service call the node.
   */
  async verify(signer: string, kind: WalletKind, message: string, signatureHex: string): Promise<boolean> {
    if (kind === 'CONTRACT') return this.contracts.enabled && this.contracts.isValidSignature(signer, personalMessageHash(message), signatureHex);
    const signature = parseEthereumSignature(signatureHex);
    return typeof signature === 'object' && recoverPersonalSignAddress(message, signature) === signer;
  }
}
