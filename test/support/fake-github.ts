import { type Scope, scopeKey } from '../../functions/domain/scope.ts';
import {
  type CheckRunQuery,
  type CheckRunRequest,
  type CreatedCheckRun,
  type GitHubPort,
  GitHubRequestError,
  type GitHubRunner,
  type GitHubTarget,
  type HookDelivery,
  type InstallationPermissions,
  type JitConfig,
  type ListedRunnerRelease,
  type ListRunnerReleasesOptions,
  type OpenRunStatus,
  type Page,
  RunnerNameTakenError,
  type RunnerToken,
  type WorkflowJobState,
  type WorkflowRunJob,
  type WorkflowRunSummary,
} from '../../functions/ports/github.ts';

interface FakeRunner extends GitHubRunner {
  scopeKey: string;
}

/** A job of a workflow run on "GitHub", for the Actions list endpoints (discovery of queued jobs). */
export interface FakeRunJob extends WorkflowRunJob {
  owner: string;
  repo: string;
}

/** In-memory GitHub for use-case tests: runner registrations per scope, injectable errors, call log. */
export class FakeGitHub implements GitHubPort {
  readonly calls: { op: string; scopeKey?: string; name?: string }[] = [];
  readonly runners = new Map<number, FakeRunner>();
  readonly jobs = new Map<number, WorkflowJobState>();
  readonly deliveries: HookDelivery[] = [];
  readonly redelivered: number[] = [];
  /** Errors thrown by the next call of an operation, e.g. `failures.generateJitConfig = [err]`. */
  readonly failures: Partial<Record<keyof GitHubPort, Error[]>> = {};
  private nextId = 100;

  private take(op: keyof GitHubPort, target?: GitHubTarget, name?: string): void {
    this.calls.push({ op, ...(target ? { scopeKey: scopeKey(target.scope) } : {}), ...(name ? { name } : {}) });
    const failure = this.failures[op]?.shift();
    if (failure) throw failure;
  }

  count(op: keyof GitHubPort): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  async generateJitConfig(
    target: GitHubTarget,
    request: { name: string; labels: readonly string[]; runnerGroupId: number; workFolder: string },
  ): Promise<JitConfig> {
    this.take('generateJitConfig', target, request.name);
    const key = scopeKey(target.scope);
    if ([...this.runners.values()].some((r) => r.scopeKey === key && r.name === request.name)) {
      throw new RunnerNameTakenError(request.name);
    }
    const id = this.nextId++;
    this.runners.set(id, {
      id,
      name: request.name,
      status: 'offline',
      busy: false,
      labels: [...request.labels],
      scopeKey: key,
    });
    return { runnerId: id, runnerName: request.name, encodedJitConfig: `jit-secret-${id}-${'x'.repeat(16)}` };
  }
  async createRegistrationToken(target: GitHubTarget): Promise<RunnerToken> {
    this.take('createRegistrationToken', target);
    return { token: `REGTOKEN${this.nextId++}XXXXXXXX`, expiresAt: new Date(0).toISOString() };
  }
  async createRemoveToken(target: GitHubTarget): Promise<RunnerToken> {
    this.take('createRemoveToken', target);
    return { token: `REMTOKEN${this.nextId++}XXXXXXXX`, expiresAt: new Date(0).toISOString() };
  }
  async listRunners(target: GitHubTarget): Promise<GitHubRunner[]> {
    this.take('listRunners', target);
    const key = scopeKey(target.scope);
    return [...this.runners.values()].filter((r) => r.scopeKey === key).map(({ scopeKey: _, ...r }) => r);
  }
  async getRunner(target: GitHubTarget, runnerId: number): Promise<GitHubRunner | undefined> {
    this.take('getRunner', target);
    const r = this.runners.get(runnerId);
    if (!r) return undefined;
    const { scopeKey: _, ...runner } = r;
    return runner;
  }
  async findRunnerByName(target: GitHubTarget, name: string): Promise<GitHubRunner | undefined> {
    this.take('findRunnerByName', target, name);
    const key = scopeKey(target.scope);
    const r = [...this.runners.values()].find((x) => x.scopeKey === key && x.name === name);
    if (!r) return undefined;
    const { scopeKey: _, ...runner } = r;
    return runner;
  }
  async deleteRunner(target: GitHubTarget, runnerId: number): Promise<void> {
    this.take('deleteRunner', target);
    this.runners.delete(runnerId);
  }
  async getWorkflowJob(_installationId: number, _owner: string, _repo: string, jobId: number) {
    this.take('getWorkflowJob');
    return this.jobs.get(jobId);
  }
  async listHookDeliveries(_cursor: string | undefined) {
    this.take('listHookDeliveries');
    return { deliveries: [...this.deliveries], next: undefined };
  }
  /** Jobs of workflow runs, listed by `listWorkflowRuns` / `listWorkflowRunJobs`. */
  readonly runJobs: FakeRunJob[] = [];
  /** Items per page of those two lists (GitHub: 100). */
  actionsPageSize = 100;

  private page<T>(all: readonly T[], page: number): Page<T> {
    const size = this.actionsPageSize;
    return { items: all.slice((page - 1) * size, page * size), more: page * size < all.length };
  }

  /** Runs derived from `runJobs`, newest (highest id) first, with GitHub's run status. */
  private runs(owner: string, repo: string): (WorkflowRunSummary & { jobs: FakeRunJob[] })[] {
    const key = `${owner}/${repo}`.toLowerCase();
    const byRun = new Map<number, FakeRunJob[]>();
    for (const job of this.runJobs) {
      if (`${job.owner}/${job.repo}`.toLowerCase() !== key) continue;
      byRun.set(job.runId, [...(byRun.get(job.runId) ?? []), job]);
    }
    return [...byRun.entries()]
      .map(([id, jobs]) => ({
        id,
        status: jobs.every((j) => j.status === 'queued')
          ? 'queued'
          : jobs.every((j) => j.status === 'completed')
            ? 'completed'
            : 'in_progress',
        jobs,
      }))
      .sort((a, b) => b.id - a.id);
  }

  async listWorkflowRuns(
    installationId: number,
    owner: string,
    repo: string,
    request: { status: OpenRunStatus; page: number },
  ): Promise<Page<WorkflowRunSummary>> {
    this.take('listWorkflowRuns', { installationId, scope: { kind: 'repo', owner, repo } });
    const runs = this.runs(owner, repo).filter((r) => r.status === request.status);
    return this.page(
      runs.map(({ id, status }) => ({ id, status })),
      request.page,
    );
  }

  async listWorkflowRunJobs(
    installationId: number,
    owner: string,
    repo: string,
    request: { runId: number; page: number },
  ): Promise<Page<WorkflowRunJob>> {
    this.take('listWorkflowRunJobs', { installationId, scope: { kind: 'repo', owner, repo } });
    const run = this.runs(owner, repo).find((r) => r.id === request.runId);
    if (!run) throw apiError(404, '{"message":"Not Found"}', 'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs');
    return this.page(
      run.jobs.map(({ owner: _o, repo: _r, ...job }) => job),
      request.page,
    );
  }

  /** Scope keys where the App is installed, with their installation ids (empty = installed everywhere as 1). */
  readonly installations = new Map<string, number>();
  async findInstallation(scope: Scope): Promise<number | undefined> {
    this.take('findInstallation');
    if (this.installations.size === 0) return 1;
    return this.installations.get(scopeKey(scope));
  }
  async redeliver(deliveryId: number): Promise<void> {
    this.take('redeliver');
    this.redelivered.push(deliveryId);
  }

  /** actions/runner releases as `listRunnerReleases` answers them (set it; newest first, as GitHub). */
  runnerReleases: ListedRunnerRelease[] = [];
  /** The options of every `listRunnerReleases` call, oldest first. */
  readonly releaseRequests: ListRunnerReleasesOptions[] = [];
  async listRunnerReleases(options: ListRunnerReleasesOptions): Promise<ListedRunnerRelease[]> {
    this.take('listRunnerReleases');
    this.releaseRequests.push({ ...options });
    return this.runnerReleases.slice(0, options.perPage ?? 30).map((r) => ({ ...r, assets: [...r.assets] }));
  }

  /** Permissions of every installation's token (set per spec); default: what the App manifest asks for. */
  permissions: InstallationPermissions = {
    actions: 'read',
    administration: 'write',
    metadata: 'read',
    organization_self_hosted_runners: 'write',
  };
  async installationPermissions(installationId: number): Promise<InstallationPermissions> {
    this.take('installationPermissions', { installationId, scope: { kind: 'org', org: '-' } });
    return { ...this.permissions };
  }

  /** Check runs posted, oldest first, as GitHub received them. */
  readonly checkRuns: { id: number; installationId: number; owner: string; repo: string; body: CheckRunRequest }[] = [];
  /**
   * Errors the next `createCheckRun` calls throw after the check run was created: a 5xx or a timeout whose
   * post landed anyway. (`failures.createCheckRun` throws before anything is created.)
   */
  readonly failuresAfterCreate: Error[] = [];
  async createCheckRun(
    installationId: number,
    owner: string,
    repo: string,
    checkRun: CheckRunRequest,
  ): Promise<CreatedCheckRun> {
    this.take('createCheckRun', { installationId, scope: { kind: 'repo', owner, repo } });
    if (this.permissions.checks !== 'write') {
      throw apiError(
        403,
        '{"message":"Resource not accessible by integration"}',
        'POST /repos/{owner}/{repo}/check-runs',
      );
    }
    const id = this.nextId++;
    this.checkRuns.push({ id, installationId, owner, repo, body: structuredClone(checkRun) });
    const landed = this.failuresAfterCreate.shift();
    if (landed) throw landed;
    return { id, htmlUrl: `https://github.com/${owner}/${repo}/runs/${id}` };
  }

  async findCheckRun(
    installationId: number,
    owner: string,
    repo: string,
    query: CheckRunQuery,
  ): Promise<CreatedCheckRun | undefined> {
    this.take('findCheckRun', { installationId, scope: { kind: 'repo', owner, repo } });
    const found = this.checkRuns.find(
      (run) =>
        run.owner.toLowerCase() === owner.toLowerCase() &&
        run.repo.toLowerCase() === repo.toLowerCase() &&
        run.body.head_sha === query.headSha &&
        run.body.name === query.name &&
        run.body.external_id === query.externalId,
    );
    return found ? { id: found.id, htmlUrl: `https://github.com/${owner}/${repo}/runs/${found.id}` } : undefined;
  }
}

export function apiError(
  status: number,
  body: string,
  endpoint = 'POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig',
) {
  return new GitHubRequestError(`GitHub answered ${status}`, status, endpoint, body, undefined);
}
