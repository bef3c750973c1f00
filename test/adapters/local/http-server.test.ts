import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalHttpServer, startLocalHttpServer } from '../../../functions/adapters/local/http-server.ts';
import { silentLogger } from '../../support/capture-logger.ts';

const routes = {
  webhook: async () => ({ status: 200, body: { message: 'ok' } }),
  health: async () => ({ status: 'ok' }),
  api: async (path: string, query: URLSearchParams) =>
    path === '/api/status' ? { status: 200, body: { path, q: query.get('q') } } : undefined,
  page: async (path: string) =>
    path === '/' ? { contentType: 'text/html; charset=utf-8', body: '<!doctype html><title>x</title>' } : undefined,
};

/** GET from another source address (127.0.0.2 is this machine, but not the loopback address the server trusts). */
function statusFrom(localAddress: string, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('local HTTP server: fleet API and pages', () => {
  let server: LocalHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers the fleet API as JSON, 404 for a path it does not serve and 405 for a write', async () => {
    server = await startLocalHttpServer(routes, { port: 0, host: '127.0.0.1', logger: silentLogger });
    const ok = await fetch(`${server.url}/api/status?q=1`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/json');
    expect(await ok.json()).toEqual({ path: '/api/status', q: '1' });
    expect((await fetch(`${server.url}/api/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/status`, { method: 'POST' })).status).toBe(405);
  });

  it('serves a page with its content type, never cached', async () => {
    server = await startLocalHttpServer(routes, { port: 0, host: '127.0.0.1', logger: silentLogger });
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(await page.text()).toContain('<title>x</title>');
  });

  it("adds a page's own headers, which cannot replace the server's", async () => {
    const page = async () => ({
      contentType: 'text/css',
      body: 'p{}',
      headers: { 'content-security-policy': "default-src 'none'", 'cache-control': 'max-age=60' },
    });
    server = await startLocalHttpServer({ ...routes, page }, { port: 0, host: '127.0.0.1', logger: silentLogger });
    const answer = await fetch(`${server.url}/page.css`);
    expect(answer.headers.get('content-security-policy')).toBe("default-src 'none'");
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('content-type')).toBe('text/css');
  });

  it('refuses the fleet API and pages to a caller from another address', async () => {
    server = await startLocalHttpServer(routes, { port: 0, host: '0.0.0.0', logger: silentLogger });
    const at = (path: string) => `http://127.0.0.1:${server?.port}${path}`;
    expect(await statusFrom('127.0.0.2', at('/api/status'))).toBe(403);
    expect(await statusFrom('127.0.0.2', at('/'))).toBe(403);
    expect(await statusFrom('127.0.0.2', at('/healthz'))).toBe(200);
    expect(await statusFrom('127.0.0.1', at('/api/status'))).toBe(200);
  });
});
