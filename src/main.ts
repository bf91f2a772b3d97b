import 'reflect-metadata';
import cluster from 'node:cluster';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory.js';
import { ConfigValidationError, loadConfig, type AppConfig } from './config/app-config.js';

async function serve(config: AppConfig): Promise<void> {
  const app = await createApp(config);
  await app.listen({ port: config.PORT, host: config.HOST });
  new Logger('sigauth').log(`listening on ${config.HOST}:${config.PORT} (pid ${process.pid})`);
}

function main(): void {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      console.error(error.message);
      process.exit(78);
    }
    throw error;
  }
  if (config.WORKERS > 1 && cluster.isPrimary) {
    if (!config.DATABASE_URL) {
      console.error('WORKERS > 1 needs DATABASE_URL: embedded PGlite serves a single process');
      process.exit(78);
    }
    for (let i = 0; i < config.WORKERS; i++) cluster.fork();
    cluster.on('exit', (worker, code, signal) => {
      if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGINT') {
        console.error(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
        cluster.fork();
      }
    });
    return;
  }
  serve(config).catch((error: unknown) => {
    console.error(`sigauth failed to start: ${(error as Error).message}`);
    process.exit(1);
  });
}

main();
