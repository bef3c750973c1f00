import { describe, expect, it } from 'vitest';
import { createMemoryStore, type MemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import { RunnerKind, RunnerState } from '../../../functions/domain/runner-record.ts';
import type { GitHubTarget } from '../../../functions/ports/github.ts';
import type { Metrics } from '../../../functions/ports/runtime.ts';
import { StoreUnavailableError } from '../../../functions/ports/store.ts';
import { createRetireRunner, type RunnerToRetire } from '../../../functions/use-cases/healing/retire-runner.ts';
import { CaptureLogger } from '../../support/capture-logger.ts';
import { apiError, FakeGitHub } from '../../support/fake-github.ts';
import { RecordingLauncher } from '../../support/recording-launcher.ts';

const NOW = 1_800_000_000_000;
const target: GitHubTarget = { installationId: 7, scope: { kind: 'repo', owner: 'acme', repo: 'app' } };
const SCOPE = 'acme/app';

/** One ordered trace of the store writes, launcher stops and GitHub calls the retire path makes. */
function world(options: { breakerOpenUntil?: number } = {}) {
  const trace: string[] = [];
  const memory: MemoryStore = createMemoryStore();
  const runners = memory.runners;
  const store = {
    runners: {
      ...runners,
      put: async (...args: Parameters<typeof runners.put>) => {
        await runners.put(...args);
        trace.push(`store: ${args[0].state}`);
      },
      update: async (...args: Parameters<typeof runners.update>) => {
        const record = await runners.update(...args);
        trace.push(`store: ${args[1].state}`);
        return record;
      },
    },
  };
  const github = new FakeGitHub();
  const launcher = new RecordingLauncher();
  const stop = launcher.stop.bind(launcher);
  launcher.stop = async (launchId: string) => {
    trace.push(`stop ${launchId}`);
    await stop(launchId);
  };
  const remove = github.deleteRunner.bind(github);
  github.deleteRunner = async (t: GitHubTarget, id: number) => {
    trace.push(`delete ${id}`);
    await remove(t, id);
  };
  const logger = new CaptureLogger();
  const counted: string[] = [];
  const metrics: Metrics = { count: (name) => void counted.push(name), measure: () => {} };
  const scopeGuard = {
    openUntil: async (_key: string, _now: number) => options.breakerOpenUntil,
  };
  const retire = createRetireRunner({ store, github, launcher, scopeGuard, logger, metrics });
  return { trace, memory, github, launcher, logger, counted, retire };
}

/** A registration at "GitHub" for the runner, as the provisioner's mint leaves it. */
async function registered(github: FakeGitHub, name: string): Promise<number> {
  const jit = await github.generateJitConfig(target, { name, labels: ['x'], runnerGroupId: 1, workFolder: '_work' });
  github.calls.length = 0;
  return jit.runnerId;
}

const runner = (overrides: Partial<RunnerToRetire> = {}): RunnerToRetire => ({
  runnerName: 'jr-42-1',
  target,
  scopeKey: SCOPE,
  jobId: 42,
  launchId: 'rec-jr-42-1',
  version: '2.330.0',
  reason: 'spare',
  ...overrides,
});

describe('retire a runner (the one path every caller uses)', () => {
  it('marks stopping, stops the process, deletes the registration, marks stopped, in that order', async () => {
    const w = world();
    const id = await registered(w.github, 'jr-42-1');

    const outcome = await w.retire(runner({ runnerId: id }), NOW);

    expect(outcome).toEqual({ marked: true, stopped: true, deleted: true });
    expect(w.trace).toEqual(['store: stopping', 'stop rec-jr-42-1', `delete ${id}`, 'store: stopped']);
    expect(w.github.runners.has(id)).toBe(false);
    expect(await w.memory.runners.get('jr-42-1')).toMatchObject({
      state: RunnerState.stopped,
      kind: RunnerKind.jit,
      jobId: 42,
      runnerId: id,
      launchId: 'rec-jr-42-1',
      scopeKey: SCOPE,
    });
    expect(w.counted).toEqual(['RunnerRetired']);
  });

  it('deletes a spare registration before stopping its process (onlyIdle)', async () => {
    const w = world();
    const id = await registered(w.github, 'jr-42-1');

    const outcome = await w.retire(runner({ runnerId: id, onlyIdle: true }), NOW);

    expect(outcome).toEqual({ marked: true, stopped: true, deleted: true });
    expect(w.trace).toEqual(['store: stopping', `delete ${id}`, 'stop rec-jr-42-1', 'store: stopped']);
  });

  it('keeps a spare that took a job after its caller looked: GitHub refuses the delete, nothing is stopped', async () => {
    const w = world();
    const id = await registered(w.github, 'jr-42-1');
    w.github.failures.deleteRunner = [apiError(422, 'Bad request - Runner "jr-42-1" is still running a job')];

    const outcome = await w.retire(runner({ runnerId: id, onlyIdle: true }), NOW);

    expect(outcome).toEqual({ marked: true, stopped: false, deleted: false, busy: true });
    expect(w.trace).toEqual(['store: stopping', `delete ${id}`, 'store: running']);
    expect(w.launcher.stopped).toEqual([]);
    expect(w.github.runners.has(id)).toBe(true);
    expect(w.counted).toEqual([]);
  });

  it('creates the runner record when the provisioner kept none, and updates it when one exists', async () => {
    const w = world();
    await w.retire(runner({ launchedAt: NOW - 5_000 }), NOW);
    expect(await w.memory.runners.get('jr-42-1')).toMatchObject({ createdAt: NOW - 5_000, version: '2.330.0' });

    await w.memory.runners.put(
      {
        name: 'rr-base',
        kind: RunnerKind.baseline,
        scopeKey: SCOPE,
        installationId: 7,
        version: '2.330.0',
        state: RunnerState.launched,
        createdAt: NOW - 1_000,
      },
      NOW - 1_000,
    );
    await w.retire(runner({ runnerName: 'rr-base', kind: RunnerKind.baseline, launchId: 'rec-regular-rr-base' }), NOW);
    expect(await w.memory.runners.get('rr-base')).toMatchObject({
      kind: RunnerKind.baseline,
      state: RunnerState.stopped,
      createdAt: NOW - 1_000,
      launchId: 'rec-regular-rr-base',
    });
  });

  it('looks the registration up by name when the caller has no id', async () => {
    const w = world();
    const id = await registered(w.github, 'jr-42-1');

    const outcome = await w.retire(runner(), NOW);

    expect(outcome.deleted).toBe(true);
    expect(w.github.count('findRunnerByName')).toBe(1);
    expect(w.github.runners.has(id)).toBe(false);
  });

  it('does nothing else when the stopping mark cannot be written: no stop, no delete, no throw', async () => {
    const w = world();
    const id = await registered(w.github, 'jr-42-1');
    w.memory.failNext('runners.update', new StoreUnavailableError('runner update: throttled'));

    const outcome = await w.retire(runner({ runnerId: id }), NOW);

    expect(outcome).toEqual({ marked: false, stopped: false, deleted: false });
    expect(w.launcher.stopped).toEqual([]);
    expect(w.github.count('deleteRunner')).toBe(0);
    expect(w.github.runners.has(id)).toBe(true);
    expect(w.logger.text()).toContain('cannot mark the runner stopping');
    expect(w.counted).toEqual([]);
  });

  it('still deletes the registration when the stop fails, and reports the process as not stopped', async () => {
    const w = world();
    const id = await registered(w.github, 'jr-42-1');
    w.launcher.stop = async () => {
      throw new Error('StopBuild: access denied');
    };

    const outcome = await w.retire(runner({ runnerId: id }), NOW);

    expect(outcome).toEqual({ marked: true, stopped: false, deleted: true });
    expect(w.github.runners.has(id)).toBe(false);
    expect((await w.memory.runners.get('jr-42-1'))?.state).toBe(RunnerState.stopped);
    expect(w.logger.text()).toContain('cannot stop the runner process');
  });

  it('stops nothing when the process already ended (an exit signal), and still deletes the registration', async () => {
    const w = world();
    const id = await registered(w.github, 'jr-42-1');

    const outcome = await w.retire(runner({ runnerId: id, processEnded: true }), NOW);

    expect(outcome).toEqual({ marked: true, stopped: false, deleted: true });
    expect(w.launcher.stopped).toEqual([]);
    expect((await w.memory.runners.get('jr-42-1'))?.launchId).toBe('rec-jr-42-1');
  });

  it('treats a 404 on delete as done: the registration is gone already', async () => {
    const w = world();
    const id = await registered(w.github, 'jr-42-1');
    w.github.failures.deleteRunner = [
      apiError(404, 'Not Found', 'DELETE /repos/{owner}/{repo}/actions/runners/{runner_id}'),
    ];

    const outcome = await w.retire(runner({ runnerId: id }), NOW);

    expect(outcome).toEqual({ marked: true, stopped: true, deleted: true });
    expect((await w.memory.runners.get('jr-42-1'))?.state).toBe(RunnerState.stopped);
  });

  it('counts a registration that is not found by name as deleted (never registered, or gone)', async () => {
    const w = world();

    const outcome = await w.retire(runner(), NOW);

    expect(outcome).toEqual({ marked: true, stopped: true, deleted: true });
    expect(w.github.count('deleteRunner')).toBe(0);
  });

  it('leaves the item stopping when the delete fails, for the orphan sweep', async () => {
    const w = world();
    const id = await registered(w.github, 'jr-42-1');
    w.github.failures.deleteRunner = [
      apiError(502, 'Bad Gateway', 'DELETE /repos/{owner}/{repo}/actions/runners/{runner_id}'),
    ];

    const outcome = await w.retire(runner({ runnerId: id }), NOW);

    expect(outcome).toEqual({ marked: true, stopped: true, deleted: false });
    expect(w.github.runners.has(id)).toBe(true);
    expect((await w.memory.runners.get('jr-42-1'))?.state).toBe(RunnerState.stopping);
    expect(w.logger.text()).toContain('cannot delete the runner registration');
  });

  it("makes no GitHub call while the scope's breaker is open: process stopped, registration left", async () => {
    const w = world({ breakerOpenUntil: NOW + 60_000 });
    const id = await registered(w.github, 'jr-42-1');

    const outcome = await w.retire(runner({ runnerId: id }), NOW);

    expect(outcome).toEqual({ marked: true, stopped: true, deleted: false });
    expect(w.github.calls).toEqual([]);
    expect((await w.memory.runners.get('jr-42-1'))?.state).toBe(RunnerState.stopping);
  });

  it('repeats every step for a second retirer of the same runner (a lost race is no failure)', async () => {
    const w = world();
    const id = await registered(w.github, 'jr-42-1');
    await w.retire(runner({ runnerId: id }), NOW);

    const again = await w.retire(runner({ runnerId: id, reason: 'orphan launch' }), NOW + 1_000);

    expect(again).toEqual({ marked: true, stopped: true, deleted: true });
    const record = await w.memory.runners.get('jr-42-1');
    expect(record?.state).toBe(RunnerState.stopped);
    // Marked again: the mark stays later than a relaunch of the same name (what stoppedByUs compares).
    expect(record?.updatedAt).toBe(NOW + 1_000);
  });
});
