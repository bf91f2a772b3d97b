/** The FIB and Ethereum APIs' body: `{ status: { code, name, message }, data }`, code equal to the HTTP status. */
export interface Envelope<T> {
  status: { code: number; name: string; message: string };
  data: T;
}

export function ok<T>(message: string, data: T): Envelope<T> {
  return { status: { code: 200, name: 'OK', message }, data };
}

export function created<T>(message: string, data: T): Envelope<T> {
  return { status: { code: 201, name: 'Created', message }, data };
}
