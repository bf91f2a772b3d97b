import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, relative } from 'node:path';

/**
 * Replays a Dockerfile without a container engine, into one temporary directory per stage (the
 * stage's "root"), so that a test can start the server from the final stage's root.
 *
 * What it proves: every path a COPY names exists (in the build context after .dockerignore, or in
 * the stage it copies from, as that stage's own instructions left it), the RUN commands succeed on
 * the files the COPYs before them put in place, the final stage holds what CMD and HEALTHCHECK need,
 * with the ownership COPY --chown and RUN give it, and the process runs as the image's USER.
 *
 * What it does not: the base image's operating system is not there (no chroot). The base image
 * contributes only what `BASE_IMAGES` says it has (its Node binary, copied from the Node running
 * the test, whose major version must match the tag; its PATH; its users). RUN commands run on this
 * machine, as root unless USER says otherwise, with the working directory mapped into the stage's
 * root and this machine's npm, shell and npm cache (preferred to the registry); a RUN naming an
 * absolute path is refused, since only the working directory is mapped. Layers, the image's size on a registry and the engine's own
 * checks (such as VOLUME ownership at run time) are not modelled.
 */

interface BaseImage {
  env: Record<string, string>;
  users: Record<string, number>;
  /** The Node major version of the image's /usr/local/bin/node. */
  nodeMajor: number;
}

/** The official node images (github.com/nodejs/docker-node): Node in /usr/local/bin, user node = 1000:1000. */
function baseImage(reference: string): BaseImage {
  const node = /^node:(\d+)(-[a-z0-9.-]+)?$/.exec(reference);
  if (!node) throw new Error(`FROM ${reference}: the replay knows only the node:<major>[-variant] images`);
  return {
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    users: { root: 0, node: 1000 },
    nodeMajor: Number(node[1]),
  };
}

export interface ReplayedStage {
  name: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  uid: number;
  gid: number;
  cmd?: string[];
  healthcheck?: string[];
  volumes: string[];
  /** Each instruction as replayed, for error messages and the test's log. */
  log: string[];
}

export interface ReplayOptions {
  /** The build context: the repository. */
  context: string;
  /** Stages already replayed (by name), used as they are instead of being replayed again. */
  reuse?: Record<string, ReplayedStage>;
  /** Where stage roots go; a new temporary directory by default. */
  parent?: string;
}

interface Instruction {
  line: number;
  keyword: string;
  args: string;
}

export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ');
      i++;
      if (/^\s*#/.test(lines[i]!)) continue;
      line += lines[i]!.trim();
    }
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`Dockerfile line ${start}: cannot read "${line}"`);
    instructions.push({ line: start, keyword: match[1]!.toUpperCase(), args: match[2]!.trim() });
  }
  return instructions;
}

/** .dockerignore: patterns relative to the context, `**` any depth, `!` re-includes; the last match wins. */
export function dockerignore(context: string): (path: string) => boolean {
  const file = join(context, '.dockerignore');
  const rules = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
        .map((pattern) => {
          const negate = pattern.startsWith('!');
          const glob = posix.normalize(pattern.replace(/^!/, '').replace(/^\/+/, '')).replace(/\/+$/, '');
          const source = glob
            .split('/')
            .map((part) => (part === '**' ? '@@' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
            .join('/')
            .replace(/@@\//g, '(?:.*/)?')
            .replace(/\/@@/g, '(?:/.*)?')
            .replace(/@@/g, '.*');
          return { negate, regex: new RegExp(`^${source}$`) };
        })
    : [];
  return (path: string) => {
    // A path is excluded when it or a directory above it matches.
    const parts = path.split('/');
    let excluded = false;
    for (let n = 1; n <= parts.length; n++) {
      const prefix = parts.slice(0, n).join('/');
      for (const rule of rules) if (rule.regex.test(prefix)) excluded = !rule.negate;
      if (excluded && n < parts.length) return true;
    }
    return excluded;
  };
}

/** Splits a shell-form argument list on blanks (the Dockerfile's COPY and FROM need no quoting). */
function words(args: string): string[] {
  return args.split(/\s+/).filter(Boolean);
}

function execForm(args: string, what: string): string[] {
  if (!args.startsWith('[')) throw new Error(`${what} ${args}: the replay takes the exec (JSON) form only`);
  return JSON.parse(args) as string[];
}

function ids(spec: string, users: Record<string, number>): { uid: number; gid: number } {
  const [user, group = user] = spec.split(':') as [string, string?];
  const id = (name: string): number => {
    if (/^\d+$/.test(name)) return Number(name);
    const known = users[name];
    if (known === undefined) throw new Error(`unknown user or group ${name} in the base image`);
    return known;
  };
  return { uid: id(user), gid: id(group!) };
}

function chownTree(path: string, uid: number, gid: number): void {
  spawnSyncOrThrow('chown', ['-R', '-h', `${uid}:${gid}`, path]);
}

function spawnSyncOrThrow(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr || result.error?.message}`);
}

/** The environment the image's processes get: the stage's ENV, its absolute paths mapped into the root. */
export function imageEnv(stage: ReplayedStage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(stage.env)) {
    if (key === 'PATH') env.PATH = value.split(':').map((dir) => join(stage.root, dir)).join(':');
    else env[key] = value.startsWith('/') ? join(stage.root, value) : value;
  }
  return env;
}

export function replayDockerfile(text: string, options: ReplayOptions): ReplayedStage[] {
  const parent = options.parent ?? mkdtempSync(join(tmpdir(), 'sigauth-image-'));
  chmodSync(parent, 0o755);
  const ignored = dockerignore(options.context);
  const stages: ReplayedStage[] = [];
  let stage: ReplayedStage | undefined;
  let base: BaseImage | undefined;
  let skipping = false;
  const inRoot = (path: string): string => join(stage!.root, posix.resolve(stage!.workdir, path));

  for (const { line, keyword, args } of parseDockerfile(text)) {
    const where = `Dockerfile line ${line}: ${keyword} ${args}`;
    try {
      if (keyword === 'FROM') {
        const [reference, as, name] = words(args);
        if (as !== undefined && as.toUpperCase() !== 'AS') throw new Error('expected FROM <image> [AS <name>]');
        base = baseImage(reference!);
        const stageName = name ?? String(stages.length);
        const reused = options.reuse?.[stageName];
        skipping = reused !== undefined;
        if (reused) {
          stages.push(reused);
          stage = reused;
          continue;
        }
        const running = Number(process.versions.node.split('.')[0]);
        if (running !== base.nodeMajor) throw new Error(`the image runs Node ${base.nodeMajor}, the replay Node ${running}: run it with Node ${base.nodeMajor}`);
        const root = join(parent, stageName);
        mkdirSync(join(root, 'usr/local/bin'), { recursive: true, mode: 0o755 });
        chmodSync(root, 0o755);
        copyFileSync(process.execPath, join(root, 'usr/local/bin/node'));
        chmodSync(join(root, 'usr/local/bin/node'), 0o755);
        stage = { name: stageName, root, workdir: '/', env: { ...base.env }, uid: 0, gid: 0, volumes: [], log: [] };
        stages.push(stage);
        continue;
      }
      if (!stage || !base) throw new Error('an instruction before FROM');
      if (skipping) continue;
      stage.log.push(`${keyword} ${args}`);
      switch (keyword) {
        case 'WORKDIR':
          stage.workdir = posix.resolve(stage.workdir, args);
          mkdirSync(join(stage.root, stage.workdir), { recursive: true, mode: 0o755 });
          break;
        case 'ENV': {
          const pairs = /^\S+=/.test(args) ? [...args.matchAll(/(\S+?)=("[^"]*"|\S*)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]) : [[words(args)[0]!, args.slice(words(args)[0]!.length).trim()]];
          for (const [key, value] of pairs) stage.env[key!] = value!.replace(/\$\{?(\w+)\}?/g, (_, name: string) => stage!.env[name] ?? '');
          break;
        }
        case 'USER': {
          const { uid, gid } = ids(args, base.users);
          stage.uid = uid;
          stage.gid = gid;
          break;
        }
        case 'COPY':
          copy(stage, args, base.users, stages, options.context, ignored, inRoot);
          break;
        case 'RUN': {
          if (args.startsWith('[')) throw new Error('the replay takes the shell form of RUN only');
          if (/(^|[\s=:;&|])\/(?!dev\/null)/.test(args)) throw new Error('the replay maps only the working directory into the stage root: name paths relative to WORKDIR');
          // npm prefers this machine's cache (a clean docker build downloads): the lock file names no
          // tarball URLs, so without it npm revalidates every package's metadata, minutes here.
          // As a build passes HTTP(S)_PROXY through, the machine's way to the registry (proxy, CA) comes along.
          const network = Object.fromEntries(Object.entries(process.env).filter(([key]) => /^(https?_proxy|no_proxy|NODE_EXTRA_CA_CERTS|SSL_CERT_FILE)$/i.test(key)));
          const env = { ...network, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '/root', npm_config_prefer_offline: 'true', ...Object.fromEntries(Object.entries(stage.env).filter(([key]) => key !== 'PATH')) };
          const started = performance.now();
          const result = spawnSync('/bin/sh', ['-c', args], { cwd: join(stage.root, stage.workdir), env, uid: stage.uid, gid: stage.gid, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
          stage.log[stage.log.length - 1] += ` (${((performance.now() - started) / 1000).toFixed(1)} s)`;
          if (result.status !== 0) throw new Error(`exit code ${result.status}\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
          break;
        }
        case 'CMD':
          stage.cmd = execForm(args, 'CMD');
          break;
        case 'HEALTHCHECK': {
          const cmd = /(?:^|\s)CMD\s+(\[.*\])\s*$/.exec(args);
          if (!cmd) throw new Error('HEALTHCHECK without an exec-form CMD');
          stage.healthcheck = execForm(cmd[1]!, 'HEALTHCHECK CMD');
          break;
        }
        case 'VOLUME':
          stage.volumes.push(...(args.startsWith('[') ? execForm(args, 'VOLUME') : words(args)));
          break;
        case 'EXPOSE':
          break;
        default:
          throw new Error(`the replay does not know ${keyword}`);
      }
    } catch (error) {
      throw new Error(`${where}\n  ${(error as Error).message}`, { cause: error });
    }
  }
  return stages;
}

function copy(
  stage: ReplayedStage,
  args: string,
  users: Record<string, number>,
  stages: ReplayedStage[],
  context: string,
  ignored: (path: string) => boolean,
  inRoot: (path: string) => string,
): void {
  const parts = words(args);
  let from: ReplayedStage | undefined;
  let owner: { uid: number; gid: number } | undefined;
  while (parts[0]?.startsWith('--')) {
    const flag = parts.shift()!;
    const [name, value = ''] = flag.slice(2).split('=') as [string, string?];
    if (name === 'from') {
      from = stages.find((s) => s.name === value);
      if (!from) throw new Error(`no stage named ${value} before this one`);
    } else if (name === 'chown') owner = ids(value, users);
    else throw new Error(`the replay does not know COPY --${name}`);
  }
  const dest = parts.pop()!;
  if (parts.length === 0) throw new Error('COPY needs a source and a destination');
  const toDirectory = dest.endsWith('/') || parts.length > 1;
  for (const source of parts) {
    let sourcePath: string;
    let filter: ((path: string) => boolean) | undefined;
    if (from) {
      sourcePath = join(from.root, posix.resolve(from.workdir, source));
      if (!existsSync(sourcePath) && !isLink(sourcePath)) throw new Error(`${source} does not exist in stage ${from.name}: that stage does not produce it`);
    } else {
      const normalized = posix.normalize(source).replace(/^\/+/, '').replace(/\/$/, '');
      const inContext = normalized === '.' ? '' : normalized;
      sourcePath = join(context, inContext);
      if ((inContext !== '' && ignored(inContext)) || !existsSync(sourcePath)) throw new Error(`${source} is not in the build context${inContext !== '' && ignored(inContext) ? ' (.dockerignore leaves it out)' : ''}`);
      filter = (path) => {
        const rel = relative(context, path);
        return rel === '' || !ignored(rel.split('\\').join('/'));
      };
    }
    const isDirectory = statSync(sourcePath).isDirectory();
    const target = isDirectory ? inRoot(dest) : toDirectory ? join(inRoot(dest), basename(sourcePath)) : inRoot(dest);
    mkdirSync(isDirectory ? target : dirname(target), { recursive: true, mode: 0o755 });
    if (from) {
      // COPY --from: the files as the other stage left them (cp -a keeps links and modes, and is faster on node_modules).
      spawnSyncOrThrow('cp', ['-a', isDirectory ? `${sourcePath}/.` : sourcePath, target]);
      if (owner) chownTree(target, owner.uid, owner.gid);
    } else if (isDirectory) {
      for (const entry of readdirSync(sourcePath)) {
        const child = join(sourcePath, entry);
        if (filter && !filter(child)) continue;
        cpSync(child, join(target, entry), { recursive: true, verbatimSymlinks: true, preserveTimestamps: true, filter });
        if (owner) chownTree(join(target, entry), owner.uid, owner.gid);
      }
    } else {
      cpSync(sourcePath, target, { preserveTimestamps: true });
      if (owner) chownTree(target, owner.uid, owner.gid);
    }
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Bytes under path (apparent sizes, symbolic links not followed, each hard link once). */
export function treeSize(path: string): number {
  const result = spawnSync('du', ['-sb', path], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`du ${path}: ${result.stderr}`);
  return Number(result.stdout.split(/\s/)[0]);
}
