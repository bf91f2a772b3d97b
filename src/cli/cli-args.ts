import { parseArgs, type ParseArgsConfig } from 'node:util';
import { firstLine } from '../common/first-line.js';

export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * A string option's value joined to its flag (`--kid=-Ab3…`): parseArgs refuses a separate value
 * that starts with a dash as ambiguous, and a key id or a base64url secret may (one in 64 does).
 */
function joinStringValues(args: string[], options: Options): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i]!.startsWith('--') ? args[i]!.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && i + 1 < args.length) joined.push(`${args[i]}=${args[++i]}`);
    else joined.push(args[i]!);
  }
  return joined;
}

/** parseArgs with strict checking, turning its errors into one-line usage errors. */
export function parseCommandArgs<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args: joinStringValues(args, options), options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new CliUsageError(firstLine(error));
  }
}

export function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new CliUsageError(`--${name} is required`);
  return value;
}
