import { randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_RUNNER_VERSION } from '../../domain/runner-version.ts';
import { generateAppKeyPair } from './app-jwt.ts';
import { Broker } from './broker-api.ts';
import { handleControl } from './control-api.ts';
import { errorBody, repositoryId } from './openapi-shapes.ts';
import { handleRest } from './rest-api.ts';
import { DEFAULT_RELEASE_AGE_MS, parsePackageName, SimReleases } from './runner-releases.ts';
import type { SimContext } from './sim-context.ts';
import { BadJsonError, readBody, sleep, writeReply } from './sim-http.ts';
import type {
  PublishRunnerReleaseRequest,
  QueueJobRequest,
  SimAppFault,
  SimCheckRun,
  SimDelivery,
  SimFault,
  SimJob,
  SimJobStatus,
  SimRequest,
  SimRunnerReleaseView,
  SimRunnerView,
} from './sim-types.ts';
import { SimWorld } from './sim-world.ts';
import { WebhookSender, type WebhookTarget } from './webhook-sender.ts';
import { workflowJobPayload } from './workflow-job-payload.ts';

export type {
  PublishRunnerReleaseRequest,
  QueueJobRequest,
  SimAppFault,
  SimCheckRun,
  SimDelivery,
  SimFault,
  SimJob,
  SimJobStatus,
  SimRequest,
  SimRunnerReleaseView,
  SimRunnerView,
} from './sim-types.ts';
export type { WebhookTarget } from './webhook-sender.ts';

export interface GitHubSimulatorOptions {
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Added to every REST and broker answer. Default 0; benchmarks use 80. */
  latencyMs?: number;
  /** How long a runner "runs" a job unless `queueJob` says otherwise. Default 300. */
  jobDurationMs?: number;
  /** How long the broker holds an empty message poll. Default 1000. */
  pollMs?: number;
  /** A runner with no poll in flight and not seen for this long shows offline. Default 3000. */
  offlineAfterMs?: number;
  /** Delay between the runner's retries after the metadata BadRequest. Default 200. */
  badRequestRetryMs?: number;
  appId?: number;
  installationId?: number;
  webhook?: WebhookTarget;
  /**
   * The actions/runner release published at start, so a pinned sandbox finds its version listed:
   * default the project's default pin, published ten days ago (past the default seven-day soak).
   * `false`: no release at start.
   */
  initialRunnerRelease?: PublishRunnerReleaseRequest | false;
  /** The installation's permissions (default: what app-manifest.json asks for, without `checks`). */
  permissions?: Record<string, string>;
}

export interface GitHubSimulator {
  /** `http://127.0.0.1:PORT`: at once `GITHUB_API_URL` and `GITHUB_SERVER_URL`. (`/api/v3` also works, GHES-style.) */
  readonly url: string;
  readonly apiUrl: string;
  readonly serverUrl: string;
  readonly appId: number;
  readonly installationId: number;
  /** PKCS#1 PEM of the App key (sandbox only: never log it all the same). */
  readonly privateKey: string;
  /** REST calls (and `config.sh` registration exchanges) answered so far, oldest first. */
  readonly requests: readonly SimRequest[];
  resetRequests(): void;
  /** TCP connections accepted so far (keep-alive check). */
  readonly connections: number;

  /** Registers a queued job and returns its `workflow_job` `queued` webhook payload. */
  queueJob(request: QueueJobRequest): Record<string, unknown>;
  /** Snapshot copies of every job. */
  readonly jobs: SimJob[];
  job(id: number): SimJob | undefined;
  cancelJob(id: number): boolean;
  /** Approves a job waiting for an environment's reviewers (queued with `environment: true`). */
  approveJob(id: number): boolean;
  /** Resolves with the job once `predicate` holds (checked on every job change); rejects after `timeoutMs`. */
  waitForJob(id: number, status: SimJobStatus | ((job: SimJob) => boolean), timeoutMs?: number): Promise<SimJob>;
  runners(scopeKey?: string): SimRunnerView[];
  /**
   * Broker sessions opened so far, oldest first: the runner whose credential opened it and when (epoch ms,
   * this machine's clock). The first poll of a runner with its minted credentials, as GitHub sees it.
   */
  sessionsOpened(): { runnerName: string; at: number }[];

  configureWebhook(target: WebhookTarget | undefined): void;
  /** App webhook deliveries, newest first. */
  deliveries(): SimDelivery[];
  /** Resolves when every webhook delivery started so far has been answered. */
  settled(): Promise<void>;

  setFault(scopeKey: string, fault: SimFault): void;
  clearFault(scopeKey?: string): void;
  faults(): Record<string, SimFault>;
  setLatency(ms: number): void;
  isMetadataInitialised(scopeKey: string): boolean;

  /**
   * Publishes an actions/runner release: listed by `GET /repos/actions/runner/releases` (notes with the
   * packages' SHA-256), its `.tar.gz` packages served at their `browser_download_url`. Throws on a
   * version that is not exact semver or already published.
   */
  publishRunnerRelease(request: PublishRunnerReleaseRequest): SimRunnerReleaseView;
  /** The published releases, newest first, with each package's published and served digest. */
  runnerReleases(): SimRunnerReleaseView[];
  /** The genuine package of a published release (what its notes' digest describes); undefined if unknown. */
  runnerPackage(
    version: string,
    platform?: 'linux-x64' | 'linux-arm64',
  ): { bytes: Uint8Array; sha256: string } | undefined;

  /** Check runs posted (`POST /repos/{owner}/{repo}/check-runs`), oldest first, bodies as sent. */
  checkRuns(): SimCheckRun[];
  /** The installation's permissions as tokens report them. */
  permissions(): Record<string, string>;
  /** Replaces the installation's permissions (e.g. `{ ...sim.permissions(), checks: 'write' }`). */
  setPermissions(permissions: Record<string, string>): void;

  /** Replaces the App's faults (wrong key, webhook URL, clock skew, events); see {@link SimAppFault}. */
  setAppFault(fault: SimAppFault): void;
  clearAppFault(): void;
  appFault(): SimAppFault;

  close(): Promise<void>;
}

const MAX_LOG = 20_000;

/** Starts an in-process GitHub look-alike (REST, App auth, webhooks, runner broker, fault modes). */
export async function startGitHubSimulator(options: GitHubSimulatorOptions = {}): Promise<GitHubSimulator> {
  const keys = generateAppKeyPair();
  const appId = options.appId ?? 100_000 + randomInt(900_000);
  // Random by default: @octokit/auth-app shares in-flight token requests process-wide by installation id,
  // so two simulators in one test process must not hand out the same id.
  const installationId = options.installationId ?? 10_000_000 + randomInt(89_999_999);
  let latencyMs = options.latencyMs ?? 0;
  let baseUrl = '';
  let connections = 0;
  let requests: SimRequest[] = [];

  const world = new SimWorld({
    installationId,
    jobDurationMs: options.jobDurationMs ?? 300,
    offlineAfterMs: options.offlineAfterMs ?? 3_000,
  });
  if (options.permissions) world.permissions = { ...options.permissions };
  const sender = new WebhookSender({ appId, hookId: 400_000_000 + randomInt(1_000_000) });
  if (options.webhook) sender.configure(options.webhook);

  const releases = new SimReleases({
    now: () => world.now(),
    onDeprecated: (version) => world.deprecateVersion(version),
  });
  if (options.initialRunnerRelease !== false) {
    releases.publish(
      options.initialRunnerRelease ?? {
        version: DEFAULT_RUNNER_VERSION,
        publishedAt: world.now() - DEFAULT_RELEASE_AGE_MS,
      },
    );
  }

  let appFault: SimAppFault = {};
  const ctx: SimContext = {
    world,
    appFault: () => appFault,
    releases,
    sender,
    appId,
    publicKey: keys.publicKey,
    url: () => baseUrl,
    record: (entry) => {
      requests.push({ at: Date.now(), ...entry });
      if (requests.length > MAX_LOG) requests.splice(0, requests.length - MAX_LOG);
    },
  };
  const broker = new Broker(ctx, {
    pollMs: options.pollMs ?? 1_000,
    badRequestRetryMs: options.badRequestRetryMs ?? 200,
  });

  world.on('job', (job, action, deliver) => {
    if (!deliver) return;
    sender.deliver('workflow_job', workflowJobPayload(action, job, { apiUrl: baseUrl, serverUrl: baseUrl }), {
      installationId: job.installationId,
      repositoryId: repositoryId(job.owner, job.repo),
      orderKey: String(job.id),
    });
  });

  const jobWatchers = new Set<() => void>();
  world.on('job', () => {
    for (const w of [...jobWatchers]) w();
  });

  let sim: GitHubSimulator;

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    // GHES serves the REST API under /api/v3; accept both so GHES-style apiUrls work too.
    const path = url.pathname.startsWith('/api/v3/') ? url.pathname.slice('/api/v3'.length) : url.pathname;
    const bodyText = await readBody(req);
    if (path.startsWith('/_sim/')) {
      writeReply(res, handleControl(sim, req, path, url.searchParams, bodyText));
      return;
    }
    if (latencyMs > 0) await sleep(latencyMs);
    if (req.method === 'GET' && serveReleaseDownload(path, res)) return;
    const rest = handleRest(ctx, req, path, url.searchParams, bodyText);
    if (rest) {
      const reply = {
        ...rest.reply,
        headers: {
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '4999',
          'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
          'x-ratelimit-resource': 'core',
          // GitHub's clock, as the doctor's clock check reads it (skewed by the clockSkewSeconds fault).
          date: new Date(Date.now() + (appFault.clockSkewSeconds ?? 0) * 1000).toUTCString(),
          ...rest.reply.headers,
        },
      };
      writeReply(res, reply);
      ctx.record({
        method: req.method ?? 'GET',
        path: `${path}${url.search}`,
        endpoint: rest.endpoint,
        scopeKey: rest.scopeKey,
        status: reply.status,
        body: rest.body,
      });
      return;
    }
    if (broker.handle(req, res, path, bodyText)) return;
    writeReply(res, { status: 404, body: errorBody(404, 'Not Found') });
  }

  /**
   * Package downloads, as github.com serves them: `…/releases/download/v{version}/{name}` redirects (302)
   * to a signed address on the asset host (here `/_release-assets/…`), which answers the bytes.
   */
  function serveReleaseDownload(path: string, res: ServerResponse): boolean {
    const download = /^\/actions\/runner\/releases\/download\/v([^/]+)\/([^/]+)$/.exec(path);
    const asset = /^\/_release-assets\/([^/]+)\/([^/]+)$/.exec(path);
    const match = download ?? asset;
    if (!match) return false;
    const endpoint = download
      ? 'GET /{owner}/{repo}/releases/download/{tag}/{name}'
      : 'GET /_release-assets/{version}/{name}';
    const version = decodeURIComponent(match[1] ?? '');
    const name = decodeURIComponent(match[2] ?? '');
    const release = releases.find(version);
    const parsed = parsePackageName(name);
    let status: number;
    if (!release || parsed?.version !== version) {
      status = 404;
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Not Found');
    } else if (download) {
      status = 302;
      const signature = randomBytes(12).toString('hex');
      res.writeHead(302, { location: `${baseUrl}/_release-assets/${version}/${name}?sp=r&sig=${signature}` });
      res.end();
    } else {
      status = 200;
      const { bytes } = releases.served(release, parsed.platform);
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(bytes.byteLength),
        'content-disposition': `attachment; filename=${name}`,
      });
      res.end(bytes);
    }
    ctx.record({ method: 'GET', path, endpoint, scopeKey: 'actions/runner', status, body: undefined });
    return true;
  }

  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    dispatch(req, res).catch((error: unknown) => {
      const message = error instanceof BadJsonError ? error.message : undefined;
      writeReply(res, { status: message ? 400 : 500, body: errorBody(message ? 400 : 500, message ?? 'Server Error') });
    });
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  baseUrl = `http://${options.host ?? '127.0.0.1'}:${address.port}`;

  const sweeper = setInterval(() => world.sweep(), 250);
  sweeper.unref();

  const copy = (job: SimJob): SimJob => ({ ...job, labels: [...job.labels] });

  sim = {
    url: baseUrl,
    apiUrl: baseUrl,
    serverUrl: baseUrl,
    appId,
    installationId,
    privateKey: keys.privateKey,
    get requests() {
      return requests;
    },
    resetRequests() {
      requests = [];
    },
    get connections() {
      return connections;
    },
    queueJob(request) {
      const job = world.queueJob(request);
      return workflowJobPayload('queued', job, { apiUrl: baseUrl, serverUrl: baseUrl });
    },
    get jobs() {
      return world.listJobs().map(copy);
    },
    job(id) {
      const job = world.job(id);
      return job ? copy(job) : undefined;
    },
    cancelJob: (id) => world.cancelJob(id),
    approveJob: (id) => world.approveJob(id),
    waitForJob(id, status, timeoutMs = 30_000) {
      const holds = (job: SimJob | undefined): job is SimJob =>
        job !== undefined && (typeof status === 'function' ? status(copy(job)) : job.status === status);
      return new Promise((resolve, reject) => {
        const check = () => {
          const job = world.job(id);
          if (!holds(job)) return;
          cleanup();
          resolve(copy(job));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`job ${id} did not reach the expected state within ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          jobWatchers.delete(check);
        };
        jobWatchers.add(check);
        check();
      });
    },
    runners: (scopeKey) => world.listRunners(scopeKey?.toLowerCase()).map((r) => world.view(r)),
    sessionsOpened: () => broker.sessions.map((s) => ({ ...s })),
    configureWebhook: (target) => sender.configure(target),
    deliveries: () => sender.list(),
    settled: () => sender.settled(),
    setFault: (scopeKey, fault) => world.setFault(scopeKey, fault),
    clearFault: (scopeKey) => world.clearFault(scopeKey),
    faults: () => world.listFaults(),
    setLatency(ms) {
      latencyMs = ms;
    },
    isMetadataInitialised: (scopeKey) => world.isMetadataInitialised(scopeKey.toLowerCase()),
    publishRunnerRelease: (request) => releases.view(releases.publish(request), baseUrl),
    runnerReleases: () => releases.list().map((release) => releases.view(release, baseUrl)),
    runnerPackage(version, platform = 'linux-x64') {
      const release = releases.find(version);
      if (!release) return undefined;
      const { bytes, sha256 } = releases.genuine(version, platform);
      return { bytes, sha256 };
    },
    checkRuns: () => world.checkRuns(),
    permissions: () => ({ ...world.permissions }),
    setPermissions(permissions) {
      world.permissions = { ...permissions };
    },
    setAppFault(fault) {
      appFault = { ...fault };
      sender.overrideUrl(fault.webhookUrl);
    },
    clearAppFault() {
      appFault = {};
      sender.overrideUrl(undefined);
    },
    appFault: () => ({ ...appFault }),
    async close() {
      clearInterval(sweeper);
      broker.close();
      await sender.settled();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return sim;
}
