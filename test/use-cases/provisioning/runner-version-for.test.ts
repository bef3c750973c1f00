import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/config/config.ts';
import { isCanaryJob } from '../../../functions/domain/version-canary.ts';
import type { VersionRecordState } from '../../../functions/domain/version-record.ts';
import {
  runnerVersionChoiceFor,
  runnerVersionFor,
  trackedTarballDigests,
} from '../../../functions/use-cases/provisioning/runner-version-for.ts';

const sha = (c: string) => c.repeat(64);
const RECORD: VersionRecordState = {
  current: { version: '2.331.0', checksums: { 'linux-x64': sha('a') }, adoptedAt: 0 },
  previous: { version: '2.330.0', checksums: { 'linux-x64': sha('b') }, adoptedAt: 0 },
  canary: { version: '2.332.0', checksums: { 'linux-x64': sha('c') }, since: 0, share: 30 },
  bad: [],
};
const { canary: _canary, ...NO_CANARY } = RECORD;
const auto = parseConfig({ env: { RUNNER_VERSION: 'auto' } });
const tracking = { tracksRunnerVersion: true as const, runnerVersion: auto.runner.version };
const fresh = (jobId: number) => ({ jobId });

describe('runnerVersionFor', () => {
  it('gives the canary to its share of jobs and the current version to the rest', () => {
    const ids = Array.from({ length: 400 }, (_, i) => 1_000 + i);
    const versions = ids.map((id) => runnerVersionFor(fresh(id), auto.runner, tracking, RECORD));

    for (const [i, id] of ids.entries()) {
      expect(versions[i]).toBe(isCanaryJob(id, { version: '2.332.0', share: 30 }) ? '2.332.0' : '2.331.0');
    }
    const share = versions.filter((v) => v === '2.332.0').length / ids.length;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.4);
    // The same job gets the same version on every attempt.
    expect(runnerVersionFor(fresh(ids[0] as number), auto.runner, tracking, RECORD)).toBe(versions[0]);
  });

  it('starts from the configured version while the store holds no record', () => {
    expect(runnerVersionFor(fresh(1), auto.runner, tracking, undefined)).toBe(auto.runner.version);
  });

  it('keeps a pool pinned on its own to its pin whatever the record says', () => {
    expect(runnerVersionFor(fresh(1), auto.runner, { runnerVersion: '2.329.0' }, RECORD)).toBe('2.329.0');
  });

  it('falls back to the previous version after a version-class failure when no fallback is configured', () => {
    const job = { jobId: 7, failureClass: 'version-deprecated' as const, runnerVersion: '2.331.0' };
    expect(runnerVersionFor(job, auto.runner, tracking, NO_CANARY)).toBe('2.330.0');
  });

  it('takes a job the canary failed with a version-class failure back to the current version', () => {
    const job = { jobId: 7, failureClass: 'version-deprecated' as const, runnerVersion: '2.332.0' };
    expect(runnerVersionFor(job, auto.runner, tracking, RECORD)).toBe('2.331.0');
  });

  it('keeps a canary job that fell back on the current version when a theft or a lost runner takes it to a later attempt', () => {
    const canaryJob = Array.from({ length: 400 }, (_, i) => 1_000 + i).find((id) =>
      isCanaryJob(id, { version: '2.332.0', share: 30 }),
    ) as number;
    // Attempt 1 on the canary was refused, attempt 2 ran the current version, then its runner was stolen.
    const stolen = { jobId: canaryJob, failureClass: 'stolen' as const, runnerVersion: '2.331.0' };
    expect(runnerVersionChoiceFor(stolen, auto.runner, tracking, RECORD)).toEqual({
      version: '2.331.0',
      role: 'current',
    });
    const lost = { jobId: canaryJob, failureClass: 'transient' as const, runnerVersion: '2.331.0' };
    expect(runnerVersionFor(lost, auto.runner, tracking, RECORD)).toBe('2.331.0');
  });

  it('sends a job whose current version GitHub refused to the previous version while a canary runs', () => {
    const job = { jobId: 7, failureClass: 'version-deprecated' as const, runnerVersion: '2.331.0' };
    expect(runnerVersionFor(job, auto.runner, tracking, RECORD)).toBe('2.330.0');
  });

  it('prefers RUNNER_FALLBACK_VERSION over the previous version', () => {
    const config = parseConfig({ env: { RUNNER_VERSION: 'auto', RUNNER_FALLBACK_VERSION: '2.329.0' } });
    const job = { jobId: 7, failureClass: 'version-deprecated' as const, runnerVersion: '2.331.0' };
    expect(runnerVersionFor(job, config.runner, tracking, NO_CANARY)).toBe('2.329.0');
  });
});

describe('runnerVersionChoiceFor', () => {
  it('marks a canary job canary and the other jobs current, with the version runnerVersionFor gives', () => {
    const ids = Array.from({ length: 100 }, (_, i) => 2_000 + i);
    for (const id of ids) {
      const choice = runnerVersionChoiceFor(fresh(id), auto.runner, tracking, RECORD);
      const canary = isCanaryJob(id, { version: '2.332.0', share: 30 });
      expect(choice).toEqual(canary ? { version: '2.332.0', role: 'canary' } : { version: '2.331.0', role: 'current' });
      expect(choice.version).toBe(runnerVersionFor(fresh(id), auto.runner, tracking, RECORD));
    }
  });

  it('marks the configured version pinned: an exact pin, a pool pinned on its own, a tracking pool without a record', () => {
    const pinned = parseConfig({ env: { RUNNER_VERSION: '2.330.0' } });
    expect(runnerVersionChoiceFor(fresh(1), pinned.runner, undefined, RECORD)).toEqual({
      version: '2.330.0',
      role: 'pinned',
    });
    expect(runnerVersionChoiceFor(fresh(1), auto.runner, { runnerVersion: '2.329.0' }, RECORD).role).toBe('pinned');
    expect(runnerVersionChoiceFor(fresh(1), auto.runner, tracking, undefined).role).toBe('pinned');
  });

  it('marks where a version-class failure sent the job: current off the canary, previous, or the configured fallback', () => {
    const offCanary = { jobId: 7, failureClass: 'version-deprecated' as const, runnerVersion: '2.332.0' };
    expect(runnerVersionChoiceFor(offCanary, auto.runner, tracking, RECORD)).toEqual({
      version: '2.331.0',
      role: 'current',
    });
    const offCurrent = { jobId: 7, failureClass: 'version-deprecated' as const, runnerVersion: '2.331.0' };
    expect(runnerVersionChoiceFor(offCurrent, auto.runner, tracking, NO_CANARY)).toEqual({
      version: '2.330.0',
      role: 'previous',
    });
    const config = parseConfig({ env: { RUNNER_VERSION: 'auto', RUNNER_FALLBACK_VERSION: '2.329.0' } });
    expect(runnerVersionChoiceFor(offCurrent, config.runner, tracking, NO_CANARY)).toEqual({
      version: '2.329.0',
      role: 'fallback',
    });
  });
});

describe('trackedTarballDigests', () => {
  it("hands the record's linux digests of whichever recorded version the runner starts", () => {
    const withArm: VersionRecordState = {
      ...RECORD,
      canary: {
        version: '2.332.0',
        checksums: { 'linux-x64': sha('c'), 'linux-arm64': sha('d'), 'osx-x64': sha('e') },
        since: 0,
        share: 30,
      },
    };
    expect(trackedTarballDigests('2.332.0', withArm)).toEqual({ 'linux-x64': sha('c'), 'linux-arm64': sha('d') });
    expect(trackedTarballDigests('2.331.0', RECORD)).toEqual({ 'linux-x64': sha('a') });
    expect(trackedTarballDigests('2.330.0', RECORD)).toEqual({ 'linux-x64': sha('b') });
  });

  it('hands nothing for a version outside the record, without a record, or when the record has no digest for it', () => {
    expect(trackedTarballDigests('2.329.0', RECORD)).toBeUndefined();
    expect(trackedTarballDigests('2.331.0', undefined)).toBeUndefined();
    const started = { current: { version: '2.330.0', checksums: {}, adoptedAt: 0 }, bad: [] };
    expect(trackedTarballDigests('2.330.0', started)).toBeUndefined();
  });
});
