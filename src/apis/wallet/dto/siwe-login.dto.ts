import { ApiProperty } from '../../../http/openapi-decorators.js';
import { IsString, Matches, MaxLength } from 'class-validator';

export const SIWE_MESSAGE_EXAMPLE = [
  'app.example.com wants you to sign in with your Ethereum account:',
  '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  '',
  'Sign in to Example.',
  '',
  'URI: https://app.example.com/login',
  'Version: 1',
  'Chain ID: 1',
  'Nonce: 9f1c2a9e5d4b4c1e9a7f2b8d6e0c4a11',
  'Issued At: 2026-01-01T00:00:00.000Z',
].join('\n');

/** POST /api/auth/siwe/login. Decorators run bottom-up, stopping at the first failure: type checks last. */
export class SiweLoginDto {
  @ApiProperty({ description: 'The EIP-4361 message, exactly as signed (LF line ends, no trailing newline)', maxLength: 8192, example: SIWE_MESSAGE_EXAMPLE })
  @MaxLength(8192) @IsString()
  message!: string;

  @ApiProperty({
    description: 'EIP-191 personal_sign signature of the message, 0x and hex: 65 bytes (or 64, EIP-2098) from an account, any length a contract wallet (ERC-1271) takes',
    example: '0x0143f5a88c78713ee466c4737e519d7708d9bf30b35340ab39a098ab5170083427a79fb78fb0f9da539a4db4637fb38b55ff0ee8f656ba8eedead8138c40d3061b',
  })
  @Matches(/^0x(?:[0-9a-fA-F]{2})+$/, { message: 'signature must be 0x and an even number of hex digits' })
  @MaxLength(4098)
  @IsString()
  signature!: string;
}
