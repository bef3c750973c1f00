import { GitHubRequestError, type ReleaseAssetPort } from '../../ports/github.ts';
import { addressLabel, toGitHubError } from './to-github-error.ts';

export interface ReleaseAssetDownloaderOptions {
  /** Deadline of one download, redirects and body included. Default 300 000 (a 200 MB tarball on a slow link). */
  timeoutMs?: number;
  /** Largest body accepted when the caller gives none. Default 512 MiB. */
  maxBytes?: number;
  /** Defaults to Node's global fetch (follows GitHub's redirect to its CDN). */
  fetch?: typeof fetch;
}

const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
const MAX_ERROR_BODY = 500;

/**
 * {@link ReleaseAssetPort} over fetch: one GET of the public address, following redirects, with no
 * credentials at all (GitHub redirects `browser_download_url` to a signed CDN address on another host).
 * The body is read in chunks and refused as soon as it passes `maxBytes`, so a wrong address cannot fill
 * the memory. Nothing is retried here: the tarball cache decides when to try again.
 */
export function createReleaseAssetDownloader(options: ReleaseAssetDownloaderOptions = {}): ReleaseAssetPort {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  return {
    async download(url, request = {}) {
      const maxBytes = request.maxBytes ?? options.maxBytes ?? DEFAULT_MAX_BYTES;
      const endpoint = `GET ${addressLabel(url)}`;
      const fail = (message: string, status: number, body = '') =>
        new GitHubRequestError(`${endpoint} ${message}`, status, endpoint, body, undefined);
      try {
        const response = await fetchImpl(url, {
          headers: { accept: 'application/octet-stream', 'user-agent': 'jit-runners' },
          redirect: 'follow',
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (!response.ok) {
          const text = (await response.text().catch(() => '')).slice(0, MAX_ERROR_BODY);
          throw fail(`failed with ${response.status}`, response.status, text);
        }
        const declared = Number(response.headers.get('content-length') ?? Number.NaN);
        if (Number.isFinite(declared) && declared > maxBytes) {
          await response.body?.cancel();
          throw fail(`is ${declared} bytes, more than the ${maxBytes} allowed`, response.status);
        }
        const chunks: Uint8Array[] = [];
        let size = 0;
        if (response.body) {
          for await (const chunk of response.body) {
            size += chunk.byteLength;
            if (size > maxBytes) {
              await response.body.cancel().catch(() => {});
              throw fail(`is more than the ${maxBytes} bytes allowed`, response.status);
            }
            chunks.push(chunk);
          }
        }
        const bytes = new Uint8Array(size);
        let offset = 0;
        for (const chunk of chunks) {
          bytes.set(chunk, offset);
          offset += chunk.byteLength;
        }
        return bytes;
      } catch (error) {
        throw toGitHubError(error, endpoint, undefined);
      }
    },
  };
}
