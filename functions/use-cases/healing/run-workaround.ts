import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/config.ts';
import { type Baseline, BaselineMethod, BaselineState } from '../../domain/baseline.ts';
import { classifyApiError } from '../../domain/classify-failure.ts';
import { JitRunnersError } from '../../domain/errors.ts';
import { JobStatus } from '../../domain/job-status.ts';
import { baselineRunnerLabel, baselineRunnerName } from '../../domain/runner-name.ts';
import type { RunnerPool } from '../../domain/runner-pool.ts';
import { RunnerKind, RunnerState } from '../../domain/runner-record.ts';
import { scopeKey as keyOf, type Scope, scopeUrl } from '../../domain/scope.ts';
import { type GitHubPort, GitHubRequestError, type GitHubRunner, type GitHubTarget } from '../../ports/github.ts';
import type { RunnerLauncher } from '../../ports/launcher.ts';
import { CountMetric } from '../../ports/metric-names.ts';
import type { Clock, Dispatcher, Logger, Metrics } from '../../ports/runtime.ts';
import { ConditionFailedError, type Store } from '../../ports/store.ts';
import { pinnedVersion } from '../provisioning/runner-version-for.ts';
import type { ScopeGuard } from '../provisioning/scope-guard.ts';
import { createRetireRunner, type RetireRunner } from './retire-runner.ts';

export interface RunWorkaroundDeps {
  config: Pick<Config, 'runner' | 'limits' | 'timeouts' | 'github' | 'pools'>;
  store: Pick<Store, 'baselines' | 'runners' | 'jobs'>;
  github: GitHubPort;
  launcher: RunnerLauncher;
  dispatcher: Dispatcher;
  /** No GitHub call for a scope whose breaker is open; GitHub errors count toward it. */
  scopeGuard?: Pick<ScopeGuard, 'openUntil' | 'recordFailure'>;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** The one retire path (built from the deps above when not given). */
  retireRunner?: RetireRunner;
  /** Healing-lease owner id of this process. */
  owner: string;
  /** Waits between online checks; injected so tests advance a fake clock instead of sleeping. */
  sleep?: (ms: number) => Promise<void>;
  /** Suffix that makes the baseline runner's name and label unique. */
  nonce?: () => string;
  /** How often the API is asked whether the regular runner is online. Default 2000. */
  pollMs?: number;
  /**
   * Added to `BASELINE_ONLINE_TIMEOUT_SECONDS` for the healing lease (stop, delete, record). Default: half
   * the online timeout, between 5 s and 30 s.
   */
  leaseMarginMs?: number;
}

export interface WorkaroundOptions {
  /** Why it runs (recorded on the baseline, logged). */
  reason: string;
  /** `manual` (`jit-runners baseline ensure`) is not bounded by `MAX_WORKAROUNDS_PER_SCOPE`. Default `workaround`. */
  method?: typeof BaselineMethod.workaround | typeof BaselineMethod.manual;
  /**
   * The pool the regular runner starts in (the asking job's pool): its runner folder and version. Absent
   * or no longer configured (`baseline ensure` asks for a scope, not a job): the first pool.
   */
  pool?: string;
}

export type WorkaroundOutcome =
  /** This call registered a regular runner, saw it online, removed it and recorded the baseline. */
  | { outcome: 'healed'; baseline: Baseline }
  /** The scope already has a baseline: nothing to do. */
  | { outcome: 'present'; baseline: Baseline }
  /** Another process (or an earlier call here) holds the healing lease; waiting jobs wait for it. */
  | { outcome: 'joined'; note: string }
  /** `MAX_WORKAROUNDS_PER_SCOPE` is spent: the baseline is `failed` and the gate fails the scope's jobs. */
  | { outcome: 'exhausted'; reason: string }
  /** The scope's breaker is open: no GitHub call until it closes. */
  | { outcome: 'breaker-open'; until: number }
  /** This run failed (recorded as baseline `failed` with the reason). */
  | { outcome: 'failed'; reason: string };

const DEFAULT_POLL_MS = 2_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const defaultNonce = () => randomBytes(4).toString('hex');

/** A reason safe to record and log: never an arbitrary message that could carry a token. */
function describeError(error: unknown, scopeKey: string): string {
  if (error instanceof GitHubRequestError) {
    return classifyApiError({ status: error.status, body: error.body, endpoint: error.endpoint, scopeKey }).detail;
  }
  if (error instanceof JitRunnersError) return `${error.name}: ${error.message}`;
  return error instanceof Error ? `unexpected ${error.name}` : 'unexpected error';
}

class WorkaroundFailure extends Error {}

/**
 * The regular-runner workaround for a scope (docs/design.md "Failure classes"): registration token → regular runner
 * (`config.sh --no-default-labels` with one label no job uses, then `run.sh`) → seen `online` through the
 * API → stopped → registration deleted → `BASELINE#` `present` → the scope's waiting jobs dispatched.
 *
 * One runner per scope: a conditional write of `BASELINE#` to `healing` elects the process that runs it;
 * the others (and every waiting job) just wait for the record to change. The election is a lease
 * (`healingUntil`): a process that dies mid-way leaves it to expire, and whoever asks next takes it over —
 * that is how a restart resumes the workaround.
 */
export function createRunWorkaround(deps: RunWorkaroundDeps) {
  const { config, store, github, launcher, dispatcher, clock, logger, metrics, owner } = deps;
  const retireRunner =
    deps.retireRunner ?? createRetireRunner({ store, github, launcher, scopeGuard: deps.scopeGuard, logger, metrics });
  const sleep = deps.sleep ?? defaultSleep;
  const nonce = deps.nonce ?? defaultNonce;
  const pollMs = deps.pollMs ?? DEFAULT_POLL_MS;
  const onlineTimeoutMs = config.timeouts.baselineOnlineSeconds * 1000;
  // Why a margin and not more: the lease is renewed once the runner is started, so it only has to cover
  // the online wait plus the clean-up; a dead holder's scope is taken over that much later.
  const leaseMs = onlineTimeoutMs + (deps.leaseMarginMs ?? Math.min(30_000, Math.max(5_000, onlineTimeoutMs / 2)));
  /** Runs of this process, per scope: a second request joins the first instead of reading the store. */
  const running = new Map<string, Promise<WorkaroundOutcome>>();
  /** Scope → end of a healing lease seen held by another process: requests before then cost nothing. */
  const heldElsewhere = new Map<string, number>();

  /** The pool named, else the first one (parseConfig always gives at least one). */
  function poolOf(name: string | undefined): RunnerPool | undefined {
    return config.pools.find((p) => p.name === name) ?? config.pools[0];
  }

  async function put(
    record: Omit<Baseline, 'version' | 'updatedAt'>,
    expectVersion: number,
  ): Promise<Baseline | undefined> {
    try {
      return await store.baselines.put(record, expectVersion, clock.now());
    } catch (error) {
      if (error instanceof ConditionFailedError) return undefined;
      throw error;
    }
  }

  /**
   * The baseline runner goes the one retire path (docs/design.md "Retiring a runner"): marked
   * `stopping`, process stopped, registration deleted, marked `stopped`. What fails is logged and left
   * (a takeover's {@link resume} retires the previous holder's runner again).
   */
  async function retire(target: GitHubTarget, name: string, launchId: string | undefined, runnerId?: number) {
    await retireRunner(
      {
        runnerName: name,
        target,
        scopeKey: keyOf(target.scope),
        kind: RunnerKind.baseline,
        runnerId,
        launchId,
        version: config.runner.version,
        reason: 'baseline runner of the regular-runner workaround',
      },
      clock.now(),
    );
  }

  /**
   * Hands the scope's waiting jobs back to the provisioner (its gate now proceeds, or fails them).
   * Why jobs with a future `notBefore` are left out: the gate that parked them already dispatched them
   * for that time (at most its poll interval away), and a second hand-off of a job the provisioner is
   * about to take only races it.
   */
  async function dispatchWaiting(key: string): Promise<number> {
    const now = clock.now();
    const open = await store.jobs.listOpen();
    const waiting = open.filter(
      (job) =>
        job.scopeKey === key &&
        (job.status === JobStatus.queued || job.status === JobStatus.healing) &&
        (job.notBefore === undefined || job.notBefore <= now),
    );
    for (const job of waiting) {
      await dispatcher
        .dispatch(job.jobId)
        .catch((error: unknown) => logger.warn('dispatch failed', { jobId: job.jobId, error: String(error) }));
    }
    return waiting.length;
  }

  /** Asks the API until the runner shows online or `BASELINE_ONLINE_TIMEOUT_SECONDS` pass. */
  async function waitOnline(target: GitHubTarget, name: string): Promise<GitHubRunner> {
    const deadline = clock.now() + onlineTimeoutMs;
    let lastError = '';
    for (;;) {
      try {
        const runner = await github.findRunnerByName(target, name);
        if (runner?.status === 'online') return runner;
      } catch (error) {
        if (!(error instanceof GitHubRequestError)) throw error;
        // Keep asking until the deadline: a 5xx here is often the very failure being healed.
        lastError = `; last lookup: ${describeError(error, keyOf(target.scope))}`;
      }
      if (clock.now() >= deadline) {
        throw new WorkaroundFailure(
          `the regular runner ${name} did not show online within ${config.timeouts.baselineOnlineSeconds} s${lastError}`,
        );
      }
      await sleep(Math.min(pollMs, Math.max(1, deadline - clock.now())));
    }
  }

  async function finish(
    scope: Scope,
    target: GitHubTarget,
    lease: Baseline,
    method: WorkaroundOptions['method'] & string,
    name: string,
    launchId: string | undefined,
    runner: GitHubRunner,
  ): Promise<WorkaroundOutcome> {
    const key = keyOf(scope);
    const verifiedOnlineAt = clock.now();
    // Stop first, then remove the registration (docs/design.md "Configuration"): a running runner would re-register its session.
    await retire(target, name, launchId, runner.id);
    const stored = await put(
      {
        scopeKey: key,
        state: BaselineState.present,
        method,
        runnerId: runner.id,
        runnerName: name,
        verifiedOnlineAt,
        // A person's `baseline ensure` that worked gives the scope its automatic budget back.
        workarounds: method === BaselineMethod.manual ? 0 : lease.workarounds,
        installationId: target.installationId,
      },
      lease.version,
    );
    if (!stored) {
      logger.warn('the healing lease was taken over before the baseline was recorded', { scope: key });
      return { outcome: 'joined', note: 'another process took the healing lease over' };
    }
    metrics.count(CountMetric.workaroundHealed, 1, { scope: key });
    const dispatched = await dispatchWaiting(key);
    logger.info('scope baseline recorded', { scope: key, method, runnerName: name, runnerId: runner.id, dispatched });
    return { outcome: 'healed', baseline: stored };
  }

  async function run(scope: Scope, target: GitHubTarget, options: WorkaroundOptions): Promise<WorkaroundOutcome> {
    const key = keyOf(scope);
    const method = options.method ?? BaselineMethod.workaround;
    const now = clock.now();
    const until = await deps.scopeGuard?.openUntil(key, now);
    if (until !== undefined) return { outcome: 'breaker-open', until };

    const previous = await store.baselines.get(key);
    if (previous?.state === BaselineState.present) return { outcome: 'present', baseline: previous };
    if (previous?.state === BaselineState.healing && (previous.healingUntil ?? 0) > now) {
      if (previous.healingUntil !== undefined) heldElsewhere.set(key, previous.healingUntil);
      return { outcome: 'joined', note: `held by ${previous.healingOwner ?? 'another process'}` };
    }
    const spent = previous?.workarounds ?? 0;
    if (method !== BaselineMethod.manual && spent >= config.limits.maxWorkaroundsPerScope) {
      const reason = `the regular-runner workaround ran ${spent} times for ${key} (limit ${config.limits.maxWorkaroundsPerScope} per scope, MAX_WORKAROUNDS_PER_SCOPE)`;
      // Recorded so the gate fails the scope's jobs instead of asking again (also with a budget of 0).
      if (!previous) {
        await put(
          { scopeKey: key, state: BaselineState.failed, workarounds: 0, installationId: target.installationId, reason },
          0,
        );
      } else if (previous.state !== BaselineState.failed) {
        const { version, updatedAt: _u, ...rest } = previous;
        await put({ ...rest, state: BaselineState.failed, reason }, version);
      }
      await dispatchWaiting(key);
      return { outcome: 'exhausted', reason: previous?.reason ?? reason };
    }

    // ── election ──
    const takeover = previous?.state === BaselineState.healing;
    const id = nonce();
    const name = baselineRunnerName(config.runner.namePrefix, key, id);
    let lease = await put(
      {
        scopeKey: key,
        state: BaselineState.healing,
        healingOwner: owner,
        healingUntil: now + leaseMs,
        runnerName: name,
        // A takeover continues the run that already counted.
        workarounds: takeover ? spent : spent + 1,
        installationId: target.installationId,
        reason: options.reason,
      },
      previous?.version ?? 0,
    );
    if (!lease) return { outcome: 'joined', note: 'another process was elected' };
    metrics.count(CountMetric.workaroundStarted, 1, { scope: key });
    logger.warn('regular-runner workaround started', {
      scope: key,
      runnerName: name,
      takeover,
      reason: options.reason,
    });

    let launchId: string | undefined;
    try {
      if (takeover && previous?.runnerName) {
        const resumed = await resume(scope, target, lease, method, previous.runnerName);
        if (resumed) return resumed;
      }

      // In the asking job's pool (its runner folder, its version); the label stays the unique baseline label.
      const pool = poolOf(options.pool);
      const runnerVersion = pinnedVersion(config.runner, pool);
      const token = await github.createRegistrationToken(target);
      await store.runners.put(
        {
          name,
          kind: RunnerKind.baseline,
          scopeKey: key,
          installationId: target.installationId,
          version: runnerVersion,
          state: RunnerState.launched,
          createdAt: clock.now(),
        },
        clock.now(),
      );
      ({ launchId } = await launcher.launchRegular({
        runnerName: name,
        scopeKey: key,
        url: scopeUrl(config.github.serverUrl, scope),
        registrationToken: token.token,
        labels: [baselineRunnerLabel(id)],
        runnerVersion,
        ...(pool && { pool: pool.name }),
      }));
      await store.runners.update(name, { launchId }, clock.now()).catch(() => undefined);
      // config.sh may take a while: renew the lease for the online wait that starts now.
      lease = await put(
        { ...leaseFields(lease), healingOwner: owner, healingUntil: clock.now() + leaseMs },
        lease.version,
      );
      if (!lease) throw new WorkaroundFailure('the healing lease was taken over while the regular runner started');

      const runner = await waitOnline(target, name);
      return await finish(scope, target, lease, method, name, launchId, runner);
    } catch (error) {
      const reason = error instanceof WorkaroundFailure ? error.message : describeError(error, key);
      // Retired before the failure counts: a breaker it opens would leave the registration behind.
      await retire(target, name, launchId);
      if (error instanceof GitHubRequestError) await deps.scopeGuard?.recordFailure(key, error, clock.now());
      if (lease) {
        const failed = await put({ ...leaseFields(lease), state: BaselineState.failed, reason }, lease.version);
        if (!failed) logger.warn('the healing lease was taken over before the failure was recorded', { scope: key });
      }
      metrics.count(CountMetric.workaroundFailed, 1, { scope: key });
      logger.error('regular-runner workaround failed', { scope: key, runnerName: name, reason });
      await dispatchWaiting(key).catch(() => 0);
      return { outcome: 'failed', reason };
    }
  }

  /** The lease's fields without the healing-only ones (for the records that end it). */
  function leaseFields(lease: Baseline): Omit<Baseline, 'version' | 'updatedAt'> {
    const { version: _v, updatedAt: _u, healingOwner: _o, healingUntil: _h, ...rest } = lease;
    return rest;
  }

  /**
   * A takeover: the previous holder died mid-way. If its regular runner made it online, finish with it;
   * otherwise clean it up (stop, delete) and start afresh.
   */
  async function resume(
    scope: Scope,
    target: GitHubTarget,
    lease: Baseline,
    method: WorkaroundOptions['method'] & string,
    previousName: string,
  ): Promise<WorkaroundOutcome | undefined> {
    const record = await store.runners.get(previousName);
    const runner = await github.findRunnerByName(target, previousName);
    if (runner?.status === 'online') {
      logger.info('resuming the workaround with the runner of the previous holder', { runnerName: previousName });
      return finish(scope, target, lease, method, previousName, record?.launchId, runner);
    }
    await retire(target, previousName, record?.launchId, runner?.id);
    return undefined;
  }

  /**
   * Runs (or joins) the workaround for `scope`. Safe to call many times and from many processes: one
   * run per scope at a time. Resolves with what happened; throws only on store failures before the election.
   */
  return function runWorkaround(
    scope: Scope,
    target: GitHubTarget,
    options: WorkaroundOptions,
  ): Promise<WorkaroundOutcome> {
    const key = keyOf(scope);
    const current = running.get(key);
    if (current) return current;
    const held = heldElsewhere.get(key);
    if (held !== undefined && held > clock.now() && options.method !== BaselineMethod.manual) {
      return Promise.resolve({ outcome: 'joined', note: 'another process holds the healing lease' });
    }
    heldElsewhere.delete(key);
    const promise = run(scope, target, options).finally(() => running.delete(key));
    running.set(key, promise);
    return promise;
  };
}

export type RunWorkaround = ReturnType<typeof createRunWorkaround>;
