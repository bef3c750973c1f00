import { describe, expect, it, vi } from 'vitest';
import { createMemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import { parseConfig } from '../../../functions/config/config.ts';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import type { WorkflowJobState } from '../../../functions/ports/github.ts';
import { createRecordQueuedJob } from '../../../functions/use-cases/ingress/accept-webhook.ts';
import {
  createDiscoverQueuedJobs,
  type DiscoverQueuedJobsDeps,
  discoveryGraceMs,
} from '../../../functions/use-cases/reconcile/discover-queued-jobs.ts';
import { CaptureLogger } from '../../support/capture-logger.ts';
import { apiError, FakeGitHub } from '../../support/fake-github.ts';
import { createWorld, INSTALLATION, OWNER, RecordingDispatcher, T0 } from './reconcile-fixtures.ts';

const SERVED = ['self-hosted', 'linux', 'x64'];
const LONG_AGO = new Date(T0 - 10 * 60_000).toISOString();

/** A job of a workflow run on the fake GitHub (queued ten minutes before T0 unless told otherwise). */
function onGitHub(
  github: FakeGitHub,
  id: number,
  options: {
    repo?: string;
    runId?: number;
    status?: WorkflowJobState['status'];
    labels?: string[];
    createdAt?: string;
  } = {},
) {
  github.runJobs.push({
    owner: OWNER,
    repo: options.repo ?? 'app',
    runId: options.runId ?? id * 10,
    id,
    status: options.status ?? 'queued',
    labels: options.labels ?? SERVED,
    createdAt: options.createdAt ?? LONG_AGO,
  });
}

function logged(logger: CaptureLogger, level: string, message: RegExp): boolean {
  return logger.lines.some((line) => {
    const entry = JSON.parse(line) as { level: string; message: string };
    return entry.level === level && message.test(entry.message);
  });
}

const actionsCalls = (github: FakeGitHub) =>
  github.calls.filter((c) => ['findInstallation', 'listWorkflowRuns', 'listWorkflowRunJobs'].includes(c.op));

/** The use case alone over the MemoryStore and the webhook's recording path, with small budgets to step over. */
function discovery(env: Record<string, string>, overrides: Partial<DiscoverQueuedJobsDeps> = {}) {
  const config = parseConfig({ env: { GITHUB_WEBHOOK_SECRET: 's', ...env } }, 'local');
  const store = createMemoryStore();
  const github = new FakeGitHub();
  const dispatcher = new RecordingDispatcher();
  const logger = new CaptureLogger();
  const metrics = { count() {}, measure() {} };
  const discover = createDiscoverQueuedJobs({
    config,
    github,
    jobs: store.jobs,
    recordQueuedJob: createRecordQueuedJob({ jobs: store.jobs, dispatcher, clock: { now: () => T0 }, logger, metrics }),
    graceMs: 60_000,
    logger,
    metrics,
    ...overrides,
  });
  return { store, github, dispatcher, logger, discover };
}

describe('discoverQueuedJobs (DISCOVER_QUEUED_JOBS, a reconciler step)', () => {
  describe('off by default', () => {
    it('makes no Actions API call and has no report when no repository opted in', async () => {
      const world = createWorld();
      onGitHub(world.github, 501);

      const report = await world.reconcile();

      expect(report.discovery).toBeUndefined();
      expect(actionsCalls(world.github)).toEqual([]);
      expect(await world.store.jobs.get(501)).toBeUndefined();
    });
  });

  describe('a queued job no webhook announced', () => {
    it('is recorded once through the webhook path, noted as discovered, and dispatched once', async () => {
      const world = createWorld({ env: { DISCOVER_QUEUED_JOBS: `${OWNER}/app` } });
      onGitHub(world.github, 502, { runId: 77 });

      const report = await world.reconcile();

      expect(report.discovery).toMatchObject({ discovered: [502], known: 0, repositories: [`${OWNER}/app`] });
      expect(report.failedSteps).toEqual([]);
      const job = await world.job(502);
      expect(job).toMatchObject({
        status: JobStatus.queued,
        runId: 77,
        owner: OWNER,
        repo: 'app',
        scopeKey: `${OWNER}/app`,
        installationId: INSTALLATION,
        labels: SERVED,
        deliveryIds: ['discovered:run-77'],
      });
      expect(job.history.at(-1)?.note).toMatch(
        /^discovered in the Actions API \(run 77, queued since .*\): no queued webhook/,
      );
      expect(world.dispatcher.jobs().filter((id) => id === 502)).toEqual([502]);

      // Seen again next run (GitHub still shows it queued): known, so no write and no second dispatch.
      world.now += 1_000;
      const create = vi.spyOn(world.store.jobs, 'create');
      const again = await world.reconcile();
      expect(again.discovery).toMatchObject({ discovered: [], known: 1 });
      expect(create).not.toHaveBeenCalled();
      expect(world.dispatcher.jobs().filter((id) => id === 502)).toEqual([502]);
    });

    it('makes a webhook arriving later a duplicate: it adds its delivery id and dispatches nothing', async () => {
      const world = createWorld({ env: { DISCOVER_QUEUED_JOBS: `${OWNER}/app` } });
      onGitHub(world.github, 503);
      await world.reconcile();
      world.dispatcher.clear();

      expect(await world.webhook('queued', 503)).toBe(202);

      expect(world.dispatcher.jobs()).toEqual([]);
      expect((await world.job(503)).deliveryIds).toHaveLength(2);
    });

    it('finds a queued job in a run already in progress (a later job of the run)', async () => {
      const world = createWorld({ env: { DISCOVER_QUEUED_JOBS: `${OWNER}/app` } });
      onGitHub(world.github, 504, { runId: 90, status: 'completed' });
      onGitHub(world.github, 505, { runId: 90, status: 'queued' });

      const report = await world.reconcile();

      expect(report.discovery?.discovered).toEqual([505]);
      expect(await world.store.jobs.get(504)).toBeUndefined();
    });
  });

  describe('a job the store knows', () => {
    it('costs no write, whether open or finished', async () => {
      const world = createWorld({ env: { DISCOVER_QUEUED_JOBS: `${OWNER}/app` } });
      await world.queue(506);
      await world.queue(507);
      await world.store.jobs.update(
        507,
        {},
        { set: { status: JobStatus.failed, reason: 'gave up' }, event: { status: JobStatus.failed, note: 'x' } },
        T0,
      );
      const before = [await world.job(506), await world.job(507)];
      onGitHub(world.github, 506);
      onGitHub(world.github, 507);
      const create = vi.spyOn(world.store.jobs, 'create');
      const update = vi.spyOn(world.store.jobs, 'update');

      const report = await world.reconcile();

      expect(report.discovery).toMatchObject({ discovered: [], known: 2 });
      expect(create).not.toHaveBeenCalled();
      expect(update.mock.calls.filter(([jobId]) => jobId === 507)).toEqual([]);
      expect((await world.job(507)).version).toBe(before[1]?.version);
      expect((await world.job(506)).deliveryIds).toEqual(before[0]?.deliveryIds);
    });
  });

  describe('filters the webhook applies', () => {
    it('skips a queued job whose labels are not all served', async () => {
      const world = createWorld({ env: { DISCOVER_QUEUED_JOBS: `${OWNER}/app` } });
      onGitHub(world.github, 508, { labels: ['self-hosted', 'gpu'] });

      const report = await world.reconcile();

      expect(report.discovery).toMatchObject({ discovered: [], unserved: 1 });
      expect(await world.store.jobs.get(508)).toBeUndefined();
    });

    it('records a discovered job with the pool its labels choose, and skips one no pool covers', async () => {
      const RUNNER_POOLS = JSON.stringify([
        { name: 'x64', labels: ['self-hosted', 'linux', 'x64'] },
        { name: 'arm64', labels: ['self-hosted', 'linux', 'arm64'] },
      ]);
      const world = createWorld({ env: { DISCOVER_QUEUED_JOBS: `${OWNER}/app`, RUNNER_POOLS } });
      onGitHub(world.github, 520, { labels: ['self-hosted', 'ARM64'] });
      onGitHub(world.github, 521, { labels: ['linux'] });
      onGitHub(world.github, 522, { labels: ['self-hosted', 'x64', 'arm64'] });

      const report = await world.reconcile();

      expect(report.discovery).toMatchObject({ unserved: 1 });
      expect(report.discovery?.discovered.toSorted()).toEqual([520, 521]);
      expect((await world.job(520)).pool).toBe('arm64');
      expect((await world.job(521)).pool).toBe('x64');
      expect(await world.store.jobs.get(522)).toBeUndefined();
    });

    it('never looks at a repository outside REPO_ALLOWLIST, and says so at start-up', async () => {
      const world = createWorld({
        env: { DISCOVER_QUEUED_JOBS: `${OWNER}/app,${OWNER}/served`, REPO_ALLOWLIST: `${OWNER}/served` },
      });
      onGitHub(world.github, 509, { repo: 'app' });
      onGitHub(world.github, 510, { repo: 'served' });

      const report = await world.reconcile();

      expect(report.discovery?.repositories).toEqual([`${OWNER}/served`]);
      expect(report.discovery?.discovered).toEqual([510]);
      expect(world.github.calls.filter((c) => c.scopeKey === `${OWNER}/app`)).toEqual([]);
      expect(logged(world.logger, 'WARN', /outside REPO_ALLOWLIST/)).toBe(true);
    });

    it('leaves a job queued for less than the grace period to its webhook, and records it after', async () => {
      const world = createWorld({ env: { DISCOVER_QUEUED_JOBS: `${OWNER}/app` } });
      const grace = discoveryGraceMs(world.config);
      onGitHub(world.github, 511, { createdAt: new Date(T0 - grace + 1_000).toISOString() });

      const early = await world.reconcile();
      world.now += 1_000;
      const later = await world.reconcile();

      expect(early.discovery).toMatchObject({ discovered: [], young: 1 });
      expect(later.discovery?.discovered).toEqual([511]);
    });
  });

  describe('bounds', () => {
    it('makes at most the per-run budget of calls, and starts the next run where the budget ran out', async () => {
      const { github, discover } = discovery(
        { DISCOVER_QUEUED_JOBS: `${OWNER}/a,${OWNER}/b,${OWNER}/c` },
        { maxCallsPerRun: 5 },
      );
      // Each repository: installation + queued runs + one run's jobs + in-progress runs = 4 calls.
      onGitHub(github, 521, { repo: 'a' });
      onGitHub(github, 522, { repo: 'b' });
      onGitHub(github, 523, { repo: 'c' });

      const first = await discover(T0);
      const second = await discover(T0);
      const third = await discover(T0);

      for (const report of [first, second, third]) expect(report.calls).toBeLessThanOrEqual(5);
      expect(first).toMatchObject({ discovered: [521], cut: [`${OWNER}/b`, `${OWNER}/c`] });
      expect(second.repositories[0]).toBe(`${OWNER}/b`);
      expect([...first.discovered, ...second.discovered, ...third.discovered].sort()).toEqual([521, 522, 523]);
      expect(github.calls.length).toBe(first.calls + second.calls + third.calls);
    });

    it('makes at most the per-repository budget of calls, leaving budget to the other repositories', async () => {
      const { github, discover } = discovery(
        { DISCOVER_QUEUED_JOBS: `${OWNER}/busy,${OWNER}/quiet` },
        { maxCallsPerRepository: 4 },
      );
      for (let i = 0; i < 10; i++) onGitHub(github, 530 + i, { repo: 'busy' });
      onGitHub(github, 541, { repo: 'quiet' });

      const report = await discover(T0);

      // busy: installation, queued runs, the jobs of its two newest runs; quiet: installation, queued
      // runs, one run's jobs, in-progress runs.
      expect(report.calls).toBe(8);
      expect(github.calls.filter((c) => c.scopeKey === `${OWNER}/busy`).map((c) => c.op)).toEqual([
        'listWorkflowRuns',
        'listWorkflowRunJobs',
        'listWorkflowRunJobs',
      ]);
      expect(report.cut).toEqual([`${OWNER}/busy`]);
      expect(report.discovered).toEqual([539, 538, 541]);
    });

    it('reads every page of a long run within the budget', async () => {
      const { github, discover } = discovery({ DISCOVER_QUEUED_JOBS: `${OWNER}/app` });
      github.actionsPageSize = 2;
      for (let i = 0; i < 5; i++) onGitHub(github, 550 + i, { runId: 99 });

      const report = await discover(T0);

      expect(report.discovered.sort()).toEqual([550, 551, 552, 553, 554]);
      expect(github.count('listWorkflowRunJobs')).toBe(3);
    });

    it('makes no call for a repository whose scope breaker is open', async () => {
      const world = createWorld({ env: { DISCOVER_QUEUED_JOBS: `${OWNER}/app,${OWNER}/other` } });
      await world.store.breakers.put(
        { scopeKey: `${OWNER}/app`, consecutiveFailures: 3, opens: 1, openUntil: T0 + 30_000 },
        0,
        T0,
      );
      onGitHub(world.github, 560, { repo: 'app' });
      onGitHub(world.github, 561, { repo: 'other' });

      const report = await world.reconcile();

      expect(report.discovery).toMatchObject({ breakerOpen: [`${OWNER}/app`], discovered: [561] });
      expect(world.github.calls.filter((c) => c.scopeKey === `${OWNER}/app`)).toEqual([]);
    });
  });

  describe('GitHub failures', () => {
    it('counts a failing repository, goes on with the others, and finds the installation again after a 404', async () => {
      const { github, discover } = discovery({ DISCOVER_QUEUED_JOBS: `${OWNER}/gone,${OWNER}/fine` });
      onGitHub(github, 571, { repo: 'fine' });
      github.failures.listWorkflowRuns = [
        apiError(404, '{"message":"Not Found"}', 'GET /repos/{owner}/{repo}/actions/runs'),
      ];

      const report = await discover(T0);
      const next = await discover(T0);

      expect(report).toMatchObject({ errors: 1, discovered: [571] });
      expect(next.errors).toBe(0);
      // Once per repository for the first run, once more for the repository that answered 404.
      expect(github.count('findInstallation')).toBe(3);
    });

    it('makes no list call for a repository the App is not installed on', async () => {
      const { github, discover, logger } = discovery({ DISCOVER_QUEUED_JOBS: `${OWNER}/elsewhere` });
      github.installations.set('someone/else', 9);
      onGitHub(github, 581, { repo: 'elsewhere' });

      const report = await discover(T0);

      expect(report.discovered).toEqual([]);
      expect(github.count('listWorkflowRuns')).toBe(0);
      expect(logged(logger, 'WARN', /not installed/)).toBe(true);
    });
  });
});
