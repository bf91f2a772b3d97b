import { envelopeStatusTable } from '../../http/envelope-status-table.js';
import type { FibLoginError } from './fib-login.errors.js';

/** The FIB session API's table: the envelope's rows and these. */
export const FIB_STATUS_TABLE = envelopeStatusTable<FibLoginError>({
  fib: {
    SIGNATURE_DECODE: [422, 'SignatureDecodeError'],
    INVALID_PUBLIC_KEY: [422, 'InvalidPublicKey'],
    CHALLENGE_REQUIRED: [401, 'ChallengeRequired'],
    INVALID_CHALLENGE: [401, 'InvalidChallenge'],
  },
});
