import { Logger } from '@nestjs/common';
import pg from 'pg';

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;
const logger = new Logger('PostgresListener');

/**
 * LISTEN on a connection of its own (a pooled one would be handed to other queries). A lost
 * connection is opened again, 250 ms doubling up to 10 s apart, and `onNotify` is called once
 * it is back, with no payload, since what was sent while it was down is lost. `onDown` hears of
 * every moment the connection is not listening: a first connection that fails, or one lost.
 */
export async function listenOnPostgres(
  connection: pg.ClientConfig,
  channel: string,
  onNotify: (payload?: string) => void,
  onDown: () => void = () => undefined,
): Promise<() => Promise<void>> {
  if (!CHANNEL.test(channel)) throw new Error(`not a channel name: ${channel}`);
  let client: pg.Client | undefined;
  let closed = false;
  let retryMs = 250;
  let timer: NodeJS.Timeout | undefined;

  const connect = async (first: boolean): Promise<void> => {
    // Keep-alive probes, so that a connection whose server vanished without a word is noticed.
    const next = new pg.Client({ ...connection, keepAlive: true });
    next.on('notification', (message) => {
      if (message.channel === channel) onNotify(message.payload);
    });
    next.on('error', () => undefined);
    next.on('end', () => {
      if (client === next) lost();
    });
    client = next;
    await next.connect();
    await next.query(`LISTEN ${channel}`);
    retryMs = 250;
    if (!first) onNotify();
  };

  const lost = (): void => {
    if (closed || timer) return;
    onDown();
    timer = setTimeout(() => {
      timer = undefined;
      connect(false).catch((error: Error) => {
        logger.warn(`listening on ${channel} failed, retrying in ${retryMs} ms: ${error.message}`);
        retryMs = Math.min(retryMs * 2, 10_000);
        void client?.end().catch(() => undefined);
        client = undefined;
        lost();
      });
    }, retryMs);
    timer.unref();
  };

  try {
    await connect(true);
  } catch (error) {
    logger.warn(`listening on ${channel} failed, retrying: ${(error as Error).message}`);
    void client?.end().catch(() => undefined);
    client = undefined;
    lost();
  }
  return async () => {
    closed = true;
    clearTimeout(timer);
    await client?.end().catch(() => undefined);
  };
}
