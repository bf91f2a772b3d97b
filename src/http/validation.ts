import { ValidationError, ValidationPipe, type ArgumentMetadata, type ValidationPipeOptions } from '@nestjs/common';
import { RequestError } from '../common/domain-error.js';

function describe(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((e) => {
    const path = prefix + e.property;
    const own = Object.values(e.constraints ?? {}).map((m) => (m.startsWith(e.property) ? prefix + m : `${path}: ${m}`));
    return own.concat(describe(e.children ?? [], `${path}.`));
  });
}

/** How many problems an error names: enough to fix a request, never an echo of a hostile one. */
const NAMED_PROBLEMS = 3;

function summarize(problems: string[]): string {
  if (problems.length === 0) return 'invalid request';
  const named = problems.slice(0, NAMED_PROBLEMS).join('; ');
  return problems.length > NAMED_PROBLEMS ? `${named}; and ${problems.length - NAMED_PROBLEMS} more` : named;
}

export const VALIDATION_OPTIONS: ValidationPipeOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  // No implicit conversion: "60" is not 60, and a mistyped field is an error, not a guess.
  transformOptions: { enableImplicitConversion: false },
  forbidUnknownValues: true,
  stopAtFirstError: true,
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => new RequestError('ARGUMENT_NOT_VALID', summarize(describe(errors))),
};

/**
 * class-validator's whitelist looks an extra field up on the instance, where a name every object
 * inherits (constructor, toString, __proto__, …) is found: such a field would pass as known.
 */
function inheritedNameIn(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  return Object.keys(value).find((key) => key in Object.prototype || key === 'prototype');
}

class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const inherited = metadata.type === 'body' || metadata.type === 'query' ? inheritedNameIn(value) : undefined;
    if (inherited !== undefined) throw new RequestError('ARGUMENT_NOT_VALID', `property ${inherited} should not exist`);
    return super.transform(value, metadata);
  }
}

/** The global pipe (APP_PIPE) and the strategies, which run before pipes, validate the same way. */
export const validationPipe = new StrictValidationPipe(VALIDATION_OPTIONS);

/** Validates a request body against a DTO class, as the global pipe would; throws RequestError. */
export async function validateBody<T extends object>(dto: new () => T, body: unknown): Promise<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RequestError('ARGUMENT_NOT_VALID', 'request body must be a JSON object');
  }
  return (await validationPipe.transform(body, { type: 'body', metatype: dto })) as T;
}
