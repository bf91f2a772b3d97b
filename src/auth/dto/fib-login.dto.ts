import { IsOptional, IsString, MaxLength, MinLength, registerDecorator } from 'class-validator';
import { isWellFormedEmail, MAX_EMAIL_LENGTH } from '../../users/email.js';

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
  @IsWellFormedEmail() @MaxLength(MAX_EMAIL_LENGTH) @MinLength(1) @IsString()
  email!: string;

  @MaxLength(1024) @IsString()
  signature!: string;

  @IsOptional() @MaxLength(1024) @IsString()
  authPublicKeyHex?: string;

  /** Challenge login: the nonce from POST .../challenge; the signed message is then `<nonce>:<email>`. */
  @IsOptional() @MaxLength(128) @IsString()
  nonce?: string;

  /** Older clients send the key under this name. */
  @IsOptional() @MaxLength(1024) @IsString()
  publicKey?: string;
}

/** POST .../challenge. */
export class ChallengeDto {
  @IsWellFormedEmail() @MaxLength(MAX_EMAIL_LENGTH) @MinLength(1) @IsString()
  email!: string;
}
