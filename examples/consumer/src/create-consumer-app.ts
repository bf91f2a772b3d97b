import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import type { ConsumerConfig } from './consumer-config.js';

/** Builds the example service; main.ts and the e2e test both call this. */
export async function createConsumerApp(config: ConsumerConfig, options: { logger?: false } = {}): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), new FastifyAdapter(), {
    logger: options.logger,
    abortOnError: false,
  });
  app.enableShutdownHooks();
  return app;
}
