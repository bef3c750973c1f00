import { describe, expect, it } from 'vitest';
import {
  CANARY_CLEAN_JOBS,
  CANARY_PERIOD_MS,
  canaryBucket,
  canaryPromotion,
  formatDuration,
  isCanaryJob,
  judgeCanary,
  trackedVersionFor,
  type VersionHealth,
} from '../../functions/domain/version-canary.ts';

const health = (jobs: number, failures: Partial<VersionHealth> = {}): VersionHealth => ({
  jobs,
  versionFailures: 0,
  startTimeouts: 0,
  checksumFailures: 0,
  ...failures,
});

describe('canary share', () => {
  const canary = { version: '2.331.0', share: 10 };
  const jobIds = Array.from({ length: 5_000 }, (_, i) => 9_000_000 + i * 7);

  it('gives a job the same answer every time for one canary', () => {
    for (const jobId of jobIds.slice(0, 200)) {
      expect(isCanaryJob(jobId, canary)).toBe(isCanaryJob(jobId, canary));
      expect(canaryBucket(jobId, '2.331.0')).toBe(canaryBucket(jobId, '2.331.0'));
    }
  });

  it('puts about the share of jobs on the canary', () => {
    const share = jobIds.filter((id) => isCanaryJob(id, canary)).length / jobIds.length;
    expect(share).toBeGreaterThan(0.08);
    expect(share).toBeLessThan(0.12);
  });

  it('puts no job on a 0 % canary and every job on a 100 % one', () => {
    expect(jobIds.some((id) => isCanaryJob(id, { ...canary, share: 0 }))).toBe(false);
    expect(jobIds.every((id) => isCanaryJob(id, { ...canary, share: 100 }))).toBe(true);
  });

  it('keeps a job on the canary when the share grows (buckets below the old share stay below the new)', () => {
    for (const jobId of jobIds.filter((id) => isCanaryJob(id, canary))) {
      expect(isCanaryJob(jobId, { ...canary, share: 25 })).toBe(true);
    }
  });

  it('draws a different set of jobs for the next canary', () => {
    const first = new Set(jobIds.filter((id) => isCanaryJob(id, canary)));
    const next = jobIds.filter((id) => isCanaryJob(id, { version: '2.332.0', share: 10 }));
    const overlap = next.filter((id) => first.has(id)).length / next.length;
    expect(overlap).toBeLessThan(0.3);
  });

  it('gives the canary’s version and digests to a canary job and the current version to the others', () => {
    const record = {
      current: { version: '2.330.0', checksums: { 'linux-x64': 'c'.repeat(64) }, adoptedAt: 1 },
      canary: { version: '2.331.0', checksums: { 'linux-x64': 'a'.repeat(64) }, since: 2, share: 10 },
    };
    const onCanary = jobIds.find((id) => isCanaryJob(id, record.canary)) ?? 0;
    const onCurrent = jobIds.find((id) => !isCanaryJob(id, record.canary)) ?? 0;
    expect(trackedVersionFor(onCanary, record)).toEqual({
      version: '2.331.0',
      checksums: record.canary.checksums,
      role: 'canary',
    });
    expect(trackedVersionFor(onCurrent, record)).toEqual({
      version: '2.330.0',
      checksums: record.current.checksums,
      role: 'current',
    });
    expect(trackedVersionFor(onCanary, { current: record.current })).toMatchObject({ role: 'current' });
  });
});

describe('judgeCanary: the rollback comparison', () => {
  it.each<[string, VersionHealth, VersionHealth, string | undefined]>([
    ['no failures at all', health(30), health(300), undefined],
    ['two version failures: below the minimum of three', health(2, { versionFailures: 2 }), health(50), undefined],
    [
      'three version failures the current version did not have',
      health(5, { versionFailures: 3 }),
      health(50),
      'version-failure',
    ],
    ['three start timeouts of ten jobs against none', health(10, { startTimeouts: 3 }), health(90), 'start-timeout'],
    ['one checksum failure: one is enough', health(1, { checksumFailures: 1 }), health(90), 'checksum-mismatch'],
    [
      'start timeouts at the same rate as the current version (a shared outage)',
      health(10, { startTimeouts: 4 }),
      health(90, { startTimeouts: 36 }),
      undefined,
    ],
    [
      'a rate above the current one but not twice it',
      health(10, { startTimeouts: 5 }),
      health(90, { startTimeouts: 27 }),
      undefined,
    ],
    [
      'a rate twice the current one but within 10 points',
      health(100, { startTimeouts: 6 }),
      health(900, { startTimeouts: 27 }),
      undefined,
    ],
    [
      'a rate clearly above: 50 % against 10 %',
      health(10, { startTimeouts: 5 }),
      health(90, { startTimeouts: 9 }),
      'start-timeout',
    ],
    [
      'failures while the current version ran no job in the window',
      health(3, { versionFailures: 3 }),
      health(0),
      'version-failure',
    ],
    [
      'more failures than counted jobs (read as every job failing)',
      health(0, { startTimeouts: 3 }),
      health(10),
      'start-timeout',
    ],
  ])('%s', (_, canary, current, failure) => {
    const verdict = judgeCanary(canary, current);
    if (failure === undefined) expect(verdict).toEqual({ kind: 'healthy' });
    else expect(verdict).toMatchObject({ kind: 'failing', failure });
  });

  it('names the kind, the counts and both rates in its reason', () => {
    const verdict = judgeCanary(health(10, { versionFailures: 4 }), health(90));
    expect(verdict).toEqual({
      kind: 'failing',
      failure: 'version-failure',
      reason: 'version-failure: 4 of 10 canary jobs (40%) against 0% on the version it would replace',
    });
  });

  it('names the jobs behind the failing count when the health carries them, at most five', () => {
    const failing = judgeCanary(
      { ...health(10, { versionFailures: 3 }), failedJobs: { 'version-failure': [7, 9, 12] } },
      health(90),
    );
    expect(failing).toMatchObject({
      reason: expect.stringMatching(/on the version it would replace \(jobs 7, 9, 12\)$/),
    });

    const many = judgeCanary(
      {
        ...health(20, { startTimeouts: 7 }),
        failedJobs: { 'start-timeout': [1, 2, 3, 4, 5, 6, 7], 'version-failure': [99] },
      },
      health(90),
    );
    expect(many).toMatchObject({ reason: expect.stringMatching(/\(jobs 1, 2, 3, 4, 5 and 2 more\)$/) });
  });

  it('reports checksum failures before the others', () => {
    const verdict = judgeCanary(health(10, { versionFailures: 5, checksumFailures: 1 }), health(90));
    expect(verdict).toMatchObject({ failure: 'checksum-mismatch' });
  });
});

describe('canaryPromotion', () => {
  const since = 1_000_000;

  it('promotes after the clean-job count with no watched failure', () => {
    expect(canaryPromotion({ since }, health(CANARY_CLEAN_JOBS), since + 60_000)).toEqual({
      ready: true,
      reason: `served ${CANARY_CLEAN_JOBS} jobs with no failure`,
    });
  });

  it('does not count jobs as clean when one failed, and waits for the period instead', () => {
    const readiness = canaryPromotion({ since }, health(50, { startTimeouts: 1 }), since + 60_000);
    expect(readiness).toEqual({ ready: false, readyAt: since + CANARY_PERIOD_MS });
  });

  it('promotes once the period elapsed, even an idle canary, and not a millisecond before', () => {
    expect(canaryPromotion({ since }, health(0), since + CANARY_PERIOD_MS - 1).ready).toBe(false);
    expect(canaryPromotion({ since }, undefined, since + CANARY_PERIOD_MS)).toEqual({
      ready: true,
      reason: 'canary period of 24 h elapsed',
    });
  });

  it('takes its thresholds from the rules when given', () => {
    const rules = { cleanJobs: 2, periodMs: 30_000 };
    expect(canaryPromotion({ since }, health(2), since + 1, rules).ready).toBe(true);
    expect(canaryPromotion({ since }, health(1), since + 30_000, rules)).toEqual({
      ready: true,
      reason: 'canary period of 30 s elapsed',
    });
  });

  it('does not promote a canary whose start lies in the future (clock skew)', () => {
    expect(canaryPromotion({ since: since + CANARY_PERIOD_MS }, health(0), since).ready).toBe(false);
  });
});

describe('formatDuration', () => {
  it.each([
    [5_000, '5 s'],
    [90_000, '90 s'],
    [5 * 60_000, '5 min'],
    [3 * 3_600_000, '3 h'],
    [7 * 86_400_000, '7 days'],
    [2.5 * 86_400_000, '2.5 days'],
  ])('writes %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
