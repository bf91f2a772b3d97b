import { ValidationError, ValidationPipe, type ValidationPipeOptions } from '@nestjs/common';
import { RequestError } from './domain-error.js';

function describe(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((e) => {
    const path = prefix + e.property;
    const own = Object.values(e.constraints ?? {}).map((m) => (m.startsWith(e.property) ? prefix + m : `${path}: ${m}`));
    return own.concat(describe(e.children ?? [], `${path}.`));
  });
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
  exceptionFactory: (errors) => new RequestError('ARGUMENT_NOT_VALID', describe(errors).join('; ') || 'invalid request'),
};

/** The global pipe (APP_PIPE) and the strategies, which run before pipes, validate the same way. */
export const validationPipe = new ValidationPipe(VALIDATION_OPTIONS);

/** Validates a request body against a DTO class, as the global pipe would; throws RequestError. */
export async function validateBody<T extends object>(dto: new () => T, body: unknown): Promise<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RequestError('ARGUMENT_NOT_VALID', 'request body must be a JSON object');
  }
  return (await validationPipe.transform(body, { type: 'body', metatype: dto })) as T;
}
