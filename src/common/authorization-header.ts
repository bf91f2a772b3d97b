/**
 * The token of an Authorization header in the schemes these APIs accept: `Bearer <token>`, the
 * Redis API's `JWT <token>`, and the FIB API's bare `<token>`. Undefined when absent or empty.
 */
export function tokenFromAuthorization(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const value = header.trim();
  const match = /^(?:Bearer|JWT)\s+(\S+)$/i.exec(value);
  if (match) return match[1];
  return value.length > 0 && !/\s/.test(value) ? value : undefined;
}
