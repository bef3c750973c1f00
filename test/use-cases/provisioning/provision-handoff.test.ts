import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countStoreRequests } from '../../../functions/adapters/dynamodb/count-store-requests.ts';
import { createDynamoStore } from '../../../functions/adapters/dynamodb/dynamo-store.ts';
import { ensureTable } from '../../../functions/adapters/dynamodb/ensure-table.ts';
import { createLocalDynamoClient } from '../../../functions/adapters/dynamodb/local-client.ts';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../../functions/adapters/local/embedded-dynamodb.ts';
import { createMemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import type { Job } from '../../../functions/domain/job.ts';
import type { JobHandoff } from '../../../functions/ports/runtime.ts';
import type { JobRepository, Store } from '../../../functions/ports/store.ts';
import { createAcceptWebhook } from '../../../functions/use-cases/ingress/accept-webhook.ts';
import { DEFAULT_LEASE_MS } from '../../../functions/use-cases/provisioning/provision-job.ts';
import { silentLogger } from '../../support/capture-logger.ts';
import { FakeGitHub } from '../../support/fake-github.ts';
import { provisionConfig } from '../../support/provision-config.ts';
import { RecordingLauncher } from '../../support/recording-launcher.ts';
import { testProvisioner } from '../../support/test-provisioner.ts';
import { signedDelivery, workflowJobPayload } from '../../support/webhook-fixtures.ts';

const config = provisionConfig(undefined);

const TOKEN = 'handoff-test-token';

describe('provisionJob with a hand-off (job recorded already leased by the webhook)', () => {
  let store: Store;
  let github: FakeGitHub;
  let launcher: RecordingLauncher;
  let now: number;
  let jobCalls: string[];

  /** The store's job repository, recording which calls the provisioner makes. */
  const countedJobs = (): JobRepository => ({
    ...store.jobs,
    create: (...a) => {
      jobCalls.push('create');
      return store.jobs.create(...a);
    },
    get: (...a) => {
      jobCalls.push('get');
      return store.jobs.get(...a);
    },
    update: (...a) => {
      jobCalls.push('update');
      return store.jobs.update(...a);
    },
  });

  const provisioner = (owner: string, jobs: JobRepository = countedJobs()) =>
    testProvisioner({ config, store, jobs, github, launcher, now: () => now, owner });

  /** What the webhook records with a lease: the job created `provisioning`, leased to the hand-off token. */
  async function leasedJob(jobId: number): Promise<Job> {
    const { leased } = await store.jobs.create(
      { jobId, runId: 1, owner: 'octo', repo: 'app', scopeKey: 'octo/app', installationId: 5, labels: ['self-hosted'] },
      `d-${jobId}`,
      now,
      { owner: TOKEN, expiresAt: now + DEFAULT_LEASE_MS },
    );
    if (!leased) throw new Error('the memory store records a leased job');
    return leased;
  }

  beforeEach(() => {
    store = createMemoryStore();
    github = new FakeGitHub();
    launcher = new RecordingLauncher();
    now = 1_000_000;
    jobCalls = [];
  });

  it('launches with one job write (the launched record): no lease write, no read', async () => {
    const job = await leasedJob(1);
    expect(await provisioner('p1')(1, { job })).toBe('launched');
    expect(jobCalls).toEqual(['update']);
    expect(launcher.launches.map((l) => l.runnerName)).toEqual(['jr-1-1']);
    expect(await store.jobs.get(1)).toMatchObject({ status: 'launched', runnerName: 'jr-1-1' });
    expect((await store.jobs.get(1))?.leaseOwner).toBeUndefined();
  });

  it('launches exactly one runner when the same hand-off arrives twice at once (at-least-once events)', async () => {
    const job = await leasedJob(2);
    const outcomes = await Promise.all([provisioner('p1')(2, { job }), provisioner('p2')(2, { job })]);
    expect(outcomes.sort()).toEqual(['launched', 'skipped']);
    expect(launcher.launches).toHaveLength(1);
    expect(github.count('deleteRunner')).toBe(0);
  });

  it('skips a repeated hand-off after the job was launched', async () => {
    const job = await leasedJob(3);
    await provisioner('p1')(3, { job });
    now += 1_000;
    expect(await provisioner('p2')(3, { job })).toBe('skipped');
    expect(launcher.launches).toHaveLength(1);
  });

  it('takes the ordinary path for a stale hand-off: the live lease is respected, the expired one taken', async () => {
    const job = await leasedJob(4);
    now += DEFAULT_LEASE_MS * 0.6;
    expect(await provisioner('p1')(4, { job })).toBe('skipped');
    expect(launcher.launches).toHaveLength(0);
    now += DEFAULT_LEASE_MS;
    expect(await provisioner('p1')(4, { job })).toBe('launched');
    expect(launcher.launches).toHaveLength(1);
  });

  it('ignores a hand-off of another job and leaves a job leased to a token alone without it', async () => {
    const job = await leasedJob(5);
    expect(await provisioner('p1')(6, { job })).toBe('skipped');
    expect(await provisioner('p1')(5)).toBe('skipped');
    expect(launcher.launches).toHaveLength(0);
  });
});

describe('the Lambda hot path with hand-offs, on DynamoDB (dynalite)', () => {
  let dynamo: EmbeddedDynamo;
  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
  });
  afterAll(async () => {
    await dynamo?.close();
  });

  it('costs two job writes per job (webhook create, launched record) plus reads cached per scope', async () => {
    const client = createLocalDynamoClient(dynamo.endpoint);
    await ensureTable(client, 'handoff-budget');
    const counter = countStoreRequests(client);
    try {
      const store = createDynamoStore({ client, tableName: 'handoff-budget' });
      const handoffs: { jobId: number; handoff: JobHandoff | undefined }[] = [];
      const now = 5_000_000;
      const acceptWebhook = createAcceptWebhook({
        config: { runner: config.runner, pools: config.pools, allowlist: [] },
        webhookSecrets: () => ['s3cret'],
        jobs: store.jobs,
        dispatcher: { dispatch: async (jobId, o) => void handoffs.push({ jobId, handoff: o?.handoff }) },
        clock: { now: () => now },
        logger: silentLogger,
        metrics: { count() {}, measure() {} },
        handoffLease: { ms: DEFAULT_LEASE_MS, token: () => `handoff-${handoffs.length}` },
      });
      const provision = testProvisioner({
        config,
        store,
        github: new FakeGitHub(),
        launcher: new RecordingLauncher(),
        now: () => now,
        owner: 'provisioner-1',
      });
      const jobIds = [71, 72, 73, 74];
      for (const jobId of jobIds) {
        const payload = workflowJobPayload({ action: 'queued', jobId, labels: ['self-hosted', 'linux', 'x64'] });
        const d = await signedDelivery('s3cret', payload);
        expect((await acceptWebhook({ headers: d.headers, body: d.body })).status).toBe(202);
      }
      expect(handoffs.map((h) => h.handoff?.job.status)).toEqual(jobIds.map(() => 'provisioning'));
      for (const { jobId, handoff } of handoffs) expect(await provision(jobId, handoff)).toBe('launched');

      const calls = counter.byCommand();
      // One PutItem records each job (webhook), one UpdateItem records its launch (provisioner).
      expect(calls.PutItemCommand).toBe(jobIds.length);
      expect(calls.UpdateItemCommand).toBe(jobIds.length);
      // The breaker and baseline reads of the one scope, cached for the later jobs.
      expect(calls.GetItemCommand ?? 0).toBeLessThanOrEqual(2);
      for (const jobId of jobIds) expect((await store.jobs.get(jobId))?.status).toBe('launched');
    } finally {
      counter.detach();
      client.destroy();
    }
  });
});
