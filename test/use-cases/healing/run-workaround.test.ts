import { beforeEach, describe, expect, it } from 'vitest';
import { BaselineState } from '../../../functions/domain/baseline.ts';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import { createRunWorkaround, type RunWorkaroundDeps } from '../../../functions/use-cases/healing/run-workaround.ts';
import { apiError } from '../../support/fake-github.ts';
import { type HealWorld, healWorld, newJob, REPO_TARGET, T0 } from './heal-fixtures.ts';

const SCOPE = REPO_TARGET.scope;
const KEY = 'octo/app';

describe('runWorkaround', () => {
  let w: HealWorld;
  let nonces: number;

  const workaround = (owner = 'p1', extra: Partial<RunWorkaroundDeps> = {}) =>
    createRunWorkaround({
      config: w.config,
      store: w.store,
      github: w.github,
      launcher: w.launcher,
      dispatcher: w.dispatcher,
      scopeGuard: w.scopeGuard,
      clock: w.clock,
      logger: w.logger,
      metrics: w.metrics,
      owner,
      sleep: w.clock.sleep,
      nonce: () => `n${++nonces}`,
      pollMs: 1_000,
      ...extra,
    });

  beforeEach(() => {
    w = healWorld();
    nonces = 0;
  });

  it('registers one regular runner with a label no job uses, sees it online, removes it and records the baseline', async () => {
    w.launcher.onlineAfterMs = 5_000;
    const outcome = await workaround()(SCOPE, REPO_TARGET, { reason: 'test' });

    expect(outcome.outcome).toBe('healed');
    expect(w.launcher.regular).toHaveLength(1);
    const request = w.launcher.regular[0];
    expect(request).toMatchObject({
      runnerName: 'jr-baseline-octo-app-n1',
      scopeKey: KEY,
      url: 'https://github.com/octo/app',
      labels: ['jit-runners-baseline-n1'],
      runnerVersion: w.config.runner.version,
    });
    // The label set shares nothing with what jobs ask for: the baseline runner can never take a user's job.
    expect(request?.labels.some((l) => w.config.runner.labels.includes(l))).toBe(false);
    // Stopped, then its registration removed.
    expect(w.launcher.stopped).toEqual(['rec-regular-jr-baseline-octo-app-n1']);
    expect(w.github.byName('jr-baseline-octo-app-n1')).toBeUndefined();
    expect(w.github.count('deleteRunner')).toBe(1);

    const baseline = await w.store.baselines.get(KEY);
    expect(baseline).toMatchObject({
      state: 'present',
      method: 'workaround',
      runnerName: 'jr-baseline-octo-app-n1',
      workarounds: 1,
      installationId: 5,
    });
    expect(baseline?.runnerId).toBeTypeOf('number');
    // Polled once per second until the fake runner came online 5 s after its launch.
    expect(baseline?.verifiedOnlineAt).toBe(T0 + 5_000);
    expect(baseline?.healingOwner).toBeUndefined();
    expect(await w.store.runners.get('jr-baseline-octo-app-n1')).toMatchObject({ kind: 'baseline', state: 'stopped' });
  });

  it("starts the regular runner in the asking job's pool (its version), still with only the unique baseline label", async () => {
    w = healWorld({
      RUNNER_POOLS: JSON.stringify([
        { name: 'x64', labels: ['self-hosted', 'linux', 'x64'] },
        { name: 'arm64', labels: ['self-hosted', 'linux', 'arm64'], runnerVersion: '2.331.0' },
      ]),
    });
    expect((await workaround()(SCOPE, REPO_TARGET, { reason: 'test', pool: 'arm64' })).outcome).toBe('healed');
    expect(w.launcher.regular).toEqual([
      expect.objectContaining({ pool: 'arm64', labels: ['jit-runners-baseline-n1'], runnerVersion: '2.331.0' }),
    ]);
    expect(await w.store.runners.get('jr-baseline-octo-app-n1')).toMatchObject({ version: '2.331.0' });
  });

  it('starts the regular runner of a request without a pool (baseline ensure) in the first pool', async () => {
    w = healWorld({ RUNNER_POOLS: JSON.stringify([{ name: 'arm64', labels: ['self-hosted', 'arm64'] }]) });
    await workaround()(SCOPE, REPO_TARGET, { reason: 'test' });
    expect(w.launcher.regular.map((r) => r.pool)).toEqual(['arm64']);
  });

  it('never logs the registration token', async () => {
    await workaround()(SCOPE, REPO_TARGET, { reason: 'test' });
    const token = w.launcher.regular[0]?.registrationToken;
    expect(token).toMatch(/^REGTOKEN/);
    expect(w.logger.text()).not.toContain(token as string);
    expect(JSON.stringify(await w.store.baselines.list())).not.toContain(token as string);
  });

  it("dispatches the scope's waiting jobs (and only them) once the baseline is recorded", async () => {
    await w.store.jobs.create(newJob(1), 'd1', T0);
    await w.store.jobs.create(newJob(2), 'd2', T0);
    await w.store.jobs.create(newJob(3, 'other'), 'd3', T0);
    await w.store.jobs.update(2, {}, { set: { status: JobStatus.healing } }, T0);
    // Parked by the gate until a later time: the gate already dispatched it for then.
    await w.store.jobs.create(newJob(4), 'd4', T0);
    await w.store.jobs.update(4, {}, { set: { notBefore: T0 + 600_000 } }, T0);

    await workaround()(SCOPE, REPO_TARGET, { reason: 'test' });

    expect(w.dispatcher.ids().sort()).toEqual([1, 2]);
  });

  it('elects one runner per scope when two processes start the workaround at once', async () => {
    const [a, b] = await Promise.all([
      workaround('p1')(SCOPE, REPO_TARGET, { reason: 'job 1' }),
      workaround('p2')(SCOPE, REPO_TARGET, { reason: 'job 2' }),
    ]);

    expect(w.launcher.regular).toHaveLength(1);
    expect(w.github.count('createRegistrationToken')).toBe(1);
    expect([a.outcome, b.outcome].sort()).toEqual(['healed', 'joined']);
    expect((await w.store.baselines.get(KEY))?.state).toBe('present');
  });

  it('joins its own run when asked again while it runs (no second store election)', async () => {
    w.launcher.onlineAfterMs = 3_000;
    const run = workaround();
    const first = run(SCOPE, REPO_TARGET, { reason: 'job 1' });
    const second = run(SCOPE, REPO_TARGET, { reason: 'job 2' });
    expect(second).toBe(first);
    expect((await first).outcome).toBe('healed');
    expect(w.launcher.regular).toHaveLength(1);
  });

  it('holds the healing lease for the online timeout plus a margin, so a dead holder is taken over soon after', async () => {
    w.launcher.onlineAfterMs = undefined;
    const seen: number[] = [];
    const run = workaround('p1', {
      sleep: async (ms) => {
        const b = await w.memory.baselines.get(KEY);
        if (b?.healingUntil !== undefined) seen.push(b.healingUntil - w.clock.now());
        await w.clock.sleep(ms);
      },
    });
    await run(SCOPE, REPO_TARGET, { reason: 'test' });
    // 60 s online timeout + 30 s margin, counted from the start of the online wait.
    expect(seen[0]).toBe(90_000);
  });

  it('waits while another live process holds the healing lease, without reading the store again', async () => {
    await w.store.baselines.put(
      { scopeKey: KEY, state: 'healing', healingOwner: 'p0', healingUntil: T0 + 60_000, workarounds: 1 },
      0,
      T0,
    );
    const run = workaround();
    expect((await run(SCOPE, REPO_TARGET, { reason: 'gate' })).outcome).toBe('joined');
    const reads = w.calls.length;
    expect((await run(SCOPE, REPO_TARGET, { reason: 'gate' })).outcome).toBe('joined');
    expect(w.calls.length).toBe(reads);
    expect(w.launcher.regular).toHaveLength(0);
  });

  it('fails with a reason when the regular runner does not show online in time, and cleans up', async () => {
    w.launcher.onlineAfterMs = undefined;
    const outcome = await workaround()(SCOPE, REPO_TARGET, { reason: 'test' });

    expect(outcome).toEqual({
      outcome: 'failed',
      reason: 'the regular runner jr-baseline-octo-app-n1 did not show online within 60 s',
    });
    expect(w.clock.now() - T0).toBeGreaterThanOrEqual(60_000);
    expect(w.launcher.stopped).toEqual(['rec-regular-jr-baseline-octo-app-n1']);
    expect(w.github.byName('jr-baseline-octo-app-n1')).toBeUndefined();
    expect(await w.store.baselines.get(KEY)).toMatchObject({
      state: 'failed',
      workarounds: 1,
      reason: 'the regular runner jr-baseline-octo-app-n1 did not show online within 60 s',
    });
  });

  it('fails with the API reason when no registration token can be had, and launches nothing', async () => {
    w.github.failures.createRegistrationToken = [
      apiError(
        403,
        '{"message":"Resource not accessible by integration"}',
        'POST /repos/{owner}/{repo}/actions/runners/registration-token',
      ),
    ];
    const outcome = await workaround()(SCOPE, REPO_TARGET, { reason: 'test' });
    expect(outcome.outcome).toBe('failed');
    expect(outcome.outcome === 'failed' && outcome.reason).toContain('Resource not accessible by integration');
    expect(w.launcher.regular).toHaveLength(0);
    expect((await w.store.baselines.get(KEY))?.state).toBe('failed');
  });

  it('stops at MAX_WORKAROUNDS_PER_SCOPE: the baseline becomes failed with a reason and nothing is launched', async () => {
    await w.store.baselines.put({ scopeKey: KEY, state: 'missing', workarounds: 3 }, 0, T0);
    await w.store.jobs.create(newJob(1), 'd1', T0);

    const outcome = await workaround()(SCOPE, REPO_TARGET, { reason: 'gate' });

    expect(outcome.outcome).toBe('exhausted');
    expect(w.launcher.regular).toHaveLength(0);
    expect(w.github.calls).toEqual([]);
    const baseline = await w.store.baselines.get(KEY);
    expect(baseline?.state).toBe('failed');
    expect(baseline?.reason).toContain('limit 3 per scope');
    // The waiting job goes back to the provisioner, whose gate now fails it.
    expect(w.dispatcher.ids()).toEqual([1]);
  });

  it('records a failed baseline when the budget is 0, so the gate fails jobs instead of asking forever', async () => {
    w = healWorld({ MAX_WORKAROUNDS_PER_SCOPE: '0' });
    const outcome = await workaround()(SCOPE, REPO_TARGET, { reason: 'gate' });
    expect(outcome.outcome).toBe('exhausted');
    expect(await w.store.baselines.get(KEY)).toMatchObject({ state: 'failed', workarounds: 0 });
  });

  it('counts each run: a third failed run exhausts a budget of 3', async () => {
    w.launcher.onlineAfterMs = undefined;
    const run = workaround();
    for (let i = 1; i <= 3; i++) {
      expect((await run(SCOPE, REPO_TARGET, { reason: `try ${i}` })).outcome).toBe('failed');
    }
    expect((await run(SCOPE, REPO_TARGET, { reason: 'try 4' })).outcome).toBe('exhausted');
    expect(w.launcher.regular).toHaveLength(3);
    expect((await w.store.baselines.get(KEY))?.workarounds).toBe(3);
  });

  it('takes over an expired healing lease and finishes with the runner the dead holder got online', async () => {
    const previous = 'jr-baseline-octo-app-dead';
    w.github.register(REPO_TARGET, previous, 'online');
    await w.store.runners.put(
      {
        name: previous,
        kind: 'baseline',
        scopeKey: KEY,
        installationId: 5,
        launchId: 'local:dead',
        version: '2.330.0',
        state: 'launched',
        createdAt: T0 - 120_000,
      },
      T0 - 120_000,
    );
    await w.store.baselines.put(
      {
        scopeKey: KEY,
        state: 'healing',
        healingOwner: 'crashed-process',
        healingUntil: T0 - 1,
        runnerName: previous,
        workarounds: 1,
      },
      0,
      T0 - 120_000,
    );

    const outcome = await workaround('restarted')(SCOPE, REPO_TARGET, { reason: 'resume' });

    expect(outcome.outcome).toBe('healed');
    expect(w.launcher.regular).toHaveLength(0);
    expect(w.launcher.stopped).toEqual(['local:dead']);
    expect(w.github.byName(previous)).toBeUndefined();
    expect(await w.store.baselines.get(KEY)).toMatchObject({
      state: 'present',
      runnerName: previous,
      workarounds: 1,
    });
  });

  it('takes over an expired lease whose runner never came up: cleans it up and starts afresh', async () => {
    const previous = 'jr-baseline-octo-app-dead';
    w.github.register(REPO_TARGET, previous, 'offline');
    await w.store.baselines.put(
      {
        scopeKey: KEY,
        state: 'healing',
        healingOwner: 'x',
        healingUntil: T0 - 1,
        runnerName: previous,
        workarounds: 1,
      },
      0,
      T0 - 120_000,
    );

    const outcome = await workaround('restarted')(SCOPE, REPO_TARGET, { reason: 'resume' });

    expect(outcome.outcome).toBe('healed');
    expect(w.github.byName(previous)).toBeUndefined();
    expect(w.launcher.regular.map((r) => r.runnerName)).toEqual(['jr-baseline-octo-app-n1']);
    expect((await w.store.baselines.get(KEY))?.workarounds).toBe(1);
  });

  it('makes no GitHub call while the scope breaker is open', async () => {
    await w.store.breakers.put({ scopeKey: KEY, consecutiveFailures: 1, opens: 1, openUntil: T0 + 10_000 }, 0, T0);
    const outcome = await workaround()(SCOPE, REPO_TARGET, { reason: 'gate' });
    expect(outcome).toEqual({ outcome: 'breaker-open', until: T0 + 10_000 });
    expect(w.github.calls).toEqual([]);
  });

  it('leaves a present baseline alone', async () => {
    await w.store.baselines.put({ scopeKey: KEY, state: 'present', method: 'observed', workarounds: 0 }, 0, T0);
    expect((await workaround()(SCOPE, REPO_TARGET, { reason: 'gate' })).outcome).toBe('present');
    expect(w.github.calls).toEqual([]);
  });

  it('runs a manual ensure past the spent budget and gives the scope its budget back', async () => {
    await w.store.baselines.put({ scopeKey: KEY, state: BaselineState.failed, workarounds: 3 }, 0, T0);
    const outcome = await workaround()(SCOPE, REPO_TARGET, { reason: 'baseline ensure', method: 'manual' });
    expect(outcome.outcome).toBe('healed');
    expect(await w.store.baselines.get(KEY)).toMatchObject({ state: 'present', method: 'manual', workarounds: 0 });
  });
});
