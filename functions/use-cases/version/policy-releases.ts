import { type RunnerRelease, toRunnerRelease } from '../../domain/release-checksums.ts';
import type { ListedRunnerRelease } from '../../ports/github.ts';

/** A listed release as the policy reads it; undefined when its tag is not an exact version. */
export function listedToRunnerRelease(listed: ListedRunnerRelease): RunnerRelease | undefined {
  return toRunnerRelease({
    tag_name: listed.tagName,
    published_at: listed.publishedAt === undefined ? null : new Date(listed.publishedAt).toISOString(),
    prerelease: listed.prerelease,
    draft: listed.draft,
    body: listed.body,
  });
}

/** The listed releases the policy can read (the reconciler's step and `version status` both decide on them). */
export function policyReleases(listed: readonly ListedRunnerRelease[]): RunnerRelease[] {
  return listed.map(listedToRunnerRelease).filter((r): r is RunnerRelease => r !== undefined);
}
