/** An error body of the envelope APIs: `{ status: { code, name, message }, data: null }`. */
export const envelope = (code: number, name: string, message: string | jest.AsymmetricMatcher = expect.any(String)) => ({
  status: { code, name, message },
  data: null,
});

/** A success body of the envelope APIs. */
export const envelopeOk = (message: string, data: unknown) => ({ status: { code: 200, name: 'OK', message }, data });

/** An error body of the service-account API, in the Redis Enterprise shape. */
export const redisError = (errorCode: string, message: string | jest.AsymmetricMatcher = expect.any(String)) => ({ error_code: errorCode, message });
