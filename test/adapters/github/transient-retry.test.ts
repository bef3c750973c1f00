import type { Octokit } from '@octokit/core';
import { describe, expect, it } from 'vitest';
import { type TransientRetryOptions, transientRetry } from '../../../functions/adapters/github/transient-retry.ts';

type ErrorHook = (
  error: unknown,
  options: { method: string; url: string; request: Record<string, number> },
) => Promise<void>;

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** The plugin's error hook, with the sleeps it asked for recorded. */
function hook(settings: Partial<TransientRetryOptions> = {}) {
  const sleeps: number[] = [];
  let errorHook: ErrorHook | undefined;
  const octokit = { hook: { error: (_name: string, fn: ErrorHook) => (errorHook = fn) } } as unknown as Octokit;
  transientRetry(octokit, {
    transientRetry: {
      retries: 2,
      baseDelayMs: 300,
      logger: quiet,
      sleep: async (ms: number) => {
        sleeps.push(ms);
      },
      ...settings,
    },
  });
  /** Calls the hook for a failed request that was already retried `retryCount` times. */
  const fail = async (status: number, retryCount: number, body: unknown = '') => {
    const request: Record<string, number> = { retryCount };
    await expect(
      errorHook?.({ status, response: { data: body } }, { method: 'GET', url: '/x', request }),
    ).rejects.toMatchObject({
      status,
    });
    return request;
  };
  return { sleeps, fail };
}

describe('transientRetry', () => {
  it('waits the jittered backoff from the base, doubling per retry', async () => {
    const { sleeps, fail } = hook({ random: () => 0.999_999 });
    await fail(502, 0);
    await fail(502, 1);
    expect(sleeps).toEqual([300, 600]);
  });

  it('keeps at least half of the window (equal jitter)', async () => {
    const { sleeps, fail } = hook({ random: () => 0 });
    await fail(503, 0);
    await fail(503, 1);
    expect(sleeps).toEqual([150, 300]);
  });

  it('caps one wait at maxDelayMs', async () => {
    const { sleeps, fail } = hook({ retries: 10, maxDelayMs: 1_000, random: () => 0.999_999 });
    await fail(500, 5);
    expect(sleeps).toEqual([1_000]);
  });

  it('does not wait after the last retry', async () => {
    const { sleeps, fail } = hook();
    await fail(502, 2);
    expect(sleeps).toEqual([]);
  });

  it('surfaces a 4xx or a "breaker open" answer at once, without a wait or a retry', async () => {
    const { sleeps, fail } = hook();
    expect((await fail(404, 0)).retries).toBe(0);
    expect((await fail(503, 0, { message: 'breaker open' })).retries).toBe(0);
    expect(sleeps).toEqual([]);
  });
});
