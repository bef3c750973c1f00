import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../ports/runtime.ts';
import { MAX_BODY_BYTES, type WebhookRequest, type WebhookResponse } from '../../use-cases/ingress/accept-webhook.ts';

export interface LocalRoutes {
  webhook: (request: WebhookRequest) => Promise<WebhookResponse>;
  health: () => Promise<Record<string, unknown>>;
  /** Read-only job view for `npm run demo` and people (`GET /jobs/{id}`, `GET /jobs`). */
  job?: (jobId: number) => Promise<unknown | undefined>;
  jobs?: () => Promise<unknown[]>;
  /** Loopback-only admin routes for the CLI (`jit-runners baseline list|ensure`). */
  baselines?: () => Promise<unknown[]>;
  ensureBaseline?: (scope: string) => Promise<{ status: number; body: unknown }>;
  /** Read-only runner version status for `jit-runners version status` (`GET /admin/version`). */
  version?: () => Promise<{ status: number; body: unknown }>;
  /** The setup checks for `jit-runners doctor` (`GET /admin/doctor[?webhookUrl=URL]`). */
  doctor?: (query: URLSearchParams) => Promise<{ status: number; body: unknown }>;
  /**
   * The read-only fleet API (`GET /api/…`, JSON): undefined for a path it does not serve. Loopback only,
   * like the admin routes: it names repositories and runners.
   */
  api?: (path: string, query: URLSearchParams) => Promise<{ status: number; body: unknown } | undefined>;
  /**
   * Pages served as they are (`GET /` and its assets): undefined for a path that is not one. Loopback only.
   * `headers` are added to the answer (a Content-Security-Policy, say); they cannot replace the ones set here.
   */
  page?: (
    path: string,
  ) => Promise<{ contentType: string; body: string; headers?: Readonly<Record<string, string>> } | undefined>;
}

const LOOPBACK = ['127.0.0.1', '::1', '::ffff:127.0.0.1'];

export interface LocalHttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Keep draining (so the client can read our 413) but stop buffering.
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => (tooLarge ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The local stand-in for the Lambda Function URL, plus `/healthz` and a read-only job view. */
export async function startLocalHttpServer(
  routes: LocalRoutes,
  options: { port: number; host: string; logger: Logger },
): Promise<LocalHttpServer> {
  const { logger } = options;
  const server: Server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, await routes.health());
      if (url.pathname === '/webhook') {
        if (req.method !== 'POST') return send(res, 405, { message: 'use POST' });
        let body: string;
        try {
          body = await readBody(req, MAX_BODY_BYTES);
        } catch (error) {
          if (error instanceof BodyTooLarge)
            return send(res, 413, { message: `payload larger than ${MAX_BODY_BYTES} bytes` });
          throw error;
        }
        const answer = await routes.webhook({ headers: req.headers, body });
        return send(res, answer.status, answer.body);
      }
      const jobMatch = /^\/jobs\/(\d+)$/.exec(url.pathname);
      if (req.method === 'GET' && jobMatch && routes.job) {
        const job = await routes.job(Number(jobMatch[1]));
        return job ? send(res, 200, job) : send(res, 404, { message: 'no such job' });
      }
      if (req.method === 'GET' && url.pathname === '/jobs' && routes.jobs) return send(res, 200, await routes.jobs());
      const loopback = LOOPBACK.includes(req.socket.remoteAddress ?? '');
      if (url.pathname.startsWith('/api/') && routes.api) {
        if (!loopback) return send(res, 403, { message: 'loopback only' });
        if (req.method !== 'GET') return send(res, 405, { message: 'use GET' });
        const answer = await routes.api(url.pathname, url.searchParams);
        if (answer) return send(res, answer.status, answer.body);
        return send(res, 404, { message: 'not found' });
      }
      if (req.method === 'GET' && routes.page) {
        const page = await routes.page(url.pathname);
        if (page) {
          if (!loopback) return send(res, 403, { message: 'loopback only' });
          res.writeHead(200, {
            ...page.headers,
            'content-type': page.contentType,
            'content-length': Buffer.byteLength(page.body),
            'cache-control': 'no-store',
            'x-content-type-options': 'nosniff',
          });
          return res.end(page.body);
        }
      }
      if (url.pathname.startsWith('/admin/')) {
        // Admin routes act on GitHub with the App's identity: only this machine may call them.
        if (!loopback) return send(res, 403, { message: 'loopback only' });
        if (req.method === 'GET' && url.pathname === '/admin/baselines' && routes.baselines) {
          return send(res, 200, await routes.baselines());
        }
        if (req.method === 'POST' && url.pathname === '/admin/baselines/ensure' && routes.ensureBaseline) {
          const scope = url.searchParams.get('scope') ?? '';
          const answer = await routes.ensureBaseline(scope);
          return send(res, answer.status, answer.body);
        }
        if (req.method === 'GET' && url.pathname === '/admin/version' && routes.version) {
          const answer = await routes.version();
          return send(res, answer.status, answer.body);
        }
        if (req.method === 'GET' && url.pathname === '/admin/doctor' && routes.doctor) {
          const answer = await routes.doctor(url.searchParams);
          return send(res, answer.status, answer.body);
        }
      }
      return send(res, 404, { message: 'not found' });
    } catch (error) {
      // Never a stack trace to the caller; the job store write either happened or not, and GitHub's
      // delivery log shows the 500 for redelivery.
      logger.error('request failed', { path: req.url, error: error instanceof Error ? error.message : String(error) });
      if (!res.headersSent) send(res, 500, { message: 'internal error' });
      else res.end();
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
