import { beforeEach, describe, expect, it } from 'vitest';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import {
  createHandleRunnerSignal,
  type HandleRunnerSignal,
  type RunnerSignal,
} from '../../../functions/use-cases/healing/handle-runner-signal.ts';
import { createRunnerFailureActions } from '../../../functions/use-cases/healing/runner-failure-actions.ts';
import { type HealWorld, healWorld, LINES, REPO_TARGET } from './heal-fixtures.ts';

const KEY = 'octo/app';

describe('handleRunnerSignal', () => {
  let w: HealWorld;
  let handle: HandleRunnerSignal;

  const build = (world: HealWorld) =>
    createHandleRunnerSignal({
      config: world.config,
      jobs: world.store.jobs,
      actions: world.actions,
      confirm: world.confirm,
      clock: world.clock,
      logger: world.logger,
    });

  const log = (runnerName: string, line: string, launchId = `rec-${runnerName}`): RunnerSignal => ({
    kind: 'log',
    runnerName,
    line,
    source: 'stderr',
    at: w.clock.now(),
    launchId,
  });

  /** GitHub forgets the runner's registration (what a genuine registration-gone line reports). */
  const unregister = (runnerName: string) => {
    const runner = w.github.byName(runnerName);
    if (runner) w.github.runners.delete(runner.id);
  };

  const setup = async (env: Record<string, string> = {}) => {
    w = healWorld(env);
    handle = build(w);
    await w.launchedJob(1);
    w.calls.length = 0;
    w.dispatcher.dispatched.length = 0;
    w.github.calls.length = 0;
  };

  beforeEach(async () => {
    await setup();
  });

  describe('lines that match no failure signature', () => {
    it('cost zero store calls and do nothing', async () => {
      for (const line of [LINES.listening, LINES.connected, LINES.runningJob, '', '   ', 'random output 42']) {
        expect((await handle(log('jr-1-1', line))).acted).toBe(false);
      }
      expect(w.calls).toEqual([]);
      expect(w.github.calls).toEqual([]);
    });

    it('also cost nothing when the runner retries by itself (session conflict)', async () => {
      expect((await handle(log('jr-1-1', LINES.sessionConflict))).acted).toBe(false);
      expect(w.calls).toEqual([]);
    });

    it('cost nothing for runners that are not JIT runners of this fleet (baseline runner, other names)', async () => {
      for (const name of ['jr-baseline-octo-app-ab12', 'someone-else-1-1', 'GitHub Actions 2']) {
        expect((await handle(log(name, LINES.badRequest))).acted).toBe(false);
      }
      expect(w.calls).toEqual([]);
    });
  });

  describe('metadata-missing (Failed to get job message … BadRequest)', () => {
    it('marks the baseline missing, stops the runner, deletes its registration and moves the job to the next attempt', async () => {
      const runnerId = (await w.store.jobs.get(1))?.runnerId as number;
      expect(w.github.runners.has(runnerId)).toBe(true);

      const outcome = await handle(log('jr-1-1', LINES.badRequest));

      expect(outcome).toMatchObject({ acted: true, action: 'heal-metadata' });
      const job = await w.store.jobs.get(1);
      expect(job).toMatchObject({ status: 'healing', attempt: 2, heals: 1, failureClass: 'metadata-missing' });
      expect(job?.history.at(-1)?.note).toContain('metadata-missing (broker-bad-request) on runner jr-1-1');
      expect(await w.store.baselines.get(KEY)).toMatchObject({ state: 'missing', workarounds: 0, installationId: 5 });
      expect(w.forgotten).toEqual([KEY]);
      expect(w.launcher.stopped).toEqual(['rec-jr-1-1']);
      expect(w.github.runners.has(runnerId)).toBe(false);
      expect(await w.store.runners.get('jr-1-1')).toMatchObject({ kind: 'jit', state: 'stopped', jobId: 1 });
      expect(w.dispatcher.ids()).toEqual([1]);
    });

    it('hands the job to the provisioner, whose gate asks for the workaround and holds the mint', async () => {
      await handle(log('jr-1-1', LINES.badRequest));
      expect(await w.provision(1)).toBe('waiting');
      expect(w.workaroundRequests).toEqual([KEY]);
      expect(w.github.count('generateJitConfig')).toBe(0);
      expect((await w.store.jobs.get(1))?.status).toBe('queued');
    });

    it('acts once for 200 identical lines arriving at once', async () => {
      const outcomes = await Promise.all(Array.from({ length: 200 }, () => handle(log('jr-1-1', LINES.badRequest))));

      expect(outcomes.filter((o) => o.acted)).toHaveLength(1);
      // One job read for 200 lines: the copies were dropped in memory while the first was handled.
      expect(w.calls.filter((c) => c === 'jobs.get')).toHaveLength(1);
      expect(w.launcher.stopped).toHaveLength(1);
      expect(w.github.count('deleteRunner')).toBe(1);
      expect(w.dispatcher.dispatched).toHaveLength(1);
      const job = await w.store.jobs.get(1);
      expect(job).toMatchObject({ attempt: 2, heals: 1 });
      expect(job?.history.filter((e) => e.status === JobStatus.healing)).toHaveLength(1);
    });

    it('drops later copies of the line without any store call once it acted', async () => {
      await handle(log('jr-1-1', LINES.badRequest));
      w.calls.length = 0;
      for (let i = 0; i < 200; i++) await handle(log('jr-1-1', LINES.badRequest));
      expect(w.calls).toEqual([]);
    });

    it('acts once when two processes see the same line (the conditional job write elects one)', async () => {
      const other = createHandleRunnerSignal({
        config: w.config,
        jobs: w.store.jobs,
        actions: createRunnerFailureActions({
          config: w.config,
          store: w.store,
          github: w.github,
          launcher: w.launcher,
          dispatcher: w.dispatcher,
          scopeGuard: w.scopeGuard,
          baselineGate: w.baselineGate,
          clock: w.clock,
          logger: w.logger,
          metrics: w.metrics,
        }),
        confirm: w.confirm,
        clock: w.clock,
        logger: w.logger,
      });
      const [a, b] = await Promise.all([
        handle(log('jr-1-1', LINES.badRequest)),
        other(log('jr-1-1', LINES.badRequest)),
      ]);
      expect([a.acted, b.acted].sort()).toEqual([false, true]);
      expect((await w.store.jobs.get(1))?.attempt).toBe(2);
      expect(w.launcher.stopped).toHaveLength(1);
    });

    it('ignores a stale attempt: the runner of attempt 1 when the job is at attempt 2', async () => {
      await w.store.jobs.update(1, {}, { set: { attempt: 2, runnerName: 'jr-1-2' } }, w.clock.now());
      w.calls.length = 0;
      const outcome = await handle(log('jr-1-1', LINES.badRequest));
      expect(outcome.acted).toBe(false);
      expect(outcome.note).toContain('attempt 1');
      expect(w.calls).toEqual(['jobs.get']);
      expect(w.launcher.stopped).toEqual([]);
      // Stale for good: no further read.
      await handle(log('jr-1-1', LINES.badRequest));
      expect(w.calls).toEqual(['jobs.get']);
    });

    it('ignores signals for a job that already ended', async () => {
      await w.store.jobs.update(1, {}, { set: { status: JobStatus.completed } }, w.clock.now());
      expect((await handle(log('jr-1-1', LINES.badRequest))).acted).toBe(false);
      expect(w.launcher.stopped).toEqual([]);
    });

    it('ignores the line while the launch is not recorded yet, and acts on a later copy', async () => {
      await w.store.jobs.update(1, {}, { set: { status: JobStatus.provisioning } }, w.clock.now());
      expect((await handle(log('jr-1-1', LINES.badRequest))).acted).toBe(false);
      await w.store.jobs.update(1, {}, { set: { status: JobStatus.launched } }, w.clock.now());
      expect((await handle(log('jr-1-1', LINES.badRequest))).acted).toBe(true);
    });

    it('only re-mints when a baseline was verified after this runner was minted (another job healed the scope)', async () => {
      w.clock.advance(10_000);
      await w.store.baselines.put(
        { scopeKey: KEY, state: 'present', method: 'workaround', verifiedOnlineAt: w.clock.now(), workarounds: 1 },
        0,
        w.clock.now(),
      );
      const outcome = await handle(log('jr-1-1', LINES.badRequest));
      expect(outcome.action).toBe('remint');
      expect((await w.store.baselines.get(KEY))?.state).toBe('present');
      expect((await w.store.jobs.get(1))?.attempt).toBe(2);
    });

    it('fails the job with the class and a human reason once its attempts are spent, and still stops the runner', async () => {
      await w.store.jobs.update(1, {}, { set: { attempt: 3, runnerName: 'jr-1-3' } }, w.clock.now());
      const outcome = await handle(log('jr-1-3', LINES.badRequest));
      expect(outcome).toMatchObject({ acted: true, action: 'fail' });
      const job = await w.store.jobs.get(1);
      expect(job?.status).toBe('failed');
      expect(job?.failureClass).toBe('metadata-missing');
      expect(job?.reason).toMatch(/^metadata-missing: .*gave up after 3 attempts \(limit 3 per job\)$/);
      expect(job?.history.at(-1)?.status).toBe('failed');
      expect(w.launcher.stopped).toEqual(['rec-jr-1-1']);
    });

    it('fails the job when the scope already spent its workarounds', async () => {
      await w.store.baselines.put({ scopeKey: KEY, state: 'failed', workarounds: 3 }, 0, w.clock.now());
      await handle(log('jr-1-1', LINES.badRequest));
      const job = await w.store.jobs.get(1);
      expect(job?.status).toBe('failed');
      expect(job?.reason).toContain('already ran 3 times');
    });

    it('with BASELINE_POLICY=off re-mints without a workaround, then fails with a reason naming the policy', async () => {
      await setup({ BASELINE_POLICY: 'off' });
      expect((await handle(log('jr-1-1', LINES.badRequest))).action).toBe('remint');
      await w.store.jobs.update(1, {}, { set: { attempt: 3, status: JobStatus.launched } }, w.clock.now());
      // As if attempt 3 had been minted: GitHub knows its runner.
      w.github.register(REPO_TARGET, 'jr-1-3');
      await handle(log('jr-1-3', LINES.badRequest));
      const job = await w.store.jobs.get(1);
      expect(job?.status).toBe('failed');
      expect(job?.reason).toContain('baseline policy off');
    });
  });

  describe('breaker open', () => {
    it("opens the scope's breaker, stops and deletes the runner, and parks the job until the breaker closes", async () => {
      const outcome = await handle(log('jr-1-1', LINES.breakerOpen));

      expect(outcome).toMatchObject({ acted: true, action: 'open-breaker' });
      const breaker = await w.store.breakers.get(KEY);
      expect(breaker?.openUntil).toBeGreaterThan(w.clock.now());
      const job = await w.store.jobs.get(1);
      expect(job).toMatchObject({ status: 'waiting-breaker', attempt: 1, heals: 0, notBefore: breaker?.openUntil });
      expect(w.launcher.stopped).toEqual(['rec-jr-1-1']);
      expect(w.github.count('deleteRunner')).toBe(1);
      expect(w.dispatcher.dispatched).toEqual([{ jobId: 1, delayMs: (breaker?.openUntil ?? 0) - w.clock.now() }]);
      // The provisioner waits for the breaker and makes no GitHub call meanwhile.
      w.github.calls.length = 0;
      expect(await w.provision(1)).toBe('waiting');
      expect(w.github.calls).toEqual([]);
    });
  });

  describe('version deprecated', () => {
    it('moves the job to the next attempt, which the provisioner launches with the fallback version', async () => {
      const outcome = await handle(log('jr-1-1', LINES.versionDeprecated));
      expect(outcome.action).toBe('relaunch');
      expect(await w.store.jobs.get(1)).toMatchObject({ attempt: 2, failureClass: 'version-deprecated' });
      expect(await w.provision(1)).toBe('launched');
      expect(w.launcher.launches.at(-1)).toMatchObject({ runnerName: 'jr-1-2', runnerVersion: '2.329.0' });
    });

    it('fails the job with a clear reason when no fallback version is configured', async () => {
      await setup({ RUNNER_FALLBACK_VERSION: '' });
      await handle(log('jr-1-1', LINES.versionDeprecated));
      const job = await w.store.jobs.get(1);
      expect(job?.status).toBe('failed');
      expect(job?.reason).toContain('no fallback version is configured');
    });
  });

  describe('registration gone', () => {
    it('re-mints when the registration vanished', async () => {
      unregister('jr-1-1');
      expect((await handle(log('jr-1-1', LINES.registrationGone))).action).toBe('remint');
      expect((await w.store.jobs.get(1))?.attempt).toBe(2);
    });

    it('ignores it when we deleted the runner on purpose', async () => {
      await w.store.runners.put(
        {
          name: 'jr-1-1',
          kind: 'jit',
          scopeKey: KEY,
          installationId: 5,
          jobId: 1,
          version: '2.330.0',
          state: 'stopped',
          createdAt: 0,
        },
        w.clock.now(),
      );
      const outcome = await handle(log('jr-1-1', LINES.registrationGone));
      expect(outcome.acted).toBe(false);
      expect((await w.store.jobs.get(1))?.attempt).toBe(1);
    });
  });

  describe('the heal budget (MAX_HEALS_PER_JOB)', () => {
    it('fails the job once its configured failure-handling steps are spent, even with attempts left', async () => {
      await setup({ MAX_HEALS_PER_JOB: '2' });
      await w.store.jobs.update(1, {}, { set: { heals: 2 } }, w.clock.now());
      unregister('jr-1-1');
      expect((await handle(log('jr-1-1', LINES.registrationGone))).action).toBe('fail');
      const job = await w.store.jobs.get(1);
      expect(job?.status).toBe('failed');
      expect(job?.reason).toContain('gave up after 2 failure-handling steps (limit 2 per job)');
    });

    it('re-mints under the default limit with the same number of heals spent', async () => {
      await w.store.jobs.update(1, {}, { set: { heals: 2 } }, w.clock.now());
      unregister('jr-1-1');
      expect((await handle(log('jr-1-1', LINES.registrationGone))).action).toBe('remint');
    });
  });

  describe('config-class lines (clock skew)', () => {
    it('fail the job with the fix in the reason', async () => {
      await handle(log('jr-1-1', LINES.clockSkew));
      const job = await w.store.jobs.get(1);
      expect(job?.status).toBe('failed');
      expect(job?.failureClass).toBe('config');
      expect(job?.reason).toContain('NTP');
    });
  });

  describe('runner exit and platform state', () => {
    const exit = (code: number | null, at = w.clock.now()): RunnerSignal => ({
      kind: 'exit',
      runnerName: 'jr-1-1',
      code,
      signal: code === null ? 'SIGKILL' : null,
      at,
      launchId: 'rec-jr-1-1',
    });

    it('re-mints when the runner exits non-zero while the job is still launched (without stopping a dead process)', async () => {
      const outcome = await handle(exit(1));
      expect(outcome.action).toBe('remint');
      expect(await w.store.jobs.get(1)).toMatchObject({ status: 'healing', attempt: 2 });
      expect(w.launcher.stopped).toEqual([]);
      expect(w.github.count('deleteRunner')).toBe(1);
    });

    it('ignores a clean exit, an exit once the job runs, and an exit from before the current launch', async () => {
      expect((await handle(exit(0))).acted).toBe(false);
      expect((await handle(exit(1, w.clock.now() - 1))).acted).toBe(false);
      await w.store.jobs.update(1, {}, { set: { status: JobStatus.running } }, w.clock.now());
      expect((await handle(exit(1))).acted).toBe(false);
      expect((await w.store.jobs.get(1))?.attempt).toBe(1);
    });

    it('ignores the exit of a runner we stopped ourselves', async () => {
      await w.store.runners.put(
        {
          name: 'jr-1-1',
          kind: 'jit',
          scopeKey: KEY,
          installationId: 5,
          jobId: 1,
          version: '2.330.0',
          state: 'stopping',
          createdAt: 0,
        },
        w.clock.now(),
      );
      expect((await handle(exit(null))).acted).toBe(false);
    });

    it('fails the job after the last attempt exits, with the exit in the reason', async () => {
      await w.store.jobs.update(1, {}, { set: { attempt: 3, runnerName: 'jr-1-3' } }, w.clock.now());
      await handle({ ...exit(3), runnerName: 'jr-1-3' });
      const job = await w.store.jobs.get(1);
      expect(job?.status).toBe('failed');
      expect(job?.reason).toContain('exited with code 3');
      expect(job?.reason).toContain('gave up after 3 attempts');
    });

    it('treats a failed CodeBuild build or terminated instance like a non-zero exit', async () => {
      expect(
        (await handle({ kind: 'state', runnerName: 'jr-1-1', state: 'IN_PROGRESS', at: w.clock.now() })).acted,
      ).toBe(false);
      w.launcher.ended.add('jr-1-1');
      expect((await handle({ kind: 'state', runnerName: 'jr-1-1', state: 'FAILED', at: w.clock.now() })).action).toBe(
        'remint',
      );
    });
  });

  describe("the bootstrap's checksum mismatch", () => {
    const MISMATCH =
      'jit-runners bootstrap: error: checksum mismatch for runner version 2.330.0 (actions-runner-linux-x64-2.330.0.tar.gz): expected sha256 af5c33fa94f3cc33b8e97937939136a6b04197e6dadfcfb3b6e33ae1bf41e79a, got 0000000000000000000000000000000000000000000000000000000000000000; refusing to run it';

    it('fails the job at once from the log line, naming the version and the expected digest', async () => {
      const launches = w.launcher.launches.length;
      const outcome = await handle(log('jr-1-1', MISMATCH));
      expect(outcome.action).toBe('fail');
      const job = await w.store.jobs.get(1);
      expect(job).toMatchObject({ status: 'failed', attempt: 1, failureClass: 'checksum-mismatch' });
      expect(job?.reason).toContain('version v2.330.0');
      expect(job?.reason).toContain('expected sha256 af5c33fa94f3cc33b8e97937939136a6b04197e6dadfcfb3b6e33ae1bf41e79a');
      expect(w.launcher.launches).toHaveLength(launches); // no new runner
    });

    it('fails the job at once when the ended build reports the bootstrap exit 4 first, with no new runner', async () => {
      w.launcher.ended.add('jr-1-1');
      const ended = { kind: 'state', runnerName: 'jr-1-1', state: 'FAILED', at: w.clock.now() } as const;
      const outcome = await handle({ ...ended, exitCode: 4 });
      expect(outcome.action).toBe('fail');
      const job = await w.store.jobs.get(1);
      expect(job).toMatchObject({ status: 'failed', attempt: 1, failureClass: 'checksum-mismatch' });
      expect(job?.reason).toContain('exit 4');
      // The line arriving after it changes nothing.
      expect((await handle(log('jr-1-1', MISMATCH))).acted).toBe(false);
    });

    it('still re-mints after an ended build whose exit a fresh runner may fix', async () => {
      w.launcher.ended.add('jr-1-1');
      const outcome = await handle({
        kind: 'state',
        runnerName: 'jr-1-1',
        state: 'FAILED',
        at: w.clock.now(),
        exitCode: 6,
      });
      expect(outcome.action).toBe('remint');
    });
  });

  it('never logs a JIT config or token', async () => {
    await handle(log('jr-1-1', LINES.badRequest));
    expect(w.logger.text()).not.toMatch(/jit-secret-|REGTOKEN/);
  });
});
