import { AsyncLocalStorage } from 'node:async_hooks';

/** Who is asking, available anywhere below a request without threading it through every call. */
export interface RequestContext {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

export function currentRequest(): RequestContext | undefined {
  return requestContext.getStore();
}
