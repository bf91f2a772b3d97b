import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

const byte = (c: string): number => c.charCodeAt(0);

/**
 * Frontend messages forwarded after start-up: simple and extended queries. Anything else (COPY,
 * function calls, replication) is refused, because a protocol error in single-user PostgreSQL is
 * FATAL and would end the one backend that the server itself runs on.
 */
const FORWARDED = new Set(['Q', 'P', 'B', 'D', 'E', 'S', 'H', 'C'].map(byte));
const TERMINATE = byte('X');
const READY_FOR_QUERY = byte('Z');
const NOTIFICATION = byte('A');
const ROW_DESCRIPTION = byte('T');
const DATA_ROW = byte('D');
const ERROR_RESPONSE = byte('E');
const PARSE = byte('P');
const CLOSE = byte('C');
/** Messages after which the backend reports ReadyForQuery: the ends of a unit of work (0 stands for the startup packet). */
const UNIT_ENDS = new Set([0, byte('S'), byte('Q')]);
const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const MAX_STARTUP_BYTES = 10_000;
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = byte(type);
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

const query = (sql: string): Buffer => message('Q', Buffer.from(`${sql}\0`));
const SYNC = message('S', Buffer.alloc(0));

/**
 * Every client starts the same session, whatever it asked for: a database or user that does not
 * exist is FATAL in single-user mode, and would end the server's database with the client.
 */
const STARTUP = (() => {
  const params = Buffer.from('user\0postgres\0database\0postgres\0client_encoding\0UTF8\0\0');
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + params.length, 0);
  head.writeInt32BE(PROTOCOL_3, 4);
  return Buffer.concat([head, params]);
})();

function fatal(text: string): Buffer {
  return message('E', Buffer.from(`SFATAL\0VFATAL\0C08P01\0M${text}\0\0`));
}

/** The transaction status of the last ReadyForQuery in a backend's output ('I' idle, 'T' in a transaction, 'E' failed one). */
function lastStatus(output: Buffer): string | undefined {
  let status: string | undefined;
  for (let at = 0; at + 5 <= output.length; ) {
    const length = output.readInt32BE(at + 1);
    if (length < 4) break;
    if (output[at] === READY_FOR_QUERY) status = String.fromCharCode(output[at + 5]!);
    at += 1 + length;
  }
  return status;
}

/**
 * The channels and payloads of the NotificationResponses in a backend's output. PGlite has one
 * backend, so a client's NOTIFY reaches the server's own LISTEN in the output of the client's
 * unit of work, where PGlite's in-process listeners never see it.
 */
function notifications(output: Buffer): { channel: string; payload: string }[] {
  const found: { channel: string; payload: string }[] = [];
  for (let at = 0; at + 5 <= output.length; ) {
    const length = output.readInt32BE(at + 1);
    if (length < 4) break;
    if (output[at] === NOTIFICATION) {
      // 'A', length, the notifying backend's pid, then the channel and the payload, each NUL-ended.
      const start = at + 9;
      const end = output.indexOf(0, start);
      const payloadEnd = end < 0 ? -1 : output.indexOf(0, end + 1);
      if (end > start && payloadEnd > end && payloadEnd < at + 1 + length) {
        found.push({ channel: output.toString('utf8', start, end), payload: output.toString('utf8', end + 1, payloadEnd) });
      }
    }
    at += 1 + length;
  }
  return found;
}

/** The first column of the rows of the last result in a backend's output, as text (NULL as undefined). */
function firstColumns(output: Buffer): (string | undefined)[] {
  let values: (string | undefined)[] = [];
  for (let at = 0; at + 5 <= output.length; ) {
    const length = output.readInt32BE(at + 1);
    if (length < 4) break;
    if (output[at] === ROW_DESCRIPTION) values = [];
    if (output[at] === DATA_ROW && length >= 10) {
      const size = output.readInt32BE(at + 7);
      values.push(size < 0 ? undefined : output.toString('utf8', at + 11, at + 11 + size));
    }
    at += 1 + length;
  }
  return values;
}

/** The message of the first ErrorResponse in a backend's output. */
function errorIn(output: Buffer): string | undefined {
  for (let at = 0; at + 5 <= output.length; ) {
    const length = output.readInt32BE(at + 1);
    if (length < 4) break;
    if (output[at] === ERROR_RESPONSE) {
      for (let field = at + 5; field < at + 1 + length && output[field] !== 0; ) {
        const end = output.indexOf(0, field + 1);
        if (end < 0) break;
        if (output[field] === byte('M')) return output.toString('utf8', field + 1, end);
        field = end + 1;
      }
      return 'unknown error';
    }
    at += 1 + length;
  }
  return undefined;
}

/** The statement name of a Parse message, or of a Close of a statement ('S'); undefined for anything else. */
function statementNamed(type: number, bytes: Buffer): string | undefined {
  if (type === PARSE) return bytes.toString('utf8', 5, bytes.indexOf(0, 5));
  if (type === CLOSE && bytes[5] === byte('S')) return bytes.toString('utf8', 6, bytes.indexOf(0, 6));
  return undefined;
}

const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * What a client may have changed in the session, put back as the server had it: every setting
 * (RESET ALL also ends SET ROLE; a read-only default would fail the server's writes), the session
 * user, cursors held past their transaction, prepared statements, advisory locks, temporary tables
 * (they come first in the search path, so one could stand in for a server table). DISCARD ALL
 * would do it in one word but also UNLISTEN *, and the server LISTENs on this session.
 */
const RESET_SESSION = query(
  'SET SESSION AUTHORIZATION DEFAULT; RESET ALL; CLOSE ALL; DEALLOCATE ALL; SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES; SELECT pg_listening_channels()',
);
const LISTENING_CHANNELS = query('SELECT pg_listening_channels()');

/** One client's state between its turns on the shared session. */
interface ClientState {
  /**
   * Its protocol-level named statements, as the Parse messages that made them: drivers (pg among
   * them) prepare a named statement once per connection and then only Bind it, so each is parsed
   * again when the client's next turn begins, after the reset that ended its last one.
   */
  statements: Map<string, Buffer>;
  /** The channels the server listened on when the client's current turn began. */
  serverChannels?: string[];
}

export interface PgliteSocketServerOptions {
  /** The Unix socket to listen on. */
  path: string;
  /** A client that keeps the database in the middle of its work and says nothing for this long is disconnected. */
  idleInTransactionMs: number;
  /** Called with one line when a client is disconnected for misbehaving. */
  warn(message: string): void;
  /**
   * Called for each NOTIFY a client's work sent on a channel the server listens on; without a
   * payload when the client stopped the server's LISTEN on that channel for a while, so that
   * whatever was sent meanwhile may have been missed.
   */
  notified?(channel: string, payload?: string): void;
}

/**
 * PGlite's wire protocol on a Unix socket, so that CLI processes reach the server's database
 * instead of opening its files a second time.
 *
 * PGlite is one PostgreSQL backend: one session, shared by the server's own queries and every
 * client. A client's unit of work (from its first message to the ReadyForQuery that finds the
 * session idle, so a whole transaction) therefore runs under PGlite's transaction mutex, the one
 * its own query(), exec() and transaction() take: the server's queries wait for the unit and never
 * run inside a client's transaction or between its Parse and Sync; a client waits for the
 * server's transactions likewise. @electric-sql/pglite-socket takes only the per-message query
 * mutex, which lets the server's queries interleave with a client's (and pins PGlite to one exact
 * version), hence this server. A client that disconnects, or stalls mid-unit for
 * idleInTransactionMs, has its work rolled back.
 *
 * Whatever a unit of work changed in the session is undone as it ends, before the server runs
 * again: settings, prepared statements and the rest (RESET_SESSION), and the server's LISTENs,
 * which a client's UNLISTEN would otherwise end for good. So a client keeps session state only
 * for one unit, as under PgBouncer's transaction pooling, except its named protocol-level
 * statements, which are prepared again for each of its units. Undoing every time, rather than
 * refusing the statements that change the session, is what holds: set_config() in a SELECT, a
 * SET inside a function or a DO block change the session as well as SET does, and no reading of
 * the query text would find them all.
 */
export class PgliteSocketServer {
  private server?: Server;
  private readonly clients = new Set<Socket>();
  private readonly endings = new Set<Promise<void>>();

  constructor(
    private readonly db: PGlite,
    private readonly options: PgliteSocketServerOptions,
  ) {}

  async listen(): Promise<void> {
    // We hold DATA_DIR's lock, so a socket file here is a dead server's.
    rmSync(this.options.path, { force: true });
    const server = createServer((socket) => this.serve(socket));
    server.maxConnections = 16;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.options.path, 0o600);
    this.server = server;
  }

  /** Stops listening, disconnects every client and waits until their work is rolled back. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    // A client's rollback is queued by its own 'close' event, which comes after the server's: wait
    // for each, so that every ending is known before it is awaited.
    const disconnected = [...this.clients].map((client) => new Promise<void>((resolve) => (client.closed ? resolve() : client.once('close', () => resolve()))));
    for (const client of this.clients) client.destroy();
    await closed;
    await Promise.all(disconnected);
    await Promise.all(this.endings);
    rmSync(this.options.path, { force: true });
  }

  /** Takes the session: resolves with the function that gives it back. */
  private takeSession(): Promise<() => void> {
    return new Promise((granted) => {
      void this.db._runExclusiveTransaction(() => new Promise<void>((giveBack) => granted(giveBack)));
    });
  }

  private async run(bytes: Buffer): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    await this.db.runExclusive(() => this.db.execProtocolRawStream(new Uint8Array(bytes), { onRawData: (chunk) => void chunks.push(chunk.slice()) }));
    const output = Buffer.concat(chunks);
    if (this.options.notified) for (const { channel, payload } of notifications(output)) this.options.notified(channel, payload);
    return output;
  }

  private serve(socket: Socket): void {
    this.clients.add(socket);
    let input: Buffer = Buffer.alloc(0);
    let startedUp = false;
    let ended = false;
    let queued = 0;
    let session: (() => void) | undefined;
    let work: Promise<void> = Promise.resolve();
    let idleTimer: NodeJS.Timeout | undefined;
    let cleanedUp = false;
    const state: ClientState = { statements: new Map() };
    const cleanUp = (): Promise<void> => {
      if (cleanedUp || !startedUp) return Promise.resolve();
      cleanedUp = true;
      // Between units the session was put back as the unit ended: only a unit cut off mid-way is left to undo.
      return session ? this.endSession(session, state) : Promise.resolve();
    };

    const refuse = (reason: string): void => {
      if (socket.writable) socket.end(fatal(reason));
      socket.destroy();
    };

    const handle = async (bytes: Buffer, type: number): Promise<void> => {
      queued--;
      if (ended) return;
      if (!session) {
        session = await this.takeSession();
        if (ended) return;
        await this.beginTurn(state);
      }
      const output = await this.run(bytes);
      if (socket.writable) socket.write(output);
      const named = statementNamed(type, bytes);
      if (named) {
        if (type === PARSE) state.statements.set(named, bytes);
        else state.statements.delete(named);
      }
      if (UNIT_ENDS.has(type) && lastStatus(output) === 'I') {
        const giveBack = session;
        session = undefined;
        try {
          await this.endTurn(state);
        } catch (error) {
          // The session could not be put back: this client goes, and the server is told (warn) below.
          socket.destroy();
          throw error;
        } finally {
          giveBack();
        }
      }
      if (session && queued === 0) {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          this.options.warn(`a client of the embedded database kept it mid-transaction and silent for ${this.options.idleInTransactionMs} ms: disconnected, its work rolled back`);
          socket.destroy();
        }, this.options.idleInTransactionMs);
      }
    };

    const enqueue = (bytes: Buffer, type: number): void => {
      queued++;
      work = work.then(() => handle(bytes, type)).catch((error: Error) => {
        this.options.warn(`embedded database client failed: ${error.message}`);
        socket.destroy();
      });
    };

    const parse = (): void => {
      while (!ended) {
        if (!startedUp) {
          if (input.length < 8) return;
          const length = input.readInt32BE(0);
          const code = input.readInt32BE(4);
          if (length < 8 || length > MAX_STARTUP_BYTES) return refuse('invalid startup packet');
          if (input.length < length) return;
          input = input.subarray(length);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
            socket.write('N');
            continue;
          }
          if (code !== PROTOCOL_3) return refuse('unsupported protocol or request');
          startedUp = true;
          enqueue(STARTUP, 0);
          continue;
        }
        if (input.length < 5) return;
        const type = input[0]!;
        const length = input.readInt32BE(1);
        if (type === TERMINATE) {
          // Reset before the socket closes: a client that waits for the close finds the session clean.
          ended = true;
          work = work.then(cleanUp).then(() => void socket.end());
          return;
        }
        if (!FORWARDED.has(type) || length < 4 || length > MAX_MESSAGE_BYTES) {
          return refuse(`message type ${JSON.stringify(String.fromCharCode(type))} is not served by sigauth's embedded database socket`);
        }
        if (input.length < 1 + length) return;
        const bytes = Buffer.from(input.subarray(0, 1 + length));
        input = input.subarray(1 + length);
        enqueue(bytes, type);
      }
    };

    socket.on('data', (chunk: Buffer) => {
      clearTimeout(idleTimer);
      input = input.length === 0 ? chunk : Buffer.concat([input, chunk]);
      parse();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      ended = true;
      clearTimeout(idleTimer);
      this.clients.delete(socket);
      const ending = work.then(cleanUp);
      this.endings.add(ending);
      void ending.finally(() => this.endings.delete(ending));
    });
  }

  /** Notes the server's LISTENs, and prepares the client's named statements again. */
  private async beginTurn(state: ClientState): Promise<void> {
    state.serverChannels = firstColumns(await this.run(LISTENING_CHANNELS)).filter((channel) => channel !== undefined);
    for (const parse of state.statements.values()) {
      await this.run(parse);
      await this.run(SYNC);
    }
  }

  /** Puts the session back as the server had it before the client's unit of work (which has ended: the session is idle). */
  private async endTurn(state: ClientState): Promise<void> {
    const output = await this.run(RESET_SESSION);
    const failed = errorIn(output);
    if (failed) throw new Error(`could not reset the session after a client's work: ${failed}`);
    const listening = new Set(firstColumns(output));
    const server = state.serverChannels ?? [];
    const lost = server.filter((channel) => !listening.has(channel));
    const added = [...listening].filter((channel): channel is string => channel !== undefined && !server.includes(channel));
    if (lost.length === 0 && added.length === 0) return;
    const statements = [...added.map((channel) => `UNLISTEN ${quoteIdentifier(channel)}`), ...lost.map((channel) => `LISTEN ${quoteIdentifier(channel)}`)];
    const restored = errorIn(await this.run(query(statements.join('; '))));
    if (restored) throw new Error(`could not restore the server's LISTENs after a client's work: ${restored}`);
    // What the client's work notified while the server was not listening went nowhere: tell the server it may have missed some.
    for (const channel of lost) this.options.notified?.(channel);
  }

  /** Rolls back a unit of work the client left mid-way (a Sync first ends an extended-protocol exchange cut off before its own), then resets the session. */
  private async endSession(giveBack: () => void, state: ClientState): Promise<void> {
    try {
      if (lastStatus(await this.run(SYNC)) !== 'I') await this.run(query('ROLLBACK'));
      await this.endTurn(state);
    } catch (error) {
      this.options.warn(`could not reset the embedded database after a client left: ${(error as Error).message}`);
    } finally {
      giveBack();
    }
  }
}
