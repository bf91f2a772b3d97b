import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, RequestError } from '../common/domain-error.js';
import type { ApiError } from './api-error.js';
import { envelopeStatusFor, type Rendered } from './envelope-status-table.js';
import { serviceAccountStatusFor } from './service-account-status-table.js';

/** The Redis-style API answers in its own error body; every other route in the envelope. */
const SERVICE_ACCOUNT_PREFIX = '/v1/users/';

/** Errors raised by Fastify or Nest before our code runs (body parsing, routing), as request errors. */
function fromFramework(exception: unknown): RequestError | undefined {
  // Nest wraps a body parser's error in an HttpException whose cause is Fastify's error.
  const cause = (exception as { cause?: unknown })?.cause;
  if (cause && cause !== exception) {
    const fromCause = fromFramework(cause);
    if (fromCause) return fromCause;
  }
  const code = (exception as { code?: unknown })?.code;
  const statusCode = (exception as { statusCode?: unknown })?.statusCode;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RequestError('PAYLOAD_TOO_LARGE', 'request body is larger than the limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new RequestError('UNSUPPORTED_MEDIA_TYPE', 'request body must be a JSON object (Content-Type: application/json)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new RequestError('ARGUMENT_NOT_VALID', 'request body must be a JSON object');
    case 'FST_ERR_BAD_URL':
      return new RequestError('ARGUMENT_NOT_VALID', 'the request path is not a valid URL');
  }
  if (exception instanceof SyntaxError && statusCode === 400) {
    return new RequestError('ARGUMENT_NOT_VALID', 'request body is not valid JSON');
  }
  if (exception instanceof HttpException) {
    switch (exception.getStatus()) {
      // Nest's body parsers answer 400 for what they refuse (a form body with a __proto__ key).
      case 400:
        return new RequestError('ARGUMENT_NOT_VALID', 'request body is malformed');
      case 404:
        return new RequestError('ROUTE_NOT_FOUND', 'no such route');
      case 413:
        return new RequestError('PAYLOAD_TOO_LARGE', 'request body is larger than the limit');
      case 415:
        return new RequestError('UNSUPPORTED_MEDIA_TYPE', 'unsupported content type');
    }
  }
  return undefined;
}

/**
 * The one place that turns errors into HTTP answers. Each API family has its own status table and
 * body shape, chosen by path; unknown errors are logged and answered with a generic 500 that
 * carries only the request id.
 */
export interface RenderedError {
  status: number;
  headers: Record<string, string>;
  body: object;
}

/**
 * The answer to an error on `url`: its API's status table and body shape. Undefined `error`
 * means an unexpected one: a generic 500 that carries only the request id.
 */
export function renderError(error: ApiError | undefined, url: string, requestId: string): RenderedError {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  const retryAfter = error?.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') headers['retry-after'] = String(retryAfter);
  if (url.startsWith(SERVICE_ACCOUNT_PREFIX)) {
    const rendered = error
      ? serviceAccountStatusFor(error)
      : { status: 500, errorCode: 'internal_error', message: `Internal error (request id ${requestId})` };
    return { status: rendered.status, headers, body: { error_code: rendered.errorCode, message: rendered.message } };
  }
  const rendered: Rendered = error
    ? envelopeStatusFor(error)
    : { status: 500, name: 'InternalError', message: `Internal error (request id ${requestId})` };
  return { status: rendered.status, headers, body: { status: { code: rendered.status, name: rendered.name, message: rendered.message }, data: null } };
}

/** Classifies anything thrown: our domain errors as they are, the framework's as request errors. */
export function classifyError(exception: unknown): ApiError | undefined {
  return exception instanceof DomainError ? (exception as ApiError) : fromFramework(exception);
}

@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const error = classifyError(exception);
    if (!error) this.logger.error({ err: exception, requestId: request.id }, 'unhandled error');
    const rendered = renderError(error, request.url, request.id);
    void reply.status(rendered.status).headers(rendered.headers).send(rendered.body);
  }
}
