import { Wallet } from 'ethers';
import { siweVectors, type SiweVerificationVector } from '../../../test/support/siwe-vectors.js';
import type { ContractSignatures } from '../../chain/contract-signatures.js';
import { Clock } from '../../common/clock.js';
import { loadConfig } from '../../config/app-config.js';
import { AuthenticationError } from '../../sessions/authentication.errors.js';
import { formatSiweMessage, parseDateTime, type SiweMessage } from './siwe-message.js';
import { siwePolicy, SiweVerifier, type SiwePolicy } from './siwe-verifier.js';
import { SiweError } from './siwe.errors.js';
import { WalletSignatures } from './wallet-signatures.js';

const positive = siweVectors<SiweVerificationVector>('verification_positive.json');
const negative = siweVectors<SiweVerificationVector>('verification_negative.json');

/** No node: EOA signatures only, as the vectors are (all externally owned accounts on chain 1). */
const noChain = new WalletSignatures({ enabled: false } as ContractSignatures);

/**
 * A verifier at the vector's own time (`time`, else issuedAt), bound to its domain (`domainBinding`,
 * else its own) and uri. EIP-4361 sets no window on issuedAt; sigauth's 5 minutes is its own rule
 * (checked below and in test/apis/siwe.e2e-spec.ts), so it is off here: "not yet valid" verifies in 2101.
 */
function verifierFor(v: SiweVerificationVector): SiweVerifier {
  const at = parseDateTime(v.time ?? v.issuedAt) ?? Date.parse(v.time ?? v.issuedAt);
  const policy: SiwePolicy = { domains: [v.domainBinding ?? v.domain], origins: [new URL(v.uri).origin], chainId: 1, issuedAtWindowMs: Infinity };
  return new SiweVerifier(policy, { now: () => at } as Clock, noChain);
}

/** The message text built from the vector's fields (where a field is itself invalid, no text can be: that is a failure). */
function textOf(v: SiweVerificationVector): string | undefined {
  const { signature: _s, time: _t, domainBinding: _d, matchNonce: _n, ...fields } = v;
  try {
    return formatSiweMessage(fields as SiweMessage);
  } catch {
    return undefined;
  }
}

/** Verifies as the login does: the verifier, then the login's nonce rule (the nonce must be the one expected). */
async function verifies(v: SiweVerificationVector): Promise<boolean> {
  const text = textOf(v);
  if (text === undefined) return false;
  try {
    const message = await verifierFor(v).verify(text, v.signature);
    return v.matchNonce === undefined || message.nonce === v.matchNonce;
  } catch (error) {
    if (error instanceof SiweError || error instanceof AuthenticationError) return false;
    throw error;
  }
}

describe('SiweVerifier', () => {
  (positive ? it.each(Object.entries(positive)) : it.skip.each([['absent', {} as SiweVerificationVector]]))('verifies the positive vector %s at its own time', async (_name, v) => {
    await expect(verifies(v)).resolves.toBe(true);
  });

  (negative ? it.each(Object.entries(negative)) : it.skip.each([['absent', {} as SiweVerificationVector]]))('refuses the negative vector %s at its own time', async (_name, v) => {
    await expect(verifies(v)).resolves.toBe(false);
  });

  describe('with the service policy', () => {
    const wallet = Wallet.createRandom();
    const now = Date.UTC(2026, 0, 1, 12);
    const config = loadConfig({ SIWE_DOMAINS: 'app.example.com', ETH_CHAIN_ID: '10' } as NodeJS.ProcessEnv);
    const verifier = new SiweVerifier(siwePolicy(config), { now: () => now } as Clock, noChain);
    const text = (issuedAt: number) =>
      formatSiweMessage({ domain: 'app.example.com', address: wallet.address, uri: 'https://app.example.com/', version: '1', chainId: 10, nonce: 'abcdefgh12345678', issuedAt: new Date(issuedAt).toISOString() });

    it('takes an issuedAt up to 5 minutes away, either way, and no further', async () => {
      for (const issuedAt of [now - 300_000, now + 300_000]) await expect(verifier.verify(text(issuedAt), await wallet.signMessage(text(issuedAt)))).resolves.toMatchObject({ chainId: 10 });
      for (const issuedAt of [now - 300_001, now + 300_001]) {
        await expect(verifier.verify(text(issuedAt), await wallet.signMessage(text(issuedAt)))).rejects.toEqual(new SiweError('MESSAGE_EXPIRED', 'issuedAt is more than 5 minutes from the server time'));
      }
    });

    it('binds to SIWE_DOMAINS over https by default, and to ETH_CHAIN_ID', () => {
      expect(siwePolicy(config)).toEqual({ domains: ['app.example.com'], origins: ['https://app.example.com'], chainId: 10, issuedAtWindowMs: 300_000 });
    });

    it('checks the signature over the exact text: the same fields in another text are refused', async () => {
      const signed = text(now);
      const signature = await wallet.signMessage(signed);
      await expect(verifier.verify(signed.replace('app.example.com/', 'app.example.com'), signature)).rejects.toEqual(new AuthenticationError('INVALID_PROOF', 'Signature is not valid.'));
    });
  });
});
