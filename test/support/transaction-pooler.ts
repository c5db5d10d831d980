import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import pg from 'pg';

/**
 * A minimal PostgreSQL pooler for tests, in the manner of PgBouncer: each client transaction runs on
 * one of `backends` server sessions, round robin (`backends: 1` is session pooling). Statements outside
 * a transaction, one after the other, so land on different sessions: what breaks session advisory
 * locks behind a transaction-mode pooler. Clients are let in without a password (the pooler's own
 * sessions log in with the URL's credentials); only the extended and simple query protocols are relayed.
 */
export interface TestPooler {
  url: string;
  close(): Promise<void>;
}

const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const message = (type: string, body: Buffer) => Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);
const cstrings = (...parts: string[]) => Buffer.from(parts.map((p) => `${p}\0`).join(''));

/** A logged-in server session whose socket the pooler now speaks on directly. */
async function serverSession(url: string): Promise<Socket> {
  const client = new pg.Client({ connectionString: url, application_name: 'test-pooler' });
  await client.connect();
  // The pooler closes the socket under the client: that is no error.
  client.on('error', () => undefined);
  const stream = (client as unknown as { connection: { stream: Socket } }).connection.stream;
  stream.removeAllListeners('data');
  stream.on('error', () => undefined);
  return stream;
}

/** Reads whole protocol messages (type byte, int32 length) from a socket. */
function messages(socket: Socket, onMessage: (type: string, whole: Buffer) => void): void {
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 5) {
      const length = pending.readInt32BE(1);
      if (pending.length < 1 + length) break;
      const whole = pending.subarray(0, 1 + length);
      pending = pending.subarray(1 + length);
      onMessage(String.fromCharCode(whole[0]), whole);
    }
  });
}

export async function startTestPooler(targetUrl: string, options: { backends: number }): Promise<TestPooler> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    void serve(client).catch(() => client.destroy());
  });

  async function serve(client: Socket): Promise<void> {
    const sessions = await Promise.all(Array.from({ length: options.backends }, () => serverSession(targetUrl)));
    for (const s of sessions) sockets.add(s);
    let next = 0;
    let current: Socket | null = null; // the session of an open transaction
    let batch: Buffer[] = [];
    let queue = Promise.resolve();
    const closeAll = () => {
      for (const s of sessions) s.destroy();
      client.destroy();
    };
    client.on('close', closeAll);

    // Startup: SSL refused, then the startup packet (no type byte); answered as a password-less server.
    let started = false;
    let head = Buffer.alloc(0);
    const onStartup = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      while (!started && head.length >= 4 && head.length >= head.readInt32BE(0)) {
        const length = head.readInt32BE(0);
        const code = head.readInt32BE(4);
        head = head.subarray(length);
        if (code === 80877103 || code === 80877104) {
          client.write('N');
          continue;
        }
        started = true;
        client.off('data', onStartup);
        client.write(
          Buffer.concat([
            message('R', int32(0)),
            message('S', cstrings('client_encoding', 'UTF8')),
            message('S', cstrings('server_version', '16.0')),
            message('S', cstrings('standard_conforming_strings', 'on')),
            message('S', cstrings('integer_datetimes', 'on')),
            message('S', cstrings('DateStyle', 'ISO, MDY')),
            message('K', Buffer.concat([int32(1), int32(1)])),
            message('Z', Buffer.from('I')),
          ]),
        );
        if (head.length > 0) client.emit('data', head);
        messages(client, onClientMessage);
      }
    };
    client.on('data', onStartup);

    function onClientMessage(type: string, whole: Buffer): void {
      if (type === 'X') return closeAll();
      batch.push(whole);
      if (type !== 'S' && type !== 'Q') return;
      const send = Buffer.concat(batch);
      batch = [];
      queue = queue.then(() => relay(send));
    }

    /** One batch (up to Sync or a simple query) on one session, answered up to its ReadyForQuery. */
    function relay(send: Buffer): Promise<void> {
      const session = current ?? sessions[next++ % sessions.length];
      return new Promise((resolve) => {
        const onAnswer = (type: string, whole: Buffer) => {
          client.write(whole);
          if (type !== 'Z') return;
          session.removeAllListeners('data');
          // Inside a transaction ('T') or a failed one ('E') the session stays this client's.
          current = whole[5] === 0x49 ? null : session;
          resolve();
        };
        messages(session, onAnswer);
        session.write(send);
      });
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  url.password = '';
  return {
    url: url.toString(),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
