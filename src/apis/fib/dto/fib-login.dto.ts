import { ApiProperty, ApiPropertyOptional } from '../../../http/openapi-decorators.js';
import { IsOptional, IsString, MaxLength, MinLength, registerDecorator } from 'class-validator';
import { isWellFormedEmail, MAX_EMAIL_LENGTH } from '../../../users/email.js';

function IsWellFormedEmail(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isWellFormedEmail',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && isWellFormedEmail(value),
        defaultMessage: () => `email must be an address of at most ${MAX_EMAIL_LENGTH} characters`,
      },
    });
}

/**
 * POST .../session. Hex fields are only typed here: their format errors have codes of their own
 * (SignatureDecodeError, InvalidPublicKey), checked by the strategy. class-validator runs a
 * property's decorators bottom-up and stops at the first failure, so the type check stands last.
 */
export class FibLoginDto {
  @ApiProperty({ description: 'The email, exactly as signed', maxLength: MAX_EMAIL_LENGTH, example: 'alice@wonderland.space' })
  @IsWellFormedEmail() @MaxLength(MAX_EMAIL_LENGTH) @MinLength(1) @IsString()
  email!: string;

  @ApiProperty({
    description: 'Ed25519 signature of the Iroha hash of the email (or of `<nonce>:<email>`), 128 hex digits',
    example: '57e7115dfb9faa9add2d2ceb321c20db8c1e7f468d2ffc122793fa61e8ed61581580faaeae83a07fe857894bb33defd61c4ba099b981020146fe8d2be00e630a',
  })
  @MaxLength(1024) @IsString()
  signature!: string;

  @ApiPropertyOptional({
    description: 'Which of the user\'s keys signed, 64 hex digits. Required unless sent as `publicKey`.',
    example: '7fbedb314a9b0c00caef967ac5cabb982ec45da828a0c58a9aafc854f32422ac',
  })
  @IsOptional() @MaxLength(1024) @IsString()
  authPublicKeyHex?: string;

  /** Challenge login: the nonce from POST .../challenge; the signed message is then `<nonce>:<email>`. */
  @ApiPropertyOptional({ description: 'Challenge login: the nonce from POST .../challenge; the signed message is then `<nonce>:<email>`', maxLength: 128 })
  @IsOptional() @MaxLength(128) @IsString()
  nonce?: string;

  /** Older clients send the key under this name. */
  @ApiPropertyOptional({ description: 'Alias of `authPublicKeyHex`, as older clients send it', deprecated: true })
  @IsOptional() @MaxLength(1024) @IsString()
  publicKey?: string;
}

/** FibLoginDto's fields and the longest value each may have. */
const FIB_LOGIN_FIELDS: ReadonlyMap<string, number> = new Map([
  ['email', MAX_EMAIL_LENGTH],
  ['signature', 1024],
  ['authPublicKeyHex', 1024],
  ['nonce', 128],
  ['publicKey', 1024],
]);

/**
 * The login body as a client sends it, checked without class-validator (the login's hot path):
 * a plain JSON object of known fields, every value a string within its limit, with a well-formed
 * email and a signature. It accepts only what FibLoginDto accepts (a UTF-16 length within the
 * limit is within class-validator's code-point one); anything else returns undefined and gets
 * FibLoginDto's full validation, with its messages.
 */
export function wellFormedFibLogin(body: unknown): FibLoginDto | undefined {
  if (typeof body !== 'object' || body === null || Object.getPrototypeOf(body) !== Object.prototype) return undefined;
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    const limit = FIB_LOGIN_FIELDS.get(key);
    if (limit === undefined || typeof value !== 'string' || value.length > limit) return undefined;
  }
  const { email, signature } = fields;
  return typeof email === 'string' && isWellFormedEmail(email) && typeof signature === 'string' ? (fields as unknown as FibLoginDto) : undefined;
}

/** POST .../challenge. */
export class ChallengeDto {
  @ApiProperty({ description: 'The email that will log in', maxLength: MAX_EMAIL_LENGTH, example: 'alice@wonderland.space' })
  @IsWellFormedEmail() @MaxLength(MAX_EMAIL_LENGTH) @MinLength(1) @IsString()
  email!: string;
}
