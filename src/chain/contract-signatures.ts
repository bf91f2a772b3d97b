import { Injectable } from '@nestjs/common';
import type { Hex } from 'viem';
import { MetricsService } from '../health/metrics.service.js';
import { ChainClient } from './chain-client.js';

const ERC1271_ABI = [
  { type: 'function', name: 'isValidSignature', stateMutability: 'view', inputs: [{ name: 'hash', type: 'bytes32' }, { name: 'signature', type: 'bytes' }], outputs: [{ type: 'bytes4' }] },
] as const;
/** bytes4(keccak256("isValidSignature(bytes32,bytes)")): what a contract answers for a signature it accepts. */
const MAGIC_VALUE = '0x1626ba7e';

/**
 * Smart-contract wallets (ERC-1271): a contract says itself whether a signature is its own. Asked
 * only when ETH_RPC_URL is set; a node that cannot be asked is a ChainError, never an acceptance.
 */
@Injectable()
export class ContractSignatures {
  constructor(
    private readonly chain: ChainClient,
    private readonly metrics: MetricsService,
  ) {}

  /** Whether contract wallets can be checked at all. */
  get enabled(): boolean {
    return this.chain.configured;
  }

  /**
   * True when `address` has code and its `isValidSignature(hash, signature)` returns the magic
   * value; false for an account without code, a revert or any other answer.
   */
  async isValidSignature(address: string, hash: Uint8Array, signature: string): Promise<boolean> {
    try {
      await this.chain.assertChain();
      const to = address as Hex;
      if ((await this.chain.code(to)) === '0x') return this.counted(false);
      // Loaded with the first contract wallet, as ChainClient loads viem (the node is asked first, so it is in memory by now).
      const { bytesToHex, encodeFunctionData } = await import('viem');
      const data = encodeFunctionData({ abi: ERC1271_ABI, functionName: 'isValidSignature', args: [bytesToHex(hash), signature.toLowerCase() as Hex] });
      const result = await this.chain.call(to, data);
      return this.counted(!result.reverted && result.data.slice(0, 10).toLowerCase() === MAGIC_VALUE);
    } catch (error) {
      this.metrics.contractSignatureChecks.inc({ outcome: 'unavailable' });
      throw error;
    }
  }

  private counted(valid: boolean): boolean {
    this.metrics.contractSignatureChecks.inc({ outcome: valid ? 'valid' : 'invalid' });
    return valid;
  }
}
