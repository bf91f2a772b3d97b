import { ApiProperty } from '../../../http/openapi-decorators.js';
import { IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

// Epoch milliseconds between 2001 and 5138: a value in seconds (about 1.8e9 today) is refused.
const MIN_TIMESTAMP_MS = 1e12;
const MAX_TIMESTAMP_MS = 1e14;

/** POST /api/auth/login. Decorators run bottom-up, stopping at the first failure: type checks last. */
export class WalletLoginDto {
  @ApiProperty({ description: 'The wallet address, 0x and 40 hex digits', pattern: '^0x[0-9a-fA-F]{40}$', example: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266' })
  @Matches(/^0x[0-9a-fA-F]{40}$/, { message: 'signer must be a 0x-prefixed 20-byte hex address' }) @IsString()
  signer!: string;

  @ApiProperty({ description: 'The signed message: epoch milliseconds, within 5 minutes of the server clock', type: 'integer', example: 1767225600000 })
  @Max(MAX_TIMESTAMP_MS, { message: 'timestampInMs must be epoch milliseconds' })
  @Min(MIN_TIMESTAMP_MS, { message: 'timestampInMs must be epoch milliseconds, not seconds' })
  @IsInt({ message: 'timestampInMs must be an integer' })
  timestampInMs!: number;

  @ApiProperty({
    description: 'EIP-191 personal_sign signature of the decimal string of timestampInMs: 0x and 65 bytes (or 64, EIP-2098) in hex',
    example: '0x0143f5a88c78713ee466c4737e519d7708d9bf30b35340ab39a098ab5170083427a79fb78fb0f9da539a4db4637fb38b55ff0ee8f656ba8eedead8138c40d3061b',
  })
  @Matches(/^0x([0-9a-fA-F]{128}|[0-9a-fA-F]{130})$/, { message: 'signature must be 0x and 65 bytes (or 64, EIP-2098) in hex' })
  @MaxLength(200)
  @IsString()
  signature!: string;
}

/** POST /api/auth/refresh. */
export class WalletRefreshDto {
  @ApiProperty({ description: 'The access token issued with the refresh token; it may have expired', maxLength: 4096, example: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9.eyJqdGkiOiIuLi4ifQ.c2ln' })
  @MaxLength(4096) @IsString()
  expiredAccessToken!: string;

  @ApiProperty({ description: 'The refresh token of the same login', maxLength: 4096, example: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9.eyJhY2p0aSI6Ii4uLiJ9.c2ln' })
  @MaxLength(4096) @IsString()
  refreshToken!: string;
}
