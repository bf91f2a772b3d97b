// Runs `npm run build` only when dist/ is missing or older than what it is built from, so that
// `npm start` and `npm run cli` on a built tree start at once and never run stale code.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const OUTPUTS = ['dist/server/main.js', 'dist/src/main.js', 'dist/src/cli/main.js', 'dist/prisma/seed.js', 'packages/guard/dist/index.js'];
const INPUTS = ['src', 'packages/guard/src', 'scripts/bundle.mjs', 'prisma/seed.ts', 'tsconfig.json', 'tsconfig.build.json'];

function mtimes(path) {
  const stat = statSync(join(root, path), { throwIfNoEntry: false });
  if (!stat) return [];
  if (!stat.isDirectory()) return [stat.mtimeMs];
  return readdirSync(join(root, path)).flatMap((name) => mtimes(join(path, name)));
}

const built = OUTPUTS.map((path) => statSync(join(root, path), { throwIfNoEntry: false })?.mtimeMs);
const oldestOutput = built.includes(undefined) ? -Infinity : Math.min(...built);
const newestInput = Math.max(...INPUTS.flatMap(mtimes));
if (newestInput > oldestOutput) {
  process.stderr.write(oldestOutput === -Infinity ? 'building: dist/ is missing\n' : 'building: src/ changed since the last build\n');
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
