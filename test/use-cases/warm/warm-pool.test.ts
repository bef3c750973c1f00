import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore, type MemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import type { RunnerPool } from '../../../functions/domain/runner-pool.ts';
import { RunnerKind, RunnerState } from '../../../functions/domain/runner-record.ts';
import type { WarmSettings } from '../../../functions/domain/warm-pool.ts';
import { createFleetView } from '../../../functions/use-cases/admin/fleet-view.ts';
import { CaptureLogger } from '../../support/capture-logger.ts';
import { FakeGitHub } from '../../support/fake-github.ts';
import { provisionConfig } from '../../support/provision-config.ts';
import { RecordingWarmLauncher } from '../../support/recording-warm-launcher.ts';
import { testCore } from '../../support/test-provisioner.ts';

const LABELS = ['self-hosted', 'linux', 'x64'];
const MINUTE = 60_000;
const warm = (size: number, more: Partial<WarmSettings> = {}): WarmSettings => ({
  size,
  schedule: [],
  maxIdleMs: 30 * MINUTE,
  ...more,
});
const pool = (more: Partial<RunnerPool> = {}): RunnerPool => ({
  name: 'hot',
  labels: LABELS,
  launcher: 'local',
  runnerVersion: '2.330.0',
  warm: warm(2),
  ...more,
});

const newJob = (jobId: number) => ({
  jobId,
  runId: 1,
  owner: 'octo',
  repo: 'app',
  scopeKey: 'octo/app',
  installationId: 5,
  labels: ['x64'],
  pool: 'hot',
});

/**
 * Warm runners through the core as every root wires it: the in-memory store, the fake GitHub and a launcher
 * that records boots and hand-offs (test/support/recording-warm-launcher.ts).
 */
describe('warm pool (a pool with warm)', () => {
  let store: MemoryStore;
  let github: FakeGitHub;
  let launcher: RecordingWarmLauncher;
  let now: number;
  let dispatched: number[];

  const coreFor = (pools: RunnerPool[], owner = 'p1') =>
    testCore({
      config: { ...provisionConfig(undefined), pools },
      store,
      github,
      launcher,
      now: () => now,
      owner,
      dispatcher: { dispatch: async (jobId) => void dispatched.push(jobId) },
    });
  const warmRecords = async () => (await store.runners.listActive()).filter((r) => r.kind === RunnerKind.warm);
  const idleWarm = async () =>
    (await warmRecords()).filter((r) => r.state === RunnerState.ready || r.state === RunnerState.booting);
  const queue = async (core: ReturnType<typeof coreFor>, jobId: number) => {
    await store.jobs.create(newJob(jobId), `d${jobId}`, now);
    return core.provisionJob(jobId);
  };

  beforeEach(() => {
    now = Date.UTC(2026, 0, 5, 12, 0); // a Monday, noon UTC
    store = createMemoryStore();
    github = new FakeGitHub();
    launcher = new RecordingWarmLauncher();
    dispatched = [];
  });

  it('serves a job warm exactly once with the JIT config minted for its own runner name', async () => {
    const core = coreFor([pool()]);
    await core.warmPool.reconcile(now);
    expect(launcher.boots).toHaveLength(2);
    expect(await queue(core, 1)).toBe('launched');
    await core.warmPool.settled();

    expect(launcher.launches).toHaveLength(0);
    expect(launcher.handoffs).toHaveLength(1);
    const handed = launcher.handoffs[0];
    const minted = [...github.runners.values()].find((r) => r.name === 'jr-1-1');
    expect(handed?.runnerName).toBe('jr-1-1');
    expect(handed?.encodedJitConfig).toBe(`jit-secret-${minted?.id}-${'x'.repeat(16)}`);
    expect(github.count('generateJitConfig')).toBe(1);
    const job = await store.jobs.get(1);
    expect(job?.status).toBe('launched');
    expect(job?.launchId).toBe(handed?.warm.launchId);
    expect(job?.history.at(-1)?.note).toContain(`served warm by ${handed?.warm.warmName}`);
    const claimed = await store.runners.get(handed?.warm.warmName ?? '');
    expect(claimed).toMatchObject({ state: RunnerState.claimed, jobId: 1, servesRunnerName: 'jr-1-1' });
    // The claim refilled the pool in the background: two idle warm runners again.
    expect(await idleWarm()).toHaveLength(2);
    expect(launcher.boots).toHaveLength(3);
  });

  it('serves the first N of a burst warm and the rest cold, none twice', async () => {
    const core = coreFor([pool({ warm: warm(3) })]);
    await core.warmPool.reconcile(now);
    launcher.bootFailures.push(...Array.from({ length: 20 }, () => new Error('no refill during the burst')));
    const outcomes = await Promise.all([1, 2, 3, 4, 5, 6].map((id) => queue(core, id)));
    await core.warmPool.settled();

    expect(outcomes).toEqual(Array(6).fill('launched'));
    expect(launcher.handoffs).toHaveLength(3);
    expect(launcher.launches).toHaveLength(3);
    const served = [...launcher.handoffs.map((h) => h.runnerName), ...launcher.launches.map((l) => l.runnerName)];
    expect(new Set(served).size).toBe(6);
    expect(new Set(launcher.handoffs.map((h) => h.warm.warmName)).size).toBe(3);
    expect(github.count('generateJitConfig')).toBe(6);
  });

  it('never boots past maxRunners: warm runners hold capacity slots', async () => {
    const core = coreFor([pool({ maxRunners: 3, warm: warm(3) })]);
    await core.warmPool.reconcile(now);
    expect(launcher.boots).toHaveLength(3);
    expect(Object.keys((await store.pools.get('hot'))?.slots ?? {})).toHaveLength(3);

    // A cold job finds no room: it waits; a claim moves a warm slot to the job's runner instead of taking one.
    expect(await queue(core, 1)).toBe('launched');
    await core.warmPool.settled();
    const slots = (await store.pools.get('hot'))?.slots ?? {};
    expect(Object.keys(slots)).toHaveLength(3);
    expect(slots['jr-1-1']?.jobId).toBe(1);
    // The refill after the claim found no room (the job's runner holds the slot the warm one had).
    expect(launcher.boots).toHaveLength(3);
    expect(await idleWarm()).toHaveLength(2);
  });

  it('recycles an idle warm runner after maxIdleMinutes and boots a fresh one', async () => {
    const core = coreFor([pool({ warm: warm(1, { maxIdleMs: 10 * MINUTE }) })]);
    await core.warmPool.reconcile(now);
    const first = launcher.boots[0]?.warmName ?? '';
    now += 10 * MINUTE;
    const report = await core.warmPool.reconcile(now);

    expect(report.stopped).toEqual([{ name: first, reason: 'idle' }]);
    expect(launcher.stopped).toContain(`warm-${first}`);
    expect((await store.runners.get(first))?.state).toBe(RunnerState.stopped);
    expect(launcher.liveWarm()).toHaveLength(1);
    expect(launcher.liveWarm()[0]).not.toBe(first);
  });

  it('follows the schedule: a window sets its own size and the surplus is stopped when it ends', async () => {
    const schedule = [{ days: [1, 2, 3, 4, 5], fromMinute: 8 * 60, toMinute: 18 * 60, size: 3, timeZone: 'UTC' }];
    const core = coreFor([pool({ warm: warm(1, { schedule }) })]);
    now = Date.UTC(2026, 0, 5, 17, 50); // Monday 17:50 UTC: in the window
    await core.warmPool.reconcile(now);
    expect(await idleWarm()).toHaveLength(3);
    now = Date.UTC(2026, 0, 5, 18, 5); // the window ended
    const report = await core.warmPool.reconcile(now);
    expect(report.stopped.map((s) => s.reason)).toEqual(['surplus', 'surplus']);
    expect(await idleWarm()).toHaveLength(1);
  });

  it('adopts live warm runners with records after a restart and stops those without one, leaking none', async () => {
    const before = coreFor([pool()]);
    await before.warmPool.reconcile(now);
    const kept = launcher.liveWarm();
    // A launch the store has no record of (its record was lost), and a record whose runner died with the host.
    launcher.inherited.push({ launchId: 'warm-jr-warm-hot-stray', runnerName: 'jr-warm-hot-stray', startedAt: 0 });
    await store.runners.put(
      {
        name: 'jr-warm-hot-dead',
        kind: RunnerKind.warm,
        pool: 'hot',
        scopeKey: '',
        installationId: 0,
        version: '2.330.0',
        state: RunnerState.ready,
        createdAt: now,
        launchId: 'warm-jr-warm-hot-dead',
      },
      now,
    );
    now += 20_000;
    const after = coreFor([pool()], 'p2'); // a new process: nothing in memory
    const report = await after.warmPool.reconcile(now);

    expect(report.strays).toEqual(['jr-warm-hot-stray']);
    expect(report.closed).toEqual([{ name: 'jr-warm-hot-dead', reason: 'gone' }]);
    expect(report.booted).toEqual([]);
    expect((await idleWarm()).map((r) => r.name).sort()).toEqual([...kept].sort());
    expect(await queue(after, 1)).toBe('launched');
    expect(kept).toContain(launcher.handoffs[0]?.warm.warmName);
  });

  it('lets exactly one of two racing provisioners claim the one warm runner; the other launches cold', async () => {
    const one = coreFor([pool({ warm: warm(1) })], 'p1');
    const two = coreFor([pool({ warm: warm(1) })], 'p2');
    await one.warmPool.reconcile(now);
    launcher.bootFailures.push(new Error('no refill'), new Error('no refill'));
    await store.jobs.create(newJob(1), 'd1', now);
    await store.jobs.create(newJob(2), 'd2', now);
    const outcomes = await Promise.all([one.provisionJob(1), two.provisionJob(2)]);
    await Promise.all([one.warmPool.settled(), two.warmPool.settled()]);

    expect(outcomes).toEqual(['launched', 'launched']);
    expect(launcher.handoffs).toHaveLength(1);
    expect(launcher.launches).toHaveLength(1);
    expect(new Set([launcher.handoffs[0]?.runnerName, launcher.launches[0]?.runnerName])).toEqual(
      new Set(['jr-1-1', 'jr-2-1']),
    );
  });

  it('launches cold at once when the hand-off fails, and stops the warm runner', async () => {
    const core = coreFor([pool({ warm: warm(1) })]);
    await core.warmPool.reconcile(now);
    const name = launcher.boots[0]?.warmName ?? '';
    launcher.goneOnHandoff.add(name);
    expect(await queue(core, 1)).toBe('launched');
    await core.warmPool.settled();

    expect(launcher.launches.map((l) => l.runnerName)).toEqual(['jr-1-1']);
    expect(launcher.stopped).toContain(`warm-${name}`);
    expect((await store.runners.get(name))?.state).toBe(RunnerState.stopped);
    expect((await store.jobs.get(1))?.launchId).toBe('rec-jr-1-1');
  });

  it('stops a claimed warm runner whose job never ran on it (the claimer died before the hand-off)', async () => {
    const core = coreFor([pool({ warm: warm(1) })]);
    await core.warmPool.reconcile(now);
    const name = launcher.boots[0]?.warmName ?? '';
    await store.runners.update(name, { state: RunnerState.claimed, claimedAt: now, jobId: 9 }, now, [
      RunnerState.ready,
    ]);
    now += 61_000;
    const report = await core.warmPool.reconcile(now);
    expect(report.stopped).toEqual([{ name, reason: 'no-handoff' }]);
    expect(launcher.stopped).toContain(`warm-${name}`);
  });

  it('closes a warm runner that ended on its own, gives its slot back and refills', async () => {
    const core = coreFor([pool({ maxRunners: 2, warm: warm(1) })]);
    await core.warmPool.reconcile(now);
    const name = launcher.boots[0]?.warmName ?? '';
    launcher.stopped.push(`warm-${name}`);
    await core.handleRunnerSignal({ kind: 'exit', runnerName: name, code: 0, signal: null, at: now } as never);
    await core.warmPool.settled();
    expect((await store.runners.get(name))?.state).toBe(RunnerState.stopped);
    expect(Object.keys((await store.pools.get('hot'))?.slots ?? {})).not.toContain(name);
    expect(launcher.liveWarm()).toHaveLength(1);
  });

  it('marks a booting warm runner ready on its own ready line, and the next job claims it before an older booting one', async () => {
    launcher.bootsReady = false; // AWS: the boot answers before the bootstrap has prepared
    const core = coreFor([pool()]);
    await core.warmPool.reconcile(now);
    const [older, younger] = launcher.boots.map((b) => b.warmName);
    expect((await idleWarm()).map((r) => r.state)).toEqual([RunnerState.booting, RunnerState.booting]);
    const line = (name: string) =>
      `jit-runners bootstrap: warm runner ready: ${name} (runner 2.330.0, verified); waiting up to 1800 s for its hand-off`;
    const at = now + 9_000;
    now += 10_000;
    const outcome = await core.handleRunnerSignal({
      kind: 'log',
      runnerName: younger ?? '',
      line: line(younger ?? ''),
      source: 'cloudwatch:codebuild/x',
      at,
      launchId: `warm-${younger}`,
    });
    expect(outcome).toMatchObject({ acted: true, note: `warm runner ${younger} is ready` });
    expect(await store.runners.get(younger ?? '')).toMatchObject({ state: RunnerState.ready, readyAt: at });
    expect((await store.runners.get(older ?? ''))?.state).toBe(RunnerState.booting);

    expect(await queue(core, 1)).toBe('launched');
    expect((await store.jobs.get(1))?.warmName).toBe(younger);
  });

  it('leaves a warm runner as it is on a ready line from another launch, naming another runner, or after its claim', async () => {
    launcher.bootsReady = false;
    const core = coreFor([pool({ warm: warm(2) })]);
    await core.warmPool.reconcile(now);
    const [a, b] = launcher.boots.map((boot) => boot.warmName ?? '');
    const ready = (runnerName: string, named: string, launchId: string) =>
      core.handleRunnerSignal({
        kind: 'log',
        runnerName,
        line: `jit-runners bootstrap: warm runner ready: ${named} (runner 2.330.0, verified); waiting up to 1800 s`,
        source: 'cloudwatch:ec2/i-0',
        at: now,
        launchId,
      });
    // The log stream of another launch (a line written into a stream it does not own).
    expect((await ready(a ?? '', a ?? '', 'i-0000')).acted).toBe(false);
    // A line in a's stream naming b.
    expect((await ready(a ?? '', b ?? '', `warm-${a}`)).acted).toBe(false);
    expect((await idleWarm()).map((r) => r.state)).toEqual([RunnerState.booting, RunnerState.booting]);
    // Claimed first, then its ready line arrives late: the claim keeps its state.
    expect(await queue(core, 1)).toBe('launched');
    const claimed = (await store.jobs.get(1))?.warmName ?? '';
    expect((await ready(claimed, claimed, `warm-${claimed}`)).acted).toBe(false);
    expect((await store.runners.get(claimed))?.state).toBe(RunnerState.claimed);
  });

  it('boots no warm runner once refills are stopped at shutdown, and logs no warning for it', async () => {
    const logger = new CaptureLogger();
    const core = testCore({
      config: { ...provisionConfig(undefined), pools: [pool({ maxRunners: 3, warm: warm(1) })] },
      store,
      github,
      launcher,
      now: () => now,
      logger,
    });
    await core.warmPool.reconcile(now);
    const name = launcher.boots[0]?.warmName ?? '';
    core.warmPool.stopRefilling();
    // The warm runner ends while the server shuts down: closed, but not replaced.
    launcher.stopped.push(`warm-${name}`);
    await core.handleRunnerSignal({ kind: 'exit', runnerName: name, code: 0, signal: null, at: now } as never);
    await core.warmPool.settled();
    expect(await core.warmPool.refill('hot')).toEqual([]);
    expect(launcher.boots).toHaveLength(1);
    expect((await store.runners.get(name))?.state).toBe(RunnerState.stopped);
    expect(logger.lines.filter((l) => l.includes('"WARN"'))).toEqual([]);
  });

  it('logs a boot the closing launcher refuses after refills stopped as debug, not a warning, and frees its slot', async () => {
    const logger = new CaptureLogger();
    const core = testCore({
      config: { ...provisionConfig(undefined), pools: [pool({ maxRunners: 3, warm: warm(1) })] },
      store,
      github,
      launcher,
      now: () => now,
      logger,
    });
    // The shutdown begins while the refill's boot is in flight: the launcher, closing, refuses it.
    launcher.bootWarm = async () => {
      core.warmPool.stopRefilling();
      throw new Error('launcher is closing');
    };
    await core.warmPool.reconcile(now);
    await core.warmPool.settled();
    expect(logger.lines.filter((l) => l.includes('"WARN"'))).toEqual([]);
    expect(logger.text()).toContain('warm runner not booted: shutting down');
    const records = await store.runners.listActive();
    expect(records.filter((r) => r.kind === RunnerKind.warm)).toEqual([]);
  });

  it('still warns of a boot that fails while refills run', async () => {
    const logger = new CaptureLogger();
    const core = testCore({
      config: { ...provisionConfig(undefined), pools: [pool({ maxRunners: 3, warm: warm(1) })] },
      store,
      github,
      launcher,
      now: () => now,
      logger,
    });
    launcher.bootFailures.push(new Error('quota'));
    await core.warmPool.reconcile(now);
    await core.warmPool.settled();
    expect(logger.lines.filter((l) => l.includes('"WARN"') && l.includes('warm runner boot failed'))).toHaveLength(1);
  });

  it('shows warm runners idle and in use per pool in the fleet view', async () => {
    const pools = [pool({ warm: warm(2) })];
    const core = coreFor(pools);
    await core.warmPool.reconcile(now);
    launcher.bootFailures.push(new Error('no refill'));
    await queue(core, 1);
    await core.warmPool.settled();
    const fleet = createFleetView({
      config: { pools, runner: { version: '2.330.0' } },
      store,
      clock: { now: () => now },
    });
    const [view] = (await fleet.status()).pools;
    expect(view).toMatchObject({ name: 'hot', warmIdle: 1, warmInUse: 1, warmTarget: 2 });

    // Its job ended: the claimed record only waits for the reconciler to close it, and serves nothing.
    for (const job of await store.jobs.listOpen())
      await store.jobs.update(job.jobId, {}, { set: { status: JobStatus.completed } }, now + 1);
    const [after] = (await fleet.status()).pools;
    expect(after).toMatchObject({ name: 'hot', warmIdle: 1, warmInUse: 0, warmTarget: 2 });
  });

  it('makes no store or launcher call for warm runners when no pool has warm', async () => {
    const { warm: _none, ...cold } = pool();
    const core = coreFor([cold]);
    expect(core.warmPool.active).toBe(false);
    expect(await core.reconcile(now)).not.toHaveProperty('warm');
    expect(await queue(core, 1)).toBe('launched');
    expect(launcher.boots).toHaveLength(0);
  });
});
