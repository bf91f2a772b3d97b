import { CliUsageError, parseCommandArgs } from './cli-args.js';

describe('parseCommandArgs', () => {
  const options = { kid: { type: 'string' }, wallet: { type: 'string', multiple: true }, json: { type: 'boolean' } } as const;

  it('takes a string value that starts with a dash, as a key id may', () => {
    expect(parseCommandArgs(['--kid', '-Ab3_x9'], options)).toEqual({ kid: '-Ab3_x9' });
    expect(parseCommandArgs(['--wallet', '-a', '--wallet', 'b', '--json'], options)).toEqual({ wallet: ['-a', 'b'], json: true });
    expect(parseCommandArgs(['--kid=-Ab3'], options)).toEqual({ kid: '-Ab3' });
  });

  it('still refuses an unknown option and a missing value in one line', () => {
    expect(() => parseCommandArgs(['--nope'], options)).toThrow(CliUsageError);
    expect(() => parseCommandArgs(['--kid'], options)).toThrow(CliUsageError);
  });
});
