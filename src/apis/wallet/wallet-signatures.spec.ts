import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { ContractSignatures } from '../../chain/contract-signatures.js';
import { WalletSignatures } from './wallet-signatures.js';

/** A node that says yes to every contract signature, and records that it was asked. */
function yesNode(): ContractSignatures & { asked: string[] } {
  const asked: string[] = [];
  return { enabled: true, asked, isValidSignature: async (address: string) => (asked.push(address), true) } as unknown as ContractSignatures & { asked: string[] };
}

describe('WalletSignatures', () => {
  const key = privateKeyToAccount(generatePrivateKey());
  const other = privateKeyToAccount(generatePrivateKey());
  const address = key.address.toLowerCase();

  it('proves an EOA by ECDSA recovery alone: its own key yes, another key no, and the node is never asked', async () => {
    const node = yesNode();
    const signatures = new WalletSignatures(node);
    await expect(signatures.verify(address, 'EOA', '1700000000000', await key.signMessage({ message: '1700000000000' }))).resolves.toBe(true);
    await expect(signatures.verify(address, 'EOA', '1700000000000', await other.signMessage({ message: '1700000000000' }))).resolves.toBe(false);
    expect(node.asked).toEqual([]);
  });

  it('proves a CONTRACT only through the node: a key that recovers to its address is not enough', async () => {
    const refusing = { enabled: true, isValidSignature: async () => false } as unknown as ContractSignatures;
    await expect(new WalletSignatures(refusing).verify(address, 'CONTRACT', 'm', await key.signMessage({ message: 'm' }))).resolves.toBe(false);
    const node = yesNode();
    await expect(new WalletSignatures(node).verify(address, 'CONTRACT', 'm', await other.signMessage({ message: 'm' }))).resolves.toBe(true);
    expect(node.asked).toEqual([address]);
  });

  it('refuses a CONTRACT when no node is configured', async () => {
    await expect(new WalletSignatures({ enabled: false } as ContractSignatures).verify(address, 'CONTRACT', 'm', await key.signMessage({ message: 'm' }))).resolves.toBe(false);
  });
});
