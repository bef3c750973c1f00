import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../functions/adapters/memory/memory-store.ts';
import type { Config } from '../../functions/config/config.ts';
import type { Job } from '../../functions/domain/job.ts';
import type { Scope } from '../../functions/domain/scope.ts';
import type { GitHubTarget } from '../../functions/ports/github.ts';
import { noopMetrics } from '../../functions/ports/runtime.ts';
import type { BaselineRepository, BreakerRepository } from '../../functions/ports/store.ts';
import { createBaselineGate } from '../../functions/use-cases/provisioning/baseline-gate.ts';
import { createScopeGuard } from '../../functions/use-cases/provisioning/scope-guard.ts';
import { silentLogger } from '../support/capture-logger.ts';

// The read caches the bench drove into the provisioner's hot path: fewer store requests per job, same answers.

const KEY = 'octo/app';
const scope: Scope = { kind: 'repo', owner: 'octo', repo: 'app' };
const target: GitHubTarget = { installationId: 1, scope };
const job = { jobId: 1, scopeKey: KEY } as Job;
const limits: Config['limits'] = {
  maxAttemptsPerJob: 3,
  maxTheftsPerJob: 10,
  maxWorkaroundsPerScope: 3,
  maxHealsPerJob: 10,
  breakerFailureThreshold: 3,
  breakerMaxBackoffSeconds: 30,
};

/** Counts `get` calls and can hold them until released (to make reads overlap). */
function counting<R extends { get(key: string): Promise<unknown> }>(repo: R) {
  const state = { gets: 0, hold: undefined as Promise<void> | undefined };
  const wrapped = Object.create(repo) as R;
  wrapped.get = (async (key: string) => {
    state.gets++;
    const answer = repo.get(key);
    if (state.hold) await state.hold;
    return answer;
  }) as R['get'];
  return { repo: wrapped, state };
}

function gate(policy: Config['baselinePolicy'], baselines: BaselineRepository) {
  const requested: string[] = [];
  const g = createBaselineGate({
    config: { baselinePolicy: policy, limits },
    baselines,
    logger: silentLogger,
    metrics: { count() {}, measure() {} },
    requestWorkaround: () => void requested.push(KEY),
    absentCacheMs: 10_000,
  });
  return { g, requested };
}

describe('baseline gate read cache', () => {
  it('reads an absent baseline once per window under on-error, then again after it', async () => {
    const store = createMemoryStore();
    const { repo, state } = counting(store.baselines);
    const { g } = gate('on-error', repo);
    expect(await g.beforeMint(job, scope, target, 1_000)).toEqual({ proceed: true });
    expect(await g.beforeMint(job, scope, target, 5_000)).toEqual({ proceed: true });
    expect(state.gets).toBe(1);
    await g.beforeMint(job, scope, target, 11_001);
    expect(state.gets).toBe(2);
  });

  it('sees a missing baseline at once after forget (a metadata signal in this process)', async () => {
    const store = createMemoryStore();
    const { g } = gate('on-error', store.baselines);
    expect(await g.beforeMint(job, scope, target, 1_000)).toEqual({ proceed: true });
    await store.baselines.put({ scopeKey: KEY, state: 'missing', workarounds: 0 }, 0, 1_500);
    g.forget(KEY);
    const decision = await g.beforeMint(job, scope, target, 2_000);
    expect(decision.proceed).toBe(false);
  });

  it('does not cache absence under proactive (absence means the workaround is needed)', async () => {
    const store = createMemoryStore();
    const { repo, state } = counting(store.baselines);
    const { g, requested } = gate('proactive', repo);
    expect((await g.beforeMint(job, scope, target, 1_000)).proceed).toBe(false);
    expect((await g.beforeMint(job, scope, target, 1_001)).proceed).toBe(false);
    expect(state.gets).toBe(2);
    expect(requested).toHaveLength(2);
  });

  it('answers concurrent jobs of one scope with one read', async () => {
    const store = createMemoryStore();
    const { repo, state } = counting(store.baselines);
    let release = () => {};
    state.hold = new Promise<void>((r) => {
      release = r;
    });
    const { g } = gate('on-error', repo);
    const decisions = Array.from({ length: 10 }, () => g.beforeMint(job, scope, target, 1_000));
    release();
    expect(await Promise.all(decisions)).toEqual(Array.from({ length: 10 }, () => ({ proceed: true })));
    expect(state.gets).toBe(1);
  });

  it('does not cache the answer of a read that was under way when forget was called', async () => {
    const store = createMemoryStore();
    const { repo, state } = counting(store.baselines);
    let release = () => {};
    state.hold = new Promise<void>((r) => {
      release = r;
    });
    const { g } = gate('on-error', repo);
    const early = g.beforeMint(job, scope, target, 1_000);
    await store.baselines.put({ scopeKey: KEY, state: 'missing', workarounds: 0 }, 0, 1_000);
    g.forget(KEY);
    release();
    await early;
    state.hold = undefined;
    expect((await g.beforeMint(job, scope, target, 1_100)).proceed).toBe(false);
    expect(state.gets).toBe(2);
  });
});

describe('scope guard read cache', () => {
  function guard(breakers: BreakerRepository) {
    return createScopeGuard({ config: { limits }, breakers, logger: silentLogger, metrics: noopMetrics });
  }

  it('answers concurrent jobs of one scope with one read', async () => {
    const store = createMemoryStore();
    const { repo, state } = counting(store.breakers);
    let release = () => {};
    state.hold = new Promise<void>((r) => {
      release = r;
    });
    const g = guard(repo);
    const answers = Array.from({ length: 10 }, () => g.openUntil(KEY, 1_000));
    release();
    expect(await Promise.all(answers)).toEqual(Array.from({ length: 10 }, () => undefined));
    expect(state.gets).toBe(1);
  });

  it('still reports a breaker another process opened once the cache window has passed', async () => {
    const store = createMemoryStore();
    const g = guard(store.breakers);
    expect(await g.openUntil(KEY, 1_000)).toBeUndefined();
    await store.breakers.put({ scopeKey: KEY, consecutiveFailures: 3, opens: 1, openUntil: 60_000 }, 0, 1_000);
    expect(await g.openUntil(KEY, 7_000)).toBe(60_000);
  });
});
