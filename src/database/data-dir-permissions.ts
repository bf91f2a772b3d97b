import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';

/** Read, write or search permission for the group or for others. */
const GROUP_OR_OTHERS = 0o077;

/** The mode PGlite's initdb gives every file it writes, whatever the umask. */
const PGLITE_INITDB_FILE_MODE = 0o666;

/** DATA_DIR holds the signing keys: a server or CLI refuses one that another local user could reach. */
export class DataDirPermissionError extends Error {
  override name = 'DataDirPermissionError';
}

const modeOf = (stat: Stats): string => (stat.mode & 0o777).toString(8).padStart(4, '0');

function ownUid(): number | undefined {
  return process.getuid?.();
}

/**
 * How DATA_DIR stands before anything in it is read or written: absent, private (a directory of
 * this user's that neither group nor others can read, write or enter), or left open by sigauth 0.2.
 * Throws DataDirPermissionError, one line saying how to fix it, on anything else.
 *
 * Sigauth 0.2 made DATA_DIR with mkdir's default mode (0755 under the usual umask); such a folder
 * is made private at start, with a warning, rather than refused, so that an upgrade starts. It is
 * told from a folder an operator opened by its PG_VERSION file: PGlite's initdb writes it 0666,
 * 0.2 never changed that, and every later start takes those bits off (makeDataDirContentsPrivate).
 * So an open folder whose PG_VERSION is still 0666 was never run by a sigauth that keeps it
 * private, and its open bits are 0.2's default; one whose PG_VERSION is 0600 was opened since, by
 * someone, on purpose or not, and is refused like an open empty folder.
 */
export function checkDataDir(dataDir: string): 'absent' | 'private' | 'left-open-by-0.2' {
  let stat: Stats;
  try {
    stat = statSync(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw error;
  }
  if (!stat.isDirectory()) throw new DataDirPermissionError(`DATA_DIR ${dataDir} is not a directory`);
  const uid = ownUid();
  if (uid !== undefined && stat.uid !== uid) {
    throw new DataDirPermissionError(`DATA_DIR ${dataDir} belongs to uid ${stat.uid}, not to this user (uid ${uid}): run sigauth as its owner, or \`chown -R ${uid} ${dataDir}\``);
  }
  if ((stat.mode & GROUP_OR_OTHERS) === 0) return 'private';
  if (createdBySigauth02(dataDir)) return 'left-open-by-0.2';
  throw new DataDirPermissionError(
    `DATA_DIR ${dataDir} has mode ${modeOf(stat)}, which lets group or others reach the signing keys in it: make it private with \`chmod 700 ${dataDir}\``,
  );
}

/** Creates DATA_DIR with mode 0700, or makes a folder sigauth 0.2 left open private; refuses what checkDataDir refuses. */
export function ensurePrivateDataDir(dataDir: string, warn: (message: string) => void): void {
  const state = checkDataDir(dataDir);
  if (state === 'private') return;
  if (state === 'absent') {
    mkdirSync(dirname(dataDir), { recursive: true });
    try {
      mkdirSync(dataDir, { mode: 0o700 });
    } catch (error) {
      // Another process made it meanwhile: it is checked as any existing folder is.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return ensurePrivateDataDir(dataDir, warn);
    }
    // mkdir's mode passes through the umask, which may take the owner's own bits away too.
    chmodSync(dataDir, 0o700);
    return;
  }
  const mode = modeOf(statSync(dataDir));
  chmodSync(dataDir, 0o700);
  warn(
    `DATA_DIR ${dataDir} was mode ${mode} with its files 0666, as sigauth 0.2 left it, and is now private; ` +
      'while it was open every local user could read and change it: treat its signing keys as exposed (signing-keys revoke --kid K, for each) and review the users',
  );
}

function createdBySigauth02(dataDir: string): boolean {
  try {
    const version = lstatSync(join(dataDir, 'PG_VERSION'));
    return version.isFile() && (version.mode & 0o777) === PGLITE_INITDB_FILE_MODE;
  } catch {
    return false;
  }
}

/**
 * Takes every group and other permission bit off whatever is below DATA_DIR: PGlite's initdb writes
 * its files 0666 whatever the umask, and PostgreSQL writes some 0644 (the relation cache's init
 * file, at every start). Only bits are removed, so the files stay usable. Symbolic
 * links are not followed. A file of another user's is refused: it is not the owner's alone, and
 * whoever owns it can change it.
 */
export function makeDataDirContentsPrivate(dataDir: string): void {
  const uid = ownUid();
  const walk = (folder: string): void => {
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch (error) {
      // PostgreSQL removes temporary files and folders as it goes.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const name of names) {
      const path = join(folder, name);
      let stat: Stats;
      try {
        stat = lstatSync(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      if (stat.isSymbolicLink()) continue;
      if (uid !== undefined && stat.uid !== uid) {
        throw new DataDirPermissionError(`${path} in DATA_DIR belongs to uid ${stat.uid}, not to this user (uid ${uid}): remove it or \`chown ${uid} ${path}\``);
      }
      const mode = stat.mode & 0o7777;
      const isDirectory = stat.isDirectory();
      if (mode & GROUP_OR_OTHERS) {
        try {
          chmodSync(path, mode & ~GROUP_OR_OTHERS);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
      if (isDirectory) walk(path);
    }
  };
  walk(dataDir);
}
