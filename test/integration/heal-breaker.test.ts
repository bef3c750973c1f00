import { afterEach, describe, expect, it } from 'vitest';
import type { GitHubSimulator } from '../../functions/adapters/sandbox/github-simulator.ts';
import { type Harness, startHarness } from '../support/local-harness.ts';

describe('per-scope breaker through the local server (sandbox, sample runner)', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close({ removeState: true });
    harness = undefined;
  });

  it('makes no call for a scope while its breaker is open, serves other scopes, and resumes the scope after', async () => {
    harness = await startHarness();
    const sim = harness.app.simulator as GitHubSimulator;
    // `breaker open` twice: the first answer opens the breaker, the half-open probe re-opens it (longer).
    sim.setFault('octo-org/tripped', { breakerOpen: true, times: 2 });

    // Watch the breaker item to learn every open window.
    const windows = new Map<number, number>();
    let watching = true;
    const store = harness.app.store;
    const watch = (async () => {
      while (watching) {
        const b = await store.breakers.get('octo-org/tripped');
        if (b && b.openUntil > 0 && !windows.has(b.openUntil)) windows.set(b.openUntil, Date.now());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const tripped = await harness.queue({ repo: 'tripped' });
    const healthy = await harness.queue({ repo: 'healthy' });
    await harness.waitForStatus(healthy.jobId, 'completed', 30_000);
    const job = await harness.waitForStatus(tripped.jobId, 'completed', 60_000);
    watching = false;
    await watch;

    expect(job.conclusion).toBe('success');
    expect(job.history.map((e) => e.status)).toContain('waiting-breaker');
    const scopeCalls = sim.requests.filter((r) => r.scopeKey === 'octo-org/tripped');
    const breakerAnswers = scopeCalls.filter((r) => r.status === 503);
    expect(breakerAnswers).toHaveLength(2);
    expect(windows.size).toBe(2);
    // Each window starts at a `breaker open` answer; no call of the scope reached the simulator inside it.
    for (const [openUntil] of windows) {
      const opener = breakerAnswers.filter((r) => r.at < openUntil).at(-1);
      expect(opener).toBeDefined();
      const inside = scopeCalls.filter((r) => r.at > (opener?.at ?? 0) && r.at < openUntil);
      expect(inside).toEqual([]);
    }
  }, 90_000);
});
