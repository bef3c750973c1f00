import { describe, expect, it } from 'vitest';
import { formatJob as formatJobView } from '../../functions/cli/fleet-format.ts';
import type { Job } from '../../functions/domain/job.ts';
import { jobView } from '../../functions/use-cases/admin/fleet-view.ts';

/** `job show` prints the fleet view of a job, the same through the local server and a deployed stack. */
const formatJob = (job: Job) => formatJobView(jobView(job));

const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);
const job: Job = {
  jobId: 42,
  runId: 7,
  owner: 'octo-org',
  repo: 'app',
  scopeKey: 'octo-org/app',
  installationId: 1,
  labels: ['self-hosted', 'linux'],
  pool: 'linux-x64',
  status: 'completed',
  attempt: 3,
  heals: 1,
  deliveryIds: ['d1'],
  runnerName: 'jr-42-3',
  runnerId: 99,
  runnerVersion: '2.330.0',
  createdAt: T0,
  updatedAt: T0 + 5_000,
  version: 6,
  history: [
    { at: T0, status: 'queued', note: 'recorded from webhook' },
    { at: T0 + 5_000, status: 'completed', note: 'completed on jr-42-3 (success)' },
  ],
};

describe('formatJob (jit-runners job show)', () => {
  it('prints the job, its runner and its history with ISO times', () => {
    const text = formatJob(job);
    expect(text).toContain('job 42  octo-org/app  status completed');
    expect(text).toContain('attempt: 3   heals: 1');
    expect(text).toContain('\n  runner: jr-42-3 (id 99)\n  runner version: 2.330.0\n');
    expect(text).toContain('2026-11-23T09:00:05.000Z  completed       completed on jr-42-3 (success)');
    expect(text).not.toContain('stolen runners replaced');
  });

  it('prints the pool that serves the job, and `default` for a job recorded before pools', () => {
    expect(formatJob(job)).toContain('\n  pool: linux-x64\n');
    const { pool: _pool, ...old } = job;
    expect(formatJob(old)).toContain('\n  pool: default\n');
  });

  it('prints the runner version the job ran, or that none was recorded for its runner', () => {
    expect(formatJob(job)).toContain('\n  runner version: 2.330.0\n');
    const { runnerVersion: _v, ...unrecorded } = job;
    expect(formatJob(unrecorded)).toContain('\n  runner version: not recorded\n');
    const { runnerName: _n, runnerId: _i, runnerVersion: _w, ...queued } = job;
    expect(formatJob(queued)).not.toContain('runner');
  });

  it('says why the runner got its version: the canary, the current version, a pin', () => {
    expect(formatJob({ ...job, runnerVersion: '2.331.0', runnerVersionRole: 'canary' })).toContain(
      '\n  runner version: 2.331.0 (canary: a share of jobs tries this release before it becomes current)\n',
    );
    expect(formatJob({ ...job, runnerVersionRole: 'current' })).toContain('\n  runner version: 2.330.0 (current)\n');
    expect(formatJob({ ...job, runnerVersionRole: 'pinned' })).toContain('\n  runner version: 2.330.0 (pinned)\n');
    expect(formatJob({ ...job, runnerVersionRole: 'previous' })).toContain(
      '(previous: after a version failure on the current version)',
    );
    // --json prints the fleet view: the role is a field of its own.
    expect(jobView({ ...job, runnerVersionRole: 'canary' })).toMatchObject({
      runnerVersion: '2.330.0',
      runnerVersionRole: 'canary',
    });
    expect(jobView(job)).not.toHaveProperty('runnerVersionRole');
  });

  it('shows how many stolen runners were replaced when the job was robbed', () => {
    expect(formatJob({ ...job, thefts: 2 })).toContain('attempt: 3   heals: 1   stolen runners replaced: 2');
  });

  it('prints an approval wait: since when the job waits, and how many runners such waits retired', () => {
    const text = formatJob({ ...job, status: 'waiting', waitingSince: T0 + 60_000, waits: 1 });
    expect(text).toContain('status waiting');
    expect(text).toContain('waiting for an environment approval since 2026-11-23T09:01:00.000Z');
    expect(text).toContain('runners retired by approval waits: 1');
  });

  it('prints when a job became assignable again after its wait', () => {
    const text = formatJob({ ...job, waitingSince: T0 + 60_000, assignableAt: T0 + 3_600_000 });
    expect(text).toContain('assignable again since 2026-11-23T10:00:00.000Z (after an approval wait)');
  });

  it('prints the turn and the time a job has waited since, while its pool is full for a runner of its full pool', () => {
    const text = formatJob({ ...job, status: 'waiting-capacity', turn: 4, backlogSince: T0 + 1_000 });
    expect(text).toContain(
      '\n  waiting for a runner of pool linux-x64 to end since 2026-11-23T09:00:01.000Z (turn 4; the pool is at its maxRunners)\n',
    );
  });

  it('prints how long a launched job waited for capacity', () => {
    const text = formatJob({ ...job, turn: 4, backlogSince: T0 + 1_000, launchedAt: T0 + 66_000 });
    expect(text).toContain('waited for capacity from 2026-11-23T09:00:01.000Z (turn 4), launched after 1 min 5 s');
    expect(formatJob({ ...job, turn: 2, backlogSince: T0, launchedAt: T0 + 850 })).toContain('launched after 850 ms');
    expect(formatJob(job)).not.toContain('capacity');
  });
});
