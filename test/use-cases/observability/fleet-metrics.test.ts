import { describe, expect, it } from 'vitest';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import { CountMetric, MeasureMetric } from '../../../functions/ports/metric-names.ts';
import { RecordingMetrics } from '../../support/recording-metrics.ts';
import { signedDelivery, workflowJobPayload } from '../../support/webhook-fixtures.ts';
import { createWorld, SECRET, T0 } from '../reconcile/reconcile-fixtures.ts';

const X64 = ['self-hosted', 'linux', 'x64'];
const ARM64 = ['self-hosted', 'linux', 'arm64'];
/** Two pools; x64 holds one runner at a time, so a second x64 job waits in its backlog. */
const RUNNER_POOLS = JSON.stringify([
  { name: 'x64', labels: X64, maxRunners: 1 },
  { name: 'arm64', labels: ARM64 },
]);

function fleet() {
  const metrics = new RecordingMetrics();
  const world = createWorld({ env: { RUNNER_POOLS }, metrics });
  return { world, metrics };
}

/**
 * The latency and gauges the dashboard charts, through the real core (webhook, provisioner, reconciler)
 * over the in-memory fakes and a clock the spec moves.
 */
describe('fleet metrics', () => {
  describe('queued → launch', () => {
    it("is the time from the job's record to its launch accepted, in milliseconds, per pool", async () => {
      const { world, metrics } = fleet();
      expect(await world.webhook('queued', 1, { labels: ARM64 })).toBe(202);
      world.githubJob(1, 'queued');

      world.now = T0 + 1_500;
      expect(await world.core.provisionJob(1)).toBe('launched');

      expect(metrics.named(MeasureMetric.queuedToLaunch)).toEqual([
        {
          kind: 'measure',
          name: 'QueuedToLaunchLatency',
          value: 1_500,
          unit: 'Milliseconds',
          dimensions: { pool: 'arm64' },
        },
      ]);
    });

    it("measures the job's first runner only: a replacement for a stolen runner is not a second sample", async () => {
      const { world, metrics } = fleet();
      await world.webhook('queued', 1, { labels: ARM64 });
      world.githubJob(1, 'queued');
      world.now = T0 + 200;
      expect(await world.core.provisionJob(1)).toBe('launched');

      // Job 9, never tracked by us, ran on job 1's runner: job 1 gets a replacement.
      world.now = T0 + 10_000;
      await world.webhook('in_progress', 9, { runnerName: 'jr-1-1', labels: ARM64 });
      expect((await world.job(1)).attempt).toBe(2);
      expect(await world.core.provisionJob(1)).toBe('launched');

      expect(metrics.named(MeasureMetric.queuedToLaunch).map((m) => m.value)).toEqual([200]);
    });
  });

  describe('queued → running', () => {
    it("is the time from the job's record to its in_progress delivery, once per job, per pool", async () => {
      const { world, metrics } = fleet();
      await world.webhook('queued', 1, { labels: X64 });
      world.githubJob(1, 'queued');
      world.now = T0 + 800;
      await world.core.provisionJob(1);

      world.now = T0 + 4_000;
      expect(await world.webhook('in_progress', 1, { runnerName: 'jr-1-1', labels: X64 })).toBe(202);
      // GitHub delivers at least once: a second in_progress is no second sample.
      world.now = T0 + 5_000;
      await world.webhook('in_progress', 1, { runnerName: 'jr-1-1', labels: X64 });

      expect(metrics.named(MeasureMetric.queuedToRunning)).toEqual([
        {
          kind: 'measure',
          name: 'QueuedToRunningLatency',
          value: 4_000,
          unit: 'Milliseconds',
          dimensions: { pool: 'x64' },
        },
      ]);
    });

    it('is not measured for a job we never recorded', async () => {
      const { world, metrics } = fleet();
      await world.webhook('in_progress', 7, { runnerName: 'someone-else', labels: X64 });
      expect(metrics.named(MeasureMetric.queuedToRunning)).toEqual([]);
    });
  });

  describe('reconciler gauges', () => {
    it("publishes every pool's runners alive and backlog, and the scopes a breaker holds back, each pass", async () => {
      const { world, metrics } = fleet();
      // x64: job 1 runs, job 2 waits for room; arm64: job 3 launched.
      for (const [jobId, labels] of [
        [1, X64],
        [2, X64],
        [3, ARM64],
      ] as const) {
        await world.webhook('queued', jobId, { labels: [...labels] });
        world.githubJob(jobId, 'queued');
      }
      expect(await world.core.provisionJob(1)).toBe('launched');
      expect(await world.core.provisionJob(2)).toBe('waiting');
      expect(await world.core.provisionJob(3)).toBe('launched');
      await world.webhook('in_progress', 1, { runnerName: 'jr-1-1', labels: X64 });
      // Job 4 of another repository waits for that scope's open breaker.
      await world.webhook('queued', 4, { labels: X64, repo: 'flaky' });
      await world.store.jobs.update(
        4,
        {},
        { set: { status: JobStatus.waitingBreaker, notBefore: T0 + 60_000 } },
        world.now,
      );
      metrics.clear();

      world.now = T0 + 1_000;
      expect((await world.reconcile()).ran).toBe(true);

      const gauge = (name: MeasureMetric) =>
        metrics.named(name).map((m) => ({ value: m.value, unit: m.unit, ...m.dimensions }));
      expect(gauge(MeasureMetric.runnersAlive)).toEqual([
        { value: 1, unit: 'Count', pool: 'x64' },
        { value: 1, unit: 'Count', pool: 'arm64' },
      ]);
      expect(gauge(MeasureMetric.backlogJobs)).toEqual([
        { value: 1, unit: 'Count', pool: 'x64' },
        { value: 0, unit: 'Count', pool: 'arm64' },
      ]);
      expect(gauge(MeasureMetric.breakerOpenScopes)).toEqual([{ value: 1, unit: 'Count' }]);
    });

    it('publishes zeros for an idle fleet, so the charts show 0 rather than gaps', async () => {
      const { world, metrics } = fleet();
      await world.reconcile();
      expect(
        metrics.recorded.filter((m) => m.kind === 'measure').map((m) => [m.name, m.value, m.dimensions.pool]),
      ).toEqual([
        ['RunnersAlive', 0, 'x64'],
        ['BacklogJobs', 0, 'x64'],
        ['RunnersAlive', 0, 'arm64'],
        ['BacklogJobs', 0, 'arm64'],
        ['BreakerOpenScopes', 0, undefined],
      ]);
    });

    it('publishes nothing in a pass that another reconciler holds the lease of', async () => {
      const { world, metrics } = fleet();
      await world.store.locks.acquire('reconciler', 'other-process', world.now, 60_000);
      expect((await world.reconcile()).ran).toBe(false);
      expect(metrics.recorded).toEqual([]);
    });
  });

  describe('webhook rejects', () => {
    it('counts each refused delivery with its reason: bad or missing signature (401), malformed or invalid (400)', async () => {
      const { world, metrics } = fleet();
      const good = await signedDelivery(
        SECRET,
        workflowJobPayload({ action: 'queued', jobId: 1, owner: 'o', repo: 'r', installationId: 1 }),
      );
      const wrong = await signedDelivery('not-the-secret', undefined, { body: good.body });
      const noSignature = Object.fromEntries(
        Object.entries(good.headers).filter(([k]) => k.toLowerCase() !== 'x-hub-signature-256'),
      );
      const notJson = await signedDelivery(SECRET, undefined, { body: '{not json' });

      const answers = [
        await world.core.acceptWebhook({ headers: wrong.headers, body: wrong.body }),
        await world.core.acceptWebhook({ headers: noSignature, body: good.body }),
        await world.core.acceptWebhook({ headers: notJson.headers, body: notJson.body }),
      ];

      expect(answers.map((a) => a.status)).toEqual([401, 401, 400]);
      expect(metrics.named(CountMetric.webhookRejected).map((m) => m.dimensions)).toEqual([
        { reason: 'bad-signature' },
        { reason: 'missing-signature' },
        { reason: 'malformed-json' },
      ]);
    });
  });
});
