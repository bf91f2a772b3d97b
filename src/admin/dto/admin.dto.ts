import { Transform } from 'class-transformer';
import { IsArray, IsDateString, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { AUDIT_EVENT_TYPES } from '../../audit/audit.types.js';
import { ROLES } from '../../users/user.types.js';

const toInt = ({ value }: { value: unknown }): unknown => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Decorators run bottom-up and stop at the first failure: the type check stands last. */
export class CreateUserDto {
  @MaxLength(254) @IsString()
  email!: string;

  @MaxLength(254) @IsString()
  account!: string;

  @IsOptional() @IsIn(ROLES)
  role?: string;

  @IsOptional() @MaxLength(128, { each: true }) @IsString({ each: true }) @IsArray()
  publicKeys?: string[];

  @IsOptional() @MaxLength(128, { each: true }) @IsString({ each: true }) @IsArray()
  wallets?: string[];

  @IsOptional() @MaxLength(1024) @IsString()
  password?: string;

  @IsOptional() @IsDateString()
  passwordExpiresAt?: string;
}

export class AddPublicKeyDto {
  @MaxLength(128) @IsString()
  publicKeyHex!: string;
}

export class AddWalletDto {
  @MaxLength(128) @IsString()
  address!: string;
}

export class PageQueryDto {
  @IsOptional() @Max(500) @Min(1) @IsInt() @Transform(toInt)
  limit?: number;

  @IsOptional() @Matches(UUID, { message: 'after must be a user id' })
  after?: string;
}

export class AuditQueryDto {
  @IsOptional() @Matches(UUID, { message: 'userId must be a user id' })
  userId?: string;

  @IsOptional() @IsIn(AUDIT_EVENT_TYPES)
  type?: string;

  @IsOptional() @IsDateString()
  from?: string;

  @IsOptional() @IsDateString()
  to?: string;

  @IsOptional() @Max(1000) @Min(1) @IsInt() @Transform(toInt)
  limit?: number;

  @IsOptional() @Matches(/^\d{1,18}$/, { message: 'before must be an event id' })
  before?: string;
}
