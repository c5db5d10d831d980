// Margin report downloads: only from allowed hosts, capped in size, streamed to disk (mode 0600) with
// their SHA-256, and a refused or failed download leaves no file behind.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MarginReportFiles } from '@app/ingestion';
import { KlearBodyTooLargeError, KlearClient } from '@app/klear-client';

const FILE = Buffer.from('date,subtrader_id,maintenance_margin_centicents\n'.repeat(2000));
let server: Server;
let port: number;
let requests: string[] = [];
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'klear-report-downloads-'));
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url?.startsWith('/files/chunked')) {
      // No Content-Length: the size is only known while streaming.
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.write(FILE);
      res.end(FILE);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/csv', 'content-length': String(FILE.length) });
    res.end(FILE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const client = (options: { reportHosts?: string[]; reportMaxBytes?: number } = {}) =>
  new KlearClient({
    baseUrl: `http://127.0.0.1:${port}/klear-api/v1`,
    credentials: { mode: 'bearer', adminUserId: 'u', accessToken: 't' },
    tier: 'prime',
    timeoutMs: 5000,
    maxRetries: 0,
    ...options,
  });

describe('margin report downloads', () => {
  it('stream a file to disk with mode 0600 and its SHA-256, from the Klear host', async () => {
    const files = new MarginReportFiles(join(dir, 'ok'));
    const got = await files.download('2026-11-05/trade_audit-1.csv', (open) =>
      client().downloadReportTo(`http://127.0.0.1:${port}/files/a.csv?signature=s3cr3t`, open),
    );
    const path = files.absolute('2026-11-05/trade_audit-1.csv');
    expect(got).toMatchObject({ size: FILE.length, sha256: createHash('sha256').update(FILE).digest('hex') });
    expect(readFileSync(path).equals(FILE)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await files.intact('2026-11-05/trade_audit-1.csv', String(got.size), got.sha256)).toBe(true);
  });

  it('refuse a URL on a host that is not allowed, without calling it; KLEAR_REPORT_HOSTS allows it', async () => {
    requests = [];
    await expect(client().downloadReport(`http://localhost:${port}/files/a.csv?signature=s3cr3t`)).rejects.toThrow(
      /allowed host \(KLEAR_REPORT_HOSTS\), not localhost/,
    );
    await expect(client().downloadReport(`http://169.254.169.254/latest/meta-data/`)).rejects.toThrow(/allowed host/);
    expect(requests).toEqual([]);
    const allowed = await client({ reportHosts: ['localhost'] }).downloadReport(`http://localhost:${port}/files/a.csv`);
    expect(allowed.data.size).toBe(FILE.length);
  });

  it('refuse a file over the size cap, declared or streamed, and leave no file behind', async () => {
    const files = new MarginReportFiles(join(dir, 'capped'));
    const small = client({ reportMaxBytes: FILE.length - 1 });
    await expect(
      files.download('d/declared.csv', (open) => small.downloadReportTo(`http://127.0.0.1:${port}/files/a.csv`, open)),
    ).rejects.toBeInstanceOf(KlearBodyTooLargeError);
    await expect(
      files.download('d/streamed.csv', (open) =>
        client({ reportMaxBytes: FILE.length + 10 }).downloadReportTo(`http://127.0.0.1:${port}/files/chunked.csv`, open),
      ),
    ).rejects.toBeInstanceOf(KlearBodyTooLargeError);
    const left = existsSync(join(dir, 'capped', 'd')) ? readdirSync(join(dir, 'capped', 'd')) : [];
    expect(left).toEqual([]);
    await expect(small.downloadReport(`http://127.0.0.1:${port}/files/chunked.csv`)).rejects.toThrow(/answered more than/);
  });

  it('refuse plain http when Klear itself is reached over https', async () => {
    const https = new KlearClient({
      baseUrl: 'https://api.klear.example/klear-api/v1',
      credentials: { mode: 'bearer', adminUserId: 'u', accessToken: 't' },
      tier: 'prime',
      timeoutMs: 1000,
      maxRetries: 0,
    });
    await expect(https.downloadReport('http://api.klear.example/files/a.csv')).rejects.toThrow(/must be https/);
  });
});
