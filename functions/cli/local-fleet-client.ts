import type { Baseline } from '../domain/baseline.ts';
import type { JobFilter } from '../domain/job-filter.ts';
import {
  type BaselineView,
  baselineView,
  type FleetStatus,
  type JobView,
  type RunnerView,
} from '../use-cases/admin/fleet-view.ts';
import type { VersionStatus } from '../use-cases/admin/version-status.ts';
import {
  type DeadLetterListing,
  type EnsureAnswer,
  type FleetClient,
  type RedriveResult,
  RequestRefusedError,
  TargetAnswerError,
  TargetUnavailableError,
} from './fleet-client.ts';

export interface LocalFleetClientOptions {
  port: number;
  /** `BASELINE_ONLINE_TIMEOUT_SECONDS` of this machine's configuration (the server's own, normally). */
  baselineOnlineSeconds: number;
  fetch?: typeof fetch;
}

/** Local mode has no dead-letter queue: what `dlq list|redrive` says instead. */
export const LOCAL_DLQ_NOTE =
  'local mode has no dead-letter queue: a failed provisioning stays open and the reconciler retries it; ' +
  'jobs whose attempts ran out are failed: jit-runners jobs list --status failed';

/**
 * The {@link FleetClient} of the local server (`npm start`): its loopback-only fleet API (`GET /api/…`) and
 * admin routes (`POST /admin/baselines/ensure`, `GET /admin/version`).
 */
export function createLocalFleetClient(options: LocalFleetClientOptions): FleetClient {
  const base = `http://127.0.0.1:${options.port}`;
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const target = `the server on ${base}`;

  async function call(method: 'GET' | 'POST', path: string): Promise<{ status: number; body: unknown }> {
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, { method });
    } catch (error) {
      throw new TargetUnavailableError(
        `no server answers on ${base}; start it with npm start (or set PORT), or pass --stack NAME for a deployed stack`,
        { cause: error },
      );
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  }

  const messageOf = (body: unknown): string | undefined => {
    const m = (body as { message?: unknown } | undefined)?.message;
    return typeof m === 'string' ? m : undefined;
  };

  /** GET a fleet API path; 404 of a path the server does not know means an older server. */
  async function read<T>(path: string, options: { missing?: 'undefined' } = {}): Promise<T | undefined> {
    const { status, body } = await call('GET', path);
    if (status === 200) return body as T;
    if (status === 404 && options.missing === 'undefined' && messageOf(body) !== 'not found') return undefined;
    if (status === 404) {
      throw new TargetAnswerError(
        `${target} does not serve GET ${path.split('?')[0]} (an older jit-runners?); restart it with npm start`,
      );
    }
    if (status === 400)
      throw new RequestRefusedError(`${target} refused GET ${path}: ${messageOf(body) ?? 'bad request'}`);
    throw new TargetAnswerError(
      `${target} answered ${status} to GET ${path.split('?')[0]}${messageOf(body) ? `: ${messageOf(body)}` : ''}`,
    );
  }
  const must = async <T>(path: string): Promise<T> => (await read<T>(path)) as T;

  return {
    target,
    baselineOnlineSeconds: async () => options.baselineOnlineSeconds,
    status: () => must<FleetStatus>('/api/status'),
    jobs(filter: JobFilter, limit: number) {
      const q = new URLSearchParams();
      if (filter.statuses?.length) q.set('status', filter.statuses.join(','));
      if (filter.repo !== undefined) q.set('repo', filter.repo);
      if (filter.pool !== undefined) q.set('pool', filter.pool);
      if (filter.since !== undefined) q.set('since', new Date(filter.since).toISOString());
      if (filter.versionRole !== undefined) q.set('version-role', filter.versionRole);
      q.set('limit', String(limit));
      return must<JobView[]>(`/api/jobs?${q}`);
    },
    job: (jobId) => read<JobView>(`/api/jobs/${jobId}`, { missing: 'undefined' }),
    runners: () => must<RunnerView[]>('/api/runners'),
    baselines: () => must<BaselineView[]>('/api/baselines'),
    async ensureBaseline(scope): Promise<EnsureAnswer> {
      const { status, body } = await call('POST', `/admin/baselines/ensure?scope=${encodeURIComponent(scope)}`);
      const message = messageOf(body) ?? `${target} answered ${status}`;
      if (status === 404 && message === 'not found')
        throw new TargetAnswerError(`${target} does not serve baseline ensure; restart it with npm start`);
      if (status === 400) throw new RequestRefusedError(message);
      if (status < 200 || status >= 300) throw new TargetAnswerError(message);
      const baseline = (body as { baseline?: Baseline } | undefined)?.baseline;
      return { status, message, ...(baseline ? { baseline: baselineView(baseline) } : {}) };
    },
    async versionStatus() {
      const { status, body } = await call('GET', '/admin/version');
      if (status === 200) return body as VersionStatus;
      if (status === 404)
        throw new TargetAnswerError(
          `${target} does not serve GET /admin/version (an older jit-runners?); restart it with npm start`,
        );
      throw new TargetAnswerError(
        `the server answered ${status} to GET /admin/version${messageOf(body) ? `: ${messageOf(body)}` : ''}`,
      );
    },
    deadLetters: async (): Promise<DeadLetterListing> => ({ messages: [], note: LOCAL_DLQ_NOTE }),
    redrive: async (): Promise<RedriveResult> => ({ redriven: [], skipped: [], notFound: [], note: LOCAL_DLQ_NOTE }),
  };
}
