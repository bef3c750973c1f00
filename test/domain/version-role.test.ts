import { describe, expect, it } from 'vitest';
import type { VersionRecordState } from '../../functions/domain/version-record.ts';
import { isRunnerVersionRole, runnerVersionRole } from '../../functions/domain/version-role.ts';

const RECORD: Pick<VersionRecordState, 'current' | 'previous'> = {
  current: { version: '2.331.0', checksums: {}, adoptedAt: 0 },
  previous: { version: '2.330.0', checksums: {}, adoptedAt: 0 },
};

describe('runnerVersionRole', () => {
  it("is the job's pick from the record when no fallback was taken: canary or current", () => {
    expect(
      runnerVersionRole({ version: '2.332.0', usedFallback: false, tracked: { record: RECORD, pick: 'canary' } }),
    ).toBe('canary');
    expect(
      runnerVersionRole({ version: '2.331.0', usedFallback: false, tracked: { record: RECORD, pick: 'current' } }),
    ).toBe('current');
  });

  it('is pinned for the configured version when the pool follows no record, and fallback once that was taken', () => {
    expect(runnerVersionRole({ version: '2.330.0', usedFallback: false })).toBe('pinned');
    expect(runnerVersionRole({ version: '2.329.0', usedFallback: true, configuredFallback: '2.329.0' })).toBe(
      'fallback',
    );
  });

  it('names the record version a fallback went to: current off a failed canary, previous off a failed current', () => {
    const canaryPick = { record: RECORD, pick: 'canary' as const };
    expect(runnerVersionRole({ version: '2.331.0', usedFallback: true, tracked: canaryPick })).toBe('current');
    const currentPick = { record: RECORD, pick: 'current' as const };
    expect(runnerVersionRole({ version: '2.330.0', usedFallback: true, tracked: currentPick })).toBe('previous');
  });

  it('is fallback when RUNNER_FALLBACK_VERSION was taken, even when the record also holds that version', () => {
    const tracked = { record: RECORD, pick: 'canary' as const };
    expect(runnerVersionRole({ version: '2.331.0', usedFallback: true, configuredFallback: '2.331.0', tracked })).toBe(
      'fallback',
    );
    expect(runnerVersionRole({ version: '2.328.0', usedFallback: true, tracked })).toBe('fallback');
  });
});

describe('isRunnerVersionRole', () => {
  it('accepts the five roles and nothing else', () => {
    for (const role of ['current', 'canary', 'previous', 'fallback', 'pinned'])
      expect(isRunnerVersionRole(role)).toBe(true);
    for (const text of ['Canary', 'auto', '', 'candidate']) expect(isRunnerVersionRole(text)).toBe(false);
  });
});
