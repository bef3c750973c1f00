import { describe, expect, it } from 'vitest';
import { rateLimitedGitHub, TokenBucket } from '../../functions/adapters/github/rate-limited-github.ts';
import { classifyApiError } from '../../functions/domain/classify-failure.ts';
import { GitHubRequestError, type GitHubTarget } from '../../functions/ports/github.ts';
import { FakeGitHub } from '../support/fake-github.ts';

const target = (installationId: number): GitHubTarget => ({
  installationId,
  scope: { kind: 'repo', owner: 'o', repo: 'r' },
});

/** Time that only moves when the decorator sleeps. */
function fakeTime() {
  const clock = { t: 0, slept: [] as number[] };
  return {
    clock,
    now: () => clock.t,
    /** Time moves when the sleep is over (after the current tick), as a real sleep would. */
    sleep: async (ms: number) => {
      const from = clock.t;
      clock.slept.push(ms);
      await Promise.resolve();
      clock.t = Math.max(clock.t, from + ms);
    },
  };
}

describe('rateLimitedGitHub (per-installation token bucket)', () => {
  it('lets a burst up to the capacity through at once, then spaces calls at the refill rate', async () => {
    const time = fakeTime();
    const inner = new FakeGitHub();
    const github = rateLimitedGitHub(inner, {
      bucket: { capacity: 5, refillPerSecond: 2, maxWaitMs: 60_000 },
      now: time.now,
      sleep: time.sleep,
    });

    for (let i = 0; i < 8; i++) await github.listRunners(target(1));

    expect(inner.count('listRunners')).toBe(8);
    // 5 free, then one token every 500 ms.
    expect(time.clock.slept).toEqual([500, 500, 500]);
  });

  it('keeps one bucket per installation, so one busy installation does not slow another', async () => {
    const time = fakeTime();
    const github = rateLimitedGitHub(new FakeGitHub(), {
      bucket: { capacity: 2, refillPerSecond: 1, maxWaitMs: 60_000 },
      now: time.now,
      sleep: time.sleep,
    });

    await github.listRunners(target(1));
    await github.listRunners(target(1));
    await github.listRunners(target(2));
    await github.getWorkflowJob(2, 'o', 'r', 1);

    expect(time.clock.slept).toEqual([]);
  });

  it("charges the discovery's Actions list calls to their installation's bucket", async () => {
    const time = fakeTime();
    const inner = new FakeGitHub();
    const github = rateLimitedGitHub(inner, {
      bucket: { capacity: 1, refillPerSecond: 1, maxWaitMs: 60_000 },
      now: time.now,
      sleep: time.sleep,
    });
    inner.runJobs.push({ owner: 'o', repo: 'r', runId: 5, id: 50, status: 'queued', labels: [], createdAt: '' });

    await github.listWorkflowRuns(1, 'o', 'r', { status: 'queued', page: 1 });
    await github.listWorkflowRunJobs(1, 'o', 'r', { runId: 5, page: 1 });
    await github.listWorkflowRuns(2, 'o', 'r', { status: 'queued', page: 1 });

    expect(inner.count('listWorkflowRuns')).toBe(2);
    expect(inner.count('listWorkflowRunJobs')).toBe(1);
    // Installation 1's second call waited for a token; installation 2 had its own.
    expect(time.clock.slept).toEqual([1_000]);
  });

  it('gives the App-JWT calls their own bucket', async () => {
    const time = fakeTime();
    const github = rateLimitedGitHub(new FakeGitHub(), {
      bucket: { capacity: 1, refillPerSecond: 1, maxWaitMs: 60_000 },
      now: time.now,
      sleep: time.sleep,
    });

    await github.listRunners(target(1));
    await github.listHookDeliveries(undefined);
    await github.redeliver(7);

    expect(time.clock.slept).toEqual([1_000]);
  });

  it('refuses at once, with a transient 429, a call that would wait longer than allowed (nothing waits forever)', async () => {
    const time = fakeTime();
    const inner = new FakeGitHub();
    const github = rateLimitedGitHub(inner, {
      bucket: { capacity: 1, refillPerSecond: 0.01, maxWaitMs: 10_000 },
      now: time.now,
      sleep: time.sleep,
    });
    await github.deleteRunner(target(1), 1);

    const error = await github.deleteRunner(target(1), 2).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(GitHubRequestError);
    const e = error as GitHubRequestError;
    expect(e.status).toBe(429);
    expect(e.endpoint).toBe('DELETE /repos/{owner}/{repo}/actions/runners/{runner_id}');
    expect(classifyApiError({ status: e.status, body: e.body, endpoint: e.endpoint, scopeKey: 'o/r' }).class).toBe(
      'transient',
    );
    expect(inner.count('deleteRunner')).toBe(1);
  });

  it('serves waiting callers in order (reservations), even when they arrive at once', async () => {
    const time = fakeTime();
    const inner = new FakeGitHub();
    const github = rateLimitedGitHub(inner, {
      bucket: { capacity: 1, refillPerSecond: 1, maxWaitMs: 60_000 },
      now: time.now,
      sleep: time.sleep,
    });

    await Promise.all([1, 2, 3].map((id) => github.getRunner(target(1), id)));

    expect(inner.count('getRunner')).toBe(3);
    expect(time.clock.slept.sort((a, b) => a - b)).toEqual([1_000, 2_000]);
  });
});

describe('TokenBucket', () => {
  it('never holds more than its capacity after a long quiet spell', () => {
    let t = 0;
    const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 10, maxWaitMs: 1_000 }, () => t);
    t = 3_600_000;
    expect(bucket.available()).toBe(3);
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 0, 0, 100]);
  });
});
