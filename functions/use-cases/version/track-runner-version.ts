import { type Config, versionPolicySettings } from '../../config/config.ts';
import type { PlatformChecksums, RunnerPlatform, RunnerRelease } from '../../domain/release-checksums.ts';
import { versionHealthOfJobs } from '../../domain/version-health.ts';
import { applyVersionDecision, decideRunnerVersion, type VersionDecision } from '../../domain/version-policy.ts';
import { type VersionRecordState, versionRecordState, withBadRelease } from '../../domain/version-record.ts';
import type { GitHubPort, ReleaseAsset } from '../../ports/github.ts';
import { CountMetric, MeasureMetric, MetricUnit } from '../../ports/metric-names.ts';
import {
  type RunnerTarballCache,
  TarballChecksumMismatchError,
  TarballUnavailableError,
  tarballName,
} from '../../ports/runner-tarball-cache.ts';
import type { Logger, Metrics } from '../../ports/runtime.ts';
import { ConditionFailedError, type Store } from '../../ports/store.ts';
import { policyReleases } from './policy-releases.ts';

export interface TrackRunnerVersionDeps {
  config: Pick<Config, 'runner' | 'versionTracking' | 'pools'>;
  store: Pick<Store, 'versions' | 'jobs'>;
  github: Pick<GitHubPort, 'listRunnerReleases'>;
  logger: Logger;
  metrics: Metrics;
  /**
   * How long one listing of releases is used (default 15 min). Why: actions/runner publishes a release
   * every few weeks and the decision moves in days, while the reconciler runs every minute; one call per
   * quarter hour keeps the App's rate limit for the jobs.
   */
  releasesTtlMs?: number;
  /**
   * Where an adopted release's tarballs are fetched, verified and kept before the record names it (local
   * mode: `STATE_DIR/runner-cache`). Absent: nothing is fetched (the Lambda reconciler, for now).
   */
  tarballCache?: RunnerTarballCache;
  /** The packages cached per adopted release, each when its notes carry a digest. Default `linux-x64`. */
  cachePlatforms?: readonly RunnerPlatform[];
}

/** Where a release's package is when the release lists no asset of that name (GitHub's download address). */
const DOWNLOAD_BASE_URL = 'https://github.com/actions/runner/releases/download';

export interface TrackReport {
  decision: VersionDecision['kind'];
  /** The version the decision is about (the adopted, promoted or rolled-back one), or the current one. */
  version: string;
  /** Whether the record was written (false for keep/pinned/refuse, and when another writer won). */
  written: boolean;
  reason: string;
}

const DEFAULT_RELEASES_TTL_MS = 15 * 60_000;
/** At most this many ended jobs are read for a canary's health (a canary serves a share for a day). */
const HEALTH_JOBS_LIMIT = 2_000;

/**
 * The reconciler's runner-version step (docs/design.md "Runner version lifecycle"): with nothing tracked
 * (an exact pin) it makes no call at all; otherwise it reads the stored record (a corrupt one throws
 * `VersionRecordCorruptError`: the step fails and the record is never recreated), the releases, and while a
 * canary runs the health of both versions from the jobs' histories, asks the domain policy, and writes the
 * record it leads to under the revision it read: of two reconcilers only one adopts, promotes or rolls back.
 */
export function createTrackRunnerVersion(deps: TrackRunnerVersionDeps) {
  const { config, store, github, logger, metrics } = deps;
  const settings = versionPolicySettings(config);
  const ttl = deps.releasesTtlMs ?? DEFAULT_RELEASES_TTL_MS;
  const cachePlatforms = deps.cachePlatforms ?? ['linux-x64'];
  let listed: { at: number; releases: RunnerRelease[]; assets: Map<string, readonly ReleaseAsset[]> } | undefined;

  async function releases(now: number): Promise<RunnerRelease[]> {
    if (listed && now - listed.at < ttl) return listed.releases;
    const answer = await github.listRunnerReleases({ url: config.versionTracking.releasesUrl });
    const parsed = policyReleases(answer);
    listed = { at: now, releases: parsed, assets: new Map(answer.map((r) => [r.version, r.assets])) };
    return parsed;
  }

  /**
   * Fetches and verifies the tarballs of a release about to be adopted. The rules, in order:
   * - no cache: adopt (nothing to fetch);
   * - a downloaded package whose SHA-256 is not the notes' digest: refuse the adoption and mark the release
   *   bad. Why bad and not "try again": every download answers the same bytes, and every runner booted from
   *   them would be refused by its own check (a checksum failure repeats on each boot);
   * - a download or write that failed: do not adopt this pass, mark nothing (the network heals; the next
   *   pass tries again);
   * - every package verified and kept: adopt.
   */
  async function cacheAdopted(release: {
    version: string;
    checksums: PlatformChecksums;
  }): Promise<{ kind: 'cached' } | { kind: 'refused' | 'unavailable'; reason: string }> {
    const cache = deps.tarballCache;
    if (!cache) return { kind: 'cached' };
    const assets = listed?.assets.get(release.version) ?? [];
    for (const platform of cachePlatforms) {
      const expected = release.checksums[platform];
      if (expected === undefined) continue;
      const name = tarballName(release.version, platform);
      const url = assets.find((a) => a.name === name)?.url ?? `${DOWNLOAD_BASE_URL}/v${release.version}/${name}`;
      try {
        await cache.ensure(release.version, platform, expected, url);
      } catch (error) {
        if (error instanceof TarballChecksumMismatchError) {
          return {
            kind: 'refused',
            reason: `tarball ${name} has sha256 ${error.actual}, its release notes give ${error.expected}: checksum mismatch, not adopted`,
          };
        }
        if (error instanceof TarballUnavailableError) return { kind: 'unavailable', reason: error.message };
        throw error;
      }
    }
    return { kind: 'cached' };
  }

  return async function trackRunnerVersion(now: number): Promise<TrackReport> {
    if (settings.pin !== undefined) {
      return { decision: 'pinned', version: settings.pin, written: false, reason: 'an exact pin: nothing tracked' };
    }
    const record = await store.versions.get();
    const state = record ? versionRecordState(record) : undefined;
    const list = await releases(now);
    let health: ReturnType<typeof versionHealthOfJobs> | undefined;
    if (state?.canary) {
      const since = state.canary.since;
      const [open, ended] = await Promise.all([
        store.jobs.listOpen(),
        store.jobs.listEndedSince(since, HEALTH_JOBS_LIMIT),
      ]);
      // From the jobs, not their bare histories: a rollback's reason then names the jobs that decided it.
      health = versionHealthOfJobs(
        [...open, ...ended],
        { canary: state.canary.version, current: state.current.version },
        since,
      );
    }
    const decision = decideRunnerVersion({
      settings,
      releases: list,
      record: state,
      startVersion: config.runner.version,
      ...(health && { health }),
      now,
    });
    const outlook = decision.outlook;
    if (outlook.daysToCutoff !== undefined) {
      metrics.measure(MeasureMetric.runnerVersionDaysToCutoff, outlook.daysToCutoff, MetricUnit.count);
    }
    metrics.measure(MeasureMetric.runnerVersionCutoffAlarm, outlook.cutoffAlarm ? 1 : 0, MetricUnit.count);

    let next = applyVersionDecision(state, decision, now);
    const subject =
      'version' in decision ? decision.version : 'release' in decision ? decision.release.version : outlook.current;
    let reason = 'reason' in decision ? decision.reason : '';
    let refused = false;
    if (decision.kind === 'adopt') {
      const cached = await cacheAdopted(decision.release);
      if (cached.kind === 'unavailable') {
        logger.warn('runner release not adopted this pass: its tarball could not be cached', {
          version: subject,
          reason: cached.reason,
        });
        return { decision: decision.kind, version: subject, written: false, reason: cached.reason };
      }
      if (cached.kind === 'refused') {
        // The record as it was (or as an adoption would have started it), with the release marked bad.
        const base: VersionRecordState = state ?? { current: { ...decision.current, adoptedAt: now }, bad: [] };
        next = { ...base, bad: withBadRelease(base.bad, subject, cached.reason, now) };
        reason = cached.reason;
        refused = true;
      }
    }
    if (!next) {
      if (decision.kind === 'refuse') logger.warn('runner version must move but no release may be adopted', { reason });
      return { decision: decision.kind, version: subject, written: false, reason };
    }
    try {
      await store.versions.put(next, record?.revision ?? 0, now);
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      // Another reconciler wrote first (it read the same record): its decision stands, this one is dropped.
      logger.info('runner version record changed meanwhile; left to the next pass', { decision: decision.kind });
      return { decision: decision.kind, version: subject, written: false, reason };
    }
    if (refused) {
      metrics.count(CountMetric.runnerVersionTarballRefused, 1, { version: subject });
      logger.warn('runner release refused and marked bad: its tarball does not match its digest', {
        version: subject,
        reason,
      });
      return { decision: 'refuse', version: subject, written: true, reason };
    }
    switch (decision.kind) {
      case 'adopt':
        metrics.count(CountMetric.runnerVersionAdopted, 1, { version: subject });
        logger.info('runner version adopted as a canary', { version: subject, share: decision.share, reason });
        break;
      case 'promote':
        metrics.count(CountMetric.runnerVersionPromoted, 1, { version: subject });
        logger.info('runner version promoted', { version: subject, reason });
        break;
      case 'rollback':
        metrics.count(CountMetric.runnerVersionRollback, 1, { version: subject });
        logger.warn('runner version rolled back and marked bad', { version: subject, to: decision.to, reason });
        break;
      default:
        break;
    }
    return { decision: decision.kind, version: subject, written: true, reason };
  };
}

export type TrackRunnerVersion = ReturnType<typeof createTrackRunnerVersion>;
