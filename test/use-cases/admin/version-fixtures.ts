import { type Config, parseConfig } from '../../../functions/config/config.ts';
import type { VersionRecordState } from '../../../functions/domain/version-record.ts';
import type { ListedRunnerRelease } from '../../../functions/ports/github.ts';

/** The moment every version-status spec looks from. */
export const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
export const DAY = 24 * 60 * 60 * 1000;

export const digest = (c: string) => c.repeat(64);

/** One release as `listRunnerReleases` lists it, with a linux-x64 digest in actions/runner's notes layout. */
export function listed(
  version: string,
  publishedAt: number | undefined,
  flags: { prerelease?: boolean; draft?: boolean; digest?: string | false } = {},
): ListedRunnerRelease {
  const sha = flags.digest === false ? '' : (flags.digest ?? digest('a'));
  return {
    tagName: `v${version}`,
    version,
    publishedAt,
    prerelease: flags.prerelease ?? false,
    draft: flags.draft ?? false,
    body:
      sha === ''
        ? '## Changes\n- things\n'
        : `## Changes\n- actions-runner-linux-x64-${version}.tar.gz <!-- BEGIN SHA linux-x64 -->${sha}<!-- END SHA linux-x64 -->\n`,
    assets: [],
  };
}

/**
 * actions/runner as the fleet sees it on {@link NOW}: 2.330.0 runs, 2.331.0 (25 days old) was rolled back,
 * 2.332.0 is 3 days old, 2.333.0 a prerelease. The first release newer than 2.330.0 came out 25 days ago,
 * so GitHub's cut-off is 5 days away: within the alarm's 7 days.
 */
export const NEAR_CUTOFF_RELEASES: ListedRunnerRelease[] = [
  listed('2.333.0', NOW - 1 * DAY, { prerelease: true }),
  listed('2.332.0', NOW - 3 * DAY),
  listed('2.331.0', NOW - 25 * DAY),
  listed('2.330.0', NOW - 40 * DAY),
];

/** 2.330.0 is the newest release but one; 2.332.0 came out 3 days ago (cut-off in 27 days). */
export const CALM_RELEASES: ListedRunnerRelease[] = [
  listed('2.332.0', NOW - 3 * DAY),
  listed('2.330.0', NOW - 40 * DAY),
];

export const RECORD: VersionRecordState = {
  current: { version: '2.330.0', checksums: { 'linux-x64': digest('a') }, adoptedAt: NOW - 30 * DAY },
  previous: { version: '2.329.0', checksums: { 'linux-x64': digest('b') }, adoptedAt: NOW - 60 * DAY },
  bad: [
    {
      version: '2.331.0',
      reason: 'canary 2.331.0 rolled back to 2.330.0: version-class failures 4 of 10 jobs (40%) against 0 of 90 (0%)',
      at: NOW - 20 * DAY,
    },
  ],
};

export function versionConfig(env: Record<string, string> = {}): Config {
  return parseConfig({ env: { RUNNER_VERSION: 'auto', ...env } });
}
