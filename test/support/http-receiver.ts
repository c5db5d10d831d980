import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedPost {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A local HTTP receiver (a Slack-compatible incoming webhook): keeps every POST; answers `status()` (200 by default). */
export async function startHttpReceiver(
  status: () => number = () => 200,
): Promise<{ url: string; posts: ReceivedPost[]; close(): Promise<void> }> {
  const posts: ReceivedPost[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const code = status();
      if (code >= 200 && code < 300) posts.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(code, { 'content-type': 'text/plain' });
      res.end(code === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/slack`,
    posts,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
