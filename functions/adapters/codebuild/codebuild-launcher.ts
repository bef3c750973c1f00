import {
  BatchGetBuildsCommand,
  type Build,
  type CodeBuildClient,
  type EnvironmentVariable,
  ListBuildsForProjectCommand,
  StartBuildCommand,
  StopBuildCommand,
} from '@aws-sdk/client-codebuild';
import {
  type Launch,
  type LaunchRequest,
  type LaunchSummary,
  LaunchTransientError,
  type RegularRunnerRequest,
} from '../../ports/launcher.ts';
import { type Clock, systemClock } from '../../ports/runtime.ts';
import {
  type WarmBootRequest,
  type WarmHandoffRequest,
  type WarmLaunch,
  type WarmRunnerLauncher,
  warmIdleSeconds,
} from '../../ports/warm-launcher.ts';
import { idempotencyToken } from '../aws/idempotency-token.ts';
import { RunnerEnv, RunnerMode, runnerDigestEntries } from '../aws/runner-env.ts';
import { awsErrorCode, translateLaunchError, withLaunchErrors } from '../aws/translate-launch-error.ts';
import type { JitConfigHandoff } from '../ssm/jit-config-handoff.ts';

export interface CodeBuildLauncherOptions {
  client: CodeBuildClient;
  handoff: JitConfigHandoff;
  /** `CODEBUILD_PROJECT_NAME`: the project whose buildspec runs `runner/bootstrap.sh`. */
  projectName: string;
  clock?: Clock;
  /** How far back `listActive` looks; at least the project's build timeout. Default 8 hours. */
  maxBuildAgeMs?: number;
}

const plain = (name: string, value: string): EnvironmentVariable => ({ name, value, type: 'PLAINTEXT' });

/** Launches each runner as one CodeBuild build of the runner project. */
export class CodeBuildLauncher implements WarmRunnerLauncher {
  readonly kind = 'codebuild';
  readonly #client: CodeBuildClient;
  readonly #handoff: JitConfigHandoff;
  readonly #projectName: string;
  readonly #clock: Clock;
  readonly #maxBuildAgeMs: number;

  constructor(options: CodeBuildLauncherOptions) {
    this.#client = options.client;
    this.#handoff = options.handoff;
    this.#projectName = options.projectName;
    this.#clock = options.clock ?? systemClock;
    this.#maxBuildAgeMs = options.maxBuildAgeMs ?? 8 * 3_600_000;
  }

  async launch(request: LaunchRequest): Promise<Launch> {
    return this.#launchWith(request.runnerName, request.encodedJitConfig, (parameter) => [
      plain(RunnerEnv.mode, RunnerMode.jit),
      plain(RunnerEnv.parameter, parameter),
      plain(RunnerEnv.runnerName, request.runnerName),
      plain(RunnerEnv.runnerVersion, request.runnerVersion),
      ...runnerDigestEntries(request.runnerSha256).map(([name, value]) => plain(name, value)),
    ]);
  }

  async launchRegular(request: RegularRunnerRequest): Promise<Launch> {
    return this.#launchWith(request.runnerName, request.registrationToken, (parameter) => [
      plain(RunnerEnv.mode, RunnerMode.regular),
      plain(RunnerEnv.parameter, parameter),
      plain(RunnerEnv.runnerName, request.runnerName),
      plain(RunnerEnv.runnerVersion, request.runnerVersion),
      plain(RunnerEnv.url, request.url),
      plain(RunnerEnv.labels, request.labels.join(',')),
    ]);
  }

  /**
   * Deletes the hand-off planned from `runnerName`: a cold runner's own name, or for a job served warm the
   * warm runner's (its hand-off has the name the warm build was told at boot, planned from its warm
   * name; the job's runner name plans another one). One DeleteParameter, nothing asked of CodeBuild: the
   * name is computed, so the caller says which runner it was for. Already gone is success.
   */
  async dropHandoff(runnerName: string): Promise<void> {
    await this.#handoff.dropFor(runnerName);
  }

  /**
   * Boots a warm runner as a build of the same project that prepares (tarball from the cache, verified,
   * extracted), then waits for the hand-off planned from its warm name (`JR_PARAMETER`) for at most
   * `JR_WARM_IDLE_SECONDS`, and ends without registering when none came. The project's timeout covers the
   * idle bound plus the job (cdk/constructs/codebuild-runner.ts adds the pool's `warmMaxIdleMinutes`), so
   * no override is sent. Idempotent per warm name (the StartBuild token), like a cold launch per runner.
   */
  async bootWarm(request: WarmBootRequest & { maxIdleMs: number }): Promise<WarmLaunch> {
    const { warmName } = request;
    const build = await this.#start(warmName, [
      plain(RunnerEnv.mode, RunnerMode.jit),
      plain(RunnerEnv.parameter, this.#handoff.plan(warmName)),
      plain(RunnerEnv.runnerName, warmName),
      plain(RunnerEnv.warmName, warmName),
      plain(RunnerEnv.warmIdleSeconds, String(warmIdleSeconds(request.maxIdleMs))),
      plain(RunnerEnv.runnerVersion, request.runnerVersion),
      ...runnerDigestEntries(request.runnerSha256).map(([name, value]) => plain(name, value)),
    ]);
    return { launchId: build.id, warmName };
  }

  /**
   * Hands the job's JIT config to the warm build `request.warm`: written (JitConfigHandoff.write) under the
   * name the build was told, tagged with the build's ARN, so only that build can read it. A build's
   * environment cannot change after StartBuild, so `listActive` keeps naming it by its warm name; the
   * caller's records map it to the job. A build that is gone (not IN_PROGRESS, or unknown), not this warm
   * runner, or on another runner version throws {@link LaunchTransientError} (the caller launches cold);
   * a failed write stops the build.
   */
  async handOffWarm(request: WarmHandoffRequest): Promise<void> {
    const { warm } = request;
    const out = await withLaunchErrors('codebuild:BatchGetBuilds', () =>
      this.#client.send(new BatchGetBuildsCommand({ ids: [warm.launchId] })),
    );
    const build = out.builds?.find((b) => b.id === warm.launchId);
    if (build?.buildStatus !== 'IN_PROGRESS') {
      throw new LaunchTransientError(
        `warm runner ${warm.warmName} (${warm.launchId}) is gone${build?.buildStatus ? ` (${build.buildStatus})` : ''}`,
      );
    }
    const env = (name: string) => build.environment?.environmentVariables?.find((v) => v.name === name)?.value;
    if (env(RunnerEnv.warmName) !== warm.warmName) {
      throw new LaunchTransientError(`build ${warm.launchId} is not the warm runner ${warm.warmName}`);
    }
    const version = env(RunnerEnv.runnerVersion);
    if (version !== request.runnerVersion) {
      throw new LaunchTransientError(
        `warm runner ${warm.warmName} runs ${version ?? 'an unknown version'}, the job wants ${request.runnerVersion}`,
      );
    }
    const parameter = this.#handoff.nameToWrite(env(RunnerEnv.parameter), undefined);
    try {
      if (!parameter) throw new LaunchTransientError(`warm runner ${warm.warmName} carries no hand-off name`);
      if (!build.arn)
        throw new LaunchTransientError(`codebuild:BatchGetBuilds answered without the ARN of ${warm.launchId}`);
      await this.#handoff.write(parameter, request.encodedJitConfig, build.arn, request.runnerName);
    } catch (error) {
      await this.stop(warm.launchId).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Launch first, then hand off (docs/decisions.md "Per-runner hand-off"): the build ARN the hand-off is
   * tagged with exists only once StartBuild answered. The runner waits for its parameter to appear.
   */
  async #launchWith(
    runnerName: string,
    secret: string,
    env: (parameter: string) => EnvironmentVariable[],
  ): Promise<Launch> {
    const planned = this.#handoff.plan(runnerName);
    const build = await this.#start(runnerName, env(planned));
    // A retried StartBuild (same idempotency token) answers with the first try's build, which was told
    // the first try's name: write that one (ParameterAlreadyExists then means the first try wrote it).
    const told = build.environment?.environmentVariables?.find((v) => v.name === RunnerEnv.parameter)?.value;
    const parameter = this.#handoff.nameToWrite(told, planned);
    try {
      if (!build.arn) throw new LaunchTransientError('codebuild:StartBuild answered without a build ARN');
      await this.#handoff.write(parameter, secret, build.arn, runnerName);
    } catch (error) {
      // Why stop: the build would wait for a hand-off that never comes and then fail; stopping it now
      // frees the slot and the provisioner retries under the next attempt's name (a new token).
      await this.stop(build.id as string).catch(() => undefined);
      throw error;
    }
    return { launchId: build.id as string };
  }

  async #start(runnerName: string, env: EnvironmentVariable[]): Promise<Build & { id: string }> {
    const out = await withLaunchErrors('codebuild:StartBuild', () =>
      this.#client.send(
        new StartBuildCommand({
          projectName: this.#projectName,
          // Same runner name → same token: a retried StartBuild (within CodeBuild's 5-minute token
          // window) returns the first build instead of starting a second runner.
          idempotencyToken: idempotencyToken(runnerName),
          environmentVariablesOverride: env,
        }),
      ),
    );
    const build = out.build;
    if (!build?.id) throw new LaunchTransientError('codebuild:StartBuild answered without a build id');
    return build as Build & { id: string };
  }

  async stop(launchId: string): Promise<void> {
    try {
      await this.#client.send(new StopBuildCommand({ id: launchId }));
    } catch (error) {
      if (awsErrorCode(error) === 'ResourceNotFoundException') return;
      throw translateLaunchError(error, 'codebuild:StopBuild');
    }
  }

  async listActive(): Promise<LaunchSummary[]> {
    const active: LaunchSummary[] = [];
    const cutoff = this.#clock.now() - this.#maxBuildAgeMs;
    let nextToken: string | undefined;
    do {
      const page = await withLaunchErrors('codebuild:ListBuildsForProject', () =>
        this.#client.send(
          new ListBuildsForProjectCommand({
            projectName: this.#projectName,
            sortOrder: 'DESCENDING',
            ...(nextToken ? { nextToken } : {}),
          }),
        ),
      );
      const ids = page.ids ?? [];
      if (ids.length === 0) break;
      const details = await withLaunchErrors('codebuild:BatchGetBuilds', () =>
        this.#client.send(new BatchGetBuildsCommand({ ids })),
      );
      let oldest = Number.POSITIVE_INFINITY;
      for (const build of details.builds ?? []) {
        const startedAt = build.startTime?.getTime() ?? 0;
        oldest = Math.min(oldest, startedAt);
        if (build.buildStatus !== 'IN_PROGRESS' || !build.id) continue;
        const runnerName = build.environment?.environmentVariables?.find((v) => v.name === RunnerEnv.runnerName)?.value;
        if (!runnerName) continue;
        active.push({ launchId: build.id, runnerName, startedAt });
      }
      // Builds come newest first and none runs longer than the project timeout: once a page reaches
      // past that age, older pages cannot hold a running build.
      if (oldest < cutoff) break;
      nextToken = page.nextToken;
    } while (nextToken);
    return active;
  }
}
