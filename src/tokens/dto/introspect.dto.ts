import { IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

/** RFC 7662 request, as JSON or application/x-www-form-urlencoded. */
export class IntrospectDto {
  @MaxLength(8192) @MinLength(1) @IsString()
  token!: string;

  @IsOptional() @IsIn(['access_token', 'refresh_token'])
  token_type_hint?: string;
}
