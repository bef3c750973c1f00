import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../functions/domain/job.ts';
import { versionHealthOf, versionHealthOfJobs } from '../../functions/domain/version-health.ts';

const launch = (at: number, runner: string, version: string): JobEvent => ({
  at,
  status: 'launched',
  note: `runner ${runner} (id 1, v${version}) launch rec-${runner}`,
});
const failure = (at: number, failureClass: string, runner: string): JobEvent => ({
  at,
  status: 'queued',
  note: `${failureClass} (sig) on runner ${runner}: what happened → next attempt`,
});
const VERSIONS = { canary: '2.332.0', current: '2.331.0' };

describe('versionHealthOf', () => {
  it('counts jobs and failures per version from launch and failure notes', () => {
    const health = versionHealthOf(
      [
        [launch(10, 'jr-1-1', '2.332.0'), failure(11, 'version-deprecated', 'jr-1-1'), launch(12, 'jr-1-2', '2.331.0')],
        [launch(10, 'jr-2-1', '2.332.0'), failure(11, 'start-timeout', 'jr-2-1')],
        [launch(10, 'jr-3-1', '2.332.0'), failure(11, 'checksum-mismatch', 'jr-3-1')],
        [launch(10, 'jr-4-1', '2.331.0'), failure(11, 'metadata-missing', 'jr-4-1')],
      ],
      VERSIONS,
      0,
    );

    expect(health.canary).toEqual({ jobs: 3, versionFailures: 1, startTimeouts: 1, checksumFailures: 1 });
    expect(health.current).toEqual({ jobs: 2, versionFailures: 0, startTimeouts: 0, checksumFailures: 0 });
  });

  it('ignores what happened before the window and versions it was not asked about', () => {
    const health = versionHealthOf(
      [
        [launch(5, 'jr-1-1', '2.332.0'), failure(6, 'version-deprecated', 'jr-1-1')],
        [launch(20, 'jr-2-1', '2.329.0'), failure(21, 'version-deprecated', 'jr-2-1')],
      ],
      VERSIONS,
      10,
    );

    expect(health.canary).toEqual({ jobs: 0, versionFailures: 0, startTimeouts: 0, checksumFailures: 0 });
    expect(health.current.jobs).toBe(0);
  });

  it('counts a job once per version however many attempts ran on it', () => {
    const health = versionHealthOf(
      [[launch(1, 'jr-1-1', '2.332.0'), failure(2, 'start-timeout', 'jr-1-1'), launch(3, 'jr-1-2', '2.332.0')]],
      VERSIONS,
      0,
    );
    expect(health.canary).toMatchObject({ jobs: 1, startTimeouts: 1 });
  });
});

describe('versionHealthOfJobs', () => {
  it('counts as versionHealthOf does and names each watched failure’s jobs, each job once', () => {
    const jobs = [
      {
        jobId: 11,
        history: [
          launch(10, 'jr-11-1', '2.332.0'),
          failure(11, 'version-deprecated', 'jr-11-1'),
          launch(12, 'jr-11-2', '2.332.0'),
          failure(13, 'version-deprecated', 'jr-11-2'),
        ],
      },
      { jobId: 12, history: [launch(10, 'jr-12-1', '2.332.0'), failure(11, 'version-deprecated', 'jr-12-1')] },
      { jobId: 13, history: [launch(10, 'jr-13-1', '2.331.0'), failure(11, 'start-timeout', 'jr-13-1')] },
      { jobId: 14, history: [launch(10, 'jr-14-1', '2.332.0'), failure(11, 'metadata-missing', 'jr-14-1')] },
    ];
    const health = versionHealthOfJobs(jobs, VERSIONS, 0);

    expect(health.canary).toEqual({
      jobs: 3,
      versionFailures: 3,
      startTimeouts: 0,
      checksumFailures: 0,
      failedJobs: { 'version-failure': [11, 12] },
    });
    expect(health.current).toEqual({
      jobs: 1,
      versionFailures: 0,
      startTimeouts: 1,
      checksumFailures: 0,
      failedJobs: { 'start-timeout': [13] },
    });
    const { failedJobs: _c, ...canaryCounts } = health.canary;
    const { failedJobs: _p, ...currentCounts } = health.current;
    const bare = versionHealthOf(
      jobs.map((j) => j.history),
      VERSIONS,
      0,
    );
    expect(bare).toEqual({ canary: canaryCounts, current: currentCounts });
  });
});
