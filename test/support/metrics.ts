import type { TestApp } from './test-app.js';

/** A series of /metrics (`name` with its labels, as exposed), 0 when it has not been counted yet. */
export async function metric(service: TestApp, name: string): Promise<number> {
  const text = (await service.http().get('/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}
