import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import type { Config } from '../../../functions/config/config.ts';
import type { JobHandoff } from '../../../functions/ports/runtime.ts';
import type { JobRepository, Store } from '../../../functions/ports/store.ts';
import {
  createAcceptWebhook,
  createRecordQueuedJob,
  type JobProgress,
} from '../../../functions/use-cases/ingress/accept-webhook.ts';
import { silentLogger } from '../../support/capture-logger.ts';
import { signedDelivery, workflowJobPayload } from '../../support/webhook-fixtures.ts';

const SECRET = 'primary-webhook-secret';
const config: Pick<Config, 'runner' | 'allowlist' | 'pools'> = {
  runner: {
    scope: 'repo',
    labels: ['self-hosted', 'linux', 'x64'],
    groupId: 1,
    version: '2.330.0',
    fallbackVersion: undefined,
    versionFloor: '2.329.0',
    namePrefix: 'jr',
  },
  pools: [{ name: 'default', labels: ['self-hosted', 'linux', 'x64'], launcher: 'local', runnerVersion: '2.330.0' }],
  allowlist: [],
};

describe('acceptWebhook', () => {
  let store: Store;
  let dispatched: number[];
  let progress: JobProgress[];
  let accept: ReturnType<typeof createAcceptWebhook>;

  const build = (overrides: Partial<Pick<Config, 'allowlist'>> = {}, secrets = [SECRET]) =>
    createAcceptWebhook({
      config: { ...config, ...overrides },
      webhookSecrets: () => secrets,
      jobs: store.jobs,
      dispatcher: { dispatch: async (id) => void dispatched.push(id) },
      clock: { now: () => 1_000 },
      logger: silentLogger,
      metrics: { count() {}, measure() {} },
      onProgress: async (p) => void progress.push(p),
    });

  beforeEach(() => {
    store = createMemoryStore();
    dispatched = [];
    progress = [];
    accept = build();
  });

  it('records a served queued job, dispatches it once and answers 202', async () => {
    const d = await signedDelivery(SECRET, workflowJobPayload({ action: 'queued', jobId: 7 }), { deliveryId: 'd-1' });
    const answer = await accept(d);
    expect(answer.status).toBe(202);
    expect(dispatched).toEqual([7]);
    const job = await store.jobs.get(7);
    expect(job).toMatchObject({
      status: 'queued',
      owner: 'octo-org',
      repo: 'octo-repo',
      scopeKey: 'octo-org/octo-repo',
    });
    expect(job?.deliveryIds).toEqual(['d-1']);
  });

  it('answers 202 to duplicates, keeps every delivery id and dispatches only once', async () => {
    const payload = workflowJobPayload({ action: 'queued', jobId: 8 });
    for (const id of ['a', 'b', 'c'])
      expect((await accept(await signedDelivery(SECRET, payload, { deliveryId: id }))).status).toBe(202);
    expect(dispatched).toEqual([8]);
    expect((await store.jobs.get(8))?.deliveryIds.sort()).toEqual(['a', 'b', 'c']);
  });

  it('verifies with any rotation secret', async () => {
    accept = build({}, ['new-secret', SECRET]);
    const d = await signedDelivery(SECRET, workflowJobPayload({ action: 'queued', jobId: 9 }));
    expect((await accept(d)).status).toBe(202);
  });

  it('reads header names case-insensitively', async () => {
    const d = await signedDelivery(SECRET, workflowJobPayload({ action: 'queued', jobId: 10 }));
    const upper = Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect((await accept({ headers: upper, body: d.body })).status).toBe(202);
  });

  it('answers ping with 200 and writes nothing', async () => {
    const d = await signedDelivery(SECRET, { zen: 'Keep it logically awesome.', hook_id: 1 }, { event: 'ping' });
    expect(await accept(d)).toEqual({ status: 200, body: { message: 'pong' } });
    expect(await store.jobs.listOpen()).toEqual([]);
  });

  it.each([
    ['ignores other events', { event: 'push' }, workflowJobPayload({ action: 'queued', jobId: 11 }), 200],
    [
      'ignores labels it does not serve',
      {},
      workflowJobPayload({ action: 'queued', jobId: 12, labels: ['ubuntu-latest'] }),
      200,
    ],
    // `waiting` is acted on since approval waits (test/use-cases/provisioning/approval-wait.test.ts).
    [
      'ignores actions it does not act on',
      {},
      { ...workflowJobPayload({ action: 'queued', jobId: 13 }), action: 'some_future_action' },
      200,
    ],
  ])('%s with a 2xx, no write and no dispatch', async (_why, options, payload, status) => {
    const d = await signedDelivery(SECRET, payload, options);
    expect((await accept(d)).status).toBe(status);
    expect(dispatched).toEqual([]);
    expect(await store.jobs.listOpen()).toEqual([]);
  });

  it('ignores repositories outside REPO_ALLOWLIST', async () => {
    accept = build({ allowlist: ['someone-else/*'] });
    const answer = await accept(await signedDelivery(SECRET, workflowJobPayload({ action: 'queued', jobId: 14 })));
    expect(answer.status).toBe(200);
    expect(answer.body.message).toContain('REPO_ALLOWLIST');
    expect(await store.jobs.get(14)).toBeUndefined();
  });

  describe('bad input', () => {
    const valid = workflowJobPayload({ action: 'queued', jobId: 15 });
    const wrongType = structuredClone(valid) as { workflow_job: { id: unknown } };
    wrongType.workflow_job.id = 'fifteen';
    const noJob = structuredClone(valid) as Record<string, unknown>;
    delete noJob.workflow_job;

    it.each([
      [
        'a missing signature',
        async () => ({ headers: { 'x-github-event': 'workflow_job' }, body: JSON.stringify(valid) }),
        401,
      ],
      ['a signature made with another secret', () => signedDelivery('wrong-secret', valid), 401],
      [
        'a malformed signature header',
        async () => ({ headers: { 'x-hub-signature-256': 'sha256=zz', 'x-github-event': 'workflow_job' }, body: '{}' }),
        401,
      ],
      [
        'a body changed after signing',
        async () => ({
          ...(await signedDelivery(SECRET, valid)),
          body: JSON.stringify({ ...valid, action: 'completed' }),
        }),
        401,
      ],
      ['truncated JSON', () => signedDelivery(SECRET, null, { body: JSON.stringify(valid).slice(0, 50) }), 400],
      ['a wrong field type', () => signedDelivery(SECRET, wrongType), 400],
      ['a missing workflow_job', () => signedDelivery(SECRET, noJob), 400],
      [
        'a missing event header',
        async () => {
          const d = await signedDelivery(SECRET, valid);
          const { 'x-github-event': _, ...headers } = d.headers;
          return { headers, body: d.body };
        },
        400,
      ],
      ['a body over 1 MiB', () => signedDelivery(SECRET, { pad: 'x'.repeat(1024 * 1024) }), 413],
    ])('answers %s with %i and changes nothing', async (_why, make, status) => {
      const answer = await accept(await make());
      expect(answer.status).toBe(status);
      expect(answer.body.message.length).toBeGreaterThan(0);
      expect(await store.jobs.listOpen()).toEqual([]);
      expect(dispatched).toEqual([]);
    });

    it('names the offending field in a schema error', async () => {
      const answer = await accept(await signedDelivery(SECRET, wrongType));
      expect(answer.body.message).toContain('workflow_job.id');
    });
  });

  describe('progress', () => {
    it('moves a job to running with the runner that took it, then to completed with the conclusion', async () => {
      await accept(await signedDelivery(SECRET, workflowJobPayload({ action: 'queued', jobId: 20 })));
      await accept(
        await signedDelivery(SECRET, workflowJobPayload({ action: 'in_progress', jobId: 20, runnerName: 'jr-20-1' })),
      );
      expect(await store.jobs.get(20)).toMatchObject({ status: 'running', ranOn: 'jr-20-1' });
      await accept(
        await signedDelivery(
          SECRET,
          workflowJobPayload({ action: 'completed', jobId: 20, runnerName: 'jr-20-1', conclusion: 'success' }),
        ),
      );
      const job = await store.jobs.get(20);
      expect(job).toMatchObject({ status: 'completed', conclusion: 'success' });
      expect(job?.history.map((e) => e.status)).toEqual(['queued', 'running', 'completed']);
      expect(progress.map((p) => [p.action, p.runnerName])).toEqual([
        ['in_progress', 'jr-20-1'],
        ['completed', 'jr-20-1'],
      ]);
    });

    it('keeps a completed job completed when a late in_progress arrives', async () => {
      await accept(await signedDelivery(SECRET, workflowJobPayload({ action: 'queued', jobId: 21 })));
      await accept(
        await signedDelivery(SECRET, workflowJobPayload({ action: 'completed', jobId: 21, conclusion: 'success' })),
      );
      const answer = await accept(
        await signedDelivery(SECRET, workflowJobPayload({ action: 'in_progress', jobId: 21 })),
      );
      expect(answer.status).toBe(202);
      expect((await store.jobs.get(21))?.status).toBe('completed');
    });

    it('passes on the warm runner of a job served warm from the job its write returned, for the job’s own runner only', async () => {
      await accept(await signedDelivery(SECRET, workflowJobPayload({ action: 'queued', jobId: 23 })));
      await store.jobs.update(23, {}, { set: { runnerName: 'jr-23-1', warmName: 'jr-warm-default-5e6f' } }, 1_000);
      await accept(
        await signedDelivery(SECRET, workflowJobPayload({ action: 'in_progress', jobId: 23, runnerName: 'jr-23-1' })),
      );
      // A `completed` on a runner minted for another job: that runner is not this job's warm runner.
      await accept(
        await signedDelivery(
          SECRET,
          workflowJobPayload({ action: 'completed', jobId: 23, runnerName: 'jr-9-1', conclusion: 'success' }),
        ),
      );
      await accept(
        await signedDelivery(SECRET, workflowJobPayload({ action: 'in_progress', jobId: 20, runnerName: 'jr-20-1' })),
      );
      expect(progress.map((p) => [p.jobId, p.runnerName, p.warmName])).toEqual([
        [23, 'jr-23-1', 'jr-warm-default-5e6f'],
        [23, 'jr-9-1', undefined],
        [20, 'jr-20-1', undefined],
      ]);
    });

    it('acknowledges progress for a job it never recorded', async () => {
      const answer = await accept(await signedDelivery(SECRET, workflowJobPayload({ action: 'completed', jobId: 22 })));
      expect(answer).toMatchObject({ status: 202, body: { message: 'job not tracked' } });
    });
  });
});

describe('recordQueuedJob (the one path of every queued job: webhook or discovery)', () => {
  const newJob = {
    jobId: 41,
    runId: 410,
    owner: 'octo-org',
    repo: 'app',
    scopeKey: 'octo-org/app',
    installationId: 1,
    labels: ['self-hosted'],
  };

  it('records a job with the source note as its first history line, in one write, and hands it off when leased', async () => {
    const store = createMemoryStore();
    const jobs: JobRepository = store.jobs;
    const handoffs: (JobHandoff | undefined)[] = [];
    const record = createRecordQueuedJob({
      jobs,
      dispatcher: { dispatch: async (_id, options) => void handoffs.push(options?.handoff) },
      clock: { now: () => 5_000 },
      logger: silentLogger,
      metrics: { count() {}, measure() {} },
      handoffLease: { ms: 60_000, token: () => 'handoff-1' },
    });

    const first = await record(newJob, { deliveryId: 'discovered:run-410', note: 'discovered, not delivered' });
    const second = await record(newJob, { deliveryId: 'late-webhook', note: 'discovered, not delivered' });

    expect([first, second]).toEqual([{ created: true }, { created: false }]);
    const stored = await store.jobs.get(41);
    expect(stored?.history.map((h) => h.note)).toEqual([
      'discovered, not delivered, leased to its dispatched provisioning',
    ]);
    expect(stored?.version).toBe(1);
    expect(stored?.deliveryIds.sort()).toEqual(['discovered:run-410', 'late-webhook']);
    // One dispatch, carrying the job as it is stored now (the provisioner's conditional writes use its version).
    expect(handoffs).toHaveLength(1);
    expect(handoffs[0]?.job.version).toBe(stored?.version);
    expect(handoffs[0]?.job.leaseOwner).toBe('handoff-1');
  });
});

describe('acceptWebhook with pools', () => {
  const pools: Config['pools'] = [
    { name: 'linux-x64', labels: ['self-hosted', 'linux', 'x64'], launcher: 'local', runnerVersion: '2.330.0' },
    { name: 'linux-arm64', labels: ['self-hosted', 'linux', 'arm64'], launcher: 'local', runnerVersion: '2.331.0' },
  ];
  let store: Store;
  let dispatched: number[];
  let writes: number;
  let accept: ReturnType<typeof createAcceptWebhook>;

  beforeEach(() => {
    store = createMemoryStore();
    dispatched = [];
    writes = 0;
    const counted: JobRepository = {
      ...store.jobs,
      create: (...args) => {
        writes += 1;
        return store.jobs.create(...args);
      },
      update: (...args) => {
        writes += 1;
        return store.jobs.update(...args);
      },
    };
    accept = createAcceptWebhook({
      config: { ...config, pools },
      webhookSecrets: () => [SECRET],
      jobs: counted,
      dispatcher: { dispatch: async (id) => void dispatched.push(id) },
      clock: { now: () => 1_000 },
      logger: silentLogger,
      metrics: { count() {}, measure() {} },
    });
  });

  it('records on the job the first pool, in listed order, whose labels cover the job labels', async () => {
    const cases = [
      { jobId: 31, labels: ['self-hosted', 'linux', 'x64'], pool: 'linux-x64' },
      { jobId: 32, labels: ['Self-Hosted', 'ARM64'], pool: 'linux-arm64' },
      // Both pools cover it: the first listed serves it.
      { jobId: 33, labels: ['linux'], pool: 'linux-x64' },
    ];
    for (const { jobId, labels } of cases) {
      const answer = await accept(
        await signedDelivery(SECRET, workflowJobPayload({ action: 'queued', jobId, labels })),
      );
      expect(answer.status).toBe(202);
    }
    for (const { jobId, pool } of cases) expect(await store.jobs.get(jobId)).toMatchObject({ status: 'queued', pool });
    expect(dispatched).toEqual([31, 32, 33]);
  });

  it('records the pool of a job first seen waiting for an approval', async () => {
    const payload = workflowJobPayload({ action: 'waiting', jobId: 34, labels: ['self-hosted', 'arm64'] });
    expect((await accept(await signedDelivery(SECRET, payload))).status).toBe(202);
    expect((await store.jobs.get(34))?.pool).toBe('linux-arm64');
  });

  it('answers 200 and writes and dispatches nothing for a job no pool covers, in any action', async () => {
    for (const action of ['queued', 'waiting', 'in_progress', 'completed'] as const) {
      const payload = workflowJobPayload({ action, jobId: 35, labels: ['self-hosted', 'x64', 'arm64'] });
      const answer = await accept(await signedDelivery(SECRET, payload));
      expect(answer).toEqual({ status: 200, body: { message: 'ignored: labels not served', jobId: 35 } });
    }
    expect(writes).toBe(0);
    expect(dispatched).toEqual([]);
    expect(await store.jobs.get(35)).toBeUndefined();
  });
});
