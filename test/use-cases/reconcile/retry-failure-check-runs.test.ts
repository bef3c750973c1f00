import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import { failureCheckRun } from '../../../functions/domain/failure-advice.ts';
import { FailureClass } from '../../../functions/domain/failure-class.ts';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import {
  createRetryFailureCheckRuns,
  FAILURE_CHECK_RUNS_CURSOR,
} from '../../../functions/use-cases/reconcile/retry-failure-check-runs.ts';
import { failureCheckRunPending } from '../../../functions/use-cases/reporting/deliver-failure-check-run.ts';
import { createReportJobFailure } from '../../../functions/use-cases/reporting/report-job-failure.ts';
import { newJob } from '../../adapters/store/store-contract.ts';
import { CaptureLogger } from '../../support/capture-logger.ts';
import { apiError, FakeGitHub } from '../../support/fake-github.ts';

const NOW = Date.UTC(2026, 2, 1, 12, 0, 0);
const SHA = 'c0ffee00'.repeat(5);
const MIN = 60_000;
const POST = 'POST /repos/{owner}/{repo}/check-runs';
const CONFIG = { failureCheckRuns: true, github: { serverUrl: 'https://github.com' } as never };
const fiveHundreds = (n: number) => Array.from({ length: n }, () => apiError(500, '{}', POST));

/** A job that failed at NOW and whose report left its check run claimed but not posted. */
async function world(options: { on?: boolean } = {}) {
  const store = createMemoryStore();
  const github = new FakeGitHub();
  github.permissions = { ...github.permissions, checks: 'write' };
  const logger = new CaptureLogger();
  let now = NOW;
  const report = createReportJobFailure({
    config: CONFIG,
    github,
    jobs: store.jobs,
    clock: { now: () => now },
    logger,
    retryDelayMs: 0,
  });
  const retry = createRetryFailureCheckRuns({
    config: { ...CONFIG, failureCheckRuns: options.on ?? true },
    github,
    store,
    logger,
  });
  await store.jobs.create(newJob(101, { headSha: SHA, jobName: 'test', workflowName: 'CI' }), 'd1', NOW - MIN);
  const failed = await store.jobs.update(
    101,
    { statusIn: [JobStatus.queued] },
    {
      set: { status: JobStatus.failed, failureClass: FailureClass.startTimeout, reason: 'no runner seen' },
      event: { status: JobStatus.failed, note: 'failed' },
    },
    NOW,
  );
  const pass = (at: number) => {
    now = at;
    return retry(at);
  };
  return { store, github, logger, report, failed, pass, job: () => store.jobs.get(101) };
}

describe('retryFailureCheckRuns', () => {
  it('retries a claimed, unposted check run once it is due: one look-up, one post of the same body', async () => {
    const { github, report, failed, pass, job } = await world();
    github.failures.createCheckRun = fiveHundreds(3);
    expect(await report(failed)).toBe('pending');
    github.calls.length = 0;

    // Not before 2 min after the claim: a post of the report may still be in flight.
    expect(await pass(NOW + MIN)).toMatchObject({ retried: 0, pending: 1 });
    expect(github.calls).toEqual([]);

    expect(await pass(NOW + 2 * MIN + 1)).toMatchObject({ retried: 1, posted: 1, pending: 0 });
    expect(github.calls.map((c) => c.op)).toEqual(['findCheckRun', 'createCheckRun']);
    expect(github.checkRuns).toHaveLength(1);
    expect(github.checkRuns[0]?.body).toEqual(failureCheckRun(failed, 'https://github.com', NOW));
    const stored = await job();
    expect(stored).toMatchObject({ failureCheckRunTries: 2, failureCheckRunPostedAt: NOW + 2 * MIN + 1 });
    expect(stored?.history.map((e) => e.note)).toContain('failure check run retried (try 2 of 5)');

    // Posted: later passes leave it alone.
    expect(await pass(NOW + 10 * MIN)).toMatchObject({ retried: 0, posted: 0, pending: 0 });
    expect(github.checkRuns).toHaveLength(1);
  });

  it('finds the run an earlier post landed and posts nothing', async () => {
    const { github, report, failed, pass, job } = await world();
    github.failuresAfterCreate.push(apiError(502, '{}', POST));
    github.failures.findCheckRun = [apiError(503, '{}', 'GET /repos/{owner}/{repo}/commits/{ref}/check-runs')];
    expect(await report(failed)).toBe('pending');
    expect(github.checkRuns).toHaveLength(1);

    expect(await pass(NOW + 3 * MIN)).toMatchObject({ retried: 1, found: 1, posted: 0 });
    expect(github.count('createCheckRun')).toBe(1);
    expect(github.checkRuns).toHaveLength(1);
    expect((await job())?.failureCheckRunPostedAt).toBe(NOW + 3 * MIN);
  });

  it('retries a claim whose process died before posting anything', async () => {
    const { github, store, failed, pass } = await world();
    await store.jobs.update(
      101,
      { version: failed.version },
      { set: { failureCheckRunAt: NOW, failureCheckRunTries: 1 } },
      NOW,
    );
    expect(await pass(NOW + 3 * MIN)).toMatchObject({ retried: 1, posted: 1 });
    expect(github.checkRuns).toHaveLength(1);
  });

  it('is bounded: backs off, and gives up after five tries counting the report', async () => {
    const { github, report, failed, pass, job } = await world();
    github.failures.createCheckRun = fiveHundreds(100);
    expect(await report(failed)).toBe('pending');
    const retried: number[] = [];
    for (let at = NOW + MIN; at <= NOW + 60 * MIN; at += MIN) {
      if ((await pass(at)).retried > 0) retried.push((at - NOW) / MIN);
    }
    // 2, 4, 8 and 16 min after each round's write.
    expect(retried).toEqual([2, 6, 14, 30]);
    expect(github.count('createCheckRun')).toBe(3 + 4);
    const stored = await job();
    expect(stored?.failureCheckRunTries).toBe(5);
    expect(stored?.failureCheckRunGaveUp).toBe('not posted after 5 tries');
    expect(stored && failureCheckRunPending(stored)).toBe(false);
  });

  it('gives up a claim older than an hour without asking GitHub', async () => {
    const { github, store, failed, pass, job } = await world();
    await store.jobs.update(
      101,
      { version: failed.version },
      { set: { failureCheckRunAt: NOW - 61 * MIN, failureCheckRunTries: 1 } },
      NOW,
    );
    expect(await pass(NOW + 3 * MIN)).toMatchObject({ retried: 0, gaveUp: 1 });
    expect(github.calls).toEqual([]);
    expect((await job())?.failureCheckRunGaveUp).toBe('not posted within an hour of the failure');
  });

  it('takes a refusal as final', async () => {
    const { github, report, failed, pass, job } = await world();
    github.failures.createCheckRun = [...fiveHundreds(3), apiError(422, '{"message":"Invalid request"}', POST)];
    expect(await report(failed)).toBe('pending');
    expect(await pass(NOW + 3 * MIN)).toMatchObject({ retried: 1, gaveUp: 1 });
    expect((await job())?.failureCheckRunGaveUp).toContain('422');
    expect(await pass(NOW + 30 * MIN)).toMatchObject({ retried: 0 });
  });

  it('keeps its cursor at a job not due yet, and at now otherwise', async () => {
    const { github, store, report, failed, pass } = await world();
    github.failures.createCheckRun = fiveHundreds(3);
    await report(failed);
    await pass(NOW + MIN);
    expect(JSON.parse((await store.locks.getValue(FAILURE_CHECK_RUNS_CURSOR)) ?? '{}')).toEqual({ since: NOW });
    await pass(NOW + 3 * MIN);
    expect(JSON.parse((await store.locks.getValue(FAILURE_CHECK_RUNS_CURSOR)) ?? '{}')).toEqual({
      since: NOW + 3 * MIN,
    });
  });

  it('does nothing with FAILURE_CHECK_RUNS off', async () => {
    const { github, store, report, failed, pass } = await world({ on: false });
    github.failures.createCheckRun = fiveHundreds(3);
    await report(failed);
    github.calls.length = 0;
    expect(await pass(NOW + 3 * MIN)).toMatchObject({ read: 0, retried: 0 });
    expect(github.calls).toEqual([]);
    expect(await store.locks.getValue(FAILURE_CHECK_RUNS_CURSOR)).toBeUndefined();
  });
});
