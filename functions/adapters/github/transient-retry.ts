import type { Octokit } from '@octokit/core';
import type { OctokitOptions } from '@octokit/core/types';
import { backoff, EQUAL_JITTER } from '../../domain/job-budget.ts';
import type { Logger } from '../../ports/runtime.ts';

/** Settings of {@link transientRetry}; passed as the `transientRetry` Octokit option. */
export interface TransientRetryOptions {
  /** Retries after the first attempt for a transient failure. */
  retries: number;
  /** First backoff; doubles per retry, with equal jitter (drawn from its upper half). */
  baseDelayMs: number;
  /** Longest wait before one retry. Default 10 000: a port call's own deadline is the client's `timeoutMs`. */
  maxDelayMs?: number;
  logger: Logger;
  sleep?: (ms: number) => Promise<void>;
  /** [0, 1), for the jitter; default `Math.random`. */
  random?: () => number;
}

interface RequestErrorLike {
  status: number;
  response?: { data?: unknown };
}

interface RetryState {
  retries?: number;
  retryCount?: number;
  /** Set by the client for a one-try lookup (`LookupOptions.once`): no failure is retried. */
  transientOnce?: boolean;
}

declare module '@octokit/core/types' {
  interface OctokitOptions {
    transientRetry?: TransientRetryOptions;
  }
}

/** GitHub's backend circuit breaker (docs/design.md "Failure classes"): retrying only hammers it, the caller opens its own breaker. */
export function isBreakerOpenBody(body: unknown): boolean {
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? '');
  return /breaker open/i.test(text);
}

/** 5xx (and status 500 for network failures, as @octokit/request reports them) except `breaker open`. */
export function isTransientFailure(status: number, body: unknown): boolean {
  return status >= 500 && status <= 599 && !isBreakerOpenBody(body);
}

function isRequestErrorLike(error: unknown): error is RequestErrorLike {
  return typeof error === 'object' && error !== null && typeof (error as { status?: unknown }).status === 'number';
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Octokit plugin that decides, before `@octokit/plugin-retry` does, whether a failed request is retried.
 * Why a separate plugin: plugin-retry retries every status outside `doNotRetry` with a fixed quadratic
 * delay and cannot look at bodies. Registered before it, this hook sees each error first: anything that
 * is not transient (4xx, `breaker open`) gets `retries = 0` so it surfaces at once; a transient one waits a
 * jittered backoff here, and plugin-retry (configured with a ~1 ms base) then re-sends it.
 */
export function transientRetry(octokit: Octokit, octokitOptions: OctokitOptions): void {
  const settings = octokitOptions.transientRetry;
  if (!settings) return;
  const sleep = settings.sleep ?? defaultSleep;
  octokit.hook.error('request', async (error, options) => {
    const state = options.request as RetryState | undefined;
    if (!isRequestErrorLike(error) || !state) throw error;
    const body = error.response?.data;
    if (state.transientOnce === true || !isTransientFailure(error.status, body)) {
      state.retries = 0;
      throw error;
    }
    const attempt = state.retryCount ?? 0;
    state.retries = settings.retries;
    if (attempt < settings.retries) {
      const delay = backoff(
        attempt + 1,
        { startMs: settings.baseDelayMs, capMs: settings.maxDelayMs ?? 10_000, jitter: EQUAL_JITTER },
        settings.random ?? Math.random,
      );
      settings.logger.warn('github request failed, retrying', {
        method: options.method,
        url: options.url,
        status: error.status,
        retry: attempt + 1,
        delayMs: delay,
      });
      await sleep(delay);
    }
    throw error;
  });
}
