import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDataDir, DataDirPermissionError, ensurePrivateDataDir, makeDataDirContentsPrivate } from './data-dir-permissions.js';

const modeOf = (path: string): number => statSync(path).mode & 0o777;

describe('DATA_DIR permissions', () => {
  let root: string;
  let dataDir: string;
  const warnings: string[] = [];
  const warn = (message: string): void => void warnings.push(message);

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'sigauth-perms-'));
    dataDir = join(root, 'data');
    warnings.length = 0;
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('creates an absent DATA_DIR, and the folders above it, with DATA_DIR itself 0700', () => {
    dataDir = join(root, 'var', 'sigauth', 'data');
    expect(checkDataDir(dataDir)).toBe('absent');
    ensurePrivateDataDir(dataDir, warn);
    expect({ mode: modeOf(dataDir), state: checkDataDir(dataDir), warnings }).toEqual({ mode: 0o700, state: 'private', warnings: [] });
  });

  it.each(['0755', '0750', '0701', '0770', '0707'])('refuses a folder of mode %s, in one line saying how to fix it, and leaves it so', (shown) => {
    const mode = parseInt(shown, 8);
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'PG_VERSION'), '17\n', { mode: 0o600 });
    chmodSync(dataDir, mode);
    expect(() => ensurePrivateDataDir(dataDir, warn)).toThrow(
      new DataDirPermissionError(`DATA_DIR ${dataDir} has mode ${shown}, which lets group or others reach the signing keys in it: make it private with \`chmod 700 ${dataDir}\``),
    );
    expect(modeOf(dataDir)).toBe(mode);
  });

  it('refuses an open empty folder: nothing shows sigauth made it', () => {
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    expect(() => checkDataDir(dataDir)).toThrow(DataDirPermissionError);
  });

  it('makes private, with a warning, an open folder whose PG_VERSION is still 0666 (sigauth 0.2 never changed it)', () => {
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'PG_VERSION'), '17\n');
    chmodSync(join(dataDir, 'PG_VERSION'), 0o666);
    chmodSync(dataDir, 0o755);
    expect(checkDataDir(dataDir)).toBe('left-open-by-0.2');
    ensurePrivateDataDir(dataDir, warn);
    expect(modeOf(dataDir)).toBe(0o700);
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`^DATA_DIR ${dataDir} was mode 0755 with its files 0666, as sigauth 0.2 left it, and is now private; .*treat its signing keys as exposed`))]);
  });

  it('refuses a DATA_DIR that is not a directory', () => {
    writeFileSync(dataDir, '');
    expect(() => checkDataDir(dataDir)).toThrow(new DataDirPermissionError(`DATA_DIR ${dataDir} is not a directory`));
  });

  it('takes the group and other bits off everything below DATA_DIR and nothing else, without following symbolic links', () => {
    mkdirSync(join(dataDir, 'base', '5'), { recursive: true });
    chmodSync(dataDir, 0o700);
    writeFileSync(join(dataDir, 'base', '5', '1259'), '');
    chmodSync(join(dataDir, 'base', '5', '1259'), 0o666);
    writeFileSync(join(dataDir, 'postmaster.opts'), '');
    chmodSync(join(dataDir, 'postmaster.opts'), 0o400);
    chmodSync(join(dataDir, 'base'), 0o775);
    const outside = join(root, 'outside');
    writeFileSync(outside, '');
    chmodSync(outside, 0o644);
    symlinkSync(outside, join(dataDir, 'link'));

    makeDataDirContentsPrivate(dataDir);

    expect({
      base: modeOf(join(dataDir, 'base')),
      file: modeOf(join(dataDir, 'base', '5', '1259')),
      readOnly: modeOf(join(dataDir, 'postmaster.opts')),
      outside: modeOf(outside),
    }).toEqual({ base: 0o700, file: 0o600, readOnly: 0o400, outside: 0o644 });
  });

  // Giving a file away takes root; elsewhere these two cannot be set up.
  const asRoot = process.getuid?.() === 0 ? it : it.skip;

  asRoot('refuses a DATA_DIR of another user\'s', () => {
    mkdirSync(dataDir, { mode: 0o700 });
    chownSync(dataDir, 65534, 65534);
    expect(() => checkDataDir(dataDir)).toThrow(new DataDirPermissionError(`DATA_DIR ${dataDir} belongs to uid 65534, not to this user (uid 0): run sigauth as its owner, or \`chown -R 0 ${dataDir}\``));
  });

  asRoot('refuses a file of another user\'s below DATA_DIR, which that user could change', () => {
    mkdirSync(dataDir, { mode: 0o700 });
    const planted = join(dataDir, 'planted');
    writeFileSync(planted, '', { mode: 0o600 });
    chownSync(planted, 65534, 65534);
    expect(() => makeDataDirContentsPrivate(dataDir)).toThrow(new DataDirPermissionError(`${planted} in DATA_DIR belongs to uid 65534, not to this user (uid 0): remove it or \`chown 0 ${planted}\``));
  });
});
