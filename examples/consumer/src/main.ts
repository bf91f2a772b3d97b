import { createConsumerApp } from './create-consumer-app.js';
import { loadConsumerConfig } from './consumer-config.js';

const port = Number(process.env.PORT ?? 4000);
const app = await createConsumerApp(loadConsumerConfig(process.env));
await app.listen({ port, host: process.env.HOST ?? '127.0.0.1' });
console.log(`consumer example listening on ${await app.getUrl()}`);
