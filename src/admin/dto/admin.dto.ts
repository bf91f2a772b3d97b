import { ApiProperty, ApiPropertyOptional } from '../../http/openapi-decorators.js';
import { Transform } from 'class-transformer';
import { IsArray, IsDateString, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { AUDIT_EVENT_TYPES } from '../../audit/audit.types.js';
import { ROLES, WALLET_KINDS } from '../../users/user.types.js';

const toInt = ({ value }: { value: unknown }): unknown => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Decorators run bottom-up and stop at the first failure: the type check stands last. */
export class CreateUserDto {
  @ApiProperty({ description: 'Unique after trimming, NFC and lower-casing', maxLength: 254, example: 'alice@wonderland.space' })
  @MaxLength(254) @IsString()
  email!: string;

  @ApiProperty({ description: 'The account name carried in tokens as `acc`', maxLength: 254, example: 'alice@wonderland' })
  @MaxLength(254) @IsString()
  account!: string;

  @ApiPropertyOptional({ enum: ROLES, default: 'ROLE_PEER' })
  @IsOptional() @IsIn(ROLES)
  role?: string;

  @ApiPropertyOptional({ description: 'Ed25519 public keys, 64 hex digits each', type: [String], example: ['7fbedb314a9b0c00caef967ac5cabb982ec45da828a0c58a9aafc854f32422ac'] })
  @IsOptional() @MaxLength(128, { each: true }) @IsString({ each: true }) @IsArray()
  publicKeys?: string[];

  @ApiPropertyOptional({ description: 'Ethereum addresses (EOA wallets: they log in by their own ECDSA signature); EIP-55 checksum when mixed case', type: [String], example: ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'] })
  @IsOptional() @MaxLength(128, { each: true }) @IsString({ each: true }) @IsArray()
  wallets?: string[];

  @ApiPropertyOptional({ description: 'Smart-contract wallets: they log in only through their ERC-1271 isValidSignature, asked of the Ethereum node', type: [String], example: [] })
  @IsOptional() @MaxLength(128, { each: true }) @IsString({ each: true }) @IsArray()
  contractWallets?: string[];

  @ApiPropertyOptional({ description: 'For service-account logins; stored as an Argon2id hash', maxLength: 1024, format: 'password' })
  @IsOptional() @MaxLength(1024) @IsString()
  password?: string;

  @ApiPropertyOptional({ description: 'When the password expires (needs a password)', format: 'date-time', example: '2027-01-01T00:00:00Z' })
  @IsOptional() @IsDateString()
  passwordExpiresAt?: string;
}

export class SetPasswordDto {
  @ApiProperty({ description: 'The new password; stored as an Argon2id hash', maxLength: 1024, format: 'password' })
  @MaxLength(1024) @IsString()
  password!: string;

  @ApiPropertyOptional({ description: 'When the new password expires', format: 'date-time', example: '2027-01-01T00:00:00Z' })
  @IsOptional() @IsDateString()
  passwordExpiresAt?: string;
}

export class AddPublicKeyDto {
  @ApiProperty({ description: 'Ed25519 public key, 64 hex digits', example: '7fbedb314a9b0c00caef967ac5cabb982ec45da828a0c58a9aafc854f32422ac' })
  @MaxLength(128) @IsString()
  publicKeyHex!: string;
}

export class AddWalletDto {
  @ApiProperty({ description: 'Ethereum address, 0x and 40 hex digits (EIP-55 checksum when mixed case)', example: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266' })
  @MaxLength(128) @IsString()
  address!: string;

  @ApiPropertyOptional({
    enum: WALLET_KINDS,
    default: 'EOA',
    description: 'EOA: an address, accepted only by its own ECDSA signature. CONTRACT: a smart-contract wallet, accepted only by its ERC-1271 isValidSignature, asked of the Ethereum node',
  })
  @IsOptional() @IsIn(WALLET_KINDS)
  kind?: string;
}

export class PageQueryDto {
  @ApiPropertyOptional({ description: 'Page size', type: 'integer', minimum: 1, maximum: 500, default: 100 })
  @IsOptional() @Max(500) @Min(1) @IsInt() @Transform(toInt)
  limit?: number;

  @ApiPropertyOptional({ description: 'The `next` of the previous page: users after this id', format: 'uuid' })
  @IsOptional() @Matches(UUID, { message: 'after must be a user id' })
  after?: string;
}

export class AuditQueryDto {
  @ApiPropertyOptional({ description: 'Only events of this user', format: 'uuid' })
  @IsOptional() @Matches(UUID, { message: 'userId must be a user id' })
  userId?: string;

  @ApiPropertyOptional({ description: 'Only events of this type', enum: AUDIT_EVENT_TYPES })
  @IsOptional() @IsIn(AUDIT_EVENT_TYPES)
  type?: string;

  @ApiPropertyOptional({ description: 'Events at or after this time', format: 'date-time' })
  @IsOptional() @IsDateString()
  from?: string;

  @ApiPropertyOptional({ description: 'Events before this time', format: 'date-time' })
  @IsOptional() @IsDateString()
  to?: string;

  @ApiPropertyOptional({ description: 'Page size', type: 'integer', minimum: 1, maximum: 1000, default: 100 })
  @IsOptional() @Max(1000) @Min(1) @IsInt() @Transform(toInt)
  limit?: number;

  @ApiPropertyOptional({ description: 'The `next` of the previous page: events older than this id', pattern: '^\\d{1,18}$' })
  @IsOptional() @Matches(/^\d{1,18}$/, { message: 'before must be an event id' })
  before?: string;
}
