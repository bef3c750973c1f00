import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import { createRecordObservedBaseline } from '../../../functions/use-cases/healing/record-observed-baseline.ts';
import type { JobProgress } from '../../../functions/use-cases/ingress/accept-webhook.ts';
import { silentLogger } from '../../support/capture-logger.ts';
import { countingStore, T0, testConfig } from './heal-fixtures.ts';

const progress = (overrides: Partial<JobProgress> = {}): JobProgress => ({
  action: 'in_progress',
  jobId: 1,
  owner: 'octo',
  repo: 'app',
  scopeKey: 'octo/app',
  installationId: 5,
  runnerName: 'jr-1-1',
  conclusion: null,
  at: T0,
  ...overrides,
});

describe('recordObservedBaseline', () => {
  let counted: ReturnType<typeof countingStore>;
  let record: ReturnType<typeof createRecordObservedBaseline>;

  beforeEach(() => {
    counted = countingStore(createMemoryStore());
    record = createRecordObservedBaseline({
      config: testConfig(),
      baselines: counted.store.baselines,
      logger: silentLogger,
      metrics: { count() {}, measure() {} },
    });
  });

  it('records an observed baseline when one of our JIT runners runs a job in a scope without a record', async () => {
    await record(progress());
    expect(await counted.store.baselines.get('octo/app')).toMatchObject({
      state: 'present',
      method: 'observed',
      runnerName: 'jr-1-1',
      verifiedOnlineAt: T0,
      workarounds: 0,
      installationId: 5,
    });
  });

  it('costs at most one read and one write per scope, even for concurrent deliveries', async () => {
    await Promise.all([record(progress()), record(progress({ jobId: 2, runnerName: 'jr-2-1' }))]);
    for (let i = 3; i < 50; i++) await record(progress({ jobId: i, runnerName: `jr-${i}-1` }));
    expect(counted.calls).toEqual(['baselines.get', 'baselines.put']);
    await record(progress({ scopeKey: 'octo/other', repo: 'other' }));
    expect(counted.calls.filter((c) => c === 'baselines.put')).toHaveLength(2);
  });

  it('leaves an existing record as it is (a missing scope stays missing)', async () => {
    await counted.store.baselines.put({ scopeKey: 'octo/app', state: 'missing', workarounds: 1 }, 0, T0);
    await record(progress());
    expect((await counted.store.baselines.get('octo/app'))?.state).toBe('missing');
  });

  it('ignores runners that are not ours, completed deliveries and deliveries without a runner', async () => {
    await record(progress({ runnerName: 'GitHub Actions 2' }));
    await record(progress({ runnerName: 'jr-baseline-octo-app-n1' }));
    await record(progress({ action: 'completed' }));
    await record(progress({ runnerName: null }));
    expect(counted.calls).toEqual([]);
  });

  it('never throws into the webhook path, and tries again after a store failure', async () => {
    const memory = createMemoryStore();
    memory.failNext('baselines.put');
    record = createRecordObservedBaseline({
      config: testConfig(),
      baselines: memory.baselines,
      logger: silentLogger,
      metrics: { count() {}, measure() {} },
    });
    await expect(record(progress())).resolves.toBeUndefined();
    expect(await memory.baselines.get('octo/app')).toBeUndefined();
    await record(progress());
    expect((await memory.baselines.get('octo/app'))?.method).toBe('observed');
  });
});
