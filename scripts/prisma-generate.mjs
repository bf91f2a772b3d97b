// Runs `prisma generate` without network access. Prisma 7's CLI wants a native schema engine for
// every command and downloads one when none is configured; generate never executes it, so any
// executable satisfies the check (see README, "Offline install").
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
};
if (!existsSync('node_modules/prisma/build/index.js')) {
  console.error('prisma is not installed; run npm ci');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], {
  env,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
