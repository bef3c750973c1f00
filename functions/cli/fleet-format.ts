import { RunnerVersionRole } from '../domain/version-role.ts';
import type { BaselineView, FleetStatus, JobView, RunnerView } from '../use-cases/admin/fleet-view.ts';
import type { DeadLetterListing, EnsureAnswer, RedriveResult } from './fleet-client.ts';

// How `jit-runners status|jobs|job|runners|baseline|dlq` print the fleet views as text: every line fits
// {@link WIDTH} columns (a cell that would not is cut with `…`). `--json` prints the views themselves.

export const WIDTH = 100;

const cut = (text: string, width: number) =>
  width <= 0 ? '' : text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;

/**
 * A table of fixed columns, two spaces apart. A column's `max` caps it; the last column takes what is left
 * of {@link WIDTH}. Trailing spaces are trimmed. `keepLast`: the last column is never cut (a time), the
 * others give way to it instead.
 */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  max: readonly number[] = [],
  options: { keepLast?: boolean } = {},
): string {
  const natural = (i: number) => Math.max(header[i]?.length ?? 0, ...rows.map((r) => (r[i] ?? '').length));
  const widths = header.map((_, i) => Math.min(max[i] ?? WIDTH, natural(i)));
  // The last column (a note) is the one cut first; it keeps at least 12 columns (all of it with
  // `keepLast`), for which the widest other column gives way, never below its header.
  const last = header.length - 1;
  const lastRoom = options.keepLast ? natural(last) : Math.min(natural(last), 12);
  const fixed = () => widths.slice(0, last).reduce((n, w) => n + w + 2, 0);
  while (fixed() + lastRoom > WIDTH) {
    let widest = -1;
    for (let i = 0; i < last; i++) {
      if ((widths[i] ?? 0) > (header[i]?.length ?? 0) && (widest < 0 || (widths[i] ?? 0) > (widths[widest] ?? 0)))
        widest = i;
    }
    if (widest < 0) break;
    widths[widest] = (widths[widest] ?? 1) - 1;
  }
  const line = (cells: readonly string[]) => {
    let used = 0;
    const parts = cells.map((c, i) => {
      const last = i === cells.length - 1;
      const room = last ? WIDTH - used : (widths[i] ?? 0);
      const text = cut(c, room);
      used += (widths[i] ?? 0) + 2;
      return last ? text : text.padEnd(widths[i] ?? 0);
    });
    return parts.join('  ').trimEnd();
  };
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/**
 * `text` after `head`, in words within {@link WIDTH}: every further line indented to where the text began.
 * A word longer than a line (a URL, a delivery id) is never broken.
 */
export function wrapUnder(head: string, text: string): string {
  const indent = head.length;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line === '') line = word;
    else if (indent + line.length + 1 + word.length <= WIDTH) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  lines.push(line);
  return `${head}${lines.join(`\n${' '.repeat(indent)}`)}`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const counts = (byKey: Record<string, number>) =>
  Object.entries(byKey)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
/** `2026-01-02T03:04:05.678Z` as `2026-01-02 03:04:05Z`: a time that fits a column. */
export const shortTime = (iso: string | undefined) =>
  iso === undefined ? '-' : `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;

function hours(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : `${Math.round(ms / 60_000)} min`;
}

/** `jit-runners status`: pools, jobs, runners, breakers, baselines and the version, in one screen. */
export function formatStatus(s: FleetStatus, target: string): string {
  const lines = [cut(`fleet of ${target} at ${s.generatedAt}`, WIDTH), ''];
  // The WARM column only when a pool keeps warm runners: idle of the pool's current target, and serving a job.
  const warm = s.pools.some((p) => p.warmTarget !== undefined || p.warmIdle !== undefined);
  const warmCell = (p: FleetStatus['pools'][number]) =>
    p.warmIdle === undefined ? '-' : `${p.warmIdle}/${p.warmTarget ?? 0} idle, ${p.warmInUse ?? 0} busy`;
  lines.push(
    table(
      ['POOL', 'LAUNCHER', 'IN USE', 'BACKLOG', ...(warm ? ['WARM'] : []), 'OPEN JOBS', 'LABELS'],
      s.pools.map((p) => [
        p.name,
        p.launcher,
        p.maxRunners === undefined ? `${p.inUse}` : `${p.inUse}/${p.maxRunners}`,
        String(p.backlog),
        ...(warm ? [warmCell(p)] : []),
        String(p.openJobs),
        p.labels.join(','),
      ]),
      [32, 9],
    ).trimEnd(),
  );
  const open = counts(s.jobs.byStatus);
  lines.push(
    '',
    cut(
      `jobs:      ${s.jobs.open} open${open ? ` (${open})` : ''}; last ${hours(s.recentWindowMs)}: ` +
        `${s.jobs.endedRecently.completed} completed, ${s.jobs.endedRecently.failed} failed`,
      WIDTH,
    ),
  );
  const states = counts(s.runners.byState);
  lines.push(cut(`runners:   ${s.runners.alive} alive${states ? ` (${states})` : ''}`, WIDTH));
  const openScopes = s.breakers.scopes.filter((b) => b.open);
  lines.push(
    cut(
      `breakers:  ${s.breakers.open} open${openScopes.length ? `: ${openScopes.map((b) => `${b.scope} until ${shortTime(b.openUntil)}`).join(', ')}` : ''}`,
      WIDTH,
    ),
  );
  lines.push(
    `baselines: ${plural(s.baselines.total, 'scope')}${s.baselines.notPresent ? `, ${s.baselines.notPresent} not present` : ''}`,
  );
  const v = s.version;
  const version = [
    `${v.current} (${v.source})`,
    v.previous ? `previous ${v.previous}` : undefined,
    v.canary ? `canary ${v.canary.version} since ${shortTime(v.canary.since)}` : undefined,
    v.bad.length ? `${plural(v.bad.length, 'bad release')}: ${v.bad.map((b) => b.version).join(', ')}` : undefined,
  ].filter(Boolean);
  lines.push(cut(`version:   ${version.join('; ')}`, WIDTH));
  if (v.error) lines.push(cut(`           record unreadable: ${v.error} (jit-runners version status)`, WIDTH));
  return `${lines.join('\n')}\n`;
}

/** `jit-runners jobs list`: newest first, one line each; the note is the failure, or the last history line. */
export function formatJobs(jobs: readonly JobView[]): string {
  if (jobs.length === 0) return 'no jobs match\n';
  return table(
    ['JOB', 'REPO', 'POOL', 'STATUS', 'ATT', 'UPDATED', 'NOTE'],
    jobs.map((j) => [
      String(j.jobId),
      j.repo,
      j.pool,
      j.status,
      String(j.attempt),
      shortTime(j.updatedAt),
      j.failureClass || j.reason
        ? `${j.failureClass ?? ''} ${j.reason ?? ''}`.trim()
        : (j.history[j.history.length - 1]?.note ?? ''),
    ]),
    [12, 28, 16, 16, 3, 20],
  );
}

/** A wait as people read it: `850 ms`, `12.3 s`, `4 min 5 s`. */
function formatWait(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1_000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** The role of a job's runner version as `job show` says it: the canary names what it is being tried against. */
function versionRoleText(role: RunnerVersionRole): string {
  switch (role) {
    case RunnerVersionRole.canary:
      return 'canary: a share of jobs tries this release before it becomes current';
    case RunnerVersionRole.current:
      return 'current';
    case RunnerVersionRole.previous:
      return 'previous: after a version failure on the current version';
    case RunnerVersionRole.fallback:
      return 'fallback: RUNNER_FALLBACK_VERSION after a version failure';
    case RunnerVersionRole.pinned:
      return 'pinned';
  }
}

/** `jit-runners job show`: a job's state, runner, waits, failure and history. */
export function formatJob(job: JobView): string {
  const lines = [
    `job ${job.jobId}  ${job.repo}  status ${job.status}`,
    `  pool: ${job.pool}`,
    `  labels: ${job.labels.join(', ')}   attempt: ${job.attempt}   heals: ${job.heals}${job.thefts ? `   stolen runners replaced: ${job.thefts}` : ''}`,
  ];
  if (job.runnerName) lines.push(`  runner: ${job.runnerName} (id ${job.runnerId ?? '?'})`);
  if (job.runnerVersion !== undefined)
    lines.push(
      `  runner version: ${job.runnerVersion}${job.runnerVersionRole === undefined ? '' : ` (${versionRoleText(job.runnerVersionRole)})`}`,
    );
  else if (job.runnerName) lines.push('  runner version: not recorded');
  if (job.ranOn) lines.push(`  ran on: ${job.ranOn}`);
  if (job.status === 'waiting-capacity' && job.backlogSince !== undefined)
    lines.push(
      `  waiting for a runner of pool ${job.pool} to end since ${job.backlogSince} (turn ${job.turn ?? '?'}; the pool is at its maxRunners)`,
    );
  else if (job.backlogSince !== undefined)
    lines.push(
      `  waited for capacity from ${job.backlogSince} (turn ${job.turn ?? '?'})${job.launchedAt === undefined ? '' : `, launched after ${formatWait(Date.parse(job.launchedAt) - Date.parse(job.backlogSince))}`}`,
    );
  if (job.status === 'waiting' && job.waitingSince !== undefined)
    lines.push(`  waiting for an environment approval since ${job.waitingSince}`);
  else if (job.assignableAt !== undefined)
    lines.push(`  assignable again since ${job.assignableAt} (after an approval wait)`);
  if (job.waits) lines.push(`  runners retired by approval waits: ${job.waits}`);
  if (job.failureClass || job.reason)
    lines.push(wrapUnder('  failure: ', `${job.failureClass ?? ''} ${job.reason ?? ''}`));
  lines.push('  history:');
  for (const e of job.history) lines.push(wrapUnder(`    ${e.at}  ${e.status.padEnd(15)} `, e.note));
  return `${lines.join('\n')}\n`;
}

/**
 * `jit-runners runners list`: the runners alive, oldest first: the runner records (baseline, stolen, warm) and
 * the JIT runner of each launched or running job. The time is never cut. The scope is in `--json` only: a
 * job's runner has its job, a baseline runner's name carries its scope, and eight columns would not fit 100.
 */
export function formatRunners(runners: readonly RunnerView[]): string {
  if (runners.length === 0) return 'no runners alive\n';
  return table(
    ['NAME', 'KIND', 'POOL', 'STATE', 'VERSION', 'JOB', 'SINCE'],
    runners.map((r) => [
      r.name,
      r.kind,
      r.pool ?? '-',
      r.state,
      r.version ?? '-',
      r.jobId === undefined
        ? '-'
        : `${r.jobId}${r.tookJobId !== undefined && r.tookJobId !== r.jobId ? ` (took ${r.tookJobId})` : ''}`,
      shortTime(r.createdAt),
    ]),
    [32, 8, 16, 8, 8, 20],
    { keepLast: true },
  );
}

/** `jit-runners baseline list`: one line per scope, in the store's order (by update time). */
export function formatBaselines(baselines: readonly BaselineView[]): string {
  if (baselines.length === 0) return 'no baseline records yet\n';
  return table(
    ['SCOPE', 'STATE', 'METHOD', 'RUNNER', 'VERIFIED ONLINE', 'WORKAROUNDS', 'NOTE'],
    baselines.map((b) => [
      b.scope,
      b.state,
      b.method ?? '-',
      // The runner's id is in --json: names are what an operator looks for in GitHub's settings.
      b.runnerName ?? '-',
      shortTime(b.verifiedOnlineAt),
      String(b.workarounds),
      b.state === 'healing' ? `healing until ${shortTime(b.healingUntil)}` : (b.reason ?? ''),
    ]),
    [28, 8, 10, 36, 20, 11],
  );
}

export function formatEnsure(answer: EnsureAnswer): string {
  return `${answer.message}\n${answer.baseline ? formatBaselines([answer.baseline]) : ''}`;
}

/** `jit-runners dlq list`: each dead-lettered invoke, never deleted by listing. */
export function formatDeadLetters(listing: DeadLetterListing): string {
  if (listing.note !== undefined && listing.messages.length === 0) return `${wrapUnder('', listing.note)}\n`;
  if (listing.messages.length === 0) return 'the dead-letter queue is empty\n';
  return table(
    ['JOB', 'KIND', 'FAILED AT', 'CONDITION', 'ATTEMPTS', 'ERROR'],
    listing.messages.map((m) => [
      m.jobId === undefined ? '-' : String(m.jobId),
      m.kind,
      shortTime(m.failedAt),
      m.condition ?? '-',
      m.attempts === undefined ? '-' : String(m.attempts),
      m.error ?? '-',
    ]),
    [12, 9, 20, 18, 8],
  );
}

/** `jit-runners dlq redrive`: what was re-invoked and deleted, what was left and why. */
export function formatRedrive(result: RedriveResult): string {
  if (result.note !== undefined) return `${wrapUnder('', result.note)}\n`;
  const lines: string[] = [];
  const job = (id: number | undefined, messageId: string) => (id === undefined ? `message ${messageId}` : `job ${id}`);
  lines.push(
    result.redriven.length === 0
      ? 'redriven: none'
      : cut(
          `redriven: ${plural(result.redriven.length, 'message')} (${result.redriven.map((r) => job(r.jobId, r.messageId)).join(', ')})`,
          WIDTH,
        ),
  );
  for (const s of result.skipped)
    lines.push(cut(`left in the queue: ${job(s.jobId, s.messageId)}: ${s.reason}`, WIDTH));
  if (result.notFound.length > 0)
    lines.push(cut(`not in the queue: ${result.notFound.map((id) => `job ${id}`).join(', ')}`, WIDTH));
  return `${lines.join('\n')}\n`;
}
