import type { Config } from '../../config/config.ts';
import { waitingChange } from '../../domain/approval-wait.ts';
import { FailureClass } from '../../domain/failure-class.ts';
import { decideProvisionFailure } from '../../domain/failure-policy.ts';
import type { Job } from '../../domain/job.ts';
import { giveUpReason, JobStep, spentBudget } from '../../domain/job-budget.ts';
import { msSinceQueued } from '../../domain/job-latency.ts';
import { launchNote } from '../../domain/job-notes.ts';
import { isTerminal, JobStatus } from '../../domain/job-status.ts';
import { runnerName } from '../../domain/runner-name.ts';
import { poolForJob, poolNameOf, type RunnerPool } from '../../domain/runner-pool.ts';
import { scopeForRepository } from '../../domain/scope.ts';
import { type VersionRecordState, versionRecordState } from '../../domain/version-record.ts';
import type { RunnerVersionRole } from '../../domain/version-role.ts';
import {
  type GitHubPort,
  GitHubRequestError,
  type GitHubRunner,
  type GitHubTarget,
  RunnerNameTakenError,
  type WorkflowJobState,
} from '../../ports/github.ts';
import {
  LaunchCapacityError,
  LaunchConfigError,
  LauncherError,
  type LaunchRequest,
  type RunnerLauncher,
} from '../../ports/launcher.ts';
import { CountMetric, MeasureMetric, MetricUnit } from '../../ports/metric-names.ts';
import type { Clock, Dispatcher, JobHandoff, Logger, Metrics } from '../../ports/runtime.ts';
import {
  ConditionFailedError,
  type JobRepository,
  StoreUnavailableError,
  type VersionRepository,
} from '../../ports/store.ts';
import type { RetireRunner } from '../healing/retire-runner.ts';
import type { ReportJobFailure } from '../reporting/report-job-failure.ts';
import type { WarmClaim, WarmPool } from '../warm/warm-pool.ts';
import type { BaselineGate } from './baseline-gate.ts';
import type { RunnerCapacity } from './runner-capacity.ts';
import { runnerVersionChoiceFor, runnerVersionFor, trackedTarballDigests } from './runner-version-for.ts';
import type { ScopeGuard } from './scope-guard.ts';

export type ProvisionOutcome = 'launched' | 'skipped' | 'waiting' | 'retry' | 'failed';

export interface ProvisionDeps {
  config: Pick<Config, 'runner' | 'limits' | 'pools'>;
  jobs: JobRepository;
  github: GitHubPort;
  launcher: RunnerLauncher;
  dispatcher: Dispatcher;
  scopeGuard: ScopeGuard;
  baselineGate: BaselineGate;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** The one retire path, for a runner whose job ended while it was launched. */
  retireRunner: RetireRunner;
  /** Slots and backlogs of pools with `maxRunners`; absent: no pool is capped (specs without pools). */
  capacity?:
    | (Pick<RunnerCapacity, 'active' | 'admit' | 'release' | 'fill' | 'unclaimed'> &
        Partial<Pick<RunnerCapacity, 'admitWarm'>>)
    | undefined;
  /** Warm runners of pools with `warm` (docs/design.md "Warm runners"); absent: every launch is cold. */
  warm?:
    | Pick<WarmPool, 'serves' | 'claim' | 'handOff' | 'abandon' | 'refillSoon' | 'noteServed' | 'noteMissed'>
    | undefined;
  /** The stored runner version record, for pools that track the version (`RUNNER_VERSION=auto`). */
  versions?: Pick<VersionRepository, 'get'> | undefined;
  /** Lease owner id of this process (Lambda request id, local process id). */
  owner: string;
  /** How long a lease lives; a crashed holder's job is picked up after this. */
  leaseMs?: number;
  random?: () => number;
  /** Tells GitHub why the job failed (a check run, when opted in); best effort, never throws. */
  reportFailure?: ReportJobFailure | undefined;
}

/** Statuses a provisioner takes a job from (with a free lease); an expired `provisioning` lease is a takeover. */
const FRESH = [JobStatus.queued, JobStatus.waitingBreaker, JobStatus.waitingCapacity, JobStatus.healing] as const;
const TAKEOVER = [JobStatus.provisioning] as const;
export const DEFAULT_LEASE_MS = 20_000;
export const VERSION_RECORD_TTL_MS = 30_000;
const WORK_FOLDER = '_work';

/**
 * Takes one job from queued to launched: lease → breaker/baseline gates → mint → launch → record.
 * Every step leaves a durable state the next attempt resumes from; the deterministic runner name
 * turns a repeated mint into a recognisable 409 instead of a second runner.
 */
export function createProvisionJob(deps: ProvisionDeps) {
  const { config, jobs, github, launcher, dispatcher, scopeGuard, baselineGate, clock, logger, metrics, owner } = deps;
  const { retireRunner, capacity } = deps;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const random = deps.random ?? Math.random;
  /**
   * The lease a job is held under: this process's, or the token of a hand-off from the webhook. Kept
   * beside the job object, not read from its `leaseOwner`: the gates may change that field meanwhile.
   */
  const handedLeases = new WeakMap<Job, string>();
  const leaseOf = (job: Job) => ({ leaseHolder: handedLeases.get(job) ?? owner });
  /**
   * Jobs whose current attempt an earlier provisioner may have minted (it died holding the lease) and
   * GitHub has not been asked about yet. A release keeps that in `interruptedAttempt`, so the check is
   * not lost when the job waits (breaker, backoff) before it is minted.
   */
  const unchecked = new WeakSet<Job>();

  async function release(
    job: Job,
    status: typeof JobStatus.queued | typeof JobStatus.waitingBreaker,
    notBefore: number,
    note: string,
    extra: Partial<Job> = {},
  ): Promise<void> {
    await jobs.update(
      job.jobId,
      { ...leaseOf(job), statusIn: [JobStatus.provisioning] },
      {
        set: { status, notBefore, ...(unchecked.has(job) ? { interruptedAttempt: job.attempt } : {}), ...extra },
        remove: ['leaseOwner', 'leaseExpiresAt'],
        event: { status, note },
      },
      clock.now(),
    );
    await freeSlot(job, note);
    await dispatcher.dispatch(job.jobId, { delayMs: Math.max(0, notBefore - clock.now()) });
  }

  /**
   * The job leaves provisioning without a runner of this attempt alive (it waits, retries or failed before
   * its launch): a slot held under the attempt's name (taken by this provisioning, or handed to the job by
   * its pool's backlog) goes back to the pool. Only for a capped pool; never throws (a slot left held is
   * freed by the reconciler's capacity pass).
   */
  async function freeSlot(job: Job, why: string): Promise<void> {
    if (!capacity?.active) return;
    const pool = poolForJob(config.pools, job);
    if (pool?.maxRunners === undefined) return;
    await capacity
      .release(job, runnerName(config.runner.namePrefix, job.jobId, job.attempt), why)
      .catch((error: unknown) =>
        logger.warn('cannot release the runner slot; the reconciler frees it', {
          jobId: job.jobId,
          error: String(error),
        }),
      );
  }

  /**
   * The pool is full: the job waits in its backlog with its turn, holding no lease and no timer (a runner's
   * end hands it a slot and dispatches it). Then the backlog is filled once, in case a runner ended between
   * the capacity decision and this write.
   */
  async function enterBacklog(job: Job, pool: RunnerPool, turn: number, alive: number): Promise<ProvisionOutcome> {
    const now = clock.now();
    const note = `pool ${pool.name} is full (${alive} of ${pool.maxRunners} runners): waits for a runner to end (turn ${turn})`;
    await jobs.update(
      job.jobId,
      { ...leaseOf(job), statusIn: [JobStatus.provisioning] },
      {
        set: {
          status: JobStatus.waitingCapacity,
          pool: pool.name,
          turn,
          backlogSince: now,
          ...(unchecked.has(job) ? { interruptedAttempt: job.attempt } : {}),
        },
        remove: ['leaseOwner', 'leaseExpiresAt', 'notBefore'],
        event: { status: JobStatus.waitingCapacity, note },
      },
      now,
    );
    metrics.count(CountMetric.jobBacklogged, 1, { pool: pool.name });
    logger.info('pool full: the job waits for a runner to end', { jobId: job.jobId, pool: pool.name, turn, alive });
    await capacity
      ?.fill(pool.name)
      .catch((error: unknown) => logger.warn('cannot fill the backlog', { pool: pool.name, error: String(error) }));
    return 'waiting';
  }

  async function fail(job: Job, failureClass: FailureClass, reason: string): Promise<ProvisionOutcome> {
    const failed = await jobs.update(
      job.jobId,
      { ...leaseOf(job), statusIn: [JobStatus.provisioning] },
      {
        set: { status: JobStatus.failed, failureClass, reason },
        remove: ['leaseOwner', 'leaseExpiresAt', 'notBefore'],
        event: { status: JobStatus.failed, note: `${failureClass}: ${reason}` },
      },
      clock.now(),
    );
    await freeSlot(job, `failed: ${failureClass}`);
    metrics.count(CountMetric.jobFailed, 1, { failureClass });
    logger.warn('job failed', { jobId: job.jobId, failureClass, reason });
    await deps.reportFailure?.(failed);
    return 'failed';
  }

  /**
   * A failed mint or launch (`cause` says what failed): the domain decides — wait for the breaker, fail,
   * provision the same attempt again after a backoff, or the next attempt at once — within the job's budgets.
   */
  async function onFailure(
    job: Job,
    failureClass: FailureClass,
    cause: string,
    options: { nameLeftOver?: boolean; breakerOpenUntil?: number | undefined } = {},
  ): Promise<ProvisionOutcome> {
    const action = decideProvisionFailure({
      failureClass,
      cause,
      nameLeftOver: options.nameLeftOver,
      job,
      limits: config.limits,
      now: clock.now(),
      random,
    });
    switch (action.kind) {
      case 'open-breaker':
        await release(
          job,
          JobStatus.waitingBreaker,
          options.breakerOpenUntil ?? clock.now(),
          `breaker open for ${job.scopeKey}`,
        );
        return 'waiting';
      case 'fail':
        return fail(job, failureClass, action.reason);
      case 'retry':
        return requeue(job, failureClass, cause, job.attempt, action.notBefore);
      case 'remint':
        return requeue(job, failureClass, cause, job.attempt + 1, clock.now());
    }
  }

  async function requeue(
    job: Job,
    failureClass: FailureClass,
    cause: string,
    attempt: number,
    notBefore: number,
  ): Promise<ProvisionOutcome> {
    await release(job, JobStatus.queued, notBefore, `retry (${failureClass}): ${cause}`, { attempt, failureClass });
    metrics.count(CountMetric.provisionRetry, 1, { failureClass });
    return 'retry';
  }

  async function onGitHubError(job: Job, error: GitHubRequestError): Promise<ProvisionOutcome> {
    const verdict = await scopeGuard.recordFailure(job.scopeKey, error, clock.now());
    return onFailure(job, verdict.class, `GitHub answered ${error.status} to ${error.endpoint}: ${verdict.detail}`, {
      breakerOpenUntil: verdict.openUntil,
    });
  }

  /**
   * 409 for our deterministic name: a previous attempt minted it and lost the answer (crash, timeout).
   * A runner that is online or busy is adopted (it was launched), and so is one still booting whose
   * launch is running (the crash came after the launch, before its record); one that never came up is
   * deleted and the next attempt's name is minted, so two live runners never exist for one job.
   */
  /** The job's runner is up (launched now, or adopted from an earlier attempt): record it and free the lease. */
  async function markLaunched(
    job: Job,
    runner: Pick<Job, 'runnerName' | 'runnerId' | 'launchId' | 'runnerVersion' | 'runnerVersionRole' | 'warmName'>,
    note: string,
  ): Promise<void> {
    await jobs.update(
      job.jobId,
      { ...leaseOf(job), statusIn: [JobStatus.provisioning] },
      {
        set: { status: JobStatus.launched, ...runner, launchedAt: clock.now() },
        // `warmName` goes with the runner it names: a cold launch clears an earlier attempt's.
        remove: [
          'leaseOwner',
          'leaseExpiresAt',
          'notBefore',
          'interruptedAttempt',
          ...(runner.warmName === undefined ? (['warmName'] as const) : []),
        ],
        event: { status: JobStatus.launched, note },
      },
      clock.now(),
    );
  }

  /**
   * A job that has waited for an approval is asked about before its runner is minted: deliveries carry
   * no order, so the `queued` that ended the wait may have been a late copy of the first one. Still
   * waiting on GitHub: back to `waiting`, no runner, no attempt spent. Costs one call per provisioning
   * of an approval-gated job only; a failed look-up mints (the start timeout and the reconciler cover it).
   */
  async function stillWaiting(job: Job): Promise<boolean> {
    const state = await github
      .getWorkflowJob(job.installationId, job.owner, job.repo, job.jobId)
      .catch(() => undefined);
    if (state?.status !== 'waiting') return false;
    const change = waitingChange(job, clock.now());
    await jobs.update(
      job.jobId,
      { ...leaseOf(job), statusIn: [JobStatus.provisioning] },
      {
        set: change.set,
        remove: change.remove,
        event: { status: JobStatus.waiting, note: 'still waiting for an approval on GitHub (a late queued delivery)' },
      },
      clock.now(),
    );
    logger.info('job still waits for an approval: no runner minted', { jobId: job.jobId });
    return true;
  }

  async function onNameTaken(
    job: Job,
    target: GitHubTarget,
    name: string,
    found?: GitHubRunner,
  ): Promise<ProvisionOutcome> {
    const existing = found ?? (await github.findRunnerByName(target, name));
    const booting =
      existing && existing.status !== 'online' && !existing.busy
        ? (await launcher.listActive().catch(() => [])).find((l) => l.runnerName === name)
        : undefined;
    if (existing && (existing.status === 'online' || existing.busy || booting)) {
      await markLaunched(
        job,
        { runnerName: name, runnerId: existing.id, ...(booting ? { launchId: booting.launchId } : {}) },
        `adopted runner ${name} (id ${existing.id}) from an earlier attempt`,
      );
      return 'launched';
    }
    if (existing) await github.deleteRunner(target, existing.id);
    return onFailure(job, FailureClass.registrationGone, `runner name ${name} left over from an interrupted attempt`, {
      nameLeftOver: true,
    });
  }

  /**
   * An interrupted attempt (docs/design.md "Crash safety"): the provisioner that held the lease died, maybe
   * after minting this attempt's name and launching its runner, and an ephemeral runner that ran the job is
   * gone from GitHub, so minting the name again would not meet a 409 but start a second runner for a job
   * GitHub has run. GitHub is asked first, in this order: the name's registration (still there: adopt it or
   * replace it, as after a 409), then the job (in progress or completed: recorded, nothing minted). Why that
   * order: a runner takes its job before its registration goes, so a name found gone and a job then seen
   * queued mean that runner never ran the job, and minting the name again is safe. Undefined: mint it.
   */
  async function checkInterrupted(job: Job, target: GitHubTarget, name: string): Promise<ProvisionOutcome | undefined> {
    let existing: GitHubRunner | undefined;
    let state: WorkflowJobState | undefined;
    try {
      existing = await github.findRunnerByName(target, name);
      if (!existing) state = await github.getWorkflowJob(job.installationId, job.owner, job.repo, job.jobId);
    } catch (error) {
      // Not asked: the job keeps `interruptedAttempt` through the backoff and is asked again.
      if (error instanceof GitHubRequestError) return onGitHubError(job, error);
      throw error;
    }
    unchecked.delete(job);
    logger.info('interrupted attempt: asked GitHub before minting its name again', {
      jobId: job.jobId,
      runnerName: name,
      registration: existing ? (existing.busy ? 'busy' : existing.status) : 'none',
      ...(state ? { jobOnGitHub: state.status } : {}),
    });
    if (existing) return onNameTaken(job, target, name, existing);
    if (state?.status !== 'in_progress' && state?.status !== 'completed') return undefined;
    const on = state.runnerName ? ` on ${state.runnerName}` : '';
    const ranOn = state.runnerName ? { ranOn: state.runnerName } : {};
    const note = `an interrupted attempt left no runner ${name} and GitHub shows the job ${state.status === 'completed' ? `completed${on} (${state.conclusion ?? 'unknown'})` : `in progress${on}`}: not minted again`;
    const recorded = jobs.update(
      job.jobId,
      { ...leaseOf(job), statusIn: [JobStatus.provisioning] },
      state.status === 'completed'
        ? {
            set: { status: JobStatus.completed, conclusion: state.conclusion ?? 'unknown', ...ranOn },
            remove: ['leaseOwner', 'leaseExpiresAt', 'notBefore', 'interruptedAttempt'],
            event: { status: JobStatus.completed, note },
          }
        : {
            set: { status: JobStatus.running, ...ranOn },
            remove: ['leaseOwner', 'leaseExpiresAt', 'notBefore', 'interruptedAttempt'],
            event: { status: JobStatus.running, note },
          },
      clock.now(),
    );
    // A late webhook that moved the job on meanwhile says the same: nothing is left to do.
    const written = await recorded.then(
      () => true,
      (error: unknown) => {
        if (error instanceof ConditionFailedError) return false;
        throw error;
      },
    );
    if (!written) return 'skipped';
    logger.info('interrupted attempt: the job already ran on GitHub, no runner minted', {
      jobId: job.jobId,
      runnerName: name,
      status: state.status,
    });
    return 'skipped';
  }

  /**
   * After a launch whose record lost the race. A job that ended meanwhile (cancelled, or run by another
   * runner) does not need the runner just launched: stop it now rather than let it idle until the
   * reconciler's orphan sweep. A job now running elsewhere gets the runner's fields, so the spare check
   * at its `completed` finds the runner.
   */
  async function settleMovedOn(
    job: Job,
    target: GitHubTarget,
    name: string,
    runnerId: number,
    launchId: string,
    version: string,
    versionRole: RunnerVersionRole,
    warmName: string | undefined,
  ): Promise<void> {
    const current = await jobs.get(job.jobId);
    if (!current || current.attempt !== job.attempt) return;
    if (current.ranOn === name) {
      // Our own runner's in_progress (or completed) won the race with the launch's write: record the launch
      // now, without touching the status, so the job still names its runner, version and version role
      // (job show, jobs list --version-role). Served warm, the hand-off is named after the warm runner, which
      // the webhook's early delete could not know: with the warm name recorded, the job's completed on that
      // runner, or the runner's end, deletes it rather than the expiration. Cold, the runner's own name is
      // the hand-off's. The write is conditional on the attempt only: a later attempt's record is left alone.
      if (current.runnerName === undefined) {
        await jobs
          .update(
            job.jobId,
            { attempt: job.attempt },
            {
              set: {
                runnerName: name,
                runnerId,
                launchId,
                runnerVersion: version,
                runnerVersionRole: versionRole,
                ...(warmName === undefined ? {} : { warmName }),
                launchedAt: clock.now(),
              },
            },
            clock.now(),
          )
          .catch((error: unknown) => {
            if (!(error instanceof ConditionFailedError)) throw error;
          });
      }
      return;
    }
    /**
     * The runner just launched goes the one retire path (docs/design.md "Retiring a runner"), registration
     * first: it is a JIT runner with every served label, so it may already have taken another queued job,
     * and stopping it then would cancel that job. GitHub's `422` for a busy runner keeps it.
     */
    const retireLaunched = (reason: string) =>
      retireRunner(
        {
          runnerName: name,
          target,
          scopeKey: job.scopeKey,
          jobId: job.jobId,
          runnerId,
          launchId,
          version,
          reason,
          onlyIdle: true,
        },
        clock.now(),
      );
    if (current.status === JobStatus.waiting) {
      // An approval wait began while we minted (docs/design.md "Approval waits"): the launch is cancelled.
      // The attempt is skipped first (a `waits`, not a failure), so the approval's provisioning mints a
      // new name and never adopts the runner being stopped here; a failed skip means it moved on: leave it.
      const skipped = await jobs
        .update(
          job.jobId,
          { statusIn: [JobStatus.waiting], attempt: job.attempt },
          {
            set: { attempt: job.attempt + 1, waits: (current.waits ?? 0) + 1 },
            event: { status: JobStatus.waiting, note: `runner ${name} launched as the wait began: stopped` },
          },
          clock.now(),
        )
        .then(
          () => true,
          (error: unknown) => {
            if (error instanceof ConditionFailedError) return false;
            throw error;
          },
        );
      if (!skipped) return;
      await retireLaunched(`job ${job.jobId} went waiting for an approval while its runner was launched`);
      logger.info('job went waiting during launch: its runner was stopped', { jobId: job.jobId, runnerName: name });
      return;
    }
    if (isTerminal(current.status)) {
      const outcome = await retireLaunched(`job ${job.jobId} ended (${current.status}) while its runner was launched`);
      logger.info('job ended during launch: its runner was retired', {
        jobId: job.jobId,
        runnerName: name,
        stopped: outcome.stopped,
        deleted: outcome.deleted,
      });
      return;
    }
    if (current.status !== JobStatus.running || current.runnerName !== undefined) return;
    await jobs
      .update(
        job.jobId,
        { statusIn: [JobStatus.running], attempt: job.attempt },
        {
          set: {
            runnerName: name,
            runnerId,
            launchId,
            runnerVersion: version,
            runnerVersionRole: versionRole,
            ...(warmName !== undefined ? { warmName } : {}),
            launchedAt: clock.now(),
          },
          event: {
            status: JobStatus.running,
            note: `runner ${name} launched while the job ran on ${current.ranOn ?? 'another runner'}`,
          },
        },
        clock.now(),
      )
      .catch((error: unknown) => {
        if (!(error instanceof ConditionFailedError)) throw error;
      });
  }

  /**
   * A hand-off is trusted only while at least half its lease is left: a late or repeated event (Lambda
   * retries, at-least-once delivery) then takes the ordinary path, whose conditional lease write
   * decides. Within that window only holders of the hand-off's token write the job.
   */
  function usableHandoff(jobId: number, handoff: JobHandoff | undefined, now: number): Job | undefined {
    const job = handoff?.job;
    if (!job || job.jobId !== jobId || job.status !== JobStatus.provisioning || !job.leaseOwner) return undefined;
    if (job.leaseExpiresAt === undefined || job.leaseExpiresAt - now < leaseMs / 2) return undefined;
    handedLeases.set(job, job.leaseOwner);
    return job;
  }

  async function provision(job: Job, now: number, handed: boolean): Promise<ProvisionOutcome> {
    const jobId = job.jobId;
    if (job.notBefore !== undefined && job.notBefore > now) {
      const status = job.failureClass === FailureClass.breakerOpen ? JobStatus.waitingBreaker : JobStatus.queued;
      await release(job, status, job.notBefore, 'not due yet');
      return 'waiting';
    }
    const spent = spentBudget(job, JobStep.mint, config.limits);
    if (spent) return fail(job, job.failureClass ?? FailureClass.transient, giveUpReason(spent));
    // The job's runners are minted with its pool's labels and version and start in that pool.
    const pool = poolForJob(config.pools, job);
    if (!pool) {
      return fail(
        job,
        FailureClass.config,
        `no configured pool serves the job: pool ${JSON.stringify(poolNameOf(job))} is gone and no pool covers its labels [${job.labels.join(', ')}]`,
      );
    }

    const scope = scopeForRepository(config.runner.scope, job.owner, job.repo);
    const target: GitHubTarget = { installationId: job.installationId, scope };

    const openUntil = await scopeGuard.openUntil(job.scopeKey, now);
    if (openUntil !== undefined) {
      await release(job, JobStatus.waitingBreaker, openUntil, `breaker open for ${job.scopeKey}`, {
        failureClass: FailureClass.breakerOpen,
      });
      return 'waiting';
    }

    const name = runnerName(config.runner.namePrefix, job.jobId, job.attempt);
    // The name is minted again only when GitHub shows neither its runner nor the job started.
    const reusing = unchecked.has(job);
    if (reusing) {
      const outcome = await checkInterrupted(job, target, name);
      if (outcome !== undefined) return outcome;
    }

    if (job.waitingSince !== undefined && (await stillWaiting(job))) return 'waiting';

    const gate = await baselineGate.beforeMint(job, scope, target, now);
    if (!gate.proceed) {
      if (gate.fail) return fail(job, FailureClass.metadataMissing, gate.reason);
      await release(job, JobStatus.queued, gate.until, gate.reason);
      return 'waiting';
    }

    // A warm runner is claimed before the admission: the admission then moves its slot to this runner.
    const warm = await claimWarm(job, pool, name, now);

    // Capacity comes last before the mint: a job held by the breaker or the baseline gate holds no slot.
    if (capacity?.active && pool.maxRunners !== undefined) {
      let verdict: Awaited<ReturnType<RunnerCapacity['admit']>>;
      try {
        verdict =
          warm && capacity.admitWarm
            ? await capacity.admitWarm(job, pool, name, warm.warmName, now)
            : await capacity.admit(job, pool, name, now);
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        if (warm) await deps.warm?.abandon(warm, `pool ${pool.name}: ${error.message}`);
        return onFailure(job, FailureClass.transient, `pool ${pool.name}: ${error.message}`);
      }
      if (verdict.kind === 'wait') {
        if (warm) await deps.warm?.abandon(warm, `pool ${pool.name} is full`);
        return enterBacklog(job, pool, verdict.turn, verdict.alive);
      }
    }

    const tracked = await trackedRecord(pool, now);
    // The role (canary, current, …) is written with the version, in the launch's own write.
    const { version, role: versionRole } = runnerVersionChoiceFor(job, config.runner, pool, tracked);
    const runnerSha256 = trackedTarballDigests(version, tracked);
    let jit: Awaited<ReturnType<GitHubPort['generateJitConfig']>>;
    try {
      jit = await github.generateJitConfig(target, {
        name,
        labels: pool.labels,
        runnerGroupId: config.runner.groupId,
        workFolder: WORK_FOLDER,
      });
    } catch (error) {
      if (warm) await deps.warm?.abandon(warm, 'the JIT mint failed');
      if (error instanceof RunnerNameTakenError) {
        // Under a hand-off the name may be taken by another holder of the same token minting right now
        // (a repeated event): deleting that registration could strand its launch. Leave the job to its
        // lease: once it expires, an ordinary lease write decides and onNameTaken adopts or replaces.
        if (handed) {
          logger.info('runner name taken under a hand-off; leaving the job to its lease', { jobId, runnerName: name });
          return 'skipped';
        }
        return onNameTaken(job, target, name);
      }
      if (error instanceof GitHubRequestError) return onGitHubError(job, error);
      throw error;
    }
    // Not awaited (off the hot path), but never unhandled: a rejected promise would end the process.
    scopeGuard
      .recordSuccess(job.scopeKey, clock.now())
      .catch((error: unknown) =>
        logger.warn('cannot record the scope success', { scope: job.scopeKey, error: String(error) }),
      );

    const request = {
      runnerName: name,
      jobId: job.jobId,
      attempt: job.attempt,
      scopeKey: job.scopeKey,
      labels: pool.labels,
      runnerVersion: version,
      ...(runnerSha256 ? { runnerSha256 } : {}),
      pool: pool.name,
      encodedJitConfig: jit.encodedJitConfig,
    };
    // Served warm: the JIT config goes to the claimed warm runner; a hand-off that fails launches cold at once.
    const servedWarm = warm ? await handOffWarm(warm, request) : undefined;
    let launchId: string;
    try {
      ({ launchId } = servedWarm ? { launchId: servedWarm.launchId } : await launcher.launch(request));
    } catch (error) {
      if (!(error instanceof LauncherError)) throw error;
      // The minted registration would never be used: remove it so no offline runner lingers.
      await github.deleteRunner(target, jit.runnerId).catch(() => undefined);
      if (error instanceof LaunchConfigError) return onFailure(job, FailureClass.config, `launcher: ${error.message}`);
      const cls = error instanceof LaunchCapacityError ? 'capacity' : 'transient';
      return onFailure(job, FailureClass.transient, `launch failed (${cls}): ${error.message}`);
    }
    const acceptedAt = clock.now();

    // The launch's outcome must be written: a lost write makes the next provisioner mint again, and a
    // fast ephemeral runner may be gone by then (a second launch). A throttled store gets a few short retries.
    for (let tries = 1; ; tries++) {
      try {
        await markLaunched(
          job,
          {
            runnerName: name,
            runnerId: jit.runnerId,
            launchId,
            runnerVersion: version,
            runnerVersionRole: versionRole,
            // Served warm: the hand-off is named after the warm runner; the in_progress write returns this
            // job, so the early delete knows that name without a read (use-cases/provisioning/drop-handoff.ts).
            ...(servedWarm ? { warmName: servedWarm.warmName } : {}),
          },
          `${launchNote(name, jit.runnerId, version, launchId)}${servedWarm ? `; served warm by ${servedWarm.warmName}` : ''}${reusing ? ` (reusing runner name ${name} of an interrupted attempt: GitHub had no runner of that name and the job queued)` : ''}`,
        );
        break;
      } catch (error) {
        if (error instanceof StoreUnavailableError && tries < 3) {
          await new Promise((resolve) => setTimeout(resolve, 100 * tries));
          continue;
        }
        // The job moved on while we launched (e.g. `in_progress`/`completed` arrived first). Anything else propagates.
        if (!(error instanceof ConditionFailedError)) throw error;
        logger.info('job moved on during launch', { jobId });
        await settleMovedOn(job, target, name, jit.runnerId, launchId, version, versionRole, servedWarm?.warmName);
        break;
      }
    }
    metrics.count(CountMetric.runnerLaunched);
    // The job's first runner only: a relaunch after a heal or a theft is counted by its own metric.
    if (job.launchedAt === undefined && (job.thefts ?? 0) === 0) {
      metrics.measure(MeasureMetric.queuedToLaunch, msSinceQueued(job, acceptedAt), MetricUnit.milliseconds, {
        pool: pool.name,
      });
    }
    if (servedWarm) {
      deps.warm?.noteServed(pool.name, job, acceptedAt);
      // The pool refills in the background: the job's launch is recorded already.
      deps.warm?.refillSoon(pool.name);
    } else if (deps.warm?.serves(pool)) {
      deps.warm.noteMissed(pool.name);
    }
    logger.info('runner launched', {
      jobId,
      runnerName: name,
      launchId,
      runnerVersion: version,
      runnerVersionRole: versionRole,
      ...(servedWarm ? { warmName: servedWarm.warmName } : {}),
    });
    return 'launched';
  }

  /**
   * Claims a warm runner of the job's pool booted with the version the job gets now (docs/design.md "Warm
   * runners"); undefined (a cold launch) when none is free, the claim lost its races, or the store failed.
   */
  async function claimWarm(job: Job, pool: RunnerPool, name: string, now: number): Promise<WarmClaim | undefined> {
    const warmPool = deps.warm;
    if (!warmPool?.serves(pool)) return undefined;
    const version = runnerVersionFor(job, config.runner, pool, await trackedRecord(pool, now));
    return warmPool.claim(job, pool, name, version, now).catch((error: unknown) => {
      logger.warn('cannot claim a warm runner; launching cold', { jobId: job.jobId, error: String(error) });
      return undefined;
    });
  }

  /** The hand-off to a claimed warm runner; undefined after a failure (the runner is stopped, the job launches cold). */
  async function handOffWarm(claim: WarmClaim, request: LaunchRequest): Promise<WarmClaim | undefined> {
    try {
      await deps.warm?.handOff(claim, request);
      return claim;
    } catch (error) {
      logger.warn('warm hand-off failed; launching cold', {
        jobId: request.jobId,
        warmName: claim.warmName,
        error: String(error),
      });
      await deps.warm?.abandon(claim, `hand-off failed: ${String(error)}`);
      return undefined;
    }
  }

  let versionCache: { at: number; record: VersionRecordState | undefined } | undefined;
  /**
   * The version record for a tracking pool, read at most every {@link VERSION_RECORD_TTL_MS} per process.
   * Why a cache: every launch needs it and it changes a few times a month; an adoption reaching each
   * container within half a minute costs nothing (a canary is a share of jobs, not a moment). A record that
   * cannot be read (corrupt, store trouble) leaves the configured version: the job is not held up by it,
   * and the reconciler's version step fails loudly instead.
   */
  async function trackedRecord(
    pool: Pick<RunnerPool, 'tracksRunnerVersion'>,
    now: number,
  ): Promise<VersionRecordState | undefined> {
    const versions = deps.versions;
    if (!versions || pool.tracksRunnerVersion !== true) return undefined;
    if (versionCache && now - versionCache.at < VERSION_RECORD_TTL_MS) return versionCache.record;
    try {
      const record = await versions.get();
      versionCache = { at: now, record: record && versionRecordState(record) };
    } catch (error) {
      logger.warn('cannot read the runner version record; the configured version is used', { error: String(error) });
      versionCache = { at: now, record: undefined };
    }
    return versionCache.record;
  }

  return async function provisionJob(jobId: number, handoff?: JobHandoff): Promise<ProvisionOutcome> {
    const now = clock.now();
    const handed = usableHandoff(jobId, handoff, now);
    if (handed) {
      try {
        return await provision(handed, now, true);
      } catch (error) {
        // A write under the hand-off's lease failed its condition: another holder of the same token (a
        // repeated event) or a progress delivery moved the job on. Nothing is left to do here.
        if (error instanceof ConditionFailedError) return 'skipped';
        throw error;
      }
    }
    const lease = (statusIn: readonly JobStatus[]) =>
      jobs.update(
        jobId,
        { statusIn, leaseFreeAt: now, leaseHolder: owner },
        { set: { status: JobStatus.provisioning, leaseOwner: owner, leaseExpiresAt: now + leaseMs } },
        now,
      );
    let job: Job;
    let takenOver = false;
    try {
      // Two writes only when the first fails: a takeover must be told apart (see checkInterrupted), and a
      // failed conditional write does not say what the job was.
      job = await lease(FRESH).catch(async (error: unknown) => {
        if (!(error instanceof ConditionFailedError)) throw error;
        takenOver = true;
        return lease(TAKEOVER);
      });
    } catch (error) {
      // Another process holds it, or it is launched/running/terminal already: nothing to do, but a slot the
      // backlog handed to this dispatch must not stay held by a job that left the backlog meanwhile.
      if (error instanceof ConditionFailedError) {
        if (capacity?.active) {
          await capacity.unclaimed(jobId).catch((cause: unknown) =>
            logger.warn('cannot check the slot of a job that moved on; the reconciler frees it', {
              jobId,
              error: String(cause),
            }),
          );
        }
        return 'skipped';
      }
      throw error;
    }
    if (takenOver || job.interruptedAttempt === job.attempt) unchecked.add(job);
    return provision(job, now, false);
  };
}
