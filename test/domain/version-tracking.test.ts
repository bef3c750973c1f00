import { describe, expect, it } from 'vitest';
import type { RunnerRelease } from '../../functions/domain/release-checksums.ts';
import type { VersionHealth } from '../../functions/domain/version-canary.ts';
import {
  applyVersionDecision,
  CUTOFF_ALARM_MARGIN_MS,
  cutoffFor,
  decideRunnerVersion,
  FORCED_ADOPTION_MARGIN_MS,
  GITHUB_CUTOFF_MS,
  type VersionDecision,
  type VersionPolicyInput,
  type VersionPolicySettings,
} from '../../functions/domain/version-policy.ts';
import type { VersionRecordState } from '../../functions/domain/version-record.ts';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 10, 30, 12);
const sha = (c: string) => c.repeat(64);

/** A published release `ageDays` old at NOW, with a linux-x64 digest unless told otherwise. */
function release(version: string, ageDays: number, overrides: Partial<RunnerRelease> = {}): RunnerRelease {
  return {
    version,
    publishedAt: NOW - ageDays * DAY,
    prerelease: false,
    draft: false,
    checksums: { 'linux-x64': sha(version.at(-1) ?? '0'), 'linux-arm64': sha('f') },
    ...overrides,
  };
}

const SETTINGS: VersionPolicySettings = { soakMs: 7 * DAY, floor: '2.329.0', canaryPercent: 10 };

function recordOn(version: string, overrides: Partial<VersionRecordState> = {}): VersionRecordState {
  return {
    current: { version, checksums: { 'linux-x64': sha('c') }, adoptedAt: NOW - 40 * DAY },
    bad: [],
    ...overrides,
  };
}

function decide(input: Partial<VersionPolicyInput> & Pick<VersionPolicyInput, 'releases'>): VersionDecision {
  return decideRunnerVersion({
    settings: SETTINGS,
    record: recordOn('2.330.0'),
    startVersion: '2.330.0',
    now: NOW,
    ...input,
  });
}

const healthy = (jobs: number): VersionHealth => ({ jobs, versionFailures: 0, startTimeouts: 0, checksumFailures: 0 });

describe('decideRunnerVersion: adoption', () => {
  it.each<[string, RunnerRelease[], string | undefined]>([
    ['adopts a release exactly soakDays old', [release('2.331.0', 7)], '2.331.0'],
    ['adopts a release older than the soak', [release('2.331.0', 12)], '2.331.0'],
    [
      'adopts the newest soaked release, skipping an older soaked one',
      [release('2.331.0', 20), release('2.332.0', 9)],
      '2.332.0',
    ],
    [
      'adopts the newest soaked release, not a newer one still soaking',
      [release('2.331.0', 8), release('2.332.0', 2)],
      '2.331.0',
    ],
    ['adopts nothing while the only newer release soaks', [release('2.331.0', 6.9)], undefined],
    ['adopts nothing when the current version is the newest', [release('2.330.0', 40)], undefined],
    ['adopts nothing older than the current version', [release('2.329.5', 60)], undefined],
    ['never adopts a prerelease', [release('2.331.0', 10, { prerelease: true })], undefined],
    ['never adopts a draft', [release('2.331.0', 10, { draft: true, publishedAt: undefined })], undefined],
    [
      'never adopts a release without a linux-x64 digest',
      [release('2.331.0', 10, { checksums: { 'linux-arm64': sha('a') } })],
      undefined,
    ],
    ['never adopts a release published in the future (clock skew)', [release('2.331.0', -3)], undefined],
  ])('%s', (_, releases, adopted) => {
    const decision = decide({ releases });
    if (adopted === undefined) {
      expect(decision.kind).toBe('keep');
    } else {
      expect(decision).toMatchObject({ kind: 'adopt', release: { version: adopted }, share: 10, because: 'soaked' });
    }
  });

  it('never adopts a release marked bad, and says why it skipped it', () => {
    const record = recordOn('2.330.0', {
      bad: [{ version: '2.331.0', reason: 'version-failure on canary', at: NOW - DAY }],
    });
    const decision = decide({ releases: [release('2.331.0', 10)], record });
    expect(decision.kind).toBe('keep');
    expect(decision.outlook.skipped).toEqual([{ version: '2.331.0', reason: 'marked bad: version-failure on canary' }]);
  });

  it('takes the next soaked release when the newest one is marked bad', () => {
    const record = recordOn('2.330.0', { bad: [{ version: '2.332.0', reason: 'checksum', at: NOW - DAY }] });
    const decision = decide({ releases: [release('2.331.0', 20), release('2.332.0', 10)], record });
    expect(decision).toMatchObject({ kind: 'adopt', release: { version: '2.331.0' } });
  });

  it('never adopts a release below the floor', () => {
    const decision = decide({
      releases: [release('2.330.5', 10)],
      record: recordOn('2.330.0'),
      settings: { ...SETTINGS, floor: '2.331.0' },
    });
    expect(decision.outlook.skipped).toEqual([{ version: '2.330.5', reason: 'below the floor 2.331.0' }]);
  });

  it('names a malformed linux-x64 digest as the reason it skipped a release', () => {
    const malformed = release('2.331.0', 10, {
      checksums: {},
      checksumProblems: [{ platform: 'linux-x64', kind: 'malformed' }],
    });
    expect(decide({ releases: [malformed] }).outlook.skipped).toEqual([
      { version: '2.331.0', reason: 'linux-x64 SHA-256 in the release notes is malformed' },
    ]);
  });

  it('adopts with the release’s digests and records the start version as current on the first adoption', () => {
    const start = release('2.330.0', 40, { checksums: { 'linux-x64': sha('s') } });
    const candidate = release('2.331.0', 8);
    const decision = decide({ releases: [start, candidate], record: undefined, startVersion: '2.330.0' });
    expect(decision).toMatchObject({
      kind: 'adopt',
      release: { version: '2.331.0', checksums: candidate.checksums },
      current: { version: '2.330.0', checksums: { 'linux-x64': sha('s') } },
    });
    expect(applyVersionDecision(undefined, decision, NOW)).toEqual({
      current: { version: '2.330.0', checksums: { 'linux-x64': sha('s') }, adoptedAt: NOW },
      canary: { version: '2.331.0', checksums: candidate.checksums, since: NOW, share: 10 },
      bad: [],
    });
  });

  it('tells when the soaking release becomes adoptable', () => {
    const decision = decide({ releases: [release('2.331.0', 2)] });
    expect(decision.kind).toBe('keep');
    expect(decision.outlook.candidate).toEqual({ version: '2.331.0', adoptableAt: NOW + 5 * DAY });
  });

  it('adopts with a soak of seconds (fractional days) once those seconds have passed', () => {
    const settings = { ...SETTINGS, soakMs: 5_000 };
    const published = { publishedAt: NOW - 4_000 };
    expect(decide({ releases: [release('2.331.0', 0, published)], settings }).kind).toBe('keep');
    expect(decide({ releases: [release('2.331.0', 0, published)], settings, now: NOW + 1_000 }).kind).toBe('adopt');
  });
});

describe('decideRunnerVersion: the 30-day cut-off', () => {
  it('counts the cut-off from the first release newer than the current one, bad or not', () => {
    const releases = [release('2.330.0', 50), release('2.331.0', 20), release('2.332.0', 5)];
    expect(cutoffFor('2.330.0', releases)).toBe(NOW - 20 * DAY + GITHUB_CUTOFF_MS);
    expect(cutoffFor('2.332.0', releases)).toBeUndefined();
    // Prereleases and drafts do not start GitHub's clock.
    expect(cutoffFor('2.330.0', [release('2.331.0', 20, { prerelease: true })])).toBeUndefined();
  });

  it('shows the days left to the cut-off, and raises the alarm within 7 days of it', () => {
    const quiet = decide({ releases: [release('2.331.0', 3)] });
    expect(quiet.outlook).toMatchObject({ current: '2.330.0', daysToCutoff: 27, cutoffAlarm: false });
    const near = decide({ releases: [release('2.331.0', 30 - CUTOFF_ALARM_MARGIN_MS / DAY)] });
    expect(near.outlook.cutoffAlarm).toBe(true);
  });

  it('adopts an unsoaked release once the current version is within the forced-adoption margin of its cut-off', () => {
    const settings = { ...SETTINGS, soakMs: 28 * DAY };
    const age = 30 - FORCED_ADOPTION_MARGIN_MS / DAY;
    expect(decide({ releases: [release('2.331.0', age - 0.1)], settings }).kind).toBe('keep');
    const forced = decide({ releases: [release('2.331.0', age)], settings });
    expect(forced).toMatchObject({ kind: 'adopt', release: { version: '2.331.0' }, because: 'cut-off' });
  });

  it('forces the release out longest when several soak, since it soaked most', () => {
    const settings = { ...SETTINGS, soakMs: 28 * DAY };
    const decision = decide({
      releases: [release('2.331.0', 21), release('2.332.0', 4), release('2.333.0', 1)],
      settings,
    });
    expect(decision).toMatchObject({ kind: 'adopt', release: { version: '2.331.0' }, because: 'cut-off' });
  });

  it('names the forced-adoption date as the next adoption when it comes before the soak ends', () => {
    const settings = { ...SETTINGS, soakMs: 28 * DAY };
    const decision = decide({ releases: [release('2.331.0', 10)], settings });
    expect(decision.outlook.candidate).toEqual({
      version: '2.331.0',
      adoptableAt: NOW - 10 * DAY + GITHUB_CUTOFF_MS - FORCED_ADOPTION_MARGIN_MS,
    });
  });

  it('refuses, with the reasons, when the cut-off is near and no release can be adopted', () => {
    const record = recordOn('2.330.0', { bad: [{ version: '2.331.0', reason: 'start-timeout', at: NOW - DAY }] });
    const decision = decide({
      releases: [release('2.331.0', 25), release('2.332.0', 22, { prerelease: true })],
      record,
    });
    expect(decision.kind).toBe('refuse');
    if (decision.kind !== 'refuse') return;
    expect(decision.reason).toContain('2.330.0 reaches GitHub');
    expect(decision.reason).toContain('2.331.0: marked bad: start-timeout');
    expect(decision.reason).toContain('2.332.0: prerelease');
  });

  it('never forces a release published in the future, even at the cut-off', () => {
    const decision = decide({
      releases: [release('2.331.0', 29), release('2.332.0', -1)],
      record: recordOn('2.330.0', {
        bad: [{ version: '2.331.0', reason: 'checksum-mismatch', at: NOW }],
      }),
    });
    expect(decision.kind).toBe('refuse');
  });

  it('treats a current version below the floor as urgent', () => {
    const settings = { ...SETTINGS, floor: '2.330.5' };
    const decision = decide({ releases: [release('2.331.0', 1)], settings });
    expect(decision).toMatchObject({ kind: 'adopt', release: { version: '2.331.0' }, because: 'cut-off' });
  });
});

describe('decideRunnerVersion: an exact pin', () => {
  it('always wins: nothing is adopted, whatever the releases and the record say', () => {
    const settings = { ...SETTINGS, pin: '2.330.0' };
    const record = recordOn('2.332.0', {
      canary: { version: '2.333.0', checksums: {}, since: NOW - 5 * DAY, share: 10 },
    });
    const decision = decide({ releases: [release('2.334.0', 20)], record, settings });
    expect(decision).toMatchObject({ kind: 'pinned', version: '2.330.0' });
    expect(decision.outlook).toMatchObject({ current: '2.330.0', daysToCutoff: 10 });
    expect(applyVersionDecision(record, decision, NOW)).toBeUndefined();
  });
});

describe('decideRunnerVersion: a running canary', () => {
  const canary = {
    version: '2.331.0',
    checksums: { 'linux-x64': sha('1') },
    since: NOW - 2 * 60 * 60 * 1000,
    share: 10,
  };
  const canaryRecord = recordOn('2.330.0', {
    previous: { version: '2.329.0', checksums: {}, adoptedAt: NOW - 90 * DAY },
    canary,
  });
  const releases = [release('2.331.0', 8), release('2.332.0', 8)];

  it('adopts nothing else while the canary runs', () => {
    const decision = decide({ releases, record: canaryRecord, health: { canary: healthy(1), current: healthy(9) } });
    expect(decision.kind).toBe('keep');
    expect(decision.outlook.candidate).toBeUndefined();
  });

  it('rolls back a canary whose runners fail where the current version’s do not, and marks it bad', () => {
    const health = {
      canary: { ...healthy(5), versionFailures: 3 },
      current: healthy(45),
    };
    const decision = decide({ releases, record: canaryRecord, health });
    expect(decision).toMatchObject({ kind: 'rollback', version: '2.331.0', to: '2.330.0', failure: 'version-failure' });
    const next = applyVersionDecision(canaryRecord, decision, NOW);
    expect(next).toEqual({
      current: canaryRecord.current,
      previous: canaryRecord.previous,
      bad: [{ version: '2.331.0', reason: decision.kind === 'rollback' ? decision.reason : '', at: NOW }],
    });
  });

  it('promotes a canary that served enough jobs cleanly: it becomes current, the current becomes previous', () => {
    const decision = decide({ releases, record: canaryRecord, health: { canary: healthy(20), current: healthy(180) } });
    expect(decision).toMatchObject({ kind: 'promote', version: '2.331.0' });
    expect(applyVersionDecision(canaryRecord, decision, NOW)).toEqual({
      current: { version: '2.331.0', checksums: { 'linux-x64': sha('1') }, adoptedAt: NOW },
      previous: canaryRecord.current,
      bad: [],
    });
  });

  it('promotes a canary once its period elapsed, and keeps it until then', () => {
    const record = { ...canaryRecord, canary: { ...canary, since: NOW - DAY } };
    expect(decide({ releases, record, health: { canary: healthy(2), current: healthy(3) } }).kind).toBe('promote');
    const young = { ...canaryRecord, canary: { ...canary, since: NOW - DAY + 1 } };
    expect(decide({ releases, record: young, health: { canary: healthy(2), current: healthy(3) } }).kind).toBe('keep');
  });

  it('promotes a healthy canary early when the current version is near its cut-off', () => {
    const record = recordOn('2.330.0', {
      canary: { version: '2.331.0', checksums: {}, since: NOW - 60_000, share: 10 },
    });
    const decision = decide({
      releases: [release('2.331.0', 25)],
      record,
      health: { canary: healthy(1), current: healthy(4) },
    });
    expect(decision).toMatchObject({ kind: 'promote', version: '2.331.0' });
  });

  it('writes nothing for a promotion or rollback of a canary the record no longer has (another reconciler acted)', () => {
    const decision = decide({ releases, record: canaryRecord, health: { canary: healthy(20), current: healthy(20) } });
    expect(applyVersionDecision(recordOn('2.331.0'), decision, NOW)).toBeUndefined();
  });
});
