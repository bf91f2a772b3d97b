import { HttpException } from '@nestjs/common';
import { DomainError, RequestError } from '../common/domain-error.js';

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

/** Anything thrown, as a domain error: ours as they are, the framework's as request errors; undefined when unexpected. */
export function classifyError(exception: unknown): DomainError | undefined {
  return exception instanceof DomainError ? exception : fromFramework(exception);
}
