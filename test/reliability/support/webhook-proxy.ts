import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedDelivery {
  event: string;
  action: string | undefined;
  guid: string;
  body: string;
}

export interface WebhookProxy {
  url: string;
  /** Deliveries answered 500 without reaching the server, by guid. */
  readonly failed: ProxiedDelivery[];
  /** Deliveries passed on to the server. */
  readonly forwarded: number;
  /** Change the fault switch at any time. */
  setFault(fault: ((delivery: ProxiedDelivery) => boolean) | undefined): void;
  close(): Promise<void>;
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

/**
 * A fault switch in front of the local server, where GitHub's deliveries arrive: a delivery the switch
 * picks is answered 500 and never reaches the server (the server "was down" for it). Everything else is
 * passed through unchanged (same headers, same body, so signatures still verify).
 */
export async function startWebhookProxy(target: () => string): Promise<WebhookProxy> {
  let fault: ((delivery: ProxiedDelivery) => boolean) | undefined;
  const failed: ProxiedDelivery[] = [];
  let forwarded = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let action: string | undefined;
      try {
        const parsed = JSON.parse(body) as { action?: unknown };
        action = typeof parsed.action === 'string' ? parsed.action : undefined;
      } catch {
        action = undefined;
      }
      const delivery: ProxiedDelivery = {
        event: header(req.headers, 'x-github-event'),
        action,
        guid: header(req.headers, 'x-github-delivery'),
        body,
      };
      if (fault?.(delivery)) {
        failed.push(delivery);
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"fault switch"}');
        return;
      }
      forwarded += 1;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) headers[k] = v;
      }
      fetch(`${target()}${req.url ?? '/webhook'}`, { method: 'POST', headers, body })
        .then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text());
        })
        .catch(() => {
          // The server is down (killed): GitHub records "failed to connect", i.e. no answer.
          res.destroy();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/webhook`,
    failed,
    get forwarded() {
      return forwarded;
    },
    setFault(f) {
      fault = f;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
