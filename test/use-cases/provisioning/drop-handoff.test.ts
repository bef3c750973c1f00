import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore, type MemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import { buildCore } from '../../../functions/composition/build-core.ts';
import type { Config } from '../../../functions/config/config.ts';
import type { Job } from '../../../functions/domain/job.ts';
import type { RunnerPool } from '../../../functions/domain/runner-pool.ts';
import type { JobRepository } from '../../../functions/ports/store.ts';
import type { JobProgress } from '../../../functions/use-cases/ingress/accept-webhook.ts';
import { createDropHandoff } from '../../../functions/use-cases/provisioning/drop-handoff.ts';
import { CaptureLogger, silentLogger } from '../../support/capture-logger.ts';
import { FakeGitHub } from '../../support/fake-github.ts';
import { provisionConfig } from '../../support/provision-config.ts';
import { RecordingLauncher } from '../../support/recording-launcher.ts';
import { RecordingWarmLauncher } from '../../support/recording-warm-launcher.ts';
import { testCore } from '../../support/test-provisioner.ts';
import { signedDelivery, workflowJobPayload } from '../../support/webhook-fixtures.ts';

/** A launcher that hands off out of band (CodeBuild/EC2 in AWS), recording what it was asked to delete. */
class HandingOffLauncher extends RecordingLauncher {
  readonly dropped: string[] = [];
  failDrops = false;
  async dropHandoff(runnerName: string): Promise<void> {
    if (this.failDrops) throw new Error('ssm:DeleteParameter failed: ThrottlingException');
    this.dropped.push(runnerName);
  }
}

/** The same, able to keep warm runners (EC2/CodeBuild in AWS). */
class HandingOffWarmLauncher extends RecordingWarmLauncher {
  readonly dropped: string[] = [];
  async dropHandoff(runnerName: string): Promise<void> {
    this.dropped.push(runnerName);
  }
}

const config: Config = provisionConfig(undefined);
const WARM = 'jr-warm-hot-0a1b2c3d';
const progress = (
  action: JobProgress['action'],
  runnerName: string | null,
  more: Partial<JobProgress> = {},
): JobProgress => ({
  action,
  jobId: 42,
  owner: 'octo',
  repo: 'repo',
  scopeKey: 'octo/repo',
  installationId: 1,
  runnerName,
  conclusion: action === 'completed' ? 'success' : null,
  at: 1_000,
  ...more,
});

/** Job records by id; `get` throws when `failing`, and counts its calls. */
class FakeJobs implements Pick<JobRepository, 'get'> {
  readonly jobs = new Map<number, Partial<Job>>();
  reads = 0;
  failing = false;
  async get(jobId: number): Promise<Job | undefined> {
    this.reads++;
    if (this.failing) throw new Error('store unavailable');
    return this.jobs.get(jobId) as Job | undefined;
  }
}

describe('createDropHandoff', () => {
  let launcher: HandingOffLauncher;
  let logger: CaptureLogger;
  beforeEach(() => {
    launcher = new HandingOffLauncher();
    logger = new CaptureLogger();
  });
  const drop = () => createDropHandoff({ config, launcher, logger });

  it('deletes the hand-off of our runner once its job is in progress or completed: it read its config to get there', async () => {
    await drop().onProgress(progress('in_progress', 'jr-42-1'));
    await drop().onProgress(progress('completed', 'jr-42-1'));
    expect(launcher.dropped).toEqual(['jr-42-1', 'jr-42-1']);
  });

  it('leaves alone a waiting job, a job without a runner, and runners this fleet did not mint', async () => {
    await drop().onProgress(progress('waiting', 'jr-42-1'));
    await drop().onProgress(progress('in_progress', null));
    await drop().onProgress(progress('in_progress', 'someone-elses-runner'));
    expect(launcher.dropped).toEqual([]);
  });

  it('deletes the hand-off of a runner whose build or instance ended, a workaround runner included', async () => {
    await drop().onRunnerEnded('jr-42-1');
    await drop().onRunnerEnded('jr-baseline-octo-repo-ab12');
    expect(launcher.dropped).toEqual(['jr-42-1', 'jr-baseline-octo-repo-ab12']);
  });

  it('logs a failed delete and leaves it to the expiration, without throwing', async () => {
    launcher.failDrops = true;
    await expect(drop().onRunnerEnded('jr-42-1')).resolves.toBeUndefined();
    expect(logger.text()).toContain('cannot delete the hand-off; its expiration will');
  });

  it('does nothing for a launcher that hands nothing off (local)', async () => {
    const local = new RecordingLauncher();
    const jobs = new FakeJobs();
    await createDropHandoff({ config, launcher: local, logger, jobs }).onRunnerEnded('jr-42-1');
    expect(logger.lines).toEqual([]);
    expect(jobs.reads).toBe(0);
  });

  describe('a job served warm (its hand-off is named after the warm runner)', () => {
    it('deletes the warm runner’s hand-off, not the job runner’s, once the job is in progress or completed', async () => {
      await drop().onProgress(progress('in_progress', 'jr-42-1', { warmName: WARM }));
      await drop().onProgress(progress('completed', 'jr-42-1', { warmName: WARM }));
      expect(launcher.dropped).toEqual([WARM, WARM]);
    });

    it('ignores a warm name that is not one of this fleet’s and deletes the runner’s own hand-off', async () => {
      await drop().onProgress(progress('in_progress', 'jr-42-1', { warmName: 'other-warm-hot-1' }));
      expect(launcher.dropped).toEqual(['jr-42-1']);
    });

    it('reads the job of an ended JIT runner and deletes its warm runner’s hand-off (an EC2 instance ends under the job’s runner name)', async () => {
      const jobs = new FakeJobs();
      jobs.jobs.set(42, { jobId: 42, runnerName: 'jr-42-1', warmName: WARM });
      jobs.jobs.set(7, { jobId: 7, runnerName: 'jr-7-1' });
      // Job 9 moved on to attempt 2, served warm; its attempt 1 runner was cold.
      jobs.jobs.set(9, { jobId: 9, runnerName: 'jr-9-2', warmName: WARM });
      const withJobs = createDropHandoff({ config, launcher, logger, jobs });
      await withJobs.onRunnerEnded('jr-42-1');
      await withJobs.onRunnerEnded('jr-7-1');
      await withJobs.onRunnerEnded('jr-9-1');
      await withJobs.onRunnerEnded('jr-5-1');
      expect(launcher.dropped).toEqual([WARM, 'jr-7-1', 'jr-9-1', 'jr-5-1']);
    });

    it('deletes an ended warm runner’s hand-off by its own name without a read (a CodeBuild build keeps its warm name)', async () => {
      const jobs = new FakeJobs();
      await createDropHandoff({ config, launcher, logger, jobs }).onRunnerEnded(WARM);
      expect(launcher.dropped).toEqual([WARM]);
      expect(jobs.reads).toBe(0);
    });

    it('deletes the ended runner’s own hand-off when its job cannot be read, and logs it', async () => {
      const jobs = new FakeJobs();
      jobs.failing = true;
      await createDropHandoff({ config, launcher, logger, jobs }).onRunnerEnded('jr-42-1');
      expect(launcher.dropped).toEqual(['jr-42-1']);
      expect(logger.text()).toContain('cannot read the job of an ended runner');
    });

    it('only logs a failed delete of a warm runner’s hand-off', async () => {
      launcher.failDrops = true;
      await expect(drop().onProgress(progress('in_progress', 'jr-42-1', { warmName: WARM }))).resolves.toBeUndefined();
      const line = logger.lines.find((l) => l.includes('cannot delete the hand-off'));
      expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 'WARN', runnerName: 'jr-42-1', warmName: WARM });
    });
  });
});

describe('the core deletes hand-offs on the progress and runner signals it already receives', () => {
  it('an in_progress delivery and an ended platform state each delete the runner’s hand-off', async () => {
    const launcher = new HandingOffLauncher();
    const core = testCore({ config, store: createMemoryStore(), github: new FakeGitHub(), launcher, now: () => 1_000 });
    for (const listener of core.progressListeners) await listener(progress('in_progress', 'jr-42-1'));
    expect(launcher.dropped).toEqual(['jr-42-1']);
    await core.handleRunnerSignal({ kind: 'state', runnerName: 'jr-7-1', state: 'STOPPED', at: 1_000 });
    await core.handleRunnerSignal({ kind: 'state', runnerName: 'i-runner', state: 'terminated', at: 1_000 });
    await core.handleRunnerSignal({ kind: 'exit', runnerName: 'jr-8-1', code: 0, at: 1_000 });
    expect(launcher.dropped).toEqual(['jr-42-1', 'jr-7-1', 'i-runner', 'jr-8-1']);
    // A log line is no end: the runner may still be reading its hand-off.
    await core.handleRunnerSignal({
      kind: 'log',
      runnerName: 'jr-9-1',
      line: 'Listening for Jobs',
      source: 't',
      at: 1_000,
    });
    expect(launcher.dropped).not.toContain('jr-9-1');
  });
});

describe('the core deletes a warm-served job’s hand-off by its warm runner’s name, with no extra read on the webhook', () => {
  const SECRET = 'webhook-secret';
  const LABELS = ['self-hosted', 'linux', 'x64'];
  const now = Date.UTC(2026, 0, 5, 12, 0);
  const hot = (warmSize: number): RunnerPool => ({
    name: 'hot',
    labels: LABELS,
    launcher: 'local',
    runnerVersion: '2.330.0',
    ...(warmSize > 0 ? { warm: { size: warmSize, schedule: [], maxIdleMs: 30 * 60_000 } } : {}),
  });
  let store: MemoryStore;
  let launcher: HandingOffWarmLauncher;
  let jobReads: number;

  /** The core as testCore wires it, with a webhook secret (deliveries are signed) and its job reads counted. */
  const coreFor = (warmSize: number) => {
    const jobs: JobRepository = {
      ...store.jobs,
      get: async (jobId) => {
        jobReads++;
        return store.jobs.get(jobId);
      },
    };
    return buildCore({
      config: { ...config, pools: [hot(warmSize)] },
      store: { ...store, jobs },
      github: new FakeGitHub(),
      launcher,
      dispatcher: { dispatch: async () => undefined },
      clock: { now: () => now },
      logger: silentLogger,
      metrics: { count() {}, measure() {} },
      owner: 'p1',
      webhookSecrets: () => [SECRET],
      random: () => 0.5,
      githubRateLimit: false,
      overrides: { requestWorkaround: () => undefined },
    });
  };
  type Core = ReturnType<typeof coreFor>;
  const deliver = async (core: Core, action: 'in_progress' | 'completed', jobId: number, runnerName: string) =>
    core.acceptWebhook(
      await signedDelivery(
        SECRET,
        workflowJobPayload({
          action,
          jobId,
          runnerName,
          labels: LABELS,
          ...(action === 'completed' ? { conclusion: 'success' } : {}),
        }),
      ),
    );
  const record = (jobId: number) =>
    store.jobs.create(
      {
        jobId,
        runId: jobId * 10,
        owner: 'octo-org',
        repo: 'octo-repo',
        scopeKey: 'octo-org/octo-repo',
        installationId: 1,
        labels: LABELS,
        pool: 'hot',
      },
      `d${jobId}`,
      now,
    );
  const queue = async (core: Core, jobId: number) => {
    await record(jobId);
    expect(await core.provisionJob(jobId)).toBe('launched');
    await core.warmPool.settled();
  };
  const warmOf = (runnerName: string) => launcher.handoffs.find((h) => h.runnerName === runnerName)?.warm.warmName;

  beforeEach(() => {
    store = createMemoryStore();
    launcher = new HandingOffWarmLauncher();
    jobReads = 0;
  });

  it('in_progress and completed on the job’s runner delete the warm runner’s hand-off, named by the job’s record', async () => {
    const core = coreFor(1);
    await core.warmPool.refill('hot');
    await queue(core, 1);
    const warmName = warmOf('jr-1-1');
    expect(warmName).toMatch(/^jr-warm-hot-/);
    expect((await store.jobs.get(1))?.warmName).toBe(warmName);

    jobReads = 0;
    expect((await deliver(core, 'in_progress', 1, 'jr-1-1')).status).toBe(202);
    expect(launcher.dropped).toEqual([warmName]);
    // The warm name came back from the delivery's own write.
    expect(jobReads).toBe(0);
    await deliver(core, 'completed', 1, 'jr-1-1');
    expect(launcher.dropped).toEqual([warmName, warmName]);
  });

  it('deletes the warm runner’s hand-off when an EC2 warm instance ends under the job’s runner name', async () => {
    const core = coreFor(1);
    await core.warmPool.refill('hot');
    await queue(core, 1);
    await core.handleRunnerSignal({ kind: 'state', runnerName: 'jr-1-1', state: 'terminated', at: now });
    expect(launcher.dropped).toEqual([warmOf('jr-1-1')]);
  });

  it('leaves a cold job as it was: its own runner’s hand-off, no read', async () => {
    const core = coreFor(0);
    await queue(core, 1);
    expect(launcher.launches.map((l) => l.runnerName)).toEqual(['jr-1-1']);
    expect((await store.jobs.get(1))?.warmName).toBeUndefined();
    jobReads = 0;
    await deliver(core, 'in_progress', 1, 'jr-1-1');
    expect(jobReads).toBe(0);
    await core.handleRunnerSignal({ kind: 'state', runnerName: 'jr-1-1', state: 'terminated', at: now });
    expect(launcher.dropped).toEqual(['jr-1-1', 'jr-1-1']);
  });

  it('deletes the cold runner’s hand-off of a job whose warm hand-off failed (it launched cold)', async () => {
    const core = coreFor(1);
    await core.warmPool.refill('hot');
    for (const warmName of launcher.liveWarm()) launcher.goneOnHandoff.add(warmName);
    await queue(core, 1);
    expect(launcher.launches.map((l) => l.runnerName)).toEqual(['jr-1-1']);
    expect((await store.jobs.get(1))?.warmName).toBeUndefined();
    await deliver(core, 'in_progress', 1, 'jr-1-1');
    expect(launcher.dropped).toEqual(['jr-1-1']);
  });

  it('clears on a cold relaunch the warm name an earlier attempt recorded', async () => {
    const core = coreFor(0);
    await record(1);
    await store.jobs.update(1, {}, { set: { warmName: WARM } }, now);
    expect(await core.provisionJob(1)).toBe('launched');
    expect((await store.jobs.get(1))?.warmName).toBeUndefined();
  });

  it('never deletes the hand-off of another job’s warm runner: a job that ran on job 1’s runner names no warm runner', async () => {
    const core = coreFor(2);
    await core.warmPool.refill('hot');
    await queue(core, 1);
    await queue(core, 2);
    expect(warmOf('jr-2-1')).toMatch(/^jr-warm-hot-/);
    // Job 2 ran on job 1's runner: job 2's warm runner may not have read its hand-off yet.
    await deliver(core, 'in_progress', 2, 'jr-1-1');
    expect(launcher.dropped).not.toContain(warmOf('jr-2-1'));
    expect(launcher.dropped).toEqual(['jr-1-1']);
  });

  it('records the warm name when the job’s in_progress beats the launch’s write, so its completed deletes the warm hand-off', async () => {
    const core = coreFor(1);
    await core.warmPool.refill('hot');
    // The warm runner reads its hand-off and GitHub's in_progress arrives before the provisioner writes the launch.
    const handOffWarm = launcher.handOffWarm.bind(launcher);
    launcher.handOffWarm = async (request) => {
      await handOffWarm(request);
      expect((await deliver(core, 'in_progress', 1, request.runnerName)).status).toBe(202);
    };
    await queue(core, 1);
    const warmName = warmOf('jr-1-1');
    expect(warmName).toMatch(/^jr-warm-hot-/);
    // That in_progress could not name the warm runner: the job's record had no launch yet.
    expect(launcher.dropped).toEqual(['jr-1-1']);
    const job = await store.jobs.get(1);
    expect(job).toMatchObject({ status: 'running', ranOn: 'jr-1-1', runnerName: 'jr-1-1', warmName });

    await deliver(core, 'completed', 1, 'jr-1-1');
    expect(launcher.dropped).toEqual(['jr-1-1', warmName]);
  });

  it('records a cold launch’s runner, version and version role when the job’s in_progress and completed beat its write', async () => {
    const core = coreFor(0);
    // A fast runner: GitHub's in_progress and completed both arrive before the provisioner writes the launch.
    const launch = launcher.launch.bind(launcher);
    launcher.launch = async (request) => {
      const accepted = await launch(request);
      expect((await deliver(core, 'in_progress', 1, request.runnerName)).status).toBe(202);
      expect((await deliver(core, 'completed', 1, request.runnerName)).status).toBe(202);
      return accepted;
    };
    await queue(core, 1);
    const job = await store.jobs.get(1);
    expect(job).toMatchObject({ status: 'completed', ranOn: 'jr-1-1', runnerName: 'jr-1-1', launchedAt: now });
    expect(job?.runnerVersion).toBe(launcher.launches[0]?.runnerVersion);
    expect(job?.runnerVersionRole).toBe('pinned');
    expect(job?.warmName).toBeUndefined();
  });
});
