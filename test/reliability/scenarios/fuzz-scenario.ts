import fc from 'fast-check';
import { signedDelivery, workflowJobPayload } from '../../support/webhook-fixtures.ts';
import { startWorld, type World } from '../support/reliability-world.ts';
import { fuzzDeliveries } from './fuzz-deliveries.ts';
import { pool } from './pool.ts';

export interface FuzzSize {
  /** Hostile deliveries over HTTP. */
  deliveries: number;
  /** Concurrent hostile senders. */
  concurrency: number;
  /** Valid deliveries timed alone, then again while the hostile ones are sent. */
  validSamples: number;
}

export const FUZZ_FULL: FuzzSize = { deliveries: 20_000, concurrency: 8, validSamples: 300 };

export interface FuzzResult {
  deliveries: number;
  statuses: Record<number, number>;
  /** Answers outside 4xx (must be none). */
  unexpected: number;
  /** Jobs in the store other than the valid ones (must be none). */
  strayJobs: number;
  validAccepted: number;
  /** Latency of valid deliveries (ms): alone, and while hostile traffic runs. */
  latency: { alone: { p50: number; p95: number }; underFuzz: { p50: number; p95: number } };
  elapsedMs: number;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0);
};

/**
 * Fuzz at soak size, over HTTP through the local server: hostile deliveries from several senders at once,
 * and the latency of valid deliveries measured alone and under that traffic (printed, not asserted).
 */
export async function runFuzz(size: FuzzSize, onWorld: (world: World) => void = () => {}): Promise<FuzzResult> {
  const started = Date.now();
  const world = await startWorld({ runners: 'recording', reconcile: false });
  onWorld(world);
  const url = `${world.app.url}/webhook`;
  let nextValid = 700_000;
  const validIds: number[] = [];
  const sendValid = async (): Promise<number> => {
    const jobId = nextValid++;
    validIds.push(jobId);
    const payload = workflowJobPayload({ action: 'queued', jobId, installationId: world.sim.installationId });
    const d = await signedDelivery(world.secret, payload);
    const t = performance.now();
    const res = await fetch(url, { method: 'POST', headers: d.headers, body: d.body });
    await res.arrayBuffer();
    if (res.status !== 202) throw new Error(`valid delivery answered ${res.status}`);
    return performance.now() - t;
  };

  const alone: number[] = [];
  for (let i = 0; i < size.validSamples; i++) alone.push(await sendValid());

  const samples = fc.sample(fuzzDeliveries(world.secret), { numRuns: size.deliveries, seed: 31_337 });
  const statuses: Record<number, number> = {};
  let fuzzDone = false;
  const underFuzz: number[] = [];
  const hostile = pool(samples.length, size.concurrency, async (i) => {
    const d = samples[i];
    if (!d) return;
    const res = await fetch(url, { method: 'POST', headers: d.headers, body: d.body });
    await res.arrayBuffer();
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  }).finally(() => {
    fuzzDone = true;
  });
  while (!fuzzDone && underFuzz.length < size.validSamples) underFuzz.push(await sendValid());
  await hostile;
  await world.app.dispatcher.idle();

  const open = await world.app.store.jobs.listOpen();
  const valid = new Set(validIds);
  return {
    deliveries: samples.length,
    statuses,
    unexpected: Object.entries(statuses)
      .filter(([s]) => Number(s) < 400 || Number(s) >= 500)
      .reduce((n, [, c]) => n + c, 0),
    strayJobs: open.filter((j) => !valid.has(j.jobId)).length,
    validAccepted: validIds.length,
    latency: {
      alone: { p50: percentile(alone, 50), p95: percentile(alone, 95) },
      underFuzz: { p50: percentile(underFuzz, 50), p95: percentile(underFuzz, 95) },
    },
    elapsedMs: Date.now() - started,
  };
}
