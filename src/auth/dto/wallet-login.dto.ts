import { IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

// Epoch milliseconds between 2001 and 5138: a value in seconds (about 1.8e9 today) is refused.
const MIN_TIMESTAMP_MS = 1e12;
const MAX_TIMESTAMP_MS = 1e14;

/** POST /api/auth/login. Decorators run bottom-up, stopping at the first failure: type checks last. */
export class WalletLoginDto {
  @Matches(/^0x[0-9a-fA-F]{40}$/, { message: 'signer must be a 0x-prefixed 20-byte hex address' }) @IsString()
  signer!: string;

  @Max(MAX_TIMESTAMP_MS, { message: 'timestampInMs must be epoch milliseconds' })
  @Min(MIN_TIMESTAMP_MS, { message: 'timestampInMs must be epoch milliseconds, not seconds' })
  @IsInt({ message: 'timestampInMs must be an integer' })
  timestampInMs!: number;

  @Matches(/^0x([0-9a-fA-F]{128}|[0-9a-fA-F]{130})$/, { message: 'signature must be 0x and 65 bytes (or 64, EIP-2098) in hex' })
  @MaxLength(200)
  @IsString()
  signature!: string;
}

/** POST /api/auth/refresh. */
export class WalletRefreshDto {
  @MaxLength(4096) @IsString()
  expiredAccessToken!: string;

  @MaxLength(4096) @IsString()
  refreshToken!: string;
}
