import { type Scope, scopeKey } from '../../functions/domain/scope.ts';
import {
  type GitHubPort,
  GitHubRequestError,
  type GitHubRunner,
  type GitHubTarget,
  type HookDelivery,
  type JitConfig,
  RunnerNameTakenError,
  type RunnerToken,
  type WorkflowJobState,
} from '../../functions/ports/github.ts';

interface FakeRunner extends GitHubRunner {
  scopeKey: string;
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
}

export function apiError(
  status: number,
  body: string,
  endpoint = 'POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig',
) {
  return new GitHubRequestError(`GitHub answered ${status}`, status, endpoint, body, undefined);
}
