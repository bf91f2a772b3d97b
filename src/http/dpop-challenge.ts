import { DPOP_ALGORITHMS } from '@sigauth/guard/dpop';
import type { StatusRow } from './status-table.js';

/** What RFC 9449 section 7.1 calls each DPoP refusal: a proof that does not hold, or a bound token without its key. */
const CHALLENGE_ERRORS: Readonly<Record<string, string>> = { INVALID_DPOP_PROOF: 'invalid_dpop_proof', UNPROVEN_KEY: 'invalid_token' };

/**
 * RFC 9449 section 7.1 and RFC 6750 section 3: a 401 about DPoP names the `DPoP` scheme, the
 * error, and the proof algorithms the client may use, so that a standard client knows to retry
 * with a proof (and which). Every other row adds nothing.
 */
export function dpopChallenge(row: StatusRow): Record<string, string> {
  const error = row.family === 'dpop' && row.status === 401 && row.code !== undefined ? CHALLENGE_ERRORS[row.code] : undefined;
  return error ? { 'www-authenticate': `DPoP error="${error}", algs="${DPOP_ALGORITHMS.join(' ')}"` } : {};
}
