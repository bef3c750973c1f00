import { describe, expect, it } from 'vitest';
import { InProcessDispatcher } from '../../../functions/adapters/local/in-process-dispatcher.ts';
import { silentLogger } from '../../support/capture-logger.ts';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('InProcessDispatcher', () => {
  it('never runs one job twice at once and runs it once more when dispatched during a run', async () => {
    const d = new InProcessDispatcher({ logger: silentLogger });
    let running = 0;
    let maxRunning = 0;
    const runs: number[] = [];
    let release: () => void = () => {};
    d.setHandler(async (jobId) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs.push(jobId);
      await new Promise<void>((r) => {
        release = r;
      });
      running--;
    });
    await d.dispatch(1);
    await tick();
    await d.dispatch(1);
    await d.dispatch(1);
    await tick();
    expect(runs).toEqual([1]);
    release();
    await tick();
    expect(runs).toEqual([1, 1]);
    release();
    await d.idle();
    expect(maxRunning).toBe(1);
    expect(runs).toEqual([1, 1]);
  });

  it('collapses repeated dispatches of a job that is still waiting', async () => {
    const d = new InProcessDispatcher({ logger: silentLogger, concurrency: 1 });
    const runs: number[] = [];
    let release: () => void = () => {};
    d.setHandler(async (jobId) => {
      runs.push(jobId);
      if (jobId === 1) await new Promise<void>((r) => (release = r));
    });
    await d.dispatch(1);
    await tick();
    for (let i = 0; i < 5; i++) await d.dispatch(2);
    release();
    await d.idle();
    expect(runs).toEqual([1, 2]);
  });

  it('keeps a delayed dispatch until its time', async () => {
    const d = new InProcessDispatcher({ logger: silentLogger });
    const runs: number[] = [];
    d.setHandler(async (jobId) => void runs.push(jobId));
    await d.dispatch(3, { delayMs: 40 });
    await tick();
    expect(runs).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    expect(runs).toEqual([3]);
  });

  it('keeps working after a handler throws', async () => {
    const d = new InProcessDispatcher({ logger: silentLogger });
    const runs: number[] = [];
    d.setHandler(async (jobId) => {
      runs.push(jobId);
      if (jobId === 4) throw new Error('boom');
    });
    await d.dispatch(4);
    await d.dispatch(5);
    await d.idle();
    expect(runs).toEqual([4, 5]);
  });
});
