import { beforeEach, describe, expect, it } from 'vitest';
import { GitHubRequestError } from '../../../functions/ports/github.ts';
import {
  createHandleRunnerSignal,
  type HandleRunnerSignal,
  type RunnerSignal,
  UNCONFIRMED_QUIET_MS,
} from '../../../functions/use-cases/healing/handle-runner-signal.ts';
import { type HealWorld, healWorld, LINES } from './heal-fixtures.ts';

const KEY = 'octo/app';
const RUNNER_ENDPOINT = 'GET /repos/{owner}/{repo}/actions/runners/{runner_id}';

describe('runner signals are hints (confirmed through GitHub or the platform before anything acts)', () => {
  let w: HealWorld;
  let handle: HandleRunnerSignal;
  let runnerId: number;

  const log = (line: string, runnerName = 'jr-1-1'): RunnerSignal => ({
    kind: 'log',
    runnerName,
    line,
    source: 'cloudwatch:codebuild/forged',
    at: w.clock.now(),
    launchId: `rec-${runnerName}`,
  });

  /** GitHub's view of a healthy runner: online, busy with its job, the job in progress on it. */
  const healthy = () => {
    const runner = w.github.runners.get(runnerId);
    if (!runner) throw new Error('runner not registered');
    runner.status = 'online';
    runner.busy = true;
    w.github.jobs.set(1, { id: 1, status: 'in_progress', conclusion: null, runnerName: 'jr-1-1' });
  };

  /** Nothing was stopped, deleted, opened, dispatched or spent. */
  const expectNothingSpent = async () => {
    expect(await w.store.jobs.get(1)).toMatchObject({ status: 'launched', attempt: 1, heals: 0 });
    expect(await w.store.baselines.get(KEY)).toBeUndefined();
    expect(await w.store.breakers.get(KEY)).toBeUndefined();
    expect(w.launcher.stopped).toEqual([]);
    expect(w.github.count('deleteRunner')).toBe(0);
    expect(w.github.count('createRegistrationToken')).toBe(0);
    expect(w.dispatcher.dispatched).toEqual([]);
    expect(w.workaroundRequests).toEqual([]);
  };

  beforeEach(async () => {
    w = healWorld();
    handle = createHandleRunnerSignal({
      config: w.config,
      jobs: w.store.jobs,
      actions: w.actions,
      confirm: w.confirm,
      clock: w.clock,
      logger: w.logger,
    });
    runnerId = (await w.launchedJob(1)).runnerId as number;
    w.github.calls.length = 0;
    w.dispatcher.dispatched.length = 0;
  });

  describe('a forged line for a runner whose API state is healthy', () => {
    it('spends no workaround and stops nothing for a metadata-missing line', async () => {
      healthy();
      const outcome = await handle(log(LINES.badRequest));
      expect(outcome.acted).toBe(false);
      expect(outcome.note).toBe('not confirmed (refuted): GitHub shows runner jr-1-1 busy running a job');
      await expectNothingSpent();
      // The busy runner refuted the line on its own: one lookup, no job lookup.
      expect(w.github.calls.map((c) => c.op)).toEqual(['getRunner']);
    });

    it('opens no breaker, spends no attempt and fails nothing for breaker, registration, version or clock lines', async () => {
      healthy();
      for (const [i, line] of [
        LINES.breakerOpen,
        LINES.registrationGone,
        LINES.versionDeprecated,
        LINES.clockSkew,
      ].entries()) {
        // A fresh runner name each time: the quiet window after a refuted line would drop the rest unasked.
        const outcome = await handle(log(line));
        expect(outcome.acted, `line ${i}`).toBe(false);
        w.clock.advance(UNCONFIRMED_QUIET_MS);
      }
      await expectNothingSpent();
    });

    it('is refuted by the job alone when GitHub shows it in progress on another runner (the runner idle)', async () => {
      w.github.jobs.set(1, { id: 1, status: 'in_progress', conclusion: null, runnerName: 'jr-7-1' });
      const outcome = await handle(log(LINES.badRequest));
      expect(outcome.note).toContain('GitHub shows the job in_progress on runner jr-7-1');
      await expectNothingSpent();
    });

    it('asks GitHub once for a flood of forged lines, and again only after the quiet window', async () => {
      healthy();
      for (let i = 0; i < 200; i++) await handle(log(LINES.badRequest));
      expect(w.github.count('getRunner')).toBe(1);
      w.clock.advance(UNCONFIRMED_QUIET_MS + 1);
      await handle(log(LINES.badRequest));
      expect(w.github.count('getRunner')).toBe(2);
      await expectNothingSpent();
    });

    it('logs that it was not confirmed, with the reason and without the line', async () => {
      healthy();
      await handle(log(`${LINES.badRequest} ghs_${'a'.repeat(36)}`));
      const entry = w.logger.lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((e) => e.message === 'runner signal not confirmed; nothing done');
      expect(entry).toMatchObject({ runnerName: 'jr-1-1', verdict: 'refuted', signature: 'broker-bad-request' });
      expect(w.logger.text()).not.toContain('ghs_');
    });
  });

  describe('a genuine line still heals', () => {
    it('heals a metadata-missing runner whose lookup answers 500 while GitHub shows the job queued', async () => {
      w.github.failures.getRunner = [
        new GitHubRequestError('Server Error', 500, RUNNER_ENDPOINT, '{"message":"Server Error"}', KEY),
      ];
      const outcome = await handle(log(LINES.badRequest));
      expect(outcome).toMatchObject({ acted: true, action: 'heal-metadata' });
      expect(await w.store.jobs.get(1)).toMatchObject({ status: 'healing', attempt: 2, heals: 1 });
      expect(await w.store.baselines.get(KEY)).toMatchObject({ state: 'missing' });
      expect(w.launcher.stopped).toEqual(['rec-jr-1-1']);
    });

    it('heals a metadata-missing runner that GitHub shows idle while its job waits', async () => {
      const outcome = await handle(log(LINES.badRequest));
      expect(outcome).toMatchObject({ acted: true, action: 'heal-metadata' });
      expect(w.github.calls.map((c) => c.op).slice(0, 2)).toEqual(['getRunner', 'getWorkflowJob']);
    });

    it('re-mints after a registration-gone line once GitHub no longer knows the runner', async () => {
      w.github.runners.delete(runnerId);
      expect(await handle(log(LINES.registrationGone))).toMatchObject({ acted: true, action: 'remint' });
      expect((await w.store.jobs.get(1))?.attempt).toBe(2);
    });

    it('opens the breaker for a breaker-open line that the runner lookup answers `breaker open`', async () => {
      w.github.failures.getRunner = [
        new GitHubRequestError('breaker open', 503, RUNNER_ENDPOINT, '{"message":"breaker open"}', KEY),
      ];
      expect(await handle(log(LINES.breakerOpen))).toMatchObject({ acted: true, action: 'open-breaker' });
      expect((await w.store.breakers.get(KEY))?.openUntil).toBeGreaterThan(w.clock.now());
    });

    it('acts on a line met again after the quiet window once GitHub agrees', async () => {
      healthy();
      expect((await handle(log(LINES.badRequest))).acted).toBe(false);
      // The job ended up back in the queue and the runner idle: the repeated line now holds.
      const runner = w.github.runners.get(runnerId);
      if (runner) runner.busy = false;
      w.github.jobs.set(1, { id: 1, status: 'queued', conclusion: null, runnerName: null });
      expect((await handle(log(LINES.badRequest))).acted).toBe(false);
      w.clock.advance(UNCONFIRMED_QUIET_MS);
      expect(await handle(log(LINES.badRequest))).toMatchObject({ acted: true, action: 'heal-metadata' });
    });
  });

  describe('when GitHub cannot be asked', () => {
    it('does nothing while the lookup is rate limited or unanswered', async () => {
      w.github.failures.getRunner = [new GitHubRequestError('no answer', 0, RUNNER_ENDPOINT, '', KEY)];
      expect((await handle(log(LINES.badRequest))).note).toContain('not confirmed (undetermined)');
      await expectNothingSpent();
    });

    it("makes no GitHub call while the scope's breaker is open, and does nothing", async () => {
      await w.store.breakers.put(
        { scopeKey: KEY, consecutiveFailures: 0, opens: 1, openUntil: w.clock.now() + 60_000 } as never,
        0,
        w.clock.now(),
      );
      const outcome = await handle(log(LINES.badRequest));
      expect(outcome.note).toContain('the breaker for octo/app is open');
      expect(w.github.calls).toEqual([]);
      expect(await w.store.jobs.get(1)).toMatchObject({ status: 'launched', attempt: 1, heals: 0 });
    });
  });

  describe('platform state events', () => {
    const state = (value: string): RunnerSignal => ({
      kind: 'state',
      runnerName: 'jr-1-1',
      state: value,
      at: w.clock.now(),
      launchId: 'rec-jr-1-1',
    });

    it('spend no attempt while the platform still lists the build or instance as running', async () => {
      const outcome = await handle(state('FAILED'));
      expect(outcome.note).toBe('not confirmed (refuted): the platform still lists the build or instance as running');
      await expectNothingSpent();
    });

    it('mint the next attempt once the platform no longer lists it', async () => {
      w.launcher.ended.add('jr-1-1');
      expect(await handle(state('FAILED'))).toMatchObject({ acted: true, action: 'remint' });
      expect((await w.store.jobs.get(1))?.attempt).toBe(2);
    });
  });

  describe('local exits', () => {
    it('act without asking anybody: the launcher saw its own process end', async () => {
      const outcome = await handle({ kind: 'exit', runnerName: 'jr-1-1', code: 1, at: w.clock.now() });
      expect(outcome).toMatchObject({ acted: true, action: 'remint' });
      expect(w.github.calls.filter((c) => c.op === 'getRunner' || c.op === 'getWorkflowJob')).toEqual([]);
    });
  });
});
