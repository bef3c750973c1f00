/**
 * Shared set-up for the issue-3 use-case specifications: the real configuration parser, the MemoryStore
 * (counted), FakeGitHub with runners that come online on a fake clock, a launcher that registers the
 * regular runner it starts, and the real provisioner to bring jobs to `launched`.
 */
import { createMemoryStore, type MemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import { buildCore } from '../../../functions/composition/build-core.ts';
import { type Config, parseConfig } from '../../../functions/config/config.ts';
import type { NewJob } from '../../../functions/domain/job.ts';
import { scopeKey } from '../../../functions/domain/scope.ts';
import type { GitHubRunner, GitHubTarget } from '../../../functions/ports/github.ts';
import type { Launch, RegularRunnerRequest } from '../../../functions/ports/launcher.ts';
import type { Dispatcher } from '../../../functions/ports/runtime.ts';
import type { Store } from '../../../functions/ports/store.ts';
import { createConfirmRunnerSignal } from '../../../functions/use-cases/healing/confirm-runner-signal.ts';
import { CaptureLogger } from '../../support/capture-logger.ts';
import { FakeGitHub } from '../../support/fake-github.ts';
import { RecordingLauncher } from '../../support/recording-launcher.ts';

export const T0 = 1_700_000_000_000;
const BROKER = 'https://broker.actions.githubusercontent.com/message';

/** Real runner lines (with their timestamps), as the local launcher hands them over. */
export const LINES = {
  badRequest: `2026-11-23 05:40:01Z: Runner connect error: Failed to get job message. Request to ${BROKER} failed with status: BadRequest. Error message Error: Bad Request. Retrying until reconnected.`,
  breakerOpen:
    '2026-11-23 05:41:07Z: Runner connect error: Failed to get job message. Request to https://broker.actions.githubusercontent.com/message failed with status: BadRequest. Error message breaker open. Retrying until reconnected.',
  versionDeprecated:
    '[2026-11-23 05:40:01Z ERR  Runner] Runner version v2.300.0 is deprecated and cannot receive messages.',
  registrationGone:
    '2026-11-23 05:40:01Z: Failed to create a session. The runner registration has been deleted from the server, please re-configure. Runner registrations are automatically deleted for runners that have not connected to the service recently.',
  clockSkew:
    "2026-11-23 05:40:01Z: The local machine's clock may be out of sync with the server time by more than five minutes. Please sync your clock with your domain controller or internet time service.",
  sessionConflict: '2026-11-23 05:40:01Z: A session for this runner already exists.',
  listening: '2026-11-23 05:40:00Z: Listening for Jobs',
  connected: '√ Connected to GitHub',
  runningJob: '2026-11-23 05:40:03Z: Running job: build',
};

export function testConfig(env: Record<string, string> = {}): Config {
  return parseConfig({ env: { RUNNER_FALLBACK_VERSION: '2.329.0', ...env } }, 'local');
}

export class FakeClock {
  constructor(public t = T0) {}
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
  /** A sleep that moves the fake time instead of waiting. */
  sleep = async (ms: number) => {
    this.t += ms;
    await Promise.resolve();
  };
}

/** FakeGitHub whose runners can be scheduled to show `online` at a fake time. */
export class HealGitHub extends FakeGitHub {
  /** Runner name → time from which the API shows it online. */
  readonly onlineAt = new Map<string, number>();
  private registered = 9_000;
  constructor(private readonly clock: { now(): number }) {
    super();
  }
  register(target: GitHubTarget, name: string, status: GitHubRunner['status'] = 'offline'): number {
    const id = this.registered++;
    this.runners.set(id, { id, name, status, busy: false, labels: [], scopeKey: scopeKey(target.scope) });
    return id;
  }
  private refresh(): void {
    for (const runner of this.runners.values()) {
      const at = this.onlineAt.get(runner.name);
      if (at !== undefined && this.clock.now() >= at) runner.status = 'online';
    }
  }
  override async findRunnerByName(target: GitHubTarget, name: string) {
    this.refresh();
    return super.findRunnerByName(target, name);
  }
  override async getRunner(target: GitHubTarget, runnerId: number) {
    this.refresh();
    return super.getRunner(target, runnerId);
  }
  byName(name: string) {
    return [...this.runners.values()].find((r) => r.name === name);
  }
}

/**
 * RecordingLauncher whose regular runners register with the fake GitHub (as `config.sh` would) and show
 * online `onlineAfterMs` later (never when undefined).
 */
export class HealLauncher extends RecordingLauncher {
  onlineAfterMs: number | undefined = 0;
  readonly targets = new Map<string, GitHubTarget>();
  constructor(
    private readonly github: HealGitHub,
    private readonly clock: FakeClock,
  ) {
    super();
  }
  override async launchRegular(request: RegularRunnerRequest): Promise<Launch> {
    const launch = await super.launchRegular(request);
    const [owner, repo] = request.scopeKey.split('/');
    const target: GitHubTarget = {
      installationId: 5,
      scope: repo ? { kind: 'repo', owner: owner ?? '', repo } : { kind: 'org', org: owner ?? '' },
    };
    this.github.register(target, request.runnerName);
    if (this.onlineAfterMs !== undefined)
      this.github.onlineAt.set(request.runnerName, this.clock.now() + this.onlineAfterMs);
    return launch;
  }
}

export class RecordingDispatcher implements Dispatcher {
  readonly dispatched: { jobId: number; delayMs: number }[] = [];
  async dispatch(jobId: number, options?: { delayMs?: number }) {
    this.dispatched.push({ jobId, delayMs: options?.delayMs ?? 0 });
  }
  ids() {
    return this.dispatched.map((d) => d.jobId);
  }
}

/** Wraps a store so every repository call is counted (`jobs.get`, `baselines.put`, …). */
export function countingStore(inner: Store): { store: Store; calls: string[] } {
  const calls: string[] = [];
  const wrap = <T extends object>(name: string, repo: T): T =>
    new Proxy(repo, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls.push(`${name}.${String(prop)}`);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  const store: Store = {
    jobs: wrap('jobs', inner.jobs),
    baselines: wrap('baselines', inner.baselines),
    breakers: wrap('breakers', inner.breakers),
    runners: wrap('runners', inner.runners),
    locks: wrap('locks', inner.locks),
    pools: wrap('pools', inner.pools),
    versions: wrap('versions', inner.versions),
  };
  return { store, calls };
}

export const REPO_TARGET: GitHubTarget = { installationId: 5, scope: { kind: 'repo', owner: 'octo', repo: 'app' } };

export function newJob(jobId: number, repo = 'app'): NewJob {
  return {
    jobId,
    runId: jobId * 10,
    owner: 'octo',
    repo,
    scopeKey: `octo/${repo}`,
    installationId: 5,
    labels: ['self-hosted', 'linux', 'x64'],
  };
}

/** Everything a runner-failure spec needs, over one MemoryStore and one fake clock. */
export function healWorld(env: Record<string, string> = {}) {
  const config = testConfig(env);
  const clock = new FakeClock();
  const memory: MemoryStore = createMemoryStore();
  const { store, calls } = countingStore(memory);
  const github = new HealGitHub(clock);
  const launcher = new HealLauncher(github, clock);
  const dispatcher = new RecordingDispatcher();
  const logger = new CaptureLogger();
  const metrics = { count() {}, measure() {} };
  const workaroundRequests: string[] = [];
  const forgotten: string[] = [];
  // Built as every root builds it (composition/build-core.ts), with three seams: breakers read fresh,
  // the gate's workaround requests recorded instead of run, and its `forget` calls recorded.
  const core = buildCore({
    config,
    store,
    github,
    launcher,
    dispatcher,
    clock,
    logger,
    metrics,
    owner: 'provisioner-1',
    webhookSecrets: () => [],
    random: () => 0.5,
    githubRateLimit: false,
    overrides: {
      scopeGuardCacheMs: 0,
      requestWorkaround: (scope) => void workaroundRequests.push(scopeKey(scope)),
      baselineGate: (gate) => ({
        beforeMint: gate.beforeMint,
        forget(key: string) {
          forgotten.push(key);
          gate.forget(key);
        },
      }),
    },
  });
  const { scopeGuard, baselineGate, runnerFailures: actions } = core;
  /** What the signal handler asks GitHub and the launcher before it acts (as build-core wires it). */
  const confirm = createConfirmRunnerSignal({ config, github, launcher, scopeGuard });
  const provision = core.provisionJob;

  /** Records a queued job and provisions it to `launched` with the real provisioner. */
  async function launchedJob(jobId: number, repo = 'app') {
    await store.jobs.create(newJob(jobId, repo), `delivery-${jobId}`, clock.now());
    // GitHub shows the job queued, as its webhook said (runner signals are confirmed against it).
    if (!github.jobs.has(jobId))
      github.jobs.set(jobId, { id: jobId, status: 'queued', conclusion: null, runnerName: null });
    const outcome = await provision(jobId);
    if (outcome !== 'launched') throw new Error(`job ${jobId} not launched: ${outcome}`);
    const job = await store.jobs.get(jobId);
    if (!job) throw new Error('job vanished');
    return job;
  }

  return {
    config,
    clock,
    memory,
    store,
    calls,
    github,
    launcher,
    dispatcher,
    logger,
    metrics,
    scopeGuard,
    baselineGate,
    workaroundRequests,
    forgotten,
    provision,
    actions,
    confirm,
    launchedJob,
  };
}

export type HealWorld = ReturnType<typeof healWorld>;
