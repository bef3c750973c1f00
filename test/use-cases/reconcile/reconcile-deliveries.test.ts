import { describe, expect, it } from 'vitest';
import { createMemoryStore, type MemoryStore } from '../../../functions/adapters/memory/memory-store.ts';
import type { GitHubPort, HookDelivery } from '../../../functions/ports/github.ts';
import { StoreUnavailableError } from '../../../functions/ports/store.ts';
import {
  createRecoverDeliveries,
  DELIVERY_STATE,
  isFailedDelivery,
} from '../../../functions/use-cases/reconcile/recover-deliveries.ts';
import { silentLogger } from '../../support/capture-logger.ts';
import { apiError } from '../../support/fake-github.ts';
import { createWorld, T0 } from './reconcile-fixtures.ts';

/** The App's delivery log, newest first, served in pages of `pageSize` with an opaque cursor. */
class DeliveryLog implements Pick<GitHubPort, 'listHookDeliveries' | 'redeliver'> {
  readonly deliveries: HookDelivery[] = [];
  readonly redelivered: number[] = [];
  readonly calls: string[] = [];
  readonly failures: { listHookDeliveries: Error[]; redeliver: Error[] } = { listHookDeliveries: [], redeliver: [] };
  pageSize = 100;
  private nextDeliveryId = 1;

  add(statusCode: number, options: { guid?: string; event?: string; at?: number; redelivery?: boolean } = {}) {
    const id = this.nextDeliveryId++;
    const d: HookDelivery = {
      id,
      guid: options.guid ?? `guid-${id}`,
      deliveredAt: new Date(options.at ?? T0).toISOString(),
      event: options.event ?? 'workflow_job',
      action: 'queued',
      statusCode,
      redelivery: options.redelivery ?? false,
    };
    this.deliveries.unshift(d);
    return d;
  }

  count(op: string): number {
    return this.calls.filter((c) => c === op).length;
  }

  async listHookDeliveries(cursor: string | undefined) {
    this.calls.push('listHookDeliveries');
    const failure = this.failures.listHookDeliveries.shift();
    if (failure) throw failure;
    const start = cursor === undefined ? 0 : Number(cursor);
    const page = this.deliveries.slice(start, start + this.pageSize);
    const next = start + this.pageSize < this.deliveries.length ? String(start + this.pageSize) : undefined;
    return { deliveries: page, next };
  }

  async redeliver(deliveryId: number): Promise<void> {
    this.calls.push('redeliver');
    const failure = this.failures.redeliver.shift();
    if (failure) throw failure;
    this.redelivered.push(deliveryId);
  }
}

function recoverer(github: DeliveryLog, store: MemoryStore, maxPages?: number) {
  return createRecoverDeliveries({
    github,
    locks: store.locks,
    logger: silentLogger,
    metrics: { count() {}, measure() {} },
    ...(maxPages !== undefined ? { maxPages } : {}),
  });
}

describe('recoverDeliveries', () => {
  it('redelivers each failed workflow_job delivery once, and nothing that succeeded', async () => {
    const github = new DeliveryLog();
    const store = createMemoryStore();
    const ok = github.add(202);
    const failed500 = github.add(500);
    const noAnswer = github.add(0);
    const timeout = github.add(408);

    const report = await recoverer(github, store)(T0 + 1_000);

    expect(github.redelivered.sort()).toEqual([failed500.id, noAnswer.id, timeout.id].sort());
    expect(github.redelivered).not.toContain(ok.id);
    expect(report).toMatchObject({ scanned: 4, failed: 3, redelivered: 3, more: false });
  });

  it('redelivers each failed delivery once across runs, a failed redelivery once more, and a GUID at most 3 times', async () => {
    const github = new DeliveryLog();
    const store = createMemoryStore();
    const original = github.add(500, { guid: 'g-1' });
    const run = recoverer(github, store);

    await run(T0 + 1_000);
    await run(T0 + 2_000);
    expect(github.redelivered).toEqual([original.id]);

    // GitHub logs the redelivery under the same guid; it failed too (the server was still down).
    const again = github.add(502, { guid: 'g-1', redelivery: true, at: T0 + 2_500 });
    await run(T0 + 3_000);
    await run(T0 + 4_000);
    expect(github.redelivered).toEqual([original.id, again.id]);

    const third = github.add(500, { guid: 'g-1', redelivery: true, at: T0 + 4_500 });
    await run(T0 + 5_000);
    github.add(500, { guid: 'g-1', redelivery: true, at: T0 + 5_500 });
    const report = await run(T0 + 6_000);
    expect(github.redelivered).toEqual([original.id, again.id, third.id]);
    expect(report.exhausted).toBe(1);
  });

  it('keeps a claimed delivery whose next store write failed, and redelivers it on the next run (a throttled store loses nothing)', async () => {
    const github = new DeliveryLog();
    const store = createMemoryStore();
    const d = github.add(500);
    const mark = store.locks.mark.bind(store.locks);
    let calls = 0;
    store.locks.mark = async (name, now, ttl) => {
      calls += 1;
      // The delivery's own claim succeeds, then the store throttles.
      if (calls === 2) throw new StoreUnavailableError('throttled (injected)');
      return mark(name, now, ttl);
    };
    const run = recoverer(github, store);

    await run(T0 + 1_000);
    expect(github.redelivered).toEqual([]);
    await run(T0 + 2_000);
    await run(T0 + 3_000);

    expect(github.redelivered).toEqual([d.id]);
  });

  it('keeps a delivery whose claim itself failed (it may not have been written)', async () => {
    const github = new DeliveryLog();
    const store = createMemoryStore();
    const d = github.add(500);
    store.failNext('locks.mark');
    const run = recoverer(github, store);

    await run(T0 + 1_000);
    await run(T0 + 2_000);

    expect(github.redelivered).toEqual([d.id]);
  });

  it('lets two reconcilers reading the same log at once redeliver each delivery once in total', async () => {
    const github = new DeliveryLog();
    const store = createMemoryStore();
    for (let i = 0; i < 20; i++) github.add(i % 2 === 0 ? 500 : 202);

    await Promise.all([recoverer(github, store)(T0 + 1_000), recoverer(github, store)(T0 + 1_000)]);

    expect(github.redelivered).toHaveLength(10);
    expect(new Set(github.redelivered).size).toBe(10);
  });

  it('leaves alone a guid that also has a successful delivery', async () => {
    const github = new DeliveryLog();
    const store = createMemoryStore();
    github.add(500, { guid: 'g-1' });
    github.add(202, { guid: 'g-1', redelivery: true });

    await recoverer(github, store)(T0 + 1_000);

    expect(github.redelivered).toEqual([]);
  });

  it('ignores deliberate 4xx answers and events other than workflow_job', async () => {
    const github = new DeliveryLog();
    const store = createMemoryStore();
    github.add(401);
    github.add(400);
    github.add(500, { event: 'ping' });

    await recoverer(github, store)(T0 + 1_000);

    expect(github.redelivered).toEqual([]);
  });

  it('keeps a cursor in the store and finishes a long backlog over several runs', async () => {
    const github = new DeliveryLog();
    github.pageSize = 10;
    const store = createMemoryStore();
    const failed = [];
    for (let i = 0; i < 45; i++) {
      const d = github.add(i % 3 === 0 ? 500 : 202);
      if (i % 3 === 0) failed.push(d.id);
    }
    const run = recoverer(github, store, 2);

    const first = await run(T0 + 1_000);
    expect(first.more).toBe(true);
    expect(JSON.parse((await store.locks.getValue(DELIVERY_STATE)) ?? '{}').resume).toBeDefined();
    await run(T0 + 2_000);
    const third = await run(T0 + 3_000);

    expect(third.more).toBe(false);
    expect(github.redelivered.sort((a, b) => a - b)).toEqual(failed.sort((a, b) => a - b));
    expect(JSON.parse((await store.locks.getValue(DELIVERY_STATE)) ?? '{}').resume).toBeUndefined();
  });

  it('reads only down to where the previous run stopped (plus a minute of overlap), not the whole log', async () => {
    const github = new DeliveryLog();
    github.pageSize = 20;
    const store = createMemoryStore();
    // 30 old deliveries, one every 10 s, the newest at T0.
    for (let i = 29; i >= 0; i--) github.add(202, { at: T0 - i * 10_000 });
    const run = recoverer(github, store);
    await run(T0 + 1_000);
    github.calls.length = 0;

    for (let i = 0; i < 3; i++) github.add(500, { at: T0 + 600_000 });
    const report = await run(T0 + 601_000);

    // The 3 new ones and the 7 old ones within a minute of the previous head: one page, not two.
    expect(report.scanned).toBe(10);
    expect(github.count('listHookDeliveries')).toBe(1);
    expect(github.redelivered).toHaveLength(3);
  });

  it('does not look at deliveries older than GitHub keeps (3 days)', async () => {
    const github = new DeliveryLog();
    const store = createMemoryStore();
    github.add(500, { at: T0 });

    await recoverer(github, store)(T0 + 3 * 86_400_000 + 1);

    expect(github.redelivered).toEqual([]);
  });

  it('tries a refused redelivery again on later runs, three times in all, then gives up', async () => {
    const github = new DeliveryLog();
    const store = createMemoryStore();
    const d = github.add(500);
    github.failures.redeliver = [apiError(502, 'bad gateway'), apiError(502, 'bad gateway'), apiError(502, 'x')];
    const run = recoverer(github, store);

    for (let i = 1; i <= 5; i++) await run(T0 + i * 1_000);

    expect(github.count('redeliver')).toBe(3);
    expect(github.redelivered).toEqual([]);
    github.failures.redeliver = [];
    await run(T0 + 10_000);
    expect(github.count('redeliver')).toBe(3);
    expect(d.id).toBeGreaterThan(0);
  });

  it('classifies which answers mean the delivery was never processed', () => {
    expect([0, 408, 429, 500, 502, 503, 504].every((statusCode) => isFailedDelivery({ statusCode }))).toBe(true);
    expect([200, 202, 400, 401, 404, 413].some((statusCode) => isFailedDelivery({ statusCode }))).toBe(false);
  });
});

describe('reconcile: missed webhooks end to end', () => {
  it('records the job of a queued delivery the server answered 500, after the reconciler redelivers it', async () => {
    const world = createWorld();
    // The delivery failed (server down): GitHub's log shows it; the job was never recorded.
    world.github.deliveries.push({
      id: 77,
      guid: 'lost-guid',
      deliveredAt: new Date(T0).toISOString(),
      event: 'workflow_job',
      action: 'queued',
      statusCode: 500,
      redelivery: false,
    });
    const redeliver = world.github.redeliver.bind(world.github);
    world.github.redeliver = async (id: number) => {
      await redeliver(id);
      if (id === 77) await world.webhook('queued', 4242);
    };

    world.now = T0 + 60_000;
    await world.reconcile();
    await world.reconcile();

    expect((await world.job(4242)).status).toBe('queued');
    expect(world.github.redelivered).toEqual([77]);
    expect(world.dispatcher.jobs()).toContain(4242);
  });
});
