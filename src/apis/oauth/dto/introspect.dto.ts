import { ApiProperty, ApiPropertyOptional } from '../../../http/openapi-decorators.js';
import { IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

/** RFC 7662 request, as JSON or application/x-www-form-urlencoded. */
export class IntrospectDto {
  @ApiProperty({ description: 'An access or refresh token of this service', minLength: 1, maxLength: 8192, example: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9.eyJzdWIiOiIuLi4ifQ.c2ln' })
  @MaxLength(8192) @MinLength(1) @IsString()
  token!: string;

  @ApiPropertyOptional({ description: 'A hint only: every token is looked up whatever it says', enum: ['access_token', 'refresh_token'] })
  @IsOptional() @IsIn(['access_token', 'refresh_token'])
  token_type_hint?: string;

  // RFC 7523 client authentication, for OAuth clients; ClientAuthentication checks them.
  @ApiPropertyOptional({ description: 'For private_key_jwt client authentication', example: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' })
  @IsOptional() @IsString()
  client_assertion_type?: string;

  @ApiPropertyOptional({ description: 'For private_key_jwt client authentication: a JWT signed by one of the account\'s Ed25519 keys' })
  @IsOptional() @IsString() @MaxLength(4096)
  client_assertion?: string;

  @ApiPropertyOptional({ description: 'The client id (the account\'s email), if the client sends it' })
  @IsOptional() @IsString() @MaxLength(254)
  client_id?: string;
}
