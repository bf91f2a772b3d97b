import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SiweMessage } from '../../src/apis/wallet/siwe-message.js';

/**
 * The EIP-4361 vectors of spruceid/siwe in ../shared/vectors/siwe (see its README), read where
 * they lie, never copied; undefined, with a warning, when that folder is absent.
 */
export function siweVectors<T>(file: string): Record<string, T> | undefined {
  const path = join(process.cwd(), '..', 'shared', 'vectors', 'siwe', file);
  if (!existsSync(path)) {
    console.warn(`skipping the SIWE vectors of ${file}: ${path} is absent (it is present in CI)`);
    return undefined;
  }
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, T>;
}

/** A field set of the verification vectors: the message's fields, its signature, and how to verify it. */
export type SiweVerificationVector = Omit<SiweMessage, 'version'> & {
  version: string;
  signature: string;
  /** The time to verify at; issuedAt when absent. */
  time?: string;
  /** The domain the verifier expects, when not the message's own. */
  domainBinding?: string;
  /** The nonce the verifier expects, when not the message's own. */
  matchNonce?: string;
};
