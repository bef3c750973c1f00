import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of the status page's static files (shipped in the package with functions/). */
export const STATUS_PAGE_DIR = fileURLToPath(new URL('./status-page/', import.meta.url));

/**
 * The page's Content-Security-Policy: its own script, style and icon, JSON from its own origin, nothing
 * else (no inline script or style, no frames, no forms). Why this strict: the page shows repository names,
 * runner names and failure reasons, which are data from webhooks and GitHub's answers.
 */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The page's files by URL path: `GET /` is the page, the others its assets. */
export const StatusPageAsset = {
  '/': { file: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/status-page.js': { file: 'status-page.js', contentType: 'text/javascript; charset=utf-8' },
  '/status-page.css': { file: 'status-page.css', contentType: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', contentType: 'image/svg+xml' },
} as const;
export type StatusPagePath = keyof typeof StatusPageAsset;

export interface StatusPageAnswer {
  contentType: string;
  body: string;
  headers: Readonly<Record<string, string>>;
}

export class StatusPageError extends Error {
  override name = 'StatusPageError';
}

/** A file of the page could not be read at start-up (a broken install: the package ships them). */
export class StatusPageFileMissingError extends StatusPageError {
  override name = 'StatusPageFileMissingError';
  constructor(
    readonly file: string,
    options: { cause: unknown },
  ) {
    super(`status page file ${file} could not be read`, options);
  }
}

const HEADERS = {
  'content-security-policy': STATUS_PAGE_CSP,
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
} as const;

const isAssetPath = (path: string): path is StatusPagePath => Object.hasOwn(StatusPageAsset, path);

/**
 * Reads the status page's files once (at start-up; no build step) and answers `GET` of their paths for
 * the local server's page route, with the security headers; undefined for any other path.
 */
export async function loadStatusPage(
  dir: string = STATUS_PAGE_DIR,
): Promise<(path: string) => Promise<StatusPageAnswer | undefined>> {
  const answers = new Map<StatusPagePath, StatusPageAnswer>();
  await Promise.all(
    (Object.entries(StatusPageAsset) as [StatusPagePath, (typeof StatusPageAsset)[StatusPagePath]][]).map(
      async ([path, asset]) => {
        const file = join(dir, asset.file);
        let body: string;
        try {
          body = await readFile(file, 'utf8');
        } catch (cause) {
          throw new StatusPageFileMissingError(file, { cause });
        }
        answers.set(path, { contentType: asset.contentType, body, headers: HEADERS });
      },
    ),
  );
  return async (path) => (isAssetPath(path) ? answers.get(path) : undefined);
}
