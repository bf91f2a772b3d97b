import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

/** RFC 7662 request, as JSON or application/x-www-form-urlencoded. */
export class IntrospectDto {
  @ApiProperty({ description: 'An access or refresh token of this service', minLength: 1, maxLength: 8192, example: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9.eyJzdWIiOiIuLi4ifQ.c2ln' })
  @MaxLength(8192) @MinLength(1) @IsString()
  token!: string;

  @ApiPropertyOptional({ description: 'A hint only: every token is looked up whatever it says', enum: ['access_token', 'refresh_token'] })
  @IsOptional() @IsIn(['access_token', 'refresh_token'])
  token_type_hint?: string;
}
