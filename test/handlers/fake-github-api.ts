import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake hands out: secrets with the shapes GitHub gives them, to search the logs for. */
export const MINTED = {
  installationToken: `ghs_${'Inst4llat1onT0ken'.repeat(2)}xyz`,
  // A JIT config is base64 JSON of a kilobyte or more.
  jitConfig: Buffer.from(JSON.stringify({ '.runner': 'r'.repeat(600), '.credentials': 'c'.repeat(600) })).toString(
    'base64',
  ),
  // Registration tokens are 29 upper-case letters and digits: no pattern knows them.
  registrationToken: 'AABRT7K3PLQ2ZXWV9MN4HGF6DSE5Y',
} as const;

export interface FakeRunnerState {
  id: number;
  name: string;
  status: 'online' | 'offline';
  busy: boolean;
  /** Answer `GET …/runners/{id}` with this status instead (the metadata failure answers 500). */
  failWith?: number;
}

export interface FakeJobState {
  id: number;
  status: string;
  runnerName: string | null;
}

/**
 * A loopback stand-in for the GitHub REST calls the handlers make (the bundled or imported handler
 * reaches it through `GITHUB_API_URL`, so the real Octokit adapter runs): installation tokens, JIT
 * configs and registration tokens (the values of {@link MINTED}), runners by id and by name, runner
 * deletion, workflow jobs. It checks no signature: the handlers' own code paths are what is tested.
 */
export async function startFakeGitHubApi() {
  const runners = new Map<number, FakeRunnerState>();
  const jobs = new Map<number, FakeJobState>();
  const calls: string[] = [];
  let nextRunner = 7_000;
  const runnerJson = (r: FakeRunnerState) => ({
    id: r.id,
    name: r.name,
    os: 'linux',
    status: r.status,
    busy: r.busy,
    labels: [{ id: 1, name: 'self-hosted', type: 'read-only' }],
  });

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = `${req.method} ${url.pathname}`;
      calls.push(route);
      const body =
        chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
      const send = (status: number, json?: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(json === undefined ? undefined : JSON.stringify(json));
      };
      const id = (pattern: RegExp) => pattern.exec(route)?.[1];
      let m: string | undefined;
      if (/^POST \/app\/installations\/\d+\/access_tokens$/.test(route)) {
        return send(201, {
          token: MINTED.installationToken,
          expires_at: new Date(Date.now() + 3_600_000).toISOString(),
          permissions: { administration: 'write', actions: 'read' },
          repository_selection: 'all',
        });
      }
      if (/^POST \/repos\/[^/]+\/[^/]+\/actions\/runners\/generate-jitconfig$/.test(route)) {
        const runner: FakeRunnerState = { id: nextRunner++, name: String(body.name), status: 'offline', busy: false };
        runners.set(runner.id, runner);
        return send(201, { runner: runnerJson(runner), encoded_jit_config: MINTED.jitConfig });
      }
      if (/^POST \/repos\/[^/]+\/[^/]+\/actions\/runners\/(registration|remove)-token$/.test(route)) {
        return send(201, {
          token: MINTED.registrationToken,
          expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        });
      }
      m = id(/^GET \/repos\/[^/]+\/[^/]+\/actions\/runners\/(\d+)$/);
      if (m) {
        const runner = runners.get(Number(m));
        if (!runner) return send(404, { message: 'Not Found' });
        if (runner.failWith) return send(runner.failWith, { message: 'Server Error' });
        return send(200, runnerJson(runner));
      }
      if (/^GET \/repos\/[^/]+\/[^/]+\/actions\/runners$/.test(route)) {
        const name = url.searchParams.get('name');
        const list = [...runners.values()].filter((r) => name === null || r.name === name);
        return send(200, { total_count: list.length, runners: list.map(runnerJson) });
      }
      m = id(/^DELETE \/repos\/[^/]+\/[^/]+\/actions\/runners\/(\d+)$/);
      if (m) {
        return send(runners.delete(Number(m)) ? 204 : 404, undefined);
      }
      m = id(/^GET \/repos\/[^/]+\/[^/]+\/actions\/jobs\/(\d+)$/);
      if (m) {
        const job = jobs.get(Number(m));
        if (!job) return send(404, { message: 'Not Found' });
        return send(200, { id: job.id, status: job.status, conclusion: null, runner_name: job.runnerName });
      }
      return send(404, { message: `fake GitHub has no ${route}` });
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    runners,
    jobs,
    calls,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

export type FakeGitHubApi = Awaited<ReturnType<typeof startFakeGitHubApi>>;
