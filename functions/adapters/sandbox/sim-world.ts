import { randomBytes, randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { normaliseLabels } from '../../domain/labels.ts';
import { compareVersions, isExactVersion } from '../../domain/runner-version.ts';
import { type Scope, scopeKey as toScopeKey } from '../../domain/scope.ts';
import type {
  QueueJobRequest,
  SimCheckRun,
  SimFault,
  SimJob,
  SimRun,
  SimRunner,
  SimRunnerStatus,
  SimRunnerView,
} from './sim-types.ts';

export type RunnerTokenKind = 'registration' | 'remove';

interface IssuedToken {
  expiresAt: number;
}
interface RunnerToken extends IssuedToken {
  scope: Scope;
  scopeKey: string;
  kind: RunnerTokenKind;
}

export interface WorldEvents {
  /** A job changed state; the simulator turns these into webhooks. */
  job: [job: SimJob, action: 'queued' | 'waiting' | 'in_progress' | 'completed', deliver: boolean];
  /** A job became available; waiting broker polls get another chance. */
  queued: [job: SimJob];
  /** A registration was deleted (API, `config.sh remove`, ephemeral completion). */
  runnerDeleted: [runner: SimRunner];
}

export interface SimWorldOptions {
  installationId: number;
  jobDurationMs: number;
  /** A runner with no poll in flight and not seen for this long shows offline. */
  offlineAfterMs: number;
  now?: () => number;
  random?: () => number;
}

const HOUR = 3_600_000;

/**
 * What the sandbox App's installation is granted by default: what app-manifest.json asks for. `checks`
 * is not among them (the failure check runs are opt-in); `setPermissions` grants it.
 */
export const DEFAULT_SIM_PERMISSIONS: Readonly<Record<string, string>> = {
  actions: 'read',
  administration: 'write',
  metadata: 'read',
  organization_self_hosted_runners: 'write',
};
const DEFAULT_LABELS = ['self-hosted', 'Linux', 'X64'];

const token = (prefix: string, bytes = 27) => `${prefix}${randomBytes(bytes).toString('base64url')}`;

/** Real registration tokens are 29 upper-case letters/digits. */
function registrationTokenText(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = 'A';
  for (let i = 0; i < 28; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export function scopeFromKey(key: string): Scope {
  const [owner, repo] = key.split('/');
  return repo ? { kind: 'repo', owner: owner ?? '', repo } : { kind: 'org', org: key };
}

/** Whether a runner registered in `scope` may take a job of `owner/repo`. */
function scopeCovers(scope: Scope, owner: string, repo: string): boolean {
  switch (scope.kind) {
    case 'repo':
      return scope.owner.toLowerCase() === owner.toLowerCase() && scope.repo.toLowerCase() === repo.toLowerCase();
    case 'org':
      return scope.org.toLowerCase() === owner.toLowerCase();
  }
}

/**
 * The simulated GitHub state: installation tokens, runner registrations and sessions, jobs, fault modes
 * and which scopes have initialised runner metadata. Pure bookkeeping; HTTP lives in the API modules.
 */
export class SimWorld extends EventEmitter<WorldEvents> {
  readonly installationId: number;
  jobDurationMs: number;
  readonly offlineAfterMs: number;
  readonly now: () => number;
  readonly random: () => number;

  private readonly installationTokens = new Map<string, IssuedToken>();
  private readonly runnerTokens = new Map<string, RunnerToken>();
  private readonly tenantTokens = new Map<string, RunnerToken>();
  private readonly runnersById = new Map<number, SimRunner>();
  private readonly runnersByCredential = new Map<string, SimRunner>();
  private readonly jobsById = new Map<number, SimJob>();
  private readonly faults = new Map<string, SimFault>();
  private readonly metadataReady = new Set<string>();
  /** Versions GitHub refuses everywhere (a release published with `deprecatedRunners`). */
  private readonly deprecatedVersions = new Set<string>();
  /** The installation's permissions, as its tokens and `GET /app/installations…` report them. */
  permissions: Record<string, string> = { ...DEFAULT_SIM_PERMISSIONS };
  private readonly checkRunList: SimCheckRun[] = [];
  private nextCheckRunId = 30_000_000_000 + randomInt(1_000_000) * 1_000;
  private nextRunnerId = 1_000 + randomInt(1_000);
  private nextJobId = 20_000_000_000 + randomInt(1_000_000) * 1_000;
  private nextRunId = 9_000_000_000 + randomInt(1_000_000) * 1_000;

  constructor(options: SimWorldOptions) {
    super();
    this.installationId = options.installationId;
    this.jobDurationMs = options.jobDurationMs;
    this.offlineAfterMs = options.offlineAfterMs;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  // ───────────── check runs ─────────────

  /** Records a check run; the caller checked the permission and the body. */
  addCheckRun(owner: string, repo: string, body: Record<string, unknown>): SimCheckRun {
    const run: SimCheckRun = {
      id: this.nextCheckRunId++,
      owner,
      repo,
      body: structuredClone(body),
      createdAt: this.now(),
    };
    this.checkRunList.push(run);
    return run;
  }

  /**
   * Spends one answer of the scope's `checkRunPostFailure` fault: the failure this post answers, or
   * undefined when none is set (or it is spent).
   */
  takeCheckRunPostFailure(scopeKey: string): { status: number; created: boolean } | undefined {
    const fault = this.faults.get(scopeKey.toLowerCase());
    const failure = fault?.checkRunPostFailure;
    if (!fault || !failure || failure.times <= 0) return undefined;
    const times = failure.times - 1;
    if (times > 0) fault.checkRunPostFailure = { ...failure, times };
    else delete fault.checkRunPostFailure;
    return { status: failure.status ?? 500, created: failure.created === true };
  }

  /** Check runs posted so far, oldest first (copies). */
  checkRuns(): SimCheckRun[] {
    return this.checkRunList.map((run) => ({ ...run, body: structuredClone(run.body) }));
  }

  // ───────────── tokens ─────────────

  issueInstallationToken(): { token: string; expiresAt: number } {
    const t = token('ghs_', 27).slice(0, 40);
    const expiresAt = this.now() + HOUR;
    this.installationTokens.set(t, { expiresAt });
    return { token: t, expiresAt };
  }

  isInstallationToken(t: string): boolean {
    const issued = this.installationTokens.get(t);
    return issued !== undefined && issued.expiresAt > this.now();
  }

  issueRunnerToken(scope: Scope, kind: RunnerTokenKind): { token: string; expiresAt: number } {
    const t = registrationTokenText();
    const expiresAt = this.now() + HOUR;
    this.runnerTokens.set(t, { scope, scopeKey: toScopeKey(scope), kind, expiresAt });
    return { token: t, expiresAt };
  }

  /** `config.sh` exchanges a registration/remove token for a short-lived tenant token of the scope. */
  exchangeRunnerToken(t: string, scopeKey: string): string | undefined {
    const issued = this.runnerTokens.get(t);
    if (!issued || issued.expiresAt <= this.now() || issued.scopeKey !== scopeKey) return undefined;
    const tenant = token('sim_tenant_');
    this.tenantTokens.set(tenant, { ...issued, expiresAt: this.now() + HOUR });
    return tenant;
  }

  tenant(t: string): RunnerToken | undefined {
    const issued = this.tenantTokens.get(t);
    return issued && issued.expiresAt > this.now() ? issued : undefined;
  }

  // ───────────── runners ─────────────

  registerRunner(request: {
    scope: Scope;
    name: string;
    labels: readonly string[];
    runnerGroupId: number;
    ephemeral: boolean;
    jit: boolean;
    replace?: boolean;
    noDefaultLabels?: boolean;
    version?: string | undefined;
  }): SimRunner | 'name-taken' {
    const key = toScopeKey(request.scope);
    const existing = this.findByName(key, request.name);
    if (existing) {
      if (!request.replace) return 'name-taken';
      this.deleteRunner(existing);
    }
    const labels =
      request.noDefaultLabels || request.jit ? [...request.labels] : [...DEFAULT_LABELS, ...request.labels];
    const runner: SimRunner = {
      id: this.nextRunnerId++,
      name: request.name,
      scope: request.scope,
      scopeKey: key,
      labels: dedupe(labels),
      runnerGroupId: request.runnerGroupId,
      ephemeral: request.ephemeral,
      jit: request.jit,
      os: 'Linux',
      credential: token('sim_runner_', 32),
      createdAt: this.now(),
      version: request.version,
      session: undefined,
      busy: false,
      jobId: undefined,
      jobsTaken: 0,
    };
    this.runnersById.set(runner.id, runner);
    this.runnersByCredential.set(runner.credential, runner);
    return runner;
  }

  findByName(scopeKey: string, name: string): SimRunner | undefined {
    const lower = name.toLowerCase();
    for (const r of this.runnersById.values()) {
      if (r.scopeKey === scopeKey && r.name.toLowerCase() === lower) return r;
    }
    return undefined;
  }

  runner(scopeKey: string, id: number): SimRunner | undefined {
    const r = this.runnersById.get(id);
    return r && r.scopeKey === scopeKey ? r : undefined;
  }

  runnerByCredential(credential: string): SimRunner | undefined {
    return this.runnersByCredential.get(credential);
  }

  listRunners(scopeKey?: string): SimRunner[] {
    return [...this.runnersById.values()].filter((r) => scopeKey === undefined || r.scopeKey === scopeKey);
  }

  status(runner: SimRunner): SimRunnerStatus {
    return runner.session ? 'online' : 'offline';
  }

  view(runner: SimRunner): SimRunnerView {
    return {
      id: runner.id,
      name: runner.name,
      scopeKey: runner.scopeKey,
      labels: [...runner.labels],
      status: this.status(runner),
      busy: runner.busy,
      ephemeral: runner.ephemeral,
      jit: runner.jit,
      version: runner.version,
      jobId: runner.jobId,
    };
  }

  /** Deletes a registration; a job it was running fails like a runner that lost communication. */
  deleteRunner(runner: SimRunner): void {
    if (!this.runnersById.has(runner.id)) return;
    if (runner.busy && runner.jobId !== undefined) this.finishJob(runner.jobId, 'failure');
    this.runnersById.delete(runner.id);
    this.runnersByCredential.delete(runner.credential);
    runner.session = undefined;
    this.emit('runnerDeleted', runner);
  }

  /** A session makes the runner online; a regular runner online initialises its scope's metadata. */
  openSession(runner: SimRunner, version: string | undefined): string {
    const id = token('sess_', 12);
    runner.session = { id, lastSeenAt: this.now(), polls: 0 };
    if (version) runner.version = version;
    if (!runner.jit) this.metadataReady.add(runner.scopeKey);
    return id;
  }

  hasLiveSession(runner: SimRunner): boolean {
    const s = runner.session;
    return s !== undefined && (s.polls > 0 || runner.busy || this.now() - s.lastSeenAt < this.offlineAfterMs);
  }

  touch(runner: SimRunner): void {
    if (runner.session) runner.session.lastSeenAt = this.now();
  }

  closeSession(runner: SimRunner, sessionId?: string): void {
    if (runner.session && (sessionId === undefined || runner.session.id === sessionId)) runner.session = undefined;
  }

  /** Runners whose process went quiet go offline; a job they held fails (lost communication). */
  sweep(): void {
    const now = this.now();
    for (const runner of this.runnersById.values()) {
      const s = runner.session;
      if (!s || s.polls > 0) continue;
      const quietFor = now - s.lastSeenAt;
      if (runner.busy ? quietFor > this.offlineAfterMs * 2 : quietFor > this.offlineAfterMs) {
        runner.session = undefined;
        if (runner.busy && runner.jobId !== undefined) this.finishJob(runner.jobId, 'failure');
      }
    }
  }

  // ───────────── metadata and faults ─────────────

  metadataMissing(runner: SimRunner): boolean {
    return (
      runner.jit && this.fault(runner.scopeKey)?.metadataMissing === true && !this.metadataReady.has(runner.scopeKey)
    );
  }

  isMetadataInitialised(scopeKey: string): boolean {
    return this.metadataReady.has(scopeKey);
  }

  /** From now on every runner reporting `version` gets the deprecation refusal, in every scope. */
  deprecateVersion(version: string): void {
    this.deprecatedVersions.add(version);
  }

  versionRefused(runner: SimRunner, version: string | undefined): boolean {
    if (version !== undefined && this.deprecatedVersions.has(version)) return true;
    const minimum = this.fault(runner.scopeKey)?.minimumVersion;
    if (!minimum || !version || !isExactVersion(version) || !isExactVersion(minimum)) return false;
    return compareVersions(version, minimum) < 0;
  }

  setFault(scopeKey: string, fault: SimFault): void {
    this.faults.set(scopeKey.toLowerCase(), { ...fault });
  }

  clearFault(scopeKey?: string): void {
    if (scopeKey === undefined) this.faults.clear();
    else this.faults.delete(scopeKey.toLowerCase());
  }

  fault(scopeKey: string | undefined): SimFault | undefined {
    return scopeKey === undefined ? undefined : this.faults.get(scopeKey.toLowerCase());
  }

  listFaults(): Record<string, SimFault> {
    return Object.fromEntries(this.faults);
  }

  /** Spends one unit of a `times`-bounded fault; the API faults clear when it runs out. */
  spendFault(scopeKey: string): void {
    const f = this.faults.get(scopeKey);
    if (!f || f.times === undefined) return;
    f.times -= 1;
    if (f.times <= 0) {
      delete f.apiStatus;
      delete f.breakerOpen;
      delete f.rateLimit;
      delete f.failRate;
      delete f.times;
    }
  }

  // ───────────── jobs ─────────────

  queueJob(request: QueueJobRequest): SimJob {
    const id = request.jobId ?? this.nextJobId++;
    if (this.jobsById.has(id)) throw new RangeError(`job ${id} already exists`);
    const job: SimJob = {
      id,
      runId: request.runId ?? this.nextRunId++,
      owner: request.owner,
      repo: request.repo,
      name: request.name ?? 'build',
      workflowName: 'CI',
      headBranch: 'main',
      headSha: randomBytes(20).toString('hex'),
      labels: [...request.labels],
      status: 'queued',
      conclusion: null,
      runnerId: null,
      runnerName: null,
      runnerScopeKey: null,
      durationMs: request.durationMs ?? this.jobDurationMs,
      installationId: this.installationId,
      createdAt: this.now(),
      startedAt: null,
      completedAt: null,
    };
    this.jobsById.set(id, job);
    this.emit('job', job, 'queued', request.deliver === true);
    if (request.environment === true) {
      // GitHub's order for a job gated by required reviewers: `queued`, then `waiting` at once.
      job.status = 'waiting';
      this.emit('job', job, 'waiting', true);
      return job;
    }
    this.emit('queued', job);
    return job;
  }

  /** A reviewer approves a waiting job: it is `queued` again (a `queued` webhook) and runners may take it. */
  approveJob(jobId: number): boolean {
    const job = this.jobsById.get(jobId);
    if (job?.status !== 'waiting') return false;
    job.status = 'queued';
    this.emit('job', job, 'queued', true);
    this.emit('queued', job);
    return true;
  }

  job(id: number): SimJob | undefined {
    return this.jobsById.get(id);
  }

  listJobs(): SimJob[] {
    return [...this.jobsById.values()];
  }

  /**
   * The workflow runs of a repository, newest first: the jobs queued with one `runId` form one run. Its
   * status follows GitHub's: `queued` until a job starts, `completed` once every job is, `in_progress`
   * in between (so a run whose first job finished still has queued jobs).
   */
  listRuns(owner: string, repo: string): SimRun[] {
    const runs = new Map<number, SimJob[]>();
    for (const job of this.jobsById.values()) {
      if (job.owner.toLowerCase() !== owner.toLowerCase() || job.repo.toLowerCase() !== repo.toLowerCase()) continue;
      runs.set(job.runId, [...(runs.get(job.runId) ?? []), job]);
    }
    return [...runs.entries()]
      .map(([id, jobs]): SimRun => {
        const status = jobs.every((j) => j.status === 'queued' || j.status === 'waiting')
          ? jobs.some((j) => j.status === 'waiting')
            ? 'waiting'
            : 'queued'
          : jobs.every((j) => j.status === 'completed')
            ? 'completed'
            : 'in_progress';
        const failed = jobs.find((j) => j.conclusion !== null && j.conclusion !== 'success');
        const times = jobs.flatMap((j) => [j.createdAt, j.startedAt ?? 0, j.completedAt ?? 0]);
        const first = jobs[0] as SimJob;
        return {
          id,
          owner: first.owner,
          repo: first.repo,
          workflowName: first.workflowName,
          headBranch: first.headBranch,
          headSha: first.headSha,
          status,
          conclusion: status === 'completed' ? (failed?.conclusion ?? 'success') : null,
          createdAt: Math.min(...jobs.map((j) => j.createdAt)),
          updatedAt: Math.max(...times),
          startedAt: Math.min(...jobs.map((j) => j.startedAt ?? j.createdAt)),
          jobs: jobs.sort((a, b) => a.id - b.id),
        };
      })
      .sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
  }

  /**
   * Hands the runner the oldest queued job it can run: in its scope, every job label among the runner's
   * labels (case-insensitive). Like GitHub, a JIT runner may take a job it was not minted for.
   */
  takeJobFor(runner: SimRunner): SimJob | undefined {
    if (runner.busy || (runner.ephemeral && runner.jobsTaken > 0)) return undefined;
    const mine = new Set(normaliseLabels(runner.labels));
    for (const job of this.jobsById.values()) {
      if (job.status !== 'queued' || !scopeCovers(runner.scope, job.owner, job.repo)) continue;
      const wanted = normaliseLabels(job.labels);
      if (wanted.length === 0 || !wanted.every((l) => mine.has(l))) continue;
      job.status = 'in_progress';
      job.startedAt = this.now();
      job.runnerId = runner.id;
      job.runnerName = runner.name;
      job.runnerScopeKey = runner.scopeKey;
      runner.busy = true;
      runner.jobId = job.id;
      runner.jobsTaken += 1;
      this.touch(runner);
      this.emit('job', job, 'in_progress', true);
      return job;
    }
    return undefined;
  }

  /** The runner reports its job done; an ephemeral runner's registration goes away with it. */
  completeJob(runner: SimRunner, jobId: number, conclusion: string): boolean {
    if (runner.jobId !== jobId) return false;
    this.finishJob(jobId, conclusion);
    if (runner.ephemeral) this.deleteRunner(runner);
    return true;
  }

  private finishJob(jobId: number, conclusion: string): void {
    const job = this.jobsById.get(jobId);
    if (!job || job.status === 'completed') return;
    job.status = 'completed';
    job.conclusion = conclusion;
    job.completedAt = this.now();
    const runner = job.runnerId === null ? undefined : this.runnersById.get(job.runnerId);
    if (runner && runner.jobId === jobId) {
      runner.busy = false;
      runner.jobId = undefined;
    }
    this.emit('job', job, 'completed', true);
  }

  /** Cancels a queued or waiting job (e.g. the workflow was cancelled before any runner took it). */
  cancelJob(jobId: number): boolean {
    const job = this.jobsById.get(jobId);
    if (job?.status !== 'queued' && job?.status !== 'waiting') return false;
    this.finishJob(jobId, 'cancelled');
    return true;
  }
}

function dedupe(labels: string[]): string[] {
  const seen = new Set<string>();
  return labels.filter((l) => {
    const k = l.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
