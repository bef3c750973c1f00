import { type Config, versionPolicySettings } from '../../config/config.ts';
import type { RunnerRelease } from '../../domain/release-checksums.ts';
import { CANARY_PERIOD_MS } from '../../domain/version-canary.ts';
import { decideRunnerVersion, type VersionMode, type VersionPolicySettings } from '../../domain/version-policy.ts';
import type { VersionRecord } from '../../domain/version-record.ts';
import type { GitHubPort } from '../../ports/github.ts';
import type { Clock } from '../../ports/runtime.ts';
import { type Store, VersionRecordCorruptError } from '../../ports/store.ts';
import { policyReleases } from '../version/policy-releases.ts';

/**
 * What `jit-runners version status` shows (`GET /admin/version`): the stored version record, the policy's
 * outlook over the listed releases, and the settings that shape it. A stable JSON shape: times are ISO
 * strings, absent facts are absent keys (never null), lists are always present. `schema` changes only when
 * a field changes meaning or goes away.
 */
export interface VersionStatus {
  readonly schema: 1;
  /** When the status was computed (the server's clock). */
  readonly at: string;
  /** `pinned`: an exact RUNNER_VERSION and no pool that tracks; nothing is tracked. */
  readonly mode: VersionMode;
  /** The exact pin (pinned mode only). */
  readonly pin?: string;
  readonly soakDays: number;
  readonly canaryPercent: number;
  readonly floor: string;
  readonly releasesUrl: string;
  /** Whether the releases were read; when not, the outlook fields below come from the record alone. */
  readonly releases:
    | { readonly read: true; readonly count: number }
    | { readonly read: false; readonly reason: string };
  /** The stored record's revision and last write; absent while nothing was adopted. */
  readonly record?: { readonly revision: number; readonly updatedAt: string };
  /** The version most jobs run; `adoptedAt` absent while it is the configured start version. */
  readonly current: { readonly version: string; readonly adoptedAt?: string };
  readonly previous?: { readonly version: string; readonly adoptedAt: string };
  /** A newly adopted version serving `share` percent of jobs; `promotedBy` is when its period ends at the latest. */
  readonly canary?: {
    readonly version: string;
    readonly since: string;
    readonly share: number;
    readonly promotedBy: string;
  };
  /** The release the policy adopts next, and from when (its soak end, or earlier before the cut-off). */
  readonly candidate?: { readonly version: string; readonly adoptableAt: string };
  /** When GitHub stops serving the current version (30 days after the first newer release). */
  readonly cutoffAt?: string;
  /** Days from now to `cutoffAt`, one decimal (negative: past it). */
  readonly daysToCutoff?: number;
  /** Within 7 days of the cut-off, or past it. */
  readonly cutoffAlarm: boolean;
  /** The next adoption date: the candidate's, in auto mode only. */
  readonly nextAdoptionAt?: string;
  /** Releases marked bad (never adopted again), oldest first. */
  readonly bad: readonly { readonly version: string; readonly reason: string; readonly at: string }[];
  /** Newer releases that are not candidates, and why, newest first. */
  readonly skipped: readonly { readonly version: string; readonly reason: string }[];
  /** What the next reconcile pass would decide now (auto mode, with releases read). */
  readonly decision?: { readonly kind: string; readonly reason: string };
  /** Each pool's version: its own exact pin, or (`tracked`) the current version, with the canary's share beside it. */
  readonly pools: readonly { readonly name: string; readonly version: string; readonly tracked: boolean }[];
}

export interface VersionStatusInput {
  readonly settings: VersionPolicySettings;
  readonly releasesUrl: string;
  readonly record: VersionRecord | undefined;
  /** The listed releases, or why they could not be read. */
  readonly releases:
    | { readonly ok: true; readonly list: readonly RunnerRelease[] }
    | { readonly ok: false; readonly reason: string };
  /** What runs while there is no record (`config.runner.version`). */
  readonly startVersion: string;
  readonly pools: readonly {
    readonly name: string;
    readonly runnerVersion?: string;
    readonly tracksRunnerVersion?: true;
  }[];
  readonly now: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

/** The status for one moment: pure, every input passed in. */
export function buildVersionStatus(input: VersionStatusInput): VersionStatus {
  const { settings, record, now } = input;
  const pinned = settings.pin !== undefined;
  const releases = input.releases.ok ? input.releases.list : [];
  const decision = decideRunnerVersion({
    settings,
    releases,
    // A pin never consults the record (the policy says so); the status still shows what it holds.
    record,
    startVersion: input.startVersion,
    now,
  });
  const { outlook } = decision;
  const current = pinned
    ? { version: outlook.current }
    : {
        version: outlook.current,
        ...(record && { adoptedAt: iso(record.current.adoptedAt) }),
      };
  const canary = !pinned && record?.canary;
  const tracked = (pool: VersionStatusInput['pools'][number]) => !pinned && pool.tracksRunnerVersion === true;
  return {
    schema: 1,
    at: iso(now),
    mode: pinned ? 'pinned' : 'auto',
    ...(settings.pin !== undefined && { pin: settings.pin }),
    soakDays: Math.round((settings.soakMs / DAY_MS) * 10_000) / 10_000,
    canaryPercent: settings.canaryPercent,
    floor: settings.floor,
    releasesUrl: input.releasesUrl,
    releases: input.releases.ok
      ? { read: true, count: input.releases.list.length }
      : { read: false, reason: input.releases.reason },
    ...(record && { record: { revision: record.revision, updatedAt: iso(record.updatedAt) } }),
    current,
    ...(!pinned &&
      record?.previous && {
        previous: { version: record.previous.version, adoptedAt: iso(record.previous.adoptedAt) },
      }),
    ...(canary && {
      canary: {
        version: canary.version,
        since: iso(canary.since),
        share: canary.share,
        promotedBy: iso(canary.since + (settings.promotion?.periodMs ?? CANARY_PERIOD_MS)),
      },
    }),
    ...(!pinned &&
      outlook.candidate && {
        candidate: { version: outlook.candidate.version, adoptableAt: iso(outlook.candidate.adoptableAt) },
      }),
    ...(outlook.cutoffAt !== undefined && { cutoffAt: iso(outlook.cutoffAt) }),
    ...(outlook.daysToCutoff !== undefined && { daysToCutoff: Math.round(outlook.daysToCutoff * 10) / 10 }),
    cutoffAlarm: outlook.cutoffAlarm,
    ...(!pinned && outlook.candidate && { nextAdoptionAt: iso(outlook.candidate.adoptableAt) }),
    bad: (record?.bad ?? []).map((b) => ({ version: b.version, reason: b.reason, at: iso(b.at) })),
    skipped: outlook.skipped.map((s) => ({ version: s.version, reason: s.reason })),
    ...(!pinned && input.releases.ok && { decision: { kind: decision.kind, reason: decisionReason(decision) } }),
    pools: input.pools.map((pool) => ({
      name: pool.name,
      version: tracked(pool) ? outlook.current : (pool.runnerVersion ?? outlook.current),
      tracked: tracked(pool),
    })),
  };
}

function decisionReason(decision: ReturnType<typeof decideRunnerVersion>): string {
  return decision.kind === 'pinned' ? `pinned ${decision.version}` : decision.reason;
}

export interface VersionStatusDeps {
  readonly config: Pick<Config, 'runner' | 'versionTracking' | 'pools'>;
  readonly store: Pick<Store, 'versions'>;
  /** Absent: the releases are not read and the status says so. */
  readonly github?: Pick<GitHubPort, 'listRunnerReleases'>;
  readonly clock: Pick<Clock, 'now'>;
  /** Where releases are listed; default `config.versionTracking.releasesUrl` (the sandbox passes its simulator). */
  readonly releasesUrl?: string;
}

/**
 * Reads the record (a corrupt one throws `VersionRecordCorruptError`: the status never hides it) and one page
 * of releases (a failure is reported in the status, not thrown: the record is still worth showing).
 */
export async function readVersionStatus(deps: VersionStatusDeps): Promise<VersionStatus> {
  const { config } = deps;
  const releasesUrl = deps.releasesUrl ?? config.versionTracking.releasesUrl;
  const record = await deps.store.versions.get();
  let releases: VersionStatusInput['releases'];
  if (!deps.github) releases = { ok: false, reason: 'this server has no GitHub client to read releases with' };
  else {
    try {
      const listed = await deps.github.listRunnerReleases({ url: releasesUrl });
      releases = {
        ok: true,
        list: policyReleases(listed),
      };
    } catch (error) {
      releases = { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }
  return buildVersionStatus({
    settings: versionPolicySettings(config),
    releasesUrl,
    record,
    releases,
    startVersion: config.runner.version,
    pools: config.pools,
    now: deps.clock.now(),
  });
}

/**
 * The `GET /admin/version` answer: 200 with the status, or 500 naming a corrupt record (start-up refuses
 * such a record too; the status says so instead of a bare "internal error").
 */
export async function answerVersionStatus(deps: VersionStatusDeps): Promise<{ status: number; body: unknown }> {
  try {
    return { status: 200, body: await readVersionStatus(deps) };
  } catch (error) {
    if (error instanceof VersionRecordCorruptError) {
      return {
        status: 500,
        body: { message: `the stored runner version record is corrupt (it is never recreated): ${error.message}` },
      };
    }
    throw error;
  }
}
