import type { Job } from './job.ts';
import type { JobStatus } from './job-status.ts';
import { poolNameOf } from './runner-pool.ts';
import type { RunnerVersionRole } from './version-role.ts';

/**
 * What an operator asks of the job list (`jit-runners jobs list`, the status page): every given part must
 * hold. Repository and pool compare case-insensitively, as GitHub's names and the pool labels do.
 */
export interface JobFilter {
  /** Any of these statuses; absent or empty: any status. */
  statuses?: readonly JobStatus[];
  /** `owner/repo`, or `owner` alone for every repository of that account. */
  repo?: string;
  pool?: string;
  /** Recorded or last changed at or after this time (epoch ms). */
  since?: number;
  /** Whose runner got its version in this role (`canary`: the jobs a canary ran on); a job with none recorded never matches. */
  versionRole?: RunnerVersionRole;
}

/** Whether `job` is one the filter asks for. */
export function matchesJobFilter(job: Job, filter: JobFilter): boolean {
  if (filter.statuses !== undefined && filter.statuses.length > 0 && !filter.statuses.includes(job.status))
    return false;
  if (filter.repo !== undefined) {
    const wanted = filter.repo.toLowerCase();
    const full = `${job.owner}/${job.repo}`.toLowerCase();
    if (wanted.includes('/') ? full !== wanted : job.owner.toLowerCase() !== wanted) return false;
  }
  if (filter.pool !== undefined && poolNameOf(job).toLowerCase() !== filter.pool.toLowerCase()) return false;
  if (filter.since !== undefined && Math.max(job.createdAt, job.updatedAt) < filter.since) return false;
  if (filter.versionRole !== undefined && job.runnerVersionRole !== filter.versionRole) return false;
  return true;
}

/** Newest first (last change, then job id), the order an operator reads a list of jobs in. */
export function newestFirst(a: Job, b: Job): number {
  return b.updatedAt - a.updatedAt || b.jobId - a.jobId;
}

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * An operator's `--since`: a duration back from `now` (`90s`, `30m`, `6h`, `2d`) or an ISO 8601 time.
 * Undefined when the text is neither (the caller says what it expected).
 */
export function parseSince(text: string, now: number): number | undefined {
  const duration = /^(\d+(?:\.\d+)?)\s*([smhd])$/i.exec(text.trim());
  if (duration) {
    const unit = (duration[2] as string).toLowerCase() as keyof typeof UNIT_MS;
    return now - Number(duration[1]) * UNIT_MS[unit];
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const at = Date.parse(text.trim());
  return Number.isNaN(at) ? undefined : at;
}
