// `npx prisma db seed` runs this (prisma.config.ts): upserts the users of SEED_FILE
// (default prisma/seed.example.json) through the same service as `npm run cli -- db seed`.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { CliModule } from '../src/cli/cli.module.js';
import { firstLine } from '../src/common/first-line.js';
import { loadConfig } from '../src/config/app-config.js';
import { AccountsService } from '../src/accounts/accounts.service.js';
import { readSeedFile } from '../src/users/seed-file.js';

const file = process.env.SEED_FILE ?? 'prisma/seed.example.json';
const app = await NestFactory.createApplicationContext(CliModule.forRoot(loadConfig()), { logger: ['error', 'warn'] });
try {
  const started = Date.now();
  const result = await app.get(AccountsService).seed(await readSeedFile(file));
  process.stdout.write(JSON.stringify({ file, ...result, ms: Date.now() - started }) + '\n');
} catch (error) {
  process.stderr.write(`error: ${firstLine(error)}\n`);
  process.exitCode = 1;
} finally {
  await app.close();
}
