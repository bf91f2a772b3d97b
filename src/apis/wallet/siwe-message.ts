import { isAuthority, isPchars, isScheme, isUri } from '../../common/rfc3986.js';
import { toChecksumAddress } from '../../users/ethereum-address.js';
import { SiweError } from './siwe.errors.js';

/** An EIP-4361 message's fields, as written in it; times also as epoch milliseconds. */
export interface SiweMessage {
  scheme?: string;
  domain: string;
  /** EIP-55 checksummed, as the message must write it. */
  address: string;
  statement?: string;
  uri: string;
  version: '1';
  chainId: number;
  nonce: string;
  issuedAt: string;
  expirationTime?: string;
  notBefore?: string;
  requestId?: string;
  resources?: string[];
}

const HEADER = ' wants you to sign in with your Ethereum account:';
// statement = *( reserved / unreserved / " " ): RFC 3986's reserved and unreserved characters and the space.
const STATEMENT = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;= ]+$/;
const NONCE = /^[A-Za-z0-9]{8,128}$/;
const CHAIN_ID = /^[0-9]{1,15}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
// RFC 3339 date-time; "T" and "Z" may be lower-case (section 5.6).
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/;

function invalid(reason: string): SiweError {
  return new SiweError('INVALID_MESSAGE', `not an EIP-4361 message: ${reason}`);
}

/**
 * The instant an RFC 3339 date-time names, in epoch milliseconds, or undefined when it is not one.
 * Calendar dates are checked: 2100-02-31 does not roll over into March, it is refused.
 */
export function parseDateTime(value: string): number | undefined {
  const m = DATE_TIME.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60) return undefined;
  let offsetMinutes = 0;
  if (m[9]) {
    const [oh, om] = [Number(m[10]), Number(m[11])];
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const millis = m[7] ? Number(m[7].slice(1, 4).padEnd(3, '0')) : 0;
  // Date.UTC accepts years 0 to 99 as 1900 + year; setUTCFullYear does not.
  const at = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millis));
  at.setUTCFullYear(year);
  return at.getTime() - offsetMinutes * 60_000;
}

/** Reads `<label>: <value>` from the next line, or undefined when the line is another field. */
class Lines {
  private index = 0;

  constructor(private readonly lines: string[]) {}

  next(): string | undefined {
    return this.lines[this.index++];
  }

  peek(): string | undefined {
    return this.lines[this.index];
  }

  field(label: string, required: true): string;
  field(label: string, required?: false): string | undefined;
  field(label: string, required = false): string | undefined {
    const line = this.peek();
    const prefix = `${label}: `;
    if (line?.startsWith(prefix)) {
      this.index++;
      return line.slice(prefix.length);
    }
    if (required) throw invalid(`expected "${prefix}" on line ${this.index + 1}`);
    return undefined;
  }

  get done(): boolean {
    return this.index >= this.lines.length;
  }

  get line(): number {
    return this.index + 1;
  }
}

function dateTimeField(lines: Lines, label: string, required: true): string;
function dateTimeField(lines: Lines, label: string, required?: false): string | undefined;
function dateTimeField(lines: Lines, label: string, required = false): string | undefined {
  const value = required ? lines.field(label, true) : lines.field(label);
  if (value !== undefined && parseDateTime(value) === undefined) throw invalid(`${label} is not an RFC 3339 date-time`);
  return value;
}

/**
 * Parses an EIP-4361 message strictly, by its ABNF: every line in its order, nothing before,
 * between or after them, no carriage return, a checksummed address, RFC 3986 domain, URI and
 * resources, RFC 3339 times on real calendar dates. Throws SiweError INVALID_MESSAGE.
 */
export function parseSiweMessage(text: string): SiweMessage {
  if (text.includes('\r')) throw invalid('lines end with LF only');
  const lines = new Lines(text.split('\n'));

  const header = lines.next()!;
  if (!header.endsWith(HEADER)) throw invalid(`the first line must end with "${HEADER.trim()}"`);
  let domain = header.slice(0, -HEADER.length);
  let scheme: string | undefined;
  const separator = domain.indexOf('://');
  if (separator >= 0) {
    scheme = domain.slice(0, separator);
    domain = domain.slice(separator + 3);
    if (!isScheme(scheme)) throw invalid('the scheme is not an RFC 3986 scheme');
  }
  if (!isAuthority(domain)) throw invalid('the domain is not an RFC 3986 authority');

  const address = lines.next() ?? '';
  if (!ADDRESS.test(address)) throw invalid('the second line must be a 0x address');
  if (toChecksumAddress(address) !== address) throw invalid('the address is not EIP-55 checksummed');
  if (lines.next() !== '') throw invalid('an empty line must follow the address');

  let statement: string | undefined;
  if (lines.peek() === '') {
    lines.next();
  } else {
    statement = lines.next() ?? '';
    if (!STATEMENT.test(statement)) throw invalid('the statement has characters EIP-4361 does not allow, or is missing');
    if (lines.next() !== '') throw invalid('an empty line must follow the statement');
  }

  const uri = lines.field('URI', true);
  if (!isUri(uri)) throw invalid('URI is not an RFC 3986 URI');
  if (lines.field('Version', true) !== '1') throw invalid('Version must be 1');
  const chainId = lines.field('Chain ID', true);
  if (!CHAIN_ID.test(chainId)) throw invalid('Chain ID must be a decimal number');
  const nonce = lines.field('Nonce', true);
  if (!NONCE.test(nonce)) throw invalid('Nonce must be at least 8 letters and digits');
  const issuedAt = dateTimeField(lines, 'Issued At', true);
  const expirationTime = dateTimeField(lines, 'Expiration Time');
  const notBefore = dateTimeField(lines, 'Not Before');
  const requestId = lines.field('Request ID');
  if (requestId !== undefined && !isPchars(requestId)) throw invalid('Request ID has characters RFC 3986 does not allow in a path segment');
  let resources: string[] | undefined;
  if (lines.peek() === 'Resources:') {
    lines.next();
    resources = [];
    while (lines.peek()?.startsWith('- ')) {
      const resource = lines.next()!.slice(2);
      if (!isUri(resource)) throw invalid(`resource ${resources.length + 1} is not an RFC 3986 URI`);
      resources.push(resource);
    }
  }
  if (!lines.done) throw invalid(`unexpected text on line ${lines.line}`);

  return {
    ...(scheme !== undefined && { scheme }),
    domain,
    address,
    ...(statement !== undefined && { statement }),
    uri,
    version: '1',
    chainId: Number(chainId),
    nonce,
    issuedAt,
    ...(expirationTime !== undefined && { expirationTime }),
    ...(notBefore !== undefined && { notBefore }),
    ...(requestId !== undefined && { requestId }),
    ...(resources !== undefined && { resources }),
  };
}

/** The fields a message cannot be without, as EIP-4361 names them. */
const REQUIRED_FIELDS = ['domain', 'address', 'uri', 'version', 'nonce', 'issuedAt'] as const;

/**
 * The text of a message with these fields, as EIP-4361 lays it out (for clients and tests). The
 * text is parsed back before it is returned: fields no valid message has throw SiweError.
 */
export function formatSiweMessage(m: SiweMessage): string {
  for (const field of REQUIRED_FIELDS) {
    if (typeof m[field] !== 'string') throw invalid(`${field} is missing`);
  }
  if (!Number.isSafeInteger(m.chainId)) throw invalid('chainId is missing or not an integer');
  const lines = [`${m.scheme ? `${m.scheme}://` : ''}${m.domain}${HEADER}`, m.address, ''];
  if (m.statement !== undefined) lines.push(m.statement, '');
  else lines.push('');
  lines.push(`URI: ${m.uri}`, `Version: ${m.version}`, `Chain ID: ${m.chainId}`, `Nonce: ${m.nonce}`, `Issued At: ${m.issuedAt}`);
  if (m.expirationTime !== undefined) lines.push(`Expiration Time: ${m.expirationTime}`);
  if (m.notBefore !== undefined) lines.push(`Not Before: ${m.notBefore}`);
  if (m.requestId !== undefined) lines.push(`Request ID: ${m.requestId}`);
  if (m.resources !== undefined) lines.push('Resources:', ...m.resources.map((r) => `- ${r}`));
  const text = lines.join('\n');
  parseSiweMessage(text);
  return text;
}
