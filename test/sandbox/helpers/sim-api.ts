import { createSign } from 'node:crypto';
import { createServer } from 'node:http';
import type { GitHubSimulator } from '../../../functions/adapters/sandbox/github-simulator.ts';
import { decodeJitConfig } from '../../../functions/adapters/sandbox/jit-config.ts';

/** Raw HTTP helpers for tests that talk to the simulator without the adapter. */

export function appJwt(
  appId: number | string,
  privateKey: string,
  claims: { iat?: number; exp?: number } = {},
): string {
  const now = Math.floor(Date.now() / 1000);
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(
    JSON.stringify({ iat: claims.iat ?? now - 30, exp: claims.exp ?? now + 540, iss: appId }),
  ).toString('base64url');
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(privateKey).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

export interface JsonAnswer {
  status: number;
  body: unknown;
  headers: Headers;
}

export async function call(
  sim: GitHubSimulator,
  method: string,
  path: string,
  options: { auth?: string; body?: unknown } = {},
): Promise<JsonAnswer> {
  const response = await fetch(`${sim.url}${path}`, {
    method,
    headers: {
      ...(options.auth ? { authorization: options.auth } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined, headers: response.headers };
}

export async function installationToken(sim: GitHubSimulator): Promise<string> {
  const answer = await call(sim, 'POST', `/app/installations/${sim.installationId}/access_tokens`, {
    auth: `Bearer ${appJwt(sim.appId, sim.privateKey)}`,
  });
  if (answer.status !== 201) throw new Error(`token mint failed: ${answer.status}`);
  return (answer.body as { token: string }).token;
}

/** A runner that speaks the broker protocol directly (the sample runner does the same from a process). */
export class BrokerRunner {
  sessionId: string | undefined;

  private constructor(
    private readonly sim: GitHubSimulator,
    readonly agentId: number,
    private readonly credential: string,
  ) {}

  static fromJitConfig(sim: GitHubSimulator, encoded: string): BrokerRunner {
    const files = decodeJitConfig(encoded);
    return new BrokerRunner(sim, files['.runner'].agentId, files['.credentials'].data.accessToken);
  }

  static fromCredential(sim: GitHubSimulator, agentId: number, credential: string): BrokerRunner {
    return new BrokerRunner(sim, agentId, credential);
  }

  private post(path: string, body: unknown = {}) {
    return call(this.sim, 'POST', path, { auth: `Bearer ${this.credential}`, body });
  }

  async openSession(version = '2.330.0'): Promise<JsonAnswer> {
    const answer = await this.post('/_broker/sessions', { version });
    if (answer.status === 201) this.sessionId = (answer.body as { sessionId: string }).sessionId;
    return answer;
  }

  poll(): Promise<JsonAnswer> {
    return this.post('/_broker/message', { sessionId: this.sessionId });
  }

  complete(jobId: number, result = 'Succeeded'): Promise<JsonAnswer> {
    return this.post(`/_broker/jobs/${jobId}/complete`, { result });
  }

  closeSession(): Promise<JsonAnswer> {
    return call(this.sim, 'DELETE', `/_broker/sessions/${this.sessionId}`, { auth: `Bearer ${this.credential}` });
  }
}

export interface Receiver {
  url: string;
  received: { headers: Record<string, string>; body: string }[];
  status: number;
  close(): Promise<void>;
}

/** A webhook receiver that records what it gets and answers `status`. */
export async function startReceiver(status = 202): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const state = { status };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = String(v);
      received.push({ headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(state.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/webhook`,
    received,
    get status() {
      return state.status;
    },
    set status(s: number) {
      state.status = s;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
