import { isIPv6 } from 'node:net';

/**
 * The parts of RFC 3986 that Sign-In with Ethereum (EIP-4361) builds on: an authority (its
 * `domain`), a URI (its `uri` and resources) and path characters (its request id). Written from
 * the RFC's ABNF, strictly: no whitespace, no character outside the grammar, no empty scheme.
 */

const UNRESERVED = "A-Za-z0-9\\-._~";
const SUB_DELIMS = "!$&'()*+,;=";
const PCT_ENCODED = '%[0-9A-Fa-f]{2}';
const PCHAR = `(?:[${UNRESERVED}${SUB_DELIMS}:@]|${PCT_ENCODED})`;

const SCHEME = /^[A-Za-z][A-Za-z0-9+\-.]*$/;
const USERINFO = new RegExp(`^(?:[${UNRESERVED}${SUB_DELIMS}:]|${PCT_ENCODED})*$`);
const REG_NAME = new RegExp(`^(?:[${UNRESERVED}${SUB_DELIMS}]|${PCT_ENCODED})*$`);
const IP_FUTURE = new RegExp(`^v[0-9A-Fa-f]+\\.[${UNRESERVED}${SUB_DELIMS}:]+$`);
const PORT = /^[0-9]*$/;
const PCHARS = new RegExp(`^${PCHAR}*$`);
const PATH = new RegExp(`^(?:${PCHAR}|/)*$`);
const QUERY_OR_FRAGMENT = new RegExp(`^(?:${PCHAR}|[/?])*$`);

export function isScheme(value: string): boolean {
  return SCHEME.test(value);
}

/** `*pchar`: a path segment's characters (EIP-4361's request id). */
export function isPchars(value: string): boolean {
  return PCHARS.test(value);
}

function isHost(host: string): boolean {
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) return false;
    const literal = host.slice(1, -1);
    // A zone id ("%eth0") is RFC 6874's, not RFC 3986's.
    return IP_FUTURE.test(literal) || (!literal.includes('%') && isIPv6(literal));
  }
  return REG_NAME.test(host);
}

/**
 * `[ userinfo "@" ] host [ ":" port ]`. RFC 3986 lets a URI's host be empty (`file:///x`); a
 * sign-in domain must name one, so an empty host is refused unless `allowEmptyHost`.
 */
export function isAuthority(value: string, { allowEmptyHost = false } = {}): boolean {
  const at = value.lastIndexOf('@');
  const userinfo = at >= 0 ? value.slice(0, at) : '';
  const hostPort = value.slice(at + 1);
  if (!USERINFO.test(userinfo)) return false;
  let host = hostPort;
  let port = '';
  const closing = hostPort.lastIndexOf(']');
  const colon = hostPort.lastIndexOf(':');
  if (colon > closing) {
    host = hostPort.slice(0, colon);
    port = hostPort.slice(colon + 1);
  }
  return (host.length > 0 || allowEmptyHost) && isHost(host) && PORT.test(port);
}

/** `scheme ":" hier-part [ "?" query ] [ "#" fragment ]`: an absolute URI. */
export function isUri(value: string): boolean {
  const colon = value.indexOf(':');
  if (colon <= 0 || !isScheme(value.slice(0, colon))) return false;
  let rest = value.slice(colon + 1);
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    if (!QUERY_OR_FRAGMENT.test(rest.slice(hash + 1))) return false;
    rest = rest.slice(0, hash);
  }
  const question = rest.indexOf('?');
  if (question >= 0) {
    if (!QUERY_OR_FRAGMENT.test(rest.slice(question + 1))) return false;
    rest = rest.slice(0, question);
  }
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    const authority = slash >= 0 ? rest.slice(2, slash) : rest.slice(2);
    const path = slash >= 0 ? rest.slice(slash) : '';
    return isAuthority(authority, { allowEmptyHost: true }) && PATH.test(path);
  }
  // path-absolute, path-rootless or path-empty: never "//" at the start (handled above).
  return PATH.test(rest);
}
