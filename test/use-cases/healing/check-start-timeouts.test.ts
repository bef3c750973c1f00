import { beforeEach, describe, expect, it } from 'vitest';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import { createCheckStartTimeouts } from '../../../functions/use-cases/healing/check-start-timeouts.ts';
import { apiError } from '../../support/fake-github.ts';
import { type HealWorld, healWorld } from './heal-fixtures.ts';

const KEY = 'octo/app';
const RUNNER_LOOKUP = 'GET /repos/{owner}/{repo}/actions/runners/{runner_id}';
/** RUNNER_START_TIMEOUT_SECONDS default. */
const TIMEOUT_MS = 120_000;

describe('checkStartTimeouts', () => {
  let w: HealWorld;
  let check: ReturnType<typeof createCheckStartTimeouts>;

  const setup = async (env: Record<string, string> = {}) => {
    w = healWorld(env);
    check = createCheckStartTimeouts({
      config: w.config,
      jobs: w.store.jobs,
      github: w.github,
      scopeGuard: w.scopeGuard,
      actions: w.actions,
      logger: w.logger,
    });
    await w.launchedJob(1);
    w.github.calls.length = 0;
    w.dispatcher.dispatched.length = 0;
  };

  beforeEach(async () => {
    await setup();
  });

  const runnerId = async () => (await w.store.jobs.get(1))?.runnerId as number;

  it('makes no GitHub call while no launched runner is past the start timeout', async () => {
    const report = await check(w.clock.now() + TIMEOUT_MS - 1);
    expect(report).toEqual({ overdue: 0, results: [] });
    expect(w.github.calls).toEqual([]);
  });

  it('heals the scope when GitHub answers 503 for our launched runner (metadata missing)', async () => {
    w.github.failures.getRunner = [apiError(503, '{"message":"Service Unavailable"}', RUNNER_LOOKUP)];
    const report = await check(w.clock.now() + TIMEOUT_MS);

    expect(report.overdue).toBe(1);
    expect(report.results[0]).toMatchObject({
      jobId: 1,
      runnerName: 'jr-1-1',
      finding: 'api-runner-lookup-5xx',
      action: 'heal-metadata',
      acted: true,
    });
    expect(await w.store.jobs.get(1)).toMatchObject({
      status: 'healing',
      attempt: 2,
      failureClass: 'metadata-missing',
    });
    expect((await w.store.baselines.get(KEY))?.state).toBe('missing');
    expect(w.launcher.stopped).toEqual(['rec-jr-1-1']);
    expect(w.dispatcher.ids()).toEqual([1]);
    // The 5xx counts toward the scope's breaker (one of three).
    expect((await w.store.breakers.get(KEY))?.consecutiveFailures).toBe(1);
  });

  it('re-mints when GitHub no longer knows the runner (404: registration gone)', async () => {
    w.github.runners.delete(await runnerId());
    const report = await check(w.clock.now() + TIMEOUT_MS);
    expect(report.results[0]).toMatchObject({ finding: 'timeout-registration-gone', action: 'remint', acted: true });
    expect(await w.store.jobs.get(1)).toMatchObject({
      status: 'healing',
      attempt: 2,
      failureClass: 'registration-gone',
    });
  });

  it('heals a scope without a baseline when the runner never came online', async () => {
    const report = await check(w.clock.now() + TIMEOUT_MS);
    expect(report.results[0]).toMatchObject({ finding: 'timeout-never-online', action: 'heal-metadata', acted: true });
    expect((await w.store.baselines.get(KEY))?.state).toBe('missing');
  });

  it('only re-mints a runner that never came online in a scope with a verified baseline', async () => {
    await w.store.baselines.put({ scopeKey: KEY, state: 'present', method: 'observed', workarounds: 0 }, 0, 0);
    const report = await check(w.clock.now() + TIMEOUT_MS);
    expect(report.results[0]).toMatchObject({ finding: 'timeout-never-online', action: 'remint', acted: true });
    expect((await w.store.baselines.get(KEY))?.state).toBe('present');
  });

  it('leaves a busy runner alone (it is running the job; the webhook was late)', async () => {
    const runner = w.github.runners.get(await runnerId());
    if (runner) Object.assign(runner, { status: 'online', busy: true });
    const report = await check(w.clock.now() + TIMEOUT_MS);
    expect(report.results[0]).toMatchObject({ finding: 'runner-busy', acted: false });
    expect((await w.store.jobs.get(1))?.status).toBe(JobStatus.launched);
  });

  it('acts on an idle online runner only while GitHub still shows the job queued', async () => {
    const runner = w.github.runners.get(await runnerId());
    if (runner) runner.status = 'online';
    w.github.jobs.set(1, { id: 1, status: 'in_progress', conclusion: null, runnerName: 'someone-else' });
    expect((await check(w.clock.now() + TIMEOUT_MS)).results[0]).toMatchObject({
      finding: 'job-not-queued',
      acted: false,
    });

    w.github.jobs.set(1, { id: 1, status: 'queued', conclusion: null, runnerName: null });
    expect((await check(w.clock.now() + TIMEOUT_MS)).results[0]).toMatchObject({
      finding: 'timeout-not-picked',
      acted: true,
    });
  });

  it('never reads an idle runner as not picked while GitHub shows the job waiting for an approval', async () => {
    const runner = w.github.runners.get(await runnerId());
    if (runner) runner.status = 'online';
    w.github.jobs.set(1, { id: 1, status: 'waiting', conclusion: null, runnerName: null });
    expect((await check(w.clock.now() + 10 * TIMEOUT_MS)).results[0]).toMatchObject({
      finding: 'job-not-queued',
      acted: false,
    });
    expect((await w.store.jobs.get(1))?.status).toBe(JobStatus.launched);
    expect(await w.store.baselines.get(KEY)).toBeUndefined();
  });

  it('counts the start timeout from when the job became assignable again, not from an older launch', async () => {
    const assignableAt = w.clock.now() + 10 * TIMEOUT_MS;
    await w.store.jobs.update(1, {}, { set: { assignableAt } }, w.clock.now());
    expect((await check(assignableAt + TIMEOUT_MS - 1)).overdue).toBe(0);
    expect(w.github.calls).toEqual([]);
    expect((await check(assignableAt + TIMEOUT_MS)).overdue).toBe(1);
  });

  it("parks the job when GitHub answers `breaker open`, and asks nothing more while the scope's breaker is open", async () => {
    w.github.failures.getRunner = [apiError(503, '{"message":"breaker open"}', RUNNER_LOOKUP)];
    const first = await check(w.clock.now() + TIMEOUT_MS);
    expect(first.results[0]).toMatchObject({ finding: 'api-breaker-open', action: 'open-breaker', acted: true });
    expect((await w.store.jobs.get(1))?.status).toBe('waiting-breaker');

    // Another overdue job of the same scope: skipped without a call while the breaker is open.
    await w.store.jobs.update(1, {}, { set: { status: JobStatus.launched } }, w.clock.now());
    w.github.calls.length = 0;
    const second = await check(w.clock.now() + TIMEOUT_MS);
    expect(second.results[0]).toMatchObject({ finding: 'breaker-open', acted: false });
    expect(w.github.calls).toEqual([]);
  });

  it('fails the job with a reason when its attempts are spent', async () => {
    await w.store.jobs.update(1, {}, { set: { attempt: 3 } }, w.clock.now());
    await check(w.clock.now() + TIMEOUT_MS);
    const job = await w.store.jobs.get(1);
    expect(job?.status).toBe('failed');
    expect(job?.failureClass).toBe('start-timeout');
    expect(job?.reason).toContain('never came online within 120 s');
  });

  it('keeps checking other jobs when one check throws (the next tick retries it)', async () => {
    await w.launchedJob(2);
    w.memory.failNext('jobs.update');
    const report = await check(w.clock.now() + TIMEOUT_MS);
    expect(report.results.map((r) => [r.jobId, r.finding, r.acted])).toEqual([
      [1, 'error', false],
      [2, 'timeout-never-online', true],
    ]);
    expect((await w.store.jobs.get(1))?.attempt).toBe(1);
    expect((await w.store.jobs.get(2))?.attempt).toBe(2);
    expect((await check(w.clock.now() + TIMEOUT_MS)).results).toMatchObject([{ jobId: 1, acted: true }]);
  });
});
