import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope recipients (RCPT TO), lower-cased. */
  to: string[];
  from: string;
  subject: string;
  text: string;
  messageId: string;
  headers: Record<string, string>;
  /** Order of arrival (1, 2, ...). */
  seq: number;
}

export interface Mailbox {
  smtpUrl: string;
  webUrl: string;
  messages: ReceivedMail[];
  /** Messages whose envelope names this address. */
  for(address: string): ReceivedMail[];
  close(): Promise<void>;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A local mailbox for the demo and the tests: a real SMTP server on loopback (smtp-server; no TLS,
 * no authentication, accepts any recipient) that keeps every message it accepted, and a small web
 * page listing them (`webUrl`, JSON at `webUrl`/messages.json). A message is stored before the
 * server answers 250, so once the sender has its answer the message is here.
 */
export async function startMailbox(options: { host?: string; smtpPort?: number; webPort?: number } = {}): Promise<Mailbox> {
  const host = options.host ?? '127.0.0.1';
  const messages: ReceivedMail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    size: 1024 * 1024,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of parsed.headers) headers[k] = typeof v === 'string' ? v : JSON.stringify(v);
          messages.push({
            to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            messageId: parsed.messageId ?? '',
            headers,
            seq: messages.length + 1,
          });
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve, reject) => {
    smtp.once('error', reject);
    smtp.listen(options.smtpPort ?? 0, host, () => resolve());
  });
  const smtpPort = (smtp as unknown as { server: { address(): AddressInfo } }).server.address().port;
  const web: Server = createServer((req, res) => {
    if (req.url === '/messages.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(messages));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    const rows = [...messages]
      .reverse()
      .map(
        (m) =>
          `<article><h3>${escape(m.subject)}</h3><p><b>To:</b> ${escape(m.to.join(', '))} &nbsp; <b>Message-ID:</b> ${escape(m.messageId)}</p><pre>${escape(m.text)}</pre></article>`,
      )
      .join('<hr>');
    res.end(
      `<!doctype html><meta charset="utf-8"><title>Klear demo mailbox</title><h1>Klear demo mailbox (${messages.length})</h1>${rows || '<p>No mail yet.</p>'}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    web.once('error', reject);
    web.listen(options.webPort ?? 0, host, () => resolve());
  });
  const webPort = (web.address() as AddressInfo).port;
  return {
    smtpUrl: `smtp://${host}:${smtpPort}`,
    webUrl: `http://${host}:${webPort}/`,
    messages,
    for: (address) => messages.filter((m) => m.to.includes(address.toLowerCase())),
    close: async () => {
      web.closeAllConnections();
      await new Promise<void>((resolve) => web.close(() => resolve()));
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    },
  };
}
