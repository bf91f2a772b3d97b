/** The envelope APIs' body: `{ status: { code, name, message }, data }`, code equal to the HTTP status. */
export interface Envelope<T> {
  status: { code: number; name: string; message: string };
  data: T;
}

export function envelope<T = null>(code: number, name: string, message: string, data: T = null as T): Envelope<T> {
  return { status: { code, name, message }, data };
}

export function ok<T>(message: string, data: T): Envelope<T> {
  return envelope(200, 'OK', message, data);
}

export function created<T>(message: string, data: T): Envelope<T> {
  return envelope(201, 'Created', message, data);
}
