import { ApiPropertyOptional } from '../../../http/openapi-decorators.js';
import { IsInt, Max, Min, ValidateIf } from 'class-validator';
import { RequestError } from '../../../common/domain-error.js';
import { validateBody } from '../../../http/validation.js';

export const DEFAULT_SERVICE_TOKEN_TTL = 300;
export const MAX_SERVICE_TOKEN_TTL = 86400;

/** `{ ttl }` of /v1/users/authorize and /v1/users/refresh_jwt: integer seconds, 1 to 86400. */
export class ServiceTokenDto {
  // Absent means the default; null is not a ttl.
  @ApiPropertyOptional({ description: 'Token lifetime in seconds', type: 'integer', minimum: 1, maximum: MAX_SERVICE_TOKEN_TTL, default: DEFAULT_SERVICE_TOKEN_TTL, example: 3600 })
  @ValidateIf((dto: ServiceTokenDto) => dto.ttl !== undefined)
  @Max(MAX_SERVICE_TOKEN_TTL)
  @Min(1)
  @IsInt({ message: 'ttl must be an integer number of seconds' })
  ttl?: number;
}

/** The body is optional: absent means the default ttl; anything present must be a valid object. */
export async function serviceTokenTtl(body: unknown): Promise<number> {
  if (body === undefined || body === null || body === '') return DEFAULT_SERVICE_TOKEN_TTL;
  if (typeof body !== 'object' || Array.isArray(body)) throw new RequestError('ARGUMENT_NOT_VALID', 'body must be a JSON object');
  return (await validateBody(ServiceTokenDto, body)).ttl ?? DEFAULT_SERVICE_TOKEN_TTL;
}
