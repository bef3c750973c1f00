import { type JobFilter, parseSince } from '../../domain/job-filter.ts';
import { JobStatus } from '../../domain/job-status.ts';
import { isRunnerVersionRole, RUNNER_VERSION_ROLES } from '../../domain/version-role.ts';
import type { FleetView } from './fleet-view.ts';

/** One answer of the read-only fleet API (`/api/…`); the body is JSON. */
export interface FleetApiAnswer {
  status: number;
  body: unknown;
}

/** The stable paths of the fleet API; the status page and `jit-runners` read only these. */
export const FleetApiPath = {
  status: '/api/status',
  jobs: '/api/jobs',
  runners: '/api/runners',
  baselines: '/api/baselines',
  breakers: '/api/breakers',
} as const;

const JOB_PATH = /^\/api\/jobs\/(\d+)$/;
const STATUSES = new Set<string>(Object.values(JobStatus));
const MAX_LIMIT = 1000;

const badRequest = (message: string): FleetApiAnswer => ({ status: 400, body: { message } });

/**
 * `GET /api/jobs?status=a,b&repo=owner/name&pool=p&since=2h&version-role=canary&limit=n` as a
 * {@link JobFilter}, or the reason it is not one (every query parameter is checked; an unknown one is refused,
 * so a typo is never ignored).
 */
export function jobQuery(
  query: URLSearchParams,
  now: number,
): { filter: JobFilter; limit: number } | { error: string } {
  const filter: JobFilter = {};
  let limit = 200;
  for (const [name, value] of query) {
    switch (name) {
      case 'status': {
        const statuses = value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const unknown = statuses.find((s) => !STATUSES.has(s));
        if (unknown !== undefined)
          return { error: `status: unknown job status '${unknown}' (one of ${[...STATUSES].join(', ')})` };
        filter.statuses = statuses as JobStatus[];
        break;
      }
      case 'repo':
        if (!/^[\w.-]+(\/[\w.-]+)?$/.test(value))
          return { error: `repo: expected owner/name or owner, got '${value}'` };
        filter.repo = value;
        break;
      case 'pool':
        if (value.trim() === '') return { error: 'pool: empty' };
        filter.pool = value.trim();
        break;
      case 'since': {
        const since = parseSince(value, now);
        if (since === undefined)
          return { error: `since: expected a duration (30m, 6h, 2d) or an ISO 8601 time, got '${value}'` };
        filter.since = since;
        break;
      }
      case 'version-role':
        if (!isRunnerVersionRole(value))
          return { error: `version-role: expected one of ${RUNNER_VERSION_ROLES.join(', ')}, got '${value}'` };
        filter.versionRole = value;
        break;
      case 'limit': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT)
          return { error: `limit: expected a whole number from 1 to ${MAX_LIMIT}, got '${value}'` };
        limit = n;
        break;
      }
      default:
        return { error: `unknown query parameter '${name}' (status, repo, pool, since, version-role, limit)` };
    }
  }
  return { filter, limit };
}

/** Answers one `GET` of the fleet API, or undefined for a path that is not one of its paths. */
export async function answerFleetApi(
  view: FleetView,
  path: string,
  query: URLSearchParams,
  now: number,
): Promise<FleetApiAnswer | undefined> {
  switch (path) {
    case FleetApiPath.status:
      return { status: 200, body: await view.status() };
    case FleetApiPath.jobs: {
      const parsed = jobQuery(query, now);
      if ('error' in parsed) return badRequest(parsed.error);
      return { status: 200, body: await view.jobs(parsed.filter, parsed.limit) };
    }
    case FleetApiPath.runners:
      return { status: 200, body: await view.runners() };
    case FleetApiPath.baselines:
      return { status: 200, body: await view.baselines() };
    case FleetApiPath.breakers:
      return { status: 200, body: await view.breakers() };
    default: {
      const match = JOB_PATH.exec(path);
      if (!match) return undefined;
      const job = await view.job(Number(match[1]));
      return job ? { status: 200, body: job } : { status: 404, body: { message: `job ${match[1]} is not recorded` } };
    }
  }
}
