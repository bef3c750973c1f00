import { describe, expect, it } from 'vitest';
import { DEFAULT_RUNNER_VERSION, DEFAULT_RUNNER_VERSION_FLOOR } from '../../functions/domain/runner-version.ts';
import { checkVersionFloor, chooseRunnerVersion } from '../../functions/domain/version-policy.ts';

describe('checkVersionFloor', () => {
  it('accepts the default pin against the default floor', () => {
    expect(checkVersionFloor(DEFAULT_RUNNER_VERSION, DEFAULT_RUNNER_VERSION_FLOOR)).toEqual({ ok: true });
  });

  it('accepts a version equal to the floor', () => {
    expect(checkVersionFloor('2.329.0', '2.329.0')).toEqual({ ok: true });
  });

  it.each([
    ['2.328.9', '2.329.0'],
    ['2.300.0', '2.329.0'],
    ['1.999.999', '2.0.0'],
  ])('refuses %s below %s with a message naming both and the fix', (version, floor) => {
    const check = checkVersionFloor(version, floor);
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.message).toContain(version);
    expect(check.message).toContain(floor);
    expect(check.message).toContain(`pin ${floor} or newer`);
  });

  it.each(['latest', '2.330', 'v2.330.0', '^2.330.0', '2.330.0-beta.1', ' 2.330.0', ''])(
    'refuses the inexact version "%s"',
    (version) => {
      const check = checkVersionFloor(version, '2.329.0');
      expect(check.ok).toBe(false);
      if (!check.ok) expect(check.message).toMatch(/not an exact version/);
    },
  );

  it('refuses an inexact floor', () => {
    expect(checkVersionFloor('2.330.0', '2.329').ok).toBe(false);
  });

  it('compares numerically, not as text', () => {
    expect(checkVersionFloor('2.1000.0', '2.329.0').ok).toBe(true);
    expect(checkVersionFloor('2.33.0', '2.329.0').ok).toBe(false);
  });
});

describe('chooseRunnerVersion', () => {
  const base = { pinned: '2.331.0', fallback: '2.330.0', floor: '2.329.0' };

  it('uses the pin for a first attempt', () => {
    expect(chooseRunnerVersion(base)).toMatchObject({ version: '2.331.0', usedFallback: false });
  });

  it('uses the pin after a failure that is not about the version', () => {
    expect(
      chooseRunnerVersion({ ...base, lastFailureClass: 'metadata-missing', previousVersion: '2.331.0' }),
    ).toMatchObject({
      version: '2.331.0',
      usedFallback: false,
    });
  });

  it('uses the fallback after a version-class failure', () => {
    const choice = chooseRunnerVersion({ ...base, lastFailureClass: 'version-deprecated', previousVersion: '2.331.0' });
    expect(choice).toMatchObject({ version: '2.330.0', usedFallback: true });
    expect(choice.reason).toContain('fallback 2.330.0');
  });

  it('keeps the fallback for later attempts of the same job', () => {
    expect(
      chooseRunnerVersion({ ...base, lastFailureClass: 'registration-gone', previousVersion: '2.330.0' }),
    ).toMatchObject({
      version: '2.330.0',
      usedFallback: true,
    });
  });

  it('stays on the pin after a version failure when no fallback is configured', () => {
    const choice = chooseRunnerVersion({ pinned: '2.331.0', floor: '2.329.0', lastFailureClass: 'version-deprecated' });
    expect(choice).toMatchObject({ version: '2.331.0', usedFallback: false });
    expect(choice.reason).toContain('no fallback');
  });

  it('never uses a fallback below the floor', () => {
    const choice = chooseRunnerVersion({ ...base, fallback: '2.300.0', lastFailureClass: 'version-deprecated' });
    expect(choice).toMatchObject({ version: '2.331.0', usedFallback: false });
  });

  it('never uses an inexact fallback', () => {
    expect(chooseRunnerVersion({ ...base, fallback: 'latest', lastFailureClass: 'version-deprecated' }).version).toBe(
      '2.331.0',
    );
  });

  it('refuses a pin below the floor', () => {
    expect(() => chooseRunnerVersion({ ...base, pinned: '2.320.0' })).toThrow(/below the minimum 2.329.0/);
  });
});
