import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import { failureCheckRun } from '../../../functions/domain/failure-advice.ts';
import { FailureClass } from '../../../functions/domain/failure-class.ts';
import type { Job } from '../../../functions/domain/job.ts';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import { createReportJobFailure } from '../../../functions/use-cases/reporting/report-job-failure.ts';
import { newJob } from '../../adapters/store/store-contract.ts';
import { CaptureLogger } from '../../support/capture-logger.ts';
import { apiError, FakeGitHub } from '../../support/fake-github.ts';

const POST = 'POST /repos/{owner}/{repo}/check-runs';

const NOW = Date.UTC(2026, 2, 1, 12, 0, 0);
const SHA = 'c0ffee00'.repeat(5);

async function world(options: { on?: boolean; checks?: boolean; headSha?: string | undefined } = {}) {
  const store = createMemoryStore();
  const github = new FakeGitHub();
  if (options.checks ?? true) github.permissions = { ...github.permissions, checks: 'write' };
  const logger = new CaptureLogger();
  const clock = { now: () => NOW };
  const report = createReportJobFailure({
    config: { failureCheckRuns: options.on ?? true, github: { serverUrl: 'https://github.com' } as never },
    github,
    jobs: store.jobs,
    clock,
    logger,
    retryDelayMs: 0,
  });
  const identity = 'headSha' in options ? { headSha: options.headSha } : { headSha: SHA };
  await store.jobs.create(
    newJob(101, {
      ...(identity.headSha !== undefined && { headSha: identity.headSha }),
      jobName: 'test',
      workflowName: 'CI',
    }),
    'd1',
    NOW - 60_000,
  );
  /** The job as the failure handling wrote it. */
  const fail = (failureClass: FailureClass = FailureClass.startTimeout) =>
    store.jobs.update(
      101,
      { statusIn: [JobStatus.queued] },
      {
        set: { status: JobStatus.failed, failureClass, reason: 'no runner seen within 120 s (attempts spent: 3 of 3)' },
        event: { status: JobStatus.failed, note: 'failed' },
      },
      NOW - 1_000,
    );
  const warnings = () => logger.lines.filter((l) => l.includes('"WARN"'));
  return { store, github, logger, report, fail, warnings };
}

describe('reportJobFailure', () => {
  it('posts one failed check run on the commit, with the exact body, when opted in and permitted', async () => {
    const { github, report, fail, store } = await world();
    const failed = await fail();
    expect(await report(failed)).toBe('posted');
    expect(github.checkRuns).toHaveLength(1);
    const posted = github.checkRuns[0];
    expect(posted?.owner).toBe('Octo-Org');
    expect(posted?.repo).toBe('hello-world');
    expect(posted?.installationId).toBe(42);
    expect(posted?.body).toEqual(failureCheckRun(failed, 'https://github.com', NOW));
    expect(posted?.body).toMatchObject({
      name: 'jit-runners: test',
      head_sha: SHA,
      status: 'completed',
      conclusion: 'failure',
      completed_at: '2026-03-01T12:00:00Z',
      details_url: 'https://github.com/Octo-Org/hello-world/actions/runs/7001/job/101',
      output: { title: 'No runner for CI / test: runner never started' },
    });
    const stored = await store.jobs.get(101);
    expect(stored).toMatchObject({ failureCheckRunAt: NOW, failureCheckRunTries: 1, failureCheckRunPostedAt: NOW });
    expect(stored?.failureCheckRunGaveUp).toBeUndefined();
    expect(stored?.history.at(-2)?.note).toContain(`check run claimed for commit ${SHA.slice(0, 12)}`);
    expect(stored?.history.at(-1)?.note).toBe(`failure check run ${posted?.id} posted`);
    // A post that answers is never looked up.
    expect(github.count('findCheckRun')).toBe(0);
  });

  it('logs the outcome only once the job records it (a reader of the line finds it on the job)', async () => {
    const { report, fail, store, logger } = await world();
    const failed = await fail();
    // What the job held at the moment each line was written.
    const seenAtLine: (number | undefined)[] = [];
    const info = logger.info.bind(logger);
    logger.info = (message, fields) => {
      if (message === 'failure check run posted') {
        void store.jobs.get(101).then((job) => seenAtLine.push(job?.failureCheckRunPostedAt));
      }
      info(message, fields);
    };
    expect(await report(failed)).toBe('posted');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(seenAtLine).toEqual([NOW]);
  });

  it('posts nothing and asks nothing when FAILURE_CHECK_RUNS is off', async () => {
    const { github, report, fail } = await world({ on: false });
    expect(await report(await fail())).toBe('off');
    expect(github.calls).toEqual([]);
  });

  it('posts nothing without the checks permission, and warns once naming it', async () => {
    const { github, report, fail, warnings, store } = await world({ checks: false });
    const failed = await fail();
    expect(await report(failed)).toBe('no-permission');
    expect(await report(failed)).toBe('no-permission');
    expect(github.count('createCheckRun')).toBe(0);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain('checks: write');
    expect((await store.jobs.get(101))?.failureCheckRunAt).toBeUndefined();
  });

  it('reads the permission once per installation', async () => {
    const { github, report, fail } = await world();
    const failed = await fail();
    await report(failed);
    await report(failed);
    expect(github.count('installationPermissions')).toBe(1);
  });

  it('posts still one check run when a second signal reports the same failure', async () => {
    const { github, report, fail } = await world();
    const failed = await fail();
    const outcomes = await Promise.all([report(failed), report(failed)]);
    expect(outcomes.sort()).toEqual(['claimed-elsewhere', 'posted']);
    expect(await report(failed)).toBe('claimed-elsewhere');
    expect(github.checkRuns).toHaveLength(1);
  });

  it('logs and skips a job recorded before its commit was kept', async () => {
    const { github, report, fail, logger } = await world({ headSha: undefined });
    expect(await report(await fail())).toBe('no-commit');
    expect(github.count('createCheckRun')).toBe(0);
    expect(logger.text()).toContain('recorded before its commit was kept');
  });

  it('never throws: a store error is logged as a warning', async () => {
    const { report, fail, warnings, store } = await world();
    const failed = await fail();
    const broken = createReportJobFailure({
      config: { failureCheckRuns: true, github: { serverUrl: 'https://github.com' } as never },
      github: Object.assign(new FakeGitHub(), { permissions: { checks: 'write' } }),
      jobs: {
        update: () => Promise.reject(new Error('store unavailable')),
      },
      clock: { now: () => NOW },
      logger: new CaptureLogger(),
    });
    expect(await broken(failed)).toBe('error');
    expect(await report(failed)).toBe('posted');
    expect(warnings()).toEqual([]);
    expect((await store.jobs.get(101))?.failureCheckRunPostedAt).toBe(NOW);
  });

  it('finds the earlier run after a 5xx whose post landed, and posts nothing more', async () => {
    const { github, report, fail, store } = await world();
    github.failuresAfterCreate.push(apiError(502, '{"message":"Bad Gateway"}', POST));
    expect(await report(await fail())).toBe('found');
    expect(github.checkRuns).toHaveLength(1);
    expect(github.calls.map((c) => c.op).filter((op) => op !== 'installationPermissions')).toEqual([
      'createCheckRun',
      'findCheckRun',
    ]);
    const stored = await store.jobs.get(101);
    expect(stored?.failureCheckRunPostedAt).toBe(NOW);
    expect(stored?.history.at(-1)?.note).toContain('found posted by an earlier try');
  });

  it('posts once more after a 5xx (or a network error) that created nothing, once the look-up finds none', async () => {
    const { github, report, fail } = await world();
    github.failures.createCheckRun = [apiError(500, '{"message":"Server Error"}', POST), new Error('socket hang up')];
    expect(await report(await fail())).toBe('posted');
    expect(github.checkRuns).toHaveLength(1);
    expect(github.count('createCheckRun')).toBe(3);
    expect(github.count('findCheckRun')).toBe(2);
  });

  it('stops after three posts and leaves the claim pending for the reconciler', async () => {
    const { github, report, fail, store, warnings } = await world();
    github.failures.createCheckRun = Array.from({ length: 5 }, () => apiError(503, '{}', POST));
    expect(await report(await fail())).toBe('pending');
    expect(github.count('createCheckRun')).toBe(3);
    expect(github.count('findCheckRun')).toBe(2);
    expect(github.checkRuns).toEqual([]);
    const stored = await store.jobs.get(101);
    expect(stored).toMatchObject({ failureCheckRunAt: NOW, failureCheckRunTries: 1 });
    expect(stored?.failureCheckRunPostedAt).toBeUndefined();
    expect(stored?.failureCheckRunGaveUp).toBeUndefined();
    expect(warnings().join('\n')).toContain('the reconciler tries again');
  });

  it('never posts blind: a look-up that fails leaves the claim pending', async () => {
    const { github, report, fail } = await world();
    github.failuresAfterCreate.push(apiError(500, '{}', POST));
    github.failures.findCheckRun = [apiError(502, '{}', 'GET /repos/{owner}/{repo}/commits/{ref}/check-runs')];
    expect(await report(await fail())).toBe('pending');
    expect(github.count('createCheckRun')).toBe(1);
    expect(github.checkRuns).toHaveLength(1);
  });

  it('takes a 403 as final, as before: no look-up, no second post, given up on the job', async () => {
    const { github, report, fail, store, warnings } = await world();
    github.failures.createCheckRun = [apiError(403, '{"message":"Resource not accessible by integration"}', POST)];
    expect(await report(await fail())).toBe('no-permission');
    expect(github.count('createCheckRun')).toBe(1);
    expect(github.count('findCheckRun')).toBe(0);
    expect(warnings()).toHaveLength(1);
    expect((await store.jobs.get(101))?.failureCheckRunGaveUp).toContain('refused it: GitHub answered 403');
  });

  it('takes a 422 as final and a rate limit (429, 403 naming it) as pending, each after one post', async () => {
    const refused = await world();
    refused.github.failures.createCheckRun = [apiError(422, '{"message":"Invalid request"}', POST)];
    expect(await refused.report(await refused.fail())).toBe('refused');
    expect(refused.github.count('createCheckRun')).toBe(1);
    expect((await refused.store.jobs.get(101))?.failureCheckRunGaveUp).toContain('422');

    for (const limited of [
      apiError(429, '{"message":"Too Many Requests"}', POST),
      apiError(403, '{"message":"You have exceeded a secondary rate limit."}', POST),
    ]) {
      const w = await world();
      w.github.failures.createCheckRun = [limited];
      expect(await w.report(await w.fail())).toBe('pending');
      expect(w.github.count('createCheckRun')).toBe(1);
      expect(w.github.count('findCheckRun')).toBe(0);
      expect((await w.store.jobs.get(101))?.failureCheckRunGaveUp).toBeUndefined();
    }
  });

  it('starts no new request past its deadline', async () => {
    const { github, fail, logger, store } = await world();
    github.failures.createCheckRun = [apiError(500, '{}', POST)];
    const report = createReportJobFailure({
      config: { failureCheckRuns: true, github: { serverUrl: 'https://github.com' } as never },
      github,
      jobs: store.jobs,
      clock: { now: () => NOW },
      logger,
      timeoutMs: 20,
      retryDelayMs: 60,
    });
    expect(await report(await fail())).toBe('timed-out');
    await new Promise((r) => setTimeout(r, 100));
    expect(github.count('createCheckRun')).toBe(1);
    expect(github.count('findCheckRun')).toBe(0);
    expect(logger.text()).toContain('retried by the reconciler');
  });

  it('gives up after its deadline when GitHub does not answer', async () => {
    const { github, fail, logger, store } = await world();
    github.installationPermissions = () => new Promise(() => {});
    const report = createReportJobFailure({
      config: { failureCheckRuns: true, github: { serverUrl: 'https://github.com' } as never },
      github,
      jobs: store.jobs,
      clock: { now: () => NOW },
      logger,
      timeoutMs: 20,
    });
    expect(await report(await fail())).toBe('timed-out');
    expect(logger.text()).toContain('did not answer');
  });

  it('ignores a job that is not failed', async () => {
    const { github, report, store } = await world();
    expect(await report((await store.jobs.get(101)) as Job)).toBe('not-failed');
    expect(github.calls).toEqual([]);
  });

  it('logs no token', async () => {
    const { report, fail, logger } = await world();
    await report(await fail());
    expect(logger.text()).not.toMatch(/ghs_|jit-secret/);
  });
});
