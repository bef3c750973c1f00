import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadStatusPage,
  STATUS_PAGE_CSP,
  STATUS_PAGE_DIR,
  StatusPageAsset,
  StatusPageFileMissingError,
} from '../../../functions/adapters/local/status-page.ts';

const ROOT = join(import.meta.dirname, '../../..');
const file = (name: string) => readFile(join(STATUS_PAGE_DIR, name), 'utf8');

describe('status page files', () => {
  it('serves the page and its assets with their types and the CSP, and nothing else', async () => {
    const page = await loadStatusPage();
    const html = await page('/');
    expect(html?.contentType).toBe('text/html; charset=utf-8');
    expect(html?.body).toBe(await file('index.html'));
    expect(html?.headers['content-security-policy']).toBe(STATUS_PAGE_CSP);
    expect(STATUS_PAGE_CSP).toContain("script-src 'self'");
    expect(STATUS_PAGE_CSP).not.toContain('unsafe');
    expect((await page('/status-page.js'))?.contentType).toBe('text/javascript; charset=utf-8');
    expect((await page('/status-page.css'))?.contentType).toBe('text/css; charset=utf-8');
    expect((await page('/favicon.svg'))?.contentType).toBe('image/svg+xml');
    for (const path of ['/index.html', '/status-page.ts', '/../package.json', '/toString', '/api/status']) {
      expect(await page(path)).toBeUndefined();
    }
  });

  it('has no inline script or style, so the CSP needs no exception', async () => {
    const html = await file('index.html');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map((m) => [m[1]?.trim(), m[2]])).toEqual([['type="module" src="/status-page.js"', '']]);
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
    // Every asset the page links is one the route serves.
    const linked = [...html.matchAll(/(?:src|href)="(\/[^"#]*)"/g)].map((m) => m[1]);
    expect(linked.filter((path) => !Object.hasOwn(StatusPageAsset, path ?? ''))).toEqual([]);
  });

  it('sets data as text only: the script never writes markup', async () => {
    const script = await file('status-page.js');
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
    expect(script).not.toMatch(/\.style\./);
  });

  it('ships in the npm package with functions/', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('functions');
    await expect(readFile(join(ROOT, '.npmignore'), 'utf8')).rejects.toThrow();
  });

  it('refuses to start without its files, naming the one missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jit-runners-page-'));
    try {
      const error = await loadStatusPage(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StatusPageFileMissingError);
      expect((error as StatusPageFileMissingError).message).toMatch(
        /^status page file .*(index\.html|\.js|\.css|\.svg) could not be read$/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
