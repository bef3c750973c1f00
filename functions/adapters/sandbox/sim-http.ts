import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export class BadJsonError extends Error {}

const MAX_BODY_BYTES = 1_000_000;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new BadJsonError('request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadJsonError('Problems parsing JSON');
  }
}

export function writeReply(res: ServerResponse, reply: Reply): void {
  if (res.writableEnded || res.destroyed) return;
  const headers: Record<string, string> = {
    'x-github-media-type': 'github.v3; format=json',
    'x-github-request-id': Math.random().toString(16).slice(2, 10).toUpperCase(),
    ...reply.headers,
  };
  if (reply.body === undefined || reply.status === 204) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

export interface CompiledRoute {
  method: string;
  template: string;
  regex: RegExp;
  names: string[];
}

/** `/repos/{owner}/{repo}` → a matcher that yields `{ owner, repo }`. */
export function compileRoute(method: string, template: string): CompiledRoute {
  const names: string[] = [];
  const pattern = template
    .split('/')
    .map((segment) => {
      const m = /^\{(\w+)\}$/.exec(segment);
      if (!m?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1]);
      return '([^/]+)';
    })
    .join('/');
  return { method, template, regex: new RegExp(`^${pattern}$`), names };
}

export function matchRoute(route: CompiledRoute, method: string, path: string): Record<string, string> | undefined {
  if (route.method !== method) return undefined;
  const m = route.regex.exec(path);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  route.names.forEach((name, i) => {
    params[name] = decodeURIComponent(m[i + 1] ?? '');
  });
  return params;
}

export function bearer(req: IncomingMessage, scheme: string): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const [given, value] = header.split(/\s+/, 2);
  return given?.toLowerCase() === scheme.toLowerCase() && value ? value : undefined;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
