import { Logger } from '@nestjs/common';
import pg from 'pg';

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;
const logger = new Logger('PostgresListener');

/**
 * LISTEN on a connection of its own (a pooled one would be handed to other queries). A lost
 * connection is opened again, 250 ms doubling up to 10 s apart, and `onNotify` is called once
 * it is back, with no payload, since what was sent while it was down is lost. `onDown` hears of
 * every moment the connection is not listening: a first connection that fails, or one lost.
 *
 * A listener hears nothing when nothing happens, so silence cannot tell a quiet database from a
 * backend that is frozen, or a peer gone without a reset: every `heartbeatMs` the connection runs
 * SELECT 1, and one not answered within `heartbeatMs` counts as lost. A dead listener is thus
 * noticed within twice `heartbeatMs`; TCP keep-alive alone, idle for that long before its
 * first probe, would take the OS's probe interval times its probe count more.
 */
export async function listenOnPostgres(
  connection: pg.ClientConfig,
  channel: string,
  onNotify: (payload?: string) => void,
  onDown: () => void = () => undefined,
  heartbeatMs = 2000,
): Promise<() => Promise<void>> {
  if (!CHANNEL.test(channel)) throw new Error(`not a channel name: ${channel}`);
  let client: pg.Client | undefined;
  let closed = false;
  let retryMs = 250;
  let timer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;

  const drop = (current: pg.Client, reason: string): void => {
    if (client !== current) return;
    logger.warn(`the connection listening on ${channel} is lost (${reason}): reconnecting`);
    client = undefined;
    // Not end(): its goodbye would wait on a server that may never answer.
    current.connection.stream.destroy();
    lost();
  };

  const answered = (current: pg.Client, sql: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const late = setTimeout(() => reject(new Error(`no answer within ${heartbeatMs} ms`)), heartbeatMs);
      current
        .query(sql)
        .then(resolve, reject)
        .finally(() => clearTimeout(late));
    });

  const beat = (current: pg.Client): void => {
    heartbeat = setTimeout(() => {
      if (client !== current || closed) return;
      answered(current, 'SELECT 1').then(
        () => beat(current),
        (error: Error) => drop(current, `heartbeat: ${error.message}`),
      );
    }, heartbeatMs);
    heartbeat.unref();
  };

  const connect = async (first: boolean): Promise<void> => {
    // Named, so that an operator finds it in pg_stat_activity, where its last query is a heartbeat.
    const next = new pg.Client({ ...connection, application_name: `sigauth LISTEN ${channel}`, keepAlive: true, keepAliveInitialDelayMillis: heartbeatMs });
    next.on('notification', (message) => {
      if (message.channel === channel) onNotify(message.payload);
    });
    next.on('error', () => undefined);
    next.on('end', () => {
      if (client === next) lost();
    });
    client = next;
    await next.connect();
    await answered(next, `LISTEN ${channel}`);
    retryMs = 250;
    beat(next);
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
    clearTimeout(heartbeat);
    await client?.end().catch(() => undefined);
  };
}
