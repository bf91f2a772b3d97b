import type { PrivateKeyAccount } from 'viem/accounts';
import type { TestApp } from './test-app.js';

/** Distinct timestamps near now: each (address, timestamp) logs in once. */
let lastTimestamp = 0;
export const uniqueTimestamp = (): number => (lastTimestamp = Math.max(Date.now() - 1000, lastTimestamp + 1));

/** The timestamp login as a client makes it, signed with viem's personal_sign. */
export async function timestampLogin(service: TestApp, account: PrivateKeyAccount, signer: string = account.address) {
  const timestampInMs = uniqueTimestamp();
  const signature = await account.signMessage({ message: String(timestampInMs) });
  return service.http().post('/api/auth/login').send({ signer, timestampInMs, signature });
}

/**
 * An EIP-4361 message, laid out here from the specification, independently of the service's
 * parser. `address` must be EIP-55 checksummed (viem's accounts are).
 */
export function siweText(m: { domain: string; address: string; statement?: string; uri: string; chainId: number; nonce: string; issuedAt: string; expirationTime?: string; notBefore?: string }): string {
  return [
    `${m.domain} wants you to sign in with your Ethereum account:`,
    m.address,
    '',
    ...(m.statement === undefined ? [''] : [m.statement, '']),
    `URI: ${m.uri}`,
    'Version: 1',
    `Chain ID: ${m.chainId}`,
    `Nonce: ${m.nonce}`,
    `Issued At: ${m.issuedAt}`,
    ...(m.expirationTime === undefined ? [] : [`Expiration Time: ${m.expirationTime}`]),
    ...(m.notBefore === undefined ? [] : [`Not Before: ${m.notBefore}`]),
  ].join('\n');
}

/** One sample of a Prometheus metric from GET /metrics (0 when absent), its labels matched exactly. */
export async function metricValue(service: TestApp, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await service.http().get('/metrics')).text;
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
  const line = text.split('\n').find((l) => l.startsWith(wanted ? `${name}{${wanted}} ` : `${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}
