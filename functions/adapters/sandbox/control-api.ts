import type { IncomingMessage } from 'node:http';
import type { GitHubSimulator } from './github-simulator.ts';
import { compileRoute, matchRoute, parseJson, type Reply } from './sim-http.ts';
import type { PublishRunnerReleaseRequest, QueueJobRequest, SimAppFault, SimFault } from './sim-types.ts';

/**
 * `/_sim/…`: the test/demo control API over HTTP, so another process (`npm run demo`) can drive the
 * sandbox the way tests drive the in-process object.
 *
 *   GET    /_sim/info                     { url, appId, installationId }
 *   POST   /_sim/jobs                     QueueJobRequest → 201 { job, payload }
 *   GET    /_sim/jobs | /_sim/jobs/{id}
 *   POST   /_sim/jobs/{id}/cancel
 *   POST   /_sim/jobs/{id}/approve      approve a job waiting for an environment's reviewers
 *   GET    /_sim/runners[?scope=owner/repo]
 *   PUT    /_sim/webhook { url, secret } | DELETE /_sim/webhook
 *   GET    /_sim/deliveries
 *   GET    /_sim/faults | POST /_sim/faults { scopeKey, ...fault } | DELETE /_sim/faults[?scope=…]
 *          (e.g. { scopeKey: 'octo-org/repo', checkRunPostFailure: { times: 2, status: 500, created: true } })
 *   PUT    /_sim/latency { latencyMs }
 *   GET    /_sim/requests | DELETE /_sim/requests
 *   GET    /_sim/check-runs               { checkRuns: SimCheckRun[] } (as posted, oldest first)
 *   PUT    /_sim/permissions { permissions }  the installation's permissions (e.g. add checks: write)
 *   GET    /_sim/app-faults | PUT /_sim/app-faults { wrongKey?, webhookUrl?, clockSkewSeconds?, events? }
 *          | DELETE /_sim/app-faults    the App's own faults (doctor)
 *   GET    /_sim/releases | POST /_sim/releases { version, publishedAt?, prerelease?, tamperedTarball?,
 *          deprecatedRunners? } → 201 the release
 */
const R = {
  info: compileRoute('GET', '/_sim/info'),
  queue: compileRoute('POST', '/_sim/jobs'),
  jobs: compileRoute('GET', '/_sim/jobs'),
  job: compileRoute('GET', '/_sim/jobs/{id}'),
  cancel: compileRoute('POST', '/_sim/jobs/{id}/cancel'),
  approve: compileRoute('POST', '/_sim/jobs/{id}/approve'),
  runners: compileRoute('GET', '/_sim/runners'),
  setWebhook: compileRoute('PUT', '/_sim/webhook'),
  clearWebhook: compileRoute('DELETE', '/_sim/webhook'),
  deliveries: compileRoute('GET', '/_sim/deliveries'),
  faults: compileRoute('GET', '/_sim/faults'),
  setFault: compileRoute('POST', '/_sim/faults'),
  clearFaults: compileRoute('DELETE', '/_sim/faults'),
  latency: compileRoute('PUT', '/_sim/latency'),
  requests: compileRoute('GET', '/_sim/requests'),
  resetRequests: compileRoute('DELETE', '/_sim/requests'),
  releases: compileRoute('GET', '/_sim/releases'),
  publishRelease: compileRoute('POST', '/_sim/releases'),
  checkRuns: compileRoute('GET', '/_sim/check-runs'),
  setPermissions: compileRoute('PUT', '/_sim/permissions'),
  appFaults: compileRoute('GET', '/_sim/app-faults'),
  setAppFaults: compileRoute('PUT', '/_sim/app-faults'),
  clearAppFaults: compileRoute('DELETE', '/_sim/app-faults'),
};

const bad = (message: string): Reply => ({ status: 400, body: { message } });

function isPublishRequest(v: unknown): v is PublishRunnerReleaseRequest {
  if (!v || typeof v !== 'object') return false;
  const b = v as Record<string, unknown>;
  const optionalBoolean = (key: string) => b[key] === undefined || typeof b[key] === 'boolean';
  return (
    typeof b.version === 'string' &&
    (b.publishedAt === undefined || Number.isFinite(b.publishedAt)) &&
    optionalBoolean('prerelease') &&
    optionalBoolean('tamperedTarball') &&
    optionalBoolean('deprecatedRunners')
  );
}

function isAppFault(v: unknown): v is SimAppFault {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const b = v as Record<string, unknown>;
  const known = new Set(['wrongKey', 'webhookUrl', 'clockSkewSeconds', 'events']);
  return (
    Object.keys(b).every((k) => known.has(k)) &&
    (b.wrongKey === undefined || typeof b.wrongKey === 'boolean') &&
    (b.webhookUrl === undefined || typeof b.webhookUrl === 'string') &&
    (b.clockSkewSeconds === undefined || Number.isFinite(b.clockSkewSeconds)) &&
    (b.events === undefined || (Array.isArray(b.events) && b.events.every((e) => typeof e === 'string')))
  );
}

function isQueueRequest(v: unknown): v is QueueJobRequest {
  if (!v || typeof v !== 'object') return false;
  const b = v as Record<string, unknown>;
  return (
    typeof b.owner === 'string' &&
    typeof b.repo === 'string' &&
    Array.isArray(b.labels) &&
    b.labels.every((l) => typeof l === 'string')
  );
}

export function handleControl(
  sim: GitHubSimulator,
  req: IncomingMessage,
  path: string,
  query: URLSearchParams,
  bodyText: string,
): Reply {
  const method = req.method ?? 'GET';
  let body: unknown;
  try {
    body = parseJson(bodyText);
  } catch {
    return bad('Problems parsing JSON');
  }
  const is = (route: keyof typeof R) => matchRoute(R[route], method, path);

  if (is('info')) return { status: 200, body: { url: sim.url, appId: sim.appId, installationId: sim.installationId } };
  if (is('queue')) {
    if (!isQueueRequest(body)) return bad('owner, repo and labels (string[]) are required');
    try {
      const payload = sim.queueJob(body);
      const id = (payload.workflow_job as { id: number }).id;
      return { status: 201, body: { job: sim.job(id), payload } };
    } catch (error) {
      return { status: 409, body: { message: error instanceof Error ? error.message : 'cannot queue' } };
    }
  }
  if (is('jobs')) return { status: 200, body: { jobs: sim.jobs } };
  const job = is('job');
  if (job) {
    const found = sim.job(Number(job.id));
    return found ? { status: 200, body: found } : { status: 404, body: { message: 'Not Found' } };
  }
  const cancel = is('cancel');
  if (cancel) {
    return sim.cancelJob(Number(cancel.id))
      ? { status: 200, body: sim.job(Number(cancel.id)) }
      : { status: 409, body: { message: 'only a queued or waiting job can be cancelled' } };
  }
  const approve = is('approve');
  if (approve) {
    return sim.approveJob(Number(approve.id))
      ? { status: 200, body: sim.job(Number(approve.id)) }
      : { status: 409, body: { message: 'only a waiting job can be approved' } };
  }
  if (is('runners')) return { status: 200, body: { runners: sim.runners(query.get('scope') ?? undefined) } };
  if (is('setWebhook')) {
    const b = body as { url?: unknown; secret?: unknown } | undefined;
    if (typeof b?.url !== 'string' || typeof b.secret !== 'string') return bad('url and secret are required');
    sim.configureWebhook({ url: b.url, secret: b.secret });
    return { status: 204 };
  }
  if (is('clearWebhook')) {
    sim.configureWebhook(undefined);
    return { status: 204 };
  }
  if (is('deliveries')) return { status: 200, body: { deliveries: sim.deliveries() } };
  if (is('faults')) return { status: 200, body: { faults: sim.faults() } };
  if (is('setFault')) {
    const b = body as ({ scopeKey?: unknown } & SimFault) | undefined;
    if (typeof b?.scopeKey !== 'string') return bad('scopeKey is required');
    const { scopeKey, ...fault } = b;
    sim.setFault(scopeKey, fault);
    return { status: 204 };
  }
  if (is('clearFaults')) {
    sim.clearFault(query.get('scope') ?? undefined);
    return { status: 204 };
  }
  if (is('latency')) {
    const ms = Number((body as { latencyMs?: unknown } | undefined)?.latencyMs);
    if (!Number.isFinite(ms) || ms < 0) return bad('latencyMs must be a number >= 0');
    sim.setLatency(ms);
    return { status: 204 };
  }
  if (is('requests')) return { status: 200, body: { requests: sim.requests } };
  if (is('resetRequests')) {
    sim.resetRequests();
    return { status: 204 };
  }
  if (is('releases')) return { status: 200, body: { releases: sim.runnerReleases() } };
  if (is('publishRelease')) {
    if (!isPublishRequest(body)) {
      return bad('version (string) is required; publishedAt is a number; the flags are booleans');
    }
    try {
      return { status: 201, body: sim.publishRunnerRelease(body) };
    } catch (error) {
      return { status: 409, body: { message: error instanceof Error ? error.message : 'cannot publish' } };
    }
  }
  if (is('checkRuns')) return { status: 200, body: { checkRuns: sim.checkRuns() } };
  if (is('setPermissions')) {
    const permissions = (body as { permissions?: unknown } | undefined)?.permissions;
    if (
      !permissions ||
      typeof permissions !== 'object' ||
      !Object.values(permissions).every((v) => v === 'read' || v === 'write' || v === 'admin')
    ) {
      return bad('permissions is an object of read | write | admin');
    }
    sim.setPermissions(permissions as Record<string, string>);
    return { status: 200, body: { permissions: sim.permissions() } };
  }
  if (is('appFaults')) return { status: 200, body: { appFault: sim.appFault() } };
  if (is('setAppFaults')) {
    if (!isAppFault(body)) {
      return bad('wrongKey is a boolean, webhookUrl a string, clockSkewSeconds a number, events a string array');
    }
    sim.setAppFault(body);
    return { status: 200, body: { appFault: sim.appFault() } };
  }
  if (is('clearAppFaults')) {
    sim.clearAppFault();
    return { status: 204 };
  }
  return { status: 404, body: { message: 'Not Found' } };
}
