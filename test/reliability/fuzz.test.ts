import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../functions/adapters/memory/memory-store.ts';
import type { Store } from '../../functions/ports/store.ts';
import { signedDelivery, workflowJobPayload } from '../support/webhook-fixtures.ts';
import { createWorld, SECRET } from '../use-cases/reconcile/reconcile-fixtures.ts';
import { type FuzzDelivery, fuzzDeliveries } from './scenarios/fuzz-deliveries.ts';
import { startWorld, type World } from './support/reliability-world.ts';

const FUZZ_RUNS = 10_000;
const HTTP_RUNS = 600;

/** Counts every write the store receives (a refused delivery must cause none). */
function countingStore(store: Store): { store: Store; writes: () => number } {
  let writes = 0;
  const jobs = store.jobs;
  return {
    writes: () => writes,
    store: {
      ...store,
      jobs: {
        ...jobs,
        get: (id) => jobs.get(id),
        listOpen: (limit) => jobs.listOpen(limit),
        create: (job, deliveryId, now) => {
          writes += 1;
          return jobs.create(job, deliveryId, now);
        },
        update: (id, expect, changes, now) => {
          writes += 1;
          return jobs.update(id, expect, changes, now);
        },
      },
    },
  };
}

describe('fuzz: hostile deliveries (fast-check)', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it(`refuses ${FUZZ_RUNS.toLocaleString('en')} malformed, oversized, mis-signed and type-confused deliveries with 4xx only and changes nothing`, async () => {
    const counting = countingStore(createMemoryStore());
    const w = createWorld({ store: counting.store as ReturnType<typeof createMemoryStore> });
    const statuses = new Map<number, number>();
    const kinds = new Set<string>();
    let valid = 0;

    for (let chunk = 0; chunk < 10; chunk++) {
      await fc.assert(
        fc.asyncProperty(fuzzDeliveries(SECRET), async (d: FuzzDelivery) => {
          kinds.add(d.kind.replace(/ \(\d\)$/, ''));
          const answer = await w.core.acceptWebhook({ headers: d.headers, body: d.body });
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          return answer.status >= 400 && answer.status < 500;
        }),
        { numRuns: FUZZ_RUNS / 10, seed: 6_000 + chunk },
      );
      // A valid delivery between bursts still gets through.
      const status = await w.webhook('queued', 900_000 + chunk);
      expect(status).toBe(202);
      valid += 1;
    }

    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(FUZZ_RUNS);
    expect([...statuses.keys()].every((s) => s >= 400 && s < 500)).toBe(true);
    expect([...statuses.keys()].sort()).toEqual([400, 401, 413]);
    expect(kinds.size).toBeGreaterThanOrEqual(12);
    // The only writes are the valid deliveries' records; the only jobs are theirs.
    expect(counting.writes()).toBe(valid);
    expect((await w.store.jobs.listOpen()).map((j) => j.jobId).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => 900_000 + i),
    );
  }, 120_000);

  it(`answers ${HTTP_RUNS} of them over HTTP through the local server with 4xx only, and keeps serving`, async () => {
    world = await startWorld({ runners: 'recording', reconcile: false });
    const w = world;
    const url = `${w.app.url}/webhook`;
    const statuses: number[] = [];
    let validAnswers = 0;

    await fc.assert(
      fc.asyncProperty(fuzzDeliveries(w.secret), async (d) => {
        const res = await fetch(url, { method: 'POST', headers: d.headers, body: d.body });
        await res.arrayBuffer();
        statuses.push(res.status);
        if (statuses.length % 100 === 0) {
          const payload = workflowJobPayload({
            action: 'queued',
            jobId: 800_000 + statuses.length,
            installationId: w.sim.installationId,
          });
          const valid = await signedDelivery(w.secret, payload);
          const answer = await fetch(url, { method: 'POST', headers: valid.headers, body: valid.body });
          await answer.arrayBuffer();
          if (answer.status === 202) validAnswers += 1;
        }
        return res.status >= 400 && res.status < 500;
      }),
      { numRuns: HTTP_RUNS, seed: 4_242 },
    );

    expect(statuses.every((s) => s >= 400 && s < 500)).toBe(true);
    expect(validAnswers).toBe(HTTP_RUNS / 100);
    expect((await fetch(`${w.app.url}/healthz`)).status).toBe(200);
    await w.app.dispatcher.idle();
    const validIds = Array.from({ length: HTTP_RUNS / 100 }, (_, i) => 800_000 + (i + 1) * 100);
    for (const id of validIds) expect((await w.app.store.jobs.get(id))?.status).toBe('launched');
    // Nothing else was recorded.
    expect((await w.app.store.jobs.listOpen()).map((j) => j.jobId).sort()).toEqual(validIds);
  }, 120_000);
});
