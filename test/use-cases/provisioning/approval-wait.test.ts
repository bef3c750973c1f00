import { beforeEach, describe, expect, it } from 'vitest';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import { signedDelivery, workflowJobPayload } from '../../support/webhook-fixtures.ts';
import { createWorld, INSTALLATION, OWNER, SECRET, SETTINGS, type World } from '../reconcile/reconcile-fixtures.ts';

/**
 * Environment approvals (docs/design.md "Approval waits"), through the real core over the memory store,
 * FakeGitHub and the recording launcher: `queued` → `waiting` → (approved) `queued`.
 */
describe('approval waits', () => {
  let w: World;
  beforeEach(() => {
    w = createWorld();
  });

  /** A `queued` delivery whose payload carries `status` (GitHub's status when it built the payload). */
  async function queuedDelivery(jobId: number, status: 'queued' | 'waiting'): Promise<number> {
    const payload = workflowJobPayload({
      action: 'queued',
      jobId,
      owner: OWNER,
      repo: 'app',
      installationId: INSTALLATION,
    });
    payload.workflow_job.status = status;
    const d = await signedDelivery(SECRET, payload);
    return (await w.core.acceptWebhook({ headers: d.headers, body: d.body })).status;
  }

  it('retires the launched runner of a job that goes waiting, skipping its attempt as a wait, not a failure', async () => {
    await w.launch(1);
    expect(await w.webhook('waiting', 1)).toBe(202);
    const job = await w.job(1);
    expect(job).toMatchObject({ status: JobStatus.waiting, attempt: 2, waits: 1 });
    expect(job.runnerName).toBeUndefined();
    expect(job.failureClass).toBeUndefined();
    expect(w.launcher.stopped).toEqual(['rec-jr-1-1']);
    expect([...w.github.runners.values()].map((r) => r.name)).toEqual([]);
    expect(w.launcher.regular).toEqual([]);
    expect(await w.store.baselines.list()).toEqual([]);
  });

  it('never stops a runner that took another job, when the job it was minted for goes waiting', async () => {
    const job = await w.launch(12);
    const registration = w.github.runners.get(job.runnerId as number);
    if (registration) Object.assign(registration, { status: 'online', busy: true });
    expect(await w.webhook('waiting', 12)).toBe(202);
    const waiting = await w.job(12);
    expect(waiting).toMatchObject({ status: JobStatus.waiting, attempt: 2, waits: 1 });
    expect(waiting.runnerName).toBeUndefined();
    expect(w.launcher.stopped).toEqual([]);
    expect(w.github.runners.has(job.runnerId as number)).toBe(true);
  });

  it('takes no signal of the retired runner for a failure of any class', async () => {
    await w.launch(11);
    await w.webhook('waiting', 11);
    const at = w.now + 1_000;
    const signals = [
      { kind: 'exit', runnerName: 'jr-11-1', code: 143, at, launchId: 'rec-jr-11-1' },
      {
        kind: 'log',
        runnerName: 'jr-11-1',
        line: 'The runner registration has been deleted from the server',
        source: 'stdout',
        at,
      },
      {
        kind: 'log',
        runnerName: 'jr-11-1',
        line: 'Runner connect error: Failed to get job message. Request to https://broker.actions.githubusercontent.com/message failed with status: BadRequest.',
        source: 'stderr',
        at,
      },
    ] as const;
    for (const signal of signals) expect((await w.core.handleRunnerSignal(signal)).acted).toBe(false);
    const job = await w.job(11);
    expect(job).toMatchObject({ status: JobStatus.waiting, attempt: 2, waits: 1 });
    expect(job.failureClass).toBeUndefined();
    expect(await w.store.baselines.list()).toEqual([]);
  });

  it('provisions the job again when the approval queues it, and counts its start timeout from then', async () => {
    await w.launch(2);
    await w.webhook('waiting', 2);
    w.dispatcher.clear();
    w.now += 3 * 3_600_000; // an approval hours later
    w.githubJob(2, 'queued');
    expect(await queuedDelivery(2, 'queued')).toBe(202);
    expect(await w.job(2)).toMatchObject({ status: JobStatus.queued, assignableAt: w.now });
    expect(w.dispatcher.jobs()).toEqual([2]);

    expect(await w.core.provisionJob(2)).toBe('launched');
    const job = await w.job(2);
    expect(job).toMatchObject({ status: JobStatus.launched, runnerName: 'jr-2-2', attempt: 2, waits: 1 });
    // Within the start timeout of the new runner: nothing is overdue, whatever the first launch's age.
    expect((await w.core.checkStartTimeouts(w.now + 1_000)).overdue).toBe(0);
  });

  it('ignores a queued delivery built while the job was already waiting (out of order)', async () => {
    await w.queue(3);
    await w.webhook('waiting', 3);
    w.dispatcher.clear();
    expect(await queuedDelivery(3, 'waiting')).toBe(202);
    expect((await w.job(3)).status).toBe(JobStatus.waiting);
    expect(w.dispatcher.jobs()).toEqual([]);
  });

  it('puts a job back to waiting, with no mint, when a late first queued was taken for the approval', async () => {
    await w.queue(4);
    await w.webhook('waiting', 4);
    w.githubJob(4, 'waiting');
    expect(await queuedDelivery(4, 'queued')).toBe(202);
    expect((await w.job(4)).status).toBe(JobStatus.queued);

    expect(await w.core.provisionJob(4)).toBe('waiting');
    const job = await w.job(4);
    expect(job.status).toBe(JobStatus.waiting);
    expect(job.attempt).toBe(1);
    expect(w.github.count('generateJitConfig')).toBe(0);
    expect(w.launcher.launches).toEqual([]);
  });

  it('records a job first seen waiting (its queued delivery is late) without dispatching it', async () => {
    expect(await w.webhook('waiting', 5)).toBe(202);
    expect((await w.job(5)).status).toBe(JobStatus.waiting);
    expect(w.dispatcher.jobs()).toEqual([]);
  });

  it('cancels a launch whose job went waiting while the runner was minted', async () => {
    await w.queue(6);
    // The `waiting` delivery lands between the mint and the launch's record.
    const launch = w.launcher.launch.bind(w.launcher);
    w.launcher.launch = async (request) => {
      const launched = await launch(request);
      await w.webhook('waiting', 6);
      return launched;
    };
    await w.core.provisionJob(6);
    const job = await w.job(6);
    expect(job).toMatchObject({ status: JobStatus.waiting, attempt: 2, waits: 1 });
    expect(w.launcher.stopped).toEqual(['rec-jr-6-1']);
    expect([...w.github.runners.values()]).toEqual([]);
  });

  describe('a missed delivery, learned by the reconciler from GET …/actions/jobs/{id}', () => {
    it('puts a launched job whose waiting delivery was missed to waiting and retires its idle runner', async () => {
      await w.launch(7);
      w.githubJob(7, 'waiting');
      w.now += SETTINGS.launchedCheckAfterMs;
      await w.reconcile();
      const job = await w.job(7);
      expect(job).toMatchObject({ status: JobStatus.waiting, attempt: 2, waits: 1 });
      expect(job.runnerName).toBeUndefined();
      expect(w.launcher.stopped).toEqual(['rec-jr-7-1']);
      // No failure of any class: no workaround, no baseline marked, no failure recorded.
      expect(job.failureClass).toBeUndefined();
      expect(w.launcher.regular).toEqual([]);
      expect(await w.store.baselines.list()).toEqual([]);
    });

    it('queues a waiting job again once the API shows it queued (the approval delivery was missed)', async () => {
      await w.queue(8);
      await w.webhook('waiting', 8);
      w.dispatcher.clear();
      w.githubJob(8, 'queued');
      w.now += SETTINGS.runningCheckEveryMs;
      await w.reconcile();
      expect(await w.job(8)).toMatchObject({ status: JobStatus.queued, assignableAt: w.now });
      expect(w.dispatcher.jobs()).toContain(8);
    });

    it('leaves a waiting job alone while GitHub still shows it waiting', async () => {
      await w.queue(9);
      await w.webhook('waiting', 9);
      w.githubJob(9, 'waiting');
      w.dispatcher.clear();
      for (let i = 0; i < 5; i++) {
        w.now += SETTINGS.runningCheckEveryMs;
        await w.reconcile();
      }
      expect((await w.job(9)).status).toBe(JobStatus.waiting);
      expect(w.dispatcher.jobs()).toEqual([]);
      expect(w.launcher.launches).toEqual([]);
    });
  });
});
