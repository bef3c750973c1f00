import type { Config } from '../../config/config.ts';
import { evaluateClock } from '../../domain/doctor/clock.ts';
import {
  evaluateAllowlist,
  evaluatePools,
  evaluateRunnerFolders,
  type InstallationCoverage,
  type RepositoryEntry,
} from '../../domain/doctor/fleet.ts';
import {
  evaluateAppIdentity,
  evaluateInstallations,
  evaluateWebhook,
  type HookConfigFacts,
  type WebhookExpectation,
} from '../../domain/doctor/github-app.ts';
import { evaluateRunnerVersions, type VersionInUse } from '../../domain/doctor/runner-version.ts';
import { evaluateSecrets, type SecretFacts } from '../../domain/doctor/secrets.ts';
import {
  type DoctorCheck,
  DoctorCheckId,
  type DoctorReport,
  doctorReport,
  notChecked,
} from '../../domain/doctor-check.ts';
import type { VersionRecord } from '../../domain/version-record.ts';
import type { AppInstallation, AppProbe, GitHubAppInspectionPort, GitHubPort } from '../../ports/github.ts';
import type { RunnerFolderProbe } from '../../ports/runner-folder.ts';
import type { Clock } from '../../ports/runtime.ts';
import { policyReleases } from '../version/policy-releases.ts';

/** The GitHub calls the doctor makes: App inspection, the releases list and the delivery log. */
export type DoctorGitHub = GitHubAppInspectionPort & Pick<GitHubPort, 'listRunnerReleases' | 'listHookDeliveries'>;

export interface DoctorDeps {
  readonly config: Pick<
    Config,
    'runner' | 'versionTracking' | 'pools' | 'allowlist' | 'discoverQueuedJobs' | 'baselinePolicy'
  >;
  /** The App id the fleet signs its JWTs with (the sandbox: the simulator's). */
  readonly appId: number;
  /**
   * The secrets as the fleet holds them, and where each comes from (for the fix). Judged here and never
   * put in the report.
   */
  readonly secrets: Omit<SecretFacts, 'newestDelivery'>;
  /** Undefined: there is no App to ask (every GitHub check reports it cannot run). */
  readonly github: DoctorGitHub | undefined;
  /** Where actions/runner releases are listed for this fleet. */
  readonly releasesUrl: string;
  /** The stored version record (`RUNNER_VERSION=auto`); absent: the configured versions are judged. */
  readonly versionRecord?: () => Promise<VersionRecord | undefined>;
  /** The URL the App must deliver to, when known. */
  readonly expectedWebhook: WebhookExpectation;
  /** Local mode: the runner folders the local launcher copies, and how to look at them. Absent: check 9 is left out. */
  readonly runnerFolders?: {
    readonly probe: RunnerFolderProbe;
    readonly folders: readonly { readonly path: string; readonly usedBy: readonly string[] }[];
  };
  readonly clock: Pick<Clock, 'now'>;
  readonly ranIn: DoctorReport['ranIn'];
  /** Longest wait for one GitHub call. Default 10 000. */
  readonly callTimeoutMs?: number;
}

class DoctorTimeout extends Error {}

function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DoctorTimeout(`${what} did not answer within ${ms / 1000} s`)), ms);
    timer.unref?.();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const why = (error: unknown) => (error instanceof Error ? error.message : String(error));

type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };
const settle = <T>(work: Promise<T>): Promise<Outcome<T>> =>
  work.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, reason: why(error) }),
  );

const UNREACHABLE_FIX = "check GITHUB_API_URL, this machine's network and proxy, and githubstatus.com";

/**
 * `jit-runners doctor`: the setup checks of docs/design.md "Doctor". Depends on ports, configuration and
 * the clock only, so the same run works in the local server (`GET /admin/doctor`), in the CLI's own
 * process, and inside a deployed function (for a future `doctor --stack`). Never throws for a failing
 * check: a GitHub call that fails or hangs turns into that check's fail with the reason, and the other
 * checks still run.
 */
export async function runDoctor(deps: DoctorDeps): Promise<DoctorReport> {
  const { config, clock } = deps;
  const timeoutMs = deps.callTimeoutMs ?? 10_000;
  const github = deps.github;
  const checks: DoctorCheck[] = [];
  const guarded = async (id: DoctorCheckId, run: () => Promise<DoctorCheck> | DoctorCheck): Promise<void> => {
    try {
      checks.push(await run());
    } catch (error) {
      checks.push(notChecked(id, why(error)));
    }
  };

  // ── 1 and 5: GET /app, and the Date header of its answer ──
  let probe: Outcome<AppProbe> = { ok: false, reason: 'no GitHub App client' };
  const sentAt = clock.now();
  if (github) probe = await settle(within(github.getApp(), timeoutMs, 'GET /app'));
  const answeredAt = clock.now();
  const appAccepted = probe.ok && probe.value.kind === 'app';
  const blocked = !probe.ok
    ? `GitHub did not answer (see ${DoctorCheckId.app})`
    : probe.value.kind === 'refused'
      ? `GitHub refused the App JWT (see ${DoctorCheckId.app})`
      : undefined;
  await guarded(DoctorCheckId.app, () =>
    probe.ok
      ? evaluateAppIdentity(probe.value, deps.appId)
      : notChecked(DoctorCheckId.app, `GET /app failed: ${probe.reason}`, UNREACHABLE_FIX),
  );
  await guarded(DoctorCheckId.clock, () => {
    if (!probe.ok) return notChecked(DoctorCheckId.clock, `GitHub did not answer: ${probe.reason}`, UNREACHABLE_FIX);
    const serverTime = probe.value.serverTime;
    if (serverTime === undefined) return notChecked(DoctorCheckId.clock, "GitHub's answer had no Date header");
    // Why + 500: the header has whole seconds, so GitHub's time lies within [serverTime, serverTime + 1 s).
    const midpoint = (sentAt + answeredAt) / 2;
    return evaluateClock({ skewMs: serverTime + 500 - midpoint, uncertaintyMs: (answeredAt - sentAt) / 2 + 500 });
  });

  // ── the other GitHub facts, at once ──
  const none = <T>(): Promise<Outcome<T>> => Promise.resolve({ ok: false, reason: blocked ?? 'no GitHub App client' });
  const [installations, hook, deliveries, releases] = await Promise.all([
    github && appAccepted
      ? settle(within(github.listAppInstallations(), timeoutMs, 'GET /app/installations'))
      : none<AppInstallation[]>(),
    github && appAccepted
      ? settle(within(github.getAppHookConfig(), timeoutMs, 'GET /app/hook/config'))
      : none<HookConfigFacts>(),
    github && appAccepted
      ? settle(within(github.listHookDeliveries(undefined), timeoutMs, 'GET /app/hook/deliveries'))
      : none<Awaited<ReturnType<DoctorGitHub['listHookDeliveries']>>>(),
    github && probe.ok
      ? settle(within(github.listRunnerReleases({ url: deps.releasesUrl }), timeoutMs, 'the releases list'))
      : none<Awaited<ReturnType<DoctorGitHub['listRunnerReleases']>>>(),
  ]);

  // ── 2: installations ──
  await guarded(DoctorCheckId.installations, () =>
    installations.ok
      ? evaluateInstallations(installations.value, config.runner.scope)
      : notChecked(DoctorCheckId.installations, installations.reason),
  );

  // ── 3: webhook ──
  await guarded(DoctorCheckId.webhook, () => {
    if (!hook.ok) return notChecked(DoctorCheckId.webhook, hook.reason);
    const events = probe.ok && probe.value.kind === 'app' ? probe.value.app.events : undefined;
    return evaluateWebhook(hook.value, events, deps.expectedWebhook);
  });

  // ── 4: secrets (the delivery log only adds evidence; without it the values are judged alone) ──
  await guarded(DoctorCheckId.secrets, () => {
    const newest = deliveries.ok ? deliveries.value.deliveries[0] : undefined;
    return evaluateSecrets({
      ...deps.secrets,
      ...(newest && {
        newestDelivery: { guid: newest.guid, deliveredAt: newest.deliveredAt, statusCode: newest.statusCode },
      }),
    });
  });

  // ── 6: runner versions ──
  await guarded(DoctorCheckId.runnerVersion, async () => {
    // The releases are read with an installation token (minted with the App JWT): a refused JWT is the cause.
    if (!releases.ok)
      return notChecked(DoctorCheckId.runnerVersion, blocked ?? `cannot list runner releases: ${releases.reason}`);
    const record = deps.versionRecord ? await deps.versionRecord() : undefined;
    return evaluateRunnerVersions({
      versions: versionsInUse(config, record),
      releases: policyReleases(releases.value),
      now: clock.now(),
    });
  });

  // ── 7: allow-list entries ──
  await guarded(DoctorCheckId.allowlist, async () => {
    const entries: RepositoryEntry[] = [
      ...config.allowlist.map((entry) => ({ variable: 'REPO_ALLOWLIST', entry })),
      ...config.discoverQueuedJobs.map((entry) => ({ variable: 'DISCOVER_QUEUED_JOBS', entry })),
    ];
    if (entries.length === 0) return evaluateAllowlist([], []);
    if (!installations.ok) return notChecked(DoctorCheckId.allowlist, installations.reason);
    const owners = new Set(entries.map((e) => e.entry.split('/')[0]?.toLowerCase()));
    const coverage: InstallationCoverage[] = await Promise.all(
      installations.value.map(async (inst) => {
        if (inst.repositorySelection === 'all' || !owners.has(inst.account.toLowerCase()) || !github) {
          return { account: inst.account, repositorySelection: inst.repositorySelection };
        }
        const repositories = await within(
          github.listInstallationRepositories(inst.id),
          timeoutMs,
          'GET /installation/repositories',
        );
        return { account: inst.account, repositorySelection: inst.repositorySelection, repositories };
      }),
    );
    return evaluateAllowlist(entries, coverage);
  });

  // ── 8: pools ──
  await guarded(DoctorCheckId.pools, () => evaluatePools(config.pools));

  // ── 9: runner folders (local launcher only) ──
  const folders = deps.runnerFolders;
  if (folders) {
    await guarded(DoctorCheckId.runnerDir, async () => {
      const facts = await Promise.all(
        folders.folders.map(async (f) => ({ ...(await folders.probe.inspect(f.path)), usedBy: f.usedBy })),
      );
      return evaluateRunnerFolders(facts, config.baselinePolicy === 'off');
    });
  }

  return doctorReport(checks, deps.ranIn, clock.now());
}

/** The versions the fleet runs: each pool's pin, or the tracked current (and canary) version; the fallback. */
export function versionsInUse(
  config: Pick<Config, 'runner' | 'pools'>,
  record: VersionRecord | undefined,
): VersionInUse[] {
  const byVersion = new Map<string, { usedBy: string[]; tracked: boolean; fallback: boolean }>();
  const add = (version: string, who: string, tracked: boolean, fallback = false) => {
    const entry = byVersion.get(version) ?? { usedBy: [], tracked: false, fallback: true };
    entry.usedBy.push(who);
    entry.tracked ||= tracked;
    entry.fallback &&= fallback;
    byVersion.set(version, entry);
  };
  for (const pool of config.pools) {
    if (pool.tracksRunnerVersion) {
      add(record?.current.version ?? pool.runnerVersion ?? config.runner.version, `pool ${pool.name}`, true);
      if (record?.canary) add(record.canary.version, `pool ${pool.name} canary`, true);
    } else {
      add(pool.runnerVersion ?? config.runner.version, `pool ${pool.name}`, false);
    }
  }
  if (config.runner.fallbackVersion) add(config.runner.fallbackVersion, 'RUNNER_FALLBACK_VERSION', false, true);
  return [...byVersion].map(([version, e]) => ({
    version,
    usedBy: e.usedBy,
    tracked: e.tracked,
    ...(e.fallback && { fallback: true }),
  }));
}

/** The `GET /admin/doctor` answer: always 200 with the report (a failing check is content, not an error). */
export async function answerDoctor(deps: DoctorDeps): Promise<{ status: number; body: DoctorReport }> {
  return { status: 200, body: await runDoctor(deps) };
}
