import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDynamoStore } from '../adapters/dynamodb/dynamo-store.ts';
import { createLocalDynamoClient, ensureTable } from '../adapters/dynamodb/ensure-table.ts';
import { createGitHubClient } from '../adapters/github/github-client.ts';
import { createReleaseAssetDownloader } from '../adapters/github/release-assets.ts';
import { startEmbeddedDynamo } from '../adapters/local/embedded-dynamodb.ts';
import { startLocalHttpServer } from '../adapters/local/http-server.ts';
import { InProcessDispatcher } from '../adapters/local/in-process-dispatcher.ts';
import { createLocalLauncher } from '../adapters/local/local-launcher.ts';
import { loadStatusPage } from '../adapters/local/status-page.ts';
import { createRedactingLogger, SecretRegistry } from '../adapters/logging/redacting-logger.ts';
import { createFsRunnerTarballCache } from '../adapters/runner-cache/fs-runner-tarball-cache.ts';
import { type GitHubSimulator, startGitHubSimulator } from '../adapters/sandbox/github-simulator.ts';
import type { Config } from '../config/config.ts';
import type { DoctorReport } from '../domain/doctor-check.ts';
import { isTerminal, JobStatus } from '../domain/job-status.ts';
import { RunnerPlatform } from '../domain/release-checksums.ts';
import { DEFAULT_RUNNER_RELEASES_URL, type GitHubPort } from '../ports/github.ts';
import type { RunnerLauncher } from '../ports/launcher.ts';
import { type Clock, type Logger, type Metrics, noopMetrics, systemClock } from '../ports/runtime.ts';
import type { Store } from '../ports/store.ts';
import { answerFleetApi } from '../use-cases/admin/fleet-api.ts';
import { createFleetView } from '../use-cases/admin/fleet-view.ts';
import { runDoctor } from '../use-cases/admin/run-doctor.ts';
import { answerVersionStatus } from '../use-cases/admin/version-status.ts';
import { buildCore, type Core } from './build-core.ts';
import { localDoctorDeps } from './doctor.ts';

export const SAMPLE_RUNNER_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../runner/sample');
export const SANDBOX_FILE = 'sandbox.json';
/** Under `STATE_DIR`: the adopted releases' verified runner tarballs. */
export const RUNNER_CACHE_DIR = 'runner-cache';

/** What `npm run demo` needs to drive a running sandbox; written to `STATE_DIR/sandbox.json` (mode 0600). */
export interface SandboxInfo {
  serverUrl: string;
  simulatorUrl: string;
  webhookSecret: string;
  installationId: number;
}

export interface LocalAppOptions {
  config: Config;
  logger: Logger;
  host?: string;
  clock?: Clock;
  metrics?: Metrics;
  secrets?: SecretRegistry;
  /** Replace parts (tests, benchmarks): e.g. a recording launcher or a pre-started simulator. */
  overrides?: {
    launcher?: RunnerLauncher;
    github?: GitHubPort;
    simulator?: GitHubSimulator;
    store?: Store;
  };
  /** Start the periodic reconciler (default true). */
  reconcile?: boolean;
  /** Provisioning lease length; default 20 s. */
  leaseMs?: number;
}

export interface LocalApp {
  url: string;
  port: number;
  core: Core;
  store: Store;
  dispatcher: InProcessDispatcher;
  simulator: GitHubSimulator | undefined;
  sandbox: SandboxInfo | undefined;
  /**
   * The setup checks (`jit-runners doctor`, `GET /admin/doctor`): the sandbox's webhook must reach this
   * server's `/webhook`; with a real App only a given `webhookUrl` is compared.
   */
  doctor(options?: { webhookUrl?: string }): Promise<DoctorReport>;
  close(): Promise<void>;
}

/**
 * `npm start`: the same use cases as the Lambdas, over an embedded DynamoDB (dynalite), an in-process
 * dispatcher and the local process launcher; in sandbox mode also the GitHub simulator and sample runner.
 */
export async function startLocalApp(options: LocalAppOptions): Promise<LocalApp> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const metrics = options.metrics ?? noopMetrics;
  const secrets = options.secrets ?? new SecretRegistry();
  const logger = createRedactingLogger(options.logger, secrets);
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };

  try {
    const stateDir = resolve(config.local.stateDir);
    await mkdir(stateDir, { recursive: true });

    // ── GitHub (real, or the sandbox simulator) ──
    let simulator = options.overrides?.simulator;
    let webhookSecrets = config.github.webhookSecrets;
    let appId = config.github.appId;
    let privateKey = config.github.privateKey;
    let apiUrl = config.github.apiUrl;
    let serverUrl = config.github.serverUrl;
    if (config.mode === 'sandbox') {
      if (!simulator) {
        simulator = await startGitHubSimulator({});
        const sim = simulator;
        closers.push(() => sim.close());
      }
      appId = simulator.appId;
      privateKey = simulator.privateKey;
      apiUrl = simulator.apiUrl;
      serverUrl = simulator.serverUrl;
      if (webhookSecrets.length === 0) webhookSecrets = [randomBytes(24).toString('hex')];
    }
    for (const s of webhookSecrets) secrets.add(s);
    secrets.add(privateKey);

    const github =
      options.overrides?.github ??
      createGitHubClient({
        appId: appId as number,
        privateKey: privateKey as string,
        apiUrl,
        logger,
        // Every token and JIT config GitHub mints is registered for redaction as it arrives.
        onSecret: (value) => secrets.addMinted(value),
      });

    // ── Store ──
    let store = options.overrides?.store;
    if (!store) {
      let endpoint = config.store.endpoint;
      if (!endpoint) {
        const embedded = await startEmbeddedDynamo({ dir: join(stateDir, 'dynamodb') });
        closers.push(() => embedded.close());
        endpoint = embedded.endpoint;
      }
      const client = createLocalDynamoClient(endpoint);
      // Why wait: destroying the client aborts requests still on the wire, and dynalite then closes its
      // database under an operation it is still running, which it reports by throwing from its own code.
      // Fire-and-forget writes (breaker successes, a workaround's last steps) may still be in flight.
      let storeRequests = 0;
      client.middlewareStack.add(
        (next) => async (args) => {
          storeRequests++;
          try {
            return await next(args);
          } finally {
            storeRequests--;
          }
        },
        { step: 'initialize', name: 'jitRunnersInFlight' },
      );
      closers.push(async () => {
        const deadline = Date.now() + 5_000;
        while (storeRequests > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        client.destroy();
      });
      const table = await ensureTable(client, config.store.tableName);
      store = createDynamoStore({ client, tableName: config.store.tableName, backlogIndex: table.backlogIndex });
    }

    // ── Launcher, dispatcher, core ──
    const dispatcher = new InProcessDispatcher({ logger });
    closers.push(async () => dispatcher.stop());
    // Work started by runner signals and the reconciler timer, awaited on close (see `drain`).
    const inFlight = new Set<Promise<unknown>>();
    const track = (work: Promise<unknown> | undefined) => {
      if (!work) return;
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    };
    // Why: closing the store under work still in flight (a provisioning, a runner-exit signal sent while
    // the launcher stops its runners, a reconcile run) makes the embedded store throw from its own code.
    // Runs after the server and the launcher closed, before the dispatcher stops and the store closes;
    // bounded, so a hung call cannot hold the shutdown.
    closers.push(async () => {
      const drain = Promise.all([dispatcher.idle(), ...inFlight]).catch(() => undefined);
      await Promise.race([drain, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    });
    let core: Core | undefined;
    let launcher: RunnerLauncher;
    if (options.overrides?.launcher) {
      launcher = options.overrides.launcher;
    } else {
      const runnerDir = resolve(config.local.runnerDir ?? SAMPLE_RUNNER_DIR);
      const local = createLocalLauncher({
        runnerDir,
        // Each pool's runners start from a copy of its own folder (RUNNER_DIR, or the sample runner, by default).
        poolRunnerDirs: Object.fromEntries(
          config.pools.map((pool) => [pool.name, resolve(pool.runnerDir ?? runnerDir)]),
        ),
        workRoot: join(stateDir, 'runners'),
        env: { RUNNER_VERSION: config.runner.version },
        logger,
        onLine: (event) => {
          track(
            core
              ?.handleRunnerSignal({ kind: 'log', ...event })
              .catch((error: unknown) =>
                logger.error('runner signal failed', { runnerName: event.runnerName, error: String(error) }),
              ),
          );
        },
        onExit: (event) => {
          track(
            core
              ?.handleRunnerSignal({ kind: 'exit', ...event })
              .catch((error: unknown) =>
                logger.error('runner exit handling failed', { runnerName: event.runnerName, error: String(error) }),
              ),
          );
        },
      });
      // Runners are detached process groups: a server shutdown must stop them itself.
      closers.push(() => local.close());
      launcher = local;
    }
    // The sandbox lists the simulator's releases, never api.github.com's.
    const releasesUrl =
      config.mode === 'sandbox' && config.versionTracking.releasesUrl === DEFAULT_RUNNER_RELEASES_URL
        ? `${apiUrl}/repos/actions/runner/releases`
        : config.versionTracking.releasesUrl;
    core = buildCore({
      config: {
        ...config,
        github: { ...config.github, serverUrl, apiUrl },
        versionTracking: { ...config.versionTracking, releasesUrl },
      },
      store,
      github,
      launcher,
      dispatcher,
      clock,
      logger,
      metrics,
      owner: `local-${process.pid}-${randomBytes(3).toString('hex')}`,
      webhookSecrets: () => webhookSecrets,
      ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
      // An adopted release's tarball for this machine is fetched once and verified before the record names
      // it; a tampered one is refused and marked bad. In AWS the reconciler fills an S3 bucket instead
      // (composition/s3-tarball-cache.ts).
      runnerTarballs: {
        cache: createFsRunnerTarballCache({
          dir: join(stateDir, RUNNER_CACHE_DIR),
          assets: createReleaseAssetDownloader(),
        }),
        platforms: [process.arch === 'arm64' ? RunnerPlatform.linuxArm64 : RunnerPlatform.linuxX64],
      },
    });
    const theCore = core;
    dispatcher.setHandler((jobId) => theCore.provisionJob(jobId));
    // Refills started after claims run in the background: stop new ones, then wait for those running
    // (bounded) before the launcher closes.
    closers.push(() => {
      theCore.warmPool.stopRefilling();
      return Promise.race([
        theCore.warmPool.settled(),
        new Promise<void>((resolve) => setTimeout(resolve, 5_000).unref()),
      ]);
    });

    // ── HTTP ──
    const host = options.host ?? '127.0.0.1';
    const fleet = createFleetView({ config, store, clock });
    // The live status page (GET /): static files read once here, no build step.
    const statusPage = await loadStatusPage();
    // Bound once the server listens: the sandbox's App must deliver to this server's /webhook.
    let listeningUrl: string | undefined;
    const doctor = (options: { webhookUrl?: string } = {}) =>
      runDoctor(
        localDoctorDeps({
          config,
          appId: appId as number,
          privateKey,
          webhookSecrets,
          apiUrl,
          releasesUrl,
          expectedWebhook: options.webhookUrl
            ? { url: options.webhookUrl, source: '--webhook-url' }
            : {
                url: config.mode === 'sandbox' && listeningUrl ? `${listeningUrl}/webhook` : undefined,
                source: 'this server',
              },
          logger,
          onSecret: (value) => secrets.addMinted(value),
          versionRecord: () => store.versions.get(),
          defaultRunnerDir: SAMPLE_RUNNER_DIR,
          ranIn: 'server',
          clock,
        }),
      );
    const server = await startLocalHttpServer(
      {
        doctor: async (query) => {
          const webhookUrl = query.get('webhookUrl') ?? undefined;
          return { status: 200, body: await doctor(webhookUrl ? { webhookUrl } : {}) };
        },
        webhook: theCore.acceptWebhook,
        health: async () => ({ status: 'ok', mode: config.mode, launcher: launcher.kind }),
        job: (jobId) => theCore.store.jobs.get(jobId),
        jobs: () => theCore.store.jobs.listOpen(200),
        baselines: () => theCore.listBaselines(),
        ensureBaseline: (scope) => theCore.ensureBaseline(scope),
        version: () =>
          answerVersionStatus({
            config,
            store,
            github,
            clock,
            releasesUrl,
          }),
        api: (path, query) => answerFleetApi(fleet, path, query, clock.now()),
        page: statusPage,
      },
      { port: config.local.port, host, logger },
    );
    listeningUrl = server.url;
    closers.push(() => server.close());

    let sandbox: SandboxInfo | undefined;
    if (config.mode === 'sandbox' && simulator) {
      const secret = webhookSecrets[0] as string;
      simulator.configureWebhook({ url: `${server.url}/webhook`, secret });
      sandbox = {
        serverUrl: server.url,
        simulatorUrl: simulator.apiUrl,
        webhookSecret: secret,
        installationId: simulator.installationId,
      };
      await writeFile(join(stateDir, SANDBOX_FILE), JSON.stringify(sandbox, null, 2), { mode: 0o600 });
    }

    // ── Recovery and the reconciler ──
    // Jobs left open by a previous process (crash, restart) are dispatched again; their old leases
    // expire within the lease time, so the provisioner takes them over within 60 s of restart.
    const open = await store.jobs.listOpen();
    let takeoverAt = 0;
    for (const job of open) {
      if (isTerminal(job.status)) continue;
      if (job.status === JobStatus.provisioning) {
        // Why not dispatch: the provisioner died mid-way, maybe after launching a runner whose record it
        // lost, and a short job may already have run on it. The reconciler asks GitHub before resuming.
        takeoverAt = Math.max(takeoverAt, (job.leaseExpiresAt ?? 0) + 50);
        continue;
      }
      // A lease is free only strictly after its expiry: dispatch a little later than that.
      const delayMs = Math.max(0, (job.leaseExpiresAt ?? 0) + 50 - clock.now(), (job.notBefore ?? 0) - clock.now());
      await dispatcher.dispatch(job.jobId, { delayMs });
    }
    // One reconcile run at a time in this process: a tick that comes while a run is still going is
    // skipped. Why: the store lease only keeps other processes out (its owner renews it), and runs slower
    // than the interval (a restart under load) piled up — a dozen at once, each acting on its own
    // stale snapshot of open jobs and each listing deliveries and runners, until the installation's
    // token bucket refused the redelivery of a missed `queued` (a job lost in the SIGKILL soak).
    let reconciling: Promise<unknown> | undefined;
    const reconcileOnce = () => {
      if (reconciling) return;
      const run = theCore
        .reconcile()
        .catch((error: unknown) => logger.error('reconcile failed', { error: String(error) }))
        .finally(() => {
          reconciling = undefined;
        });
      reconciling = run;
      track(run);
    };
    if (takeoverAt > 0) {
      const timer = setTimeout(reconcileOnce, Math.max(0, takeoverAt - clock.now()));
      timer.unref();
      closers.push(async () => clearTimeout(timer));
    }
    if (open.length > 0) logger.info('resuming open jobs from the store', { count: open.length });
    // Warm pools fill at start (and warm runners a previous process left are adopted or stopped) rather than at
    // the first reconcile tick.
    if (theCore.warmPool.active) {
      track(
        theCore.warmPool
          .reconcile(clock.now())
          .catch((error: unknown) => logger.warn('warm pool start-up pass failed', { error: String(error) })),
      );
    }

    if (options.reconcile !== false) {
      const interval = setInterval(reconcileOnce, config.timeouts.reconcileIntervalSeconds * 1000);
      interval.unref();
      closers.push(async () => clearInterval(interval));
    }

    return {
      url: server.url,
      port: server.port,
      core: theCore,
      store,
      dispatcher,
      simulator,
      sandbox,
      doctor,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
