import cluster from 'node:cluster';
import { ConfigValidationError, loadConfig, type AppConfig } from './config/app-config.js';

async function serve(config: AppConfig): Promise<void> {
  if (!config.DATABASE_URL) {
    // Refused before the application loads or writes anything: one line naming the holder, or
    // saying how to make DATA_DIR private, and DATA_DIR untouched.
    const [{ DataDirBusyError, liveOwnerOf }, { DataDirPermissionError, checkDataDir }] = await Promise.all([
      import('./database/data-dir-lock.js'),
      import('./database/data-dir-permissions.js'),
    ]);
    const owner = await liveOwnerOf(config.DATA_DIR);
    if (owner?.role === 'server') {
      console.error(new DataDirBusyError(config.DATA_DIR, owner).message);
      process.exit(1);
    }
    try {
      checkDataDir(config.DATA_DIR);
    } catch (error) {
      if (!(error instanceof DataDirPermissionError)) throw error;
      console.error(error.message);
      process.exit(1);
    }
  }
  // Imported here, not at the top: the cluster primary only reads the configuration and forks, and
  // never loads Nest (whose @nestjs/common alone takes about 0.15 s, before any worker could start).
  await import('reflect-metadata');
  const [{ Logger }, { createApp }] = await Promise.all([import('@nestjs/common'), import('./app.factory.js')]);
  const app = await createApp(config);
  await app.listen({ port: config.PORT, host: config.HOST });
  const logger = new Logger('sigauth');
  logger.log(`listening on ${config.HOST}:${config.PORT} (pid ${process.pid})`);
  const unsetPublicUrl = publicUrlWarning(config);
  if (unsetPublicUrl) logger.warn(unsetPublicUrl);
  // Nest's own shutdown hooks release modules (the database pool) before the server stops, under
  // requests still in flight. So: stop accepting and finish in-flight requests first, then close
  // the modules (the audit log flushes, the pool ends), then exit.
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: finishing in-flight requests`);
    // Whatever hangs (the database, the audit flush, a request that never ends), the process is gone in time.
    setTimeout(() => {
      logger.error(`shutdown did not finish within SHUTDOWN_TIMEOUT_MS (${config.SHUTDOWN_TIMEOUT_MS} ms): exiting`);
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS).unref();
    void app
      .getHttpAdapter()
      .getInstance()
      .close()
      .then(() => app.close())
      .then(
        () => process.exit(0),
        (error: Error) => {
          logger.error(`shutdown failed: ${error.message}`);
          process.exit(1);
        },
      );
  };
  // on, not once: a second signal (a process group and a cluster primary both forwarding one)
  // must not fall through to the default action, which would exit with requests in flight.
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * Without PUBLIC_URL, sigauth's address is http://localhost:<PORT>, and with it the issuer of its
 * tokens, its discovery metadata and the URL DPoP proofs must name: after a restart on another
 * port, or from an instance on another port behind the same proxy, every earlier token is refused.
 * Fine on a developer's machine, a trap anywhere else. (PUBLIC_URL set to exactly that default
 * warns too: the parsed configuration cannot tell the two apart, and the trap is the same.)
 */
function publicUrlWarning(config: AppConfig): string | undefined {
  // eslint-disable-next-line no-restricted-properties -- NODE_ENV is Node's convention for "a developer's machine", not a sigauth setting
  const nodeEnv = process.env.NODE_ENV;
  if (nodeEnv === 'development' || nodeEnv === 'test') return undefined;
  if (config.PUBLIC_URL !== `http://localhost:${config.PORT}`) return undefined;
  const follows = config.JWT_ISSUER === config.PUBLIC_URL ? 'the issuer of its tokens, its discovery metadata and its DPoP checks' : 'its discovery metadata and its DPoP checks';
  return (
    `PUBLIC_URL is not set: sigauth takes ${config.PUBLIC_URL} (the port it listens on) for ${follows}, so tokens issued now ` +
    `are refused after a restart on another port and by an instance on another port. Set PUBLIC_URL to the address clients ` +
    `reach sigauth at (NODE_ENV=development silences this warning).`
  );
}

/**
 * V8 heap sizing for cluster workers (README, "Decisions a user should know"), measured with
 * `npm run bench`: 8 MB young-generation semi-spaces instead of 16, and an old generation let grow
 * 30 % over what survived its last full collection before the next one (V8 let it grow about 80 %
 * in our GC trace). They hold a worker at about 140-150 MB instead of 165-230 MB after the
 * benchmark's load; short side-by-side runs lost about 10 % of introspection throughput. A flag the
 * operator already gave (on the command line or in NODE_OPTIONS) wins.
 */
const WORKER_V8_FLAGS = ['--max-semi-space-size=8', '--heap-growing-percent=30'];

function workerExecArgv(): string[] {
  // eslint-disable-next-line no-restricted-properties -- NODE_OPTIONS is Node's setting, not sigauth's configuration
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].map((flag) => flag.replace(/_/g, '-'));
  const defaults = WORKER_V8_FLAGS.filter((flag) => !given.some((g) => g.startsWith(flag.slice(0, flag.indexOf('=') + 1))));
  return [...defaults, ...process.execArgv];
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
    cluster.setupPrimary({ execArgv: workerExecArgv() });
    for (let i = 0; i < config.WORKERS; i++) cluster.fork();
    let stopping = false;
    let failed = false;
    cluster.on('exit', (worker, code, signal) => {
      if (stopping) {
        failed ||= code !== 0;
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
        return;
      }
      console.error(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
      cluster.fork();
    });
    // Each worker drains its own in-flight requests; the primary waits for all of them.
    const stopWorkers = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
      // Each worker keeps its own deadline; this one holds even for a worker too stuck to keep it.
      setTimeout(() => {
        console.error(`workers still running ${config.SHUTDOWN_TIMEOUT_MS} ms after ${signal} (SHUTDOWN_TIMEOUT_MS): killing them`);
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
        process.exit(1);
      }, config.SHUTDOWN_TIMEOUT_MS).unref();
    };
    process.on('SIGTERM', stopWorkers);
    process.on('SIGINT', stopWorkers);
    return;
  }
  serve(config).catch((error: unknown) => {
    console.error(`sigauth failed to start: ${(error as Error).message}`);
    process.exit(1);
  });
}

main();
