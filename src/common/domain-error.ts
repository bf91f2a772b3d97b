/**
 * Base of every error a service throws on purpose. Services and repositories never choose an HTTP
 * status: each API's exception filter maps (family, code) to its own status table.
 */
export abstract class DomainError<Code extends string = string> extends Error {
  abstract readonly family: string;

  constructor(
    readonly code: Code,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export type RequestErrorCode =
  | 'ARGUMENT_NOT_VALID'
  | 'PAYLOAD_TOO_LARGE'
  | 'HEADERS_TOO_LARGE'
  | 'ROUTE_NOT_FOUND'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN';

/** Problems with the request itself, before any domain logic: shape, size, route, caller. */
export class RequestError extends DomainError<RequestErrorCode> {
  readonly family = 'request';
}

/**
 * A dependency the answer needs is down (the Ethereum node): nothing was proven or refused, so a
 * login that meets one spends no failure budget.
 */
export abstract class UnavailableError<Code extends string = string> extends DomainError<Code> {}

/** Readiness failures: the service runs but cannot serve (database down, migrations pending). */
export class NotReadyError extends DomainError<'NOT_READY'> {
  readonly family = 'health';
}
