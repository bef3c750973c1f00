import { compareVersions } from '../domain/runner-version.ts';
import type { VersionStatus } from '../use-cases/admin/version-status.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A soak in days, in seconds when shorter than one (a demo's soak). */
const soak = (days: number) => (days >= 1 ? `${days} days` : `${Math.round(days * 86_400)} s`);

/** What the rollout demo needs from the ordinary demo: a queued job delivered, then followed to its end. */
export interface RolloutDemoDeps {
  /** The local server's base URL. */
  base: string;
  simulatorUrl: string;
  out: (line: string) => void;
  /** Queues one job at the simulator and delivers its signed webhook; its id, or a line saying why not. */
  deliverJob: () => Promise<number | string>;
  timeoutMs: number;
}

/** Jobs queued at most: enough canary jobs to judge it at any canary share of 10 % or more. */
const MAX_JOBS = 30;
const BATCH = 3;

/**
 * `npm run demo -- --version-rollout` against a sandbox started with `RUNNER_VERSION=auto` and a short
 * soak: publishes a new actions/runner release at the simulator whose runners GitHub refuses (the
 * deprecated-version line), then shows the server adopt it after its soak, its canary jobs refused and
 * finished on the current version, and the release rolled back and marked bad — nothing done by hand.
 */
export async function runVersionRolloutDemo(deps: RolloutDemoDeps): Promise<number> {
  const { base, simulatorUrl, out } = deps;
  const started = Date.now();
  const at = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s`;
  const status = async (): Promise<VersionStatus | undefined> => {
    const res = await fetch(`${base}/admin/version`).catch(() => undefined);
    return res?.ok ? ((await res.json()) as VersionStatus) : undefined;
  };

  const before = await status();
  if (!before) {
    out('demo: the server has no version status (GET /admin/version): restart it with npm start');
    return 1;
  }
  if (before.mode !== 'auto') {
    out(
      'demo: the server pins the runner version; start it tracking releases with a short soak, e.g.\n' +
        '  RUNNER_VERSION=auto RUNNER_VERSION_SOAK_DAYS=0.00005 RUNNER_VERSION_CANARY_PERCENT=100 RECONCILE_INTERVAL_SECONDS=1 npm start',
    );
    return 1;
  }
  const listed = await fetch(`${simulatorUrl}/_sim/releases`).catch(() => undefined);
  const known = listed?.ok ? ((await listed.json()) as { releases: { version: string }[] }).releases : [];
  const newest = [before.current.version, ...known.map((r) => r.version)].sort(compareVersions).at(-1) as string;
  const [major, minor] = newest.split('.').map(Number) as [number, number];
  const version = `${major}.${minor + 1}.0`;

  const published = await fetch(`${simulatorUrl}/_sim/releases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ version, deprecatedRunners: true }),
  });
  if (!published.ok) {
    out(`demo: the simulator refused to publish ${version} (status ${published.status})`);
    return 1;
  }
  out(`demo: actions/runner ${version} published; GitHub will refuse its runners (deprecated version)`);
  out(
    `demo: the server runs ${before.current.version}, soaks releases ${soak(before.soakDays)}, canary share ${before.canaryPercent} %`,
  );

  const deadline = started + deps.timeoutMs;
  let adopted = false;
  let jobs = 0;
  while (Date.now() < deadline) {
    const now = await status();
    if (now?.bad.some((b) => b.version === version)) {
      const bad = now.bad.find((b) => b.version === version);
      out(`  ${at()}  rolled back to ${now.current.version}; ${version} marked bad: ${bad?.reason ?? ''}`);
      out('demo: version rollout shown: adopted after its soak, canaried, rolled back by itself');
      return 0;
    }
    if (!adopted && now?.canary?.version === version) {
      adopted = true;
      out(`  ${at()}  ${version} adopted as a canary for ${now.canary.share} % of jobs`);
    }
    if (adopted && jobs < MAX_JOBS) {
      const batch = await Promise.all(Array.from({ length: BATCH }, () => deps.deliverJob()));
      for (const id of batch) {
        if (typeof id === 'string') {
          out(id);
          return 1;
        }
      }
      jobs += BATCH;
      out(`  ${at()}  ${jobs} jobs queued so far: ${batch.join(', ')}`);
      await Promise.all(
        batch.map((id) => followJob(base, id as number, deadline, (line) => out(`  ${at()}  ${line}`))),
      );
      continue;
    }
    await sleep(250);
  }
  out(`demo: no rollback within ${deps.timeoutMs / 1000} s (${adopted ? `${jobs} jobs queued` : 'not adopted yet'})`);
  return 1;
}

/** Waits for the job's end and prints the version its last runner had. */
async function followJob(base: string, jobId: number, deadline: number, say: (line: string) => void): Promise<void> {
  while (Date.now() < deadline) {
    const res = await fetch(`${base}/jobs/${jobId}`).catch(() => undefined);
    if (res?.ok) {
      const job = (await res.json()) as { status: string; runnerVersion?: string; history?: { note: string }[] };
      if (job.status === 'completed' || job.status === 'failed') {
        const refused = job.history?.some((e) => e.note.startsWith('version-deprecated')) ?? false;
        say(
          `job ${jobId} ${job.status} on ${job.runnerVersion ?? 'an unknown version'}${refused ? ' after its canary runner was refused' : ''}`,
        );
        return;
      }
    }
    await sleep(200);
  }
}
