import { describe, expect, it } from 'vitest';
import { WIDTH, wrapUnder } from '../../functions/cli/fleet-format.ts';
import { formatVersionStatus } from '../../functions/cli/version.ts';
import { versionPolicySettings } from '../../functions/config/config.ts';
import type { RunnerRelease } from '../../functions/domain/release-checksums.ts';
import type { VersionRecordState } from '../../functions/domain/version-record.ts';
import type { ListedRunnerRelease } from '../../functions/ports/github.ts';
import { buildVersionStatus, type VersionStatus } from '../../functions/use-cases/admin/version-status.ts';
import { listedToRunnerRelease } from '../../functions/use-cases/version/policy-releases.ts';
import {
  CALM_RELEASES,
  DAY,
  digest,
  NEAR_CUTOFF_RELEASES,
  NOW,
  RECORD,
  versionConfig,
} from '../use-cases/admin/version-fixtures.ts';

const toReleases = (listed: ListedRunnerRelease[]) =>
  listed.map(listedToRunnerRelease).filter((r): r is RunnerRelease => r !== undefined);

function status(
  options: {
    env?: Record<string, string>;
    record?: VersionRecordState;
    releases?: ListedRunnerRelease[] | string;
  } = {},
): VersionStatus {
  const config = versionConfig(options.env);
  const releases = options.releases ?? NEAR_CUTOFF_RELEASES;
  return buildVersionStatus({
    settings: versionPolicySettings(config),
    releasesUrl: config.versionTracking.releasesUrl,
    record: options.record && { ...options.record, revision: 3, updatedAt: NOW - DAY },
    releases: typeof releases === 'string' ? { ok: false, reason: releases } : { ok: true, list: toReleases(releases) },
    startVersion: config.runner.version,
    pools: config.pools,
    now: NOW,
  });
}

const rows = (text: string) => text.trimEnd().split('\n');

describe('formatVersionStatus (jit-runners version status)', () => {
  it('prints mode, soak, current, previous, candidate, next adoption, cut-off and bad releases with reasons', () => {
    const text = formatVersionStatus(status({ record: RECORD }));
    expect(rows(text)[0]).toBe('runner version: auto (soak 7 days, canary 10% of jobs, floor 2.329.0)');
    expect(text).toContain('\n  current:        2.330.0 (adopted 2026-11-01T12:00:00.000Z)\n');
    expect(text).toContain('\n  previous:       2.329.0 (adopted 2026-10-02T12:00:00.000Z)\n');
    expect(text).toContain('\n  canary:         none\n');
    expect(text).toContain('\n  candidate:      2.332.0, adoptable from 2026-12-01T12:00:00.000Z\n');
    expect(text).toContain(
      'next adoption:  due now (adoptable since 2026-12-01T12:00:00.000Z): the next reconcile pass adopts\n                  2.332.0\n',
    );
    expect(text).toContain(
      "\n  cut-off:        2026-12-06T12:00:00.000Z (in 5 days) ALARM: within 7 days of GitHub's cut-off\n",
    );
    expect(text).toContain(
      '\n  bad releases:   1 (never adopted again)\n    2.331.0    marked 2026-11-11T12:00:00.000Z: canary',
    );
    // The bad release's reason is printed once; the skipped list points at it.
    expect(text).toContain('\n    2.333.0    prerelease\n    2.331.0    marked bad (above)\n');
    expect(text).toContain('\n  releases:       4 read from https://api.github.com/repos/actions/runner/releases\n');
  });

  it('fits every line within 100 columns, wrapping long reasons under their column', () => {
    const longReason = `canary 2.331.0 rolled back to 2.330.0: ${'version-class failures on many runners '.repeat(5)}`;
    const text = formatVersionStatus(
      status({ record: { ...RECORD, bad: [{ version: '2.331.0', reason: longReason, at: NOW - DAY }] } }),
    );
    expect(WIDTH).toBe(100);
    for (const line of rows(text)) expect(line.length, line).toBeLessThanOrEqual(100);
    // The reason continues under itself (15 columns in), over several lines.
    const continued = rows(text).filter((l) => /^ {15}\S/.test(l));
    expect(continued.length).toBeGreaterThan(2);
  });

  it('wraps continuation lines at the same 100 columns as the first, as every other command does (wrapUnder)', () => {
    const longReason = `canary 2.331.0 rolled back to 2.330.0: ${'version-class failures on many runners '.repeat(5)}`;
    const text = formatVersionStatus(
      status({ record: { ...RECORD, bad: [{ version: '2.331.0', reason: longReason, at: NOW - DAY }] } }),
    );
    const reason = `marked ${new Date(NOW - DAY).toISOString()}: ${longReason}`;
    expect(text).toContain(`\n${wrapUnder(`    ${'2.331.0'.padEnd(10)} `, reason)}\n`);
    // Every line of the wrapped reason but its last is filled to within a word of 100 columns, not 82.
    const block = wrapUnder('    2.331.0    ', reason).split('\n');
    for (const line of block.slice(0, -1)) expect(line.length, line).toBeGreaterThan(88);
    // A row's value too: a long reason the releases were not read for continues to 100 columns as well.
    const why = `GitHub answered 503: ${'the service is unavailable, try again later; '.repeat(4)}`.trim();
    const unread = formatVersionStatus(status({ record: RECORD, releases: why }));
    const value = wrapUnder('  releases:       ', `not read (${why}); showing the stored record only`);
    expect(unread).toContain(`\n${value}\n`);
    for (const line of value.split('\n').slice(0, -1)) expect(line.length, line).toBeGreaterThan(88);
  });

  it('prints a running canary, its share and its latest promotion, and no candidate meanwhile', () => {
    const since = NOW - 60 * 60 * 1000;
    const text = formatVersionStatus(
      status({
        record: {
          ...RECORD,
          canary: { version: '2.332.0', checksums: { 'linux-x64': digest('c') }, since, share: 10 },
        },
        releases: CALM_RELEASES,
      }),
    );
    expect(text).toContain('canary:         2.332.0 on 10% of jobs since 2026-12-01T11:00:00.000Z, promoted by');
    expect(text).toContain('2026-12-02T11:00:00.000Z at the latest unless rolled back');
    expect(text).toContain('\n  candidate:      none while the canary runs\n');
    expect(text).toContain('\n  next adoption:  after the canary ends\n');
    expect(text).toContain('(in 27 days)\n');
    expect(text).not.toContain('ALARM');
    expect(text).toContain('\n  next pass:      keep: canary 2.332.0 serves 10% of jobs until');
  });

  it('prints the adoption date at the soak end when the cut-off is far', () => {
    const text = formatVersionStatus(status({ record: RECORD, releases: CALM_RELEASES }));
    expect(text).toContain('\n  next adoption:  2026-12-05T12:00:00.000Z\n');
  });

  it('in pinned mode prints the pin and says nothing is tracked', () => {
    const text = formatVersionStatus(
      status({ env: { RUNNER_VERSION: '2.330.0' }, record: RECORD, releases: CALM_RELEASES }),
    );
    const lines = rows(text);
    expect(lines[0]).toBe('runner version: pinned 2.330.0');
    expect(lines[1]).toMatch(/^ {2}tracking: {7}none: RUNNER_VERSION is an exact pin, so nothing is tracked/);
    expect(text).toContain('cut-off:        2026-12-28T12:00:00.000Z (in 27 days)');
    for (const absent of ['candidate:', 'canary:', 'previous:', 'next adoption:', 'next pass:'])
      expect(text).not.toContain(absent);
  });

  it('says the releases were not read and shows the record alone', () => {
    const text = formatVersionStatus(status({ record: RECORD, releases: 'GitHub answered 503' }));
    expect(text).toContain('candidate:      unknown (the releases were not read)');
    expect(text).toContain('cut-off:        unknown (the releases were not read)');
    expect(text).toContain('releases:       not read (GitHub answered 503); showing the stored record only');
    expect(text).toContain('current:        2.330.0 (adopted');
  });

  it('marks the configured start version while nothing was adopted', () => {
    const text = formatVersionStatus(status({ releases: CALM_RELEASES }));
    expect(text).toContain('current:        2.330.0 (the configured start version; nothing adopted yet)');
    expect(text).toContain('bad releases:   none');
  });

  it('lists pools when one keeps its own pin under auto', () => {
    const text = formatVersionStatus(
      status({
        env: {
          RUNNER_POOLS: JSON.stringify([
            { name: 'x64', labels: ['self-hosted', 'x64'] },
            { name: 'old', labels: ['self-hosted', 'old'], runnerVersion: '2.329.0' },
          ]),
        },
        releases: CALM_RELEASES,
      }),
    );
    expect(text).toContain('\n  pools:          x64 2.330.0 (tracked), old 2.329.0 (pinned)\n');
  });

  it('keeps its JSON stable: field names and order of a full status', () => {
    const s = status({
      record: { ...RECORD, canary: { version: '2.332.0', checksums: {}, since: NOW, share: 10 } },
    });
    expect(Object.keys(s)).toEqual([
      'schema',
      'at',
      'mode',
      'soakDays',
      'canaryPercent',
      'floor',
      'releasesUrl',
      'releases',
      'record',
      'current',
      'previous',
      'canary',
      'cutoffAt',
      'daysToCutoff',
      'cutoffAlarm',
      'bad',
      'skipped',
      'decision',
      'pools',
    ]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});
