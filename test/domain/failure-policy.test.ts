import { describe, expect, it } from 'vitest';
import {
  type Classification,
  classifyApiError,
  classifyBootstrapExit,
  classifyLogLine,
  classifyTimeout,
} from '../../functions/domain/classify-failure.ts';
import { FailureClass } from '../../functions/domain/failure-class.ts';
import {
  ACTION_FOR_CLASS,
  type DecideInput,
  decide,
  decideProvisionFailure,
  decideRunnerEnded,
  type FailureAction,
  type FailureLimits,
  mintsRunner,
  spendsHeal,
} from '../../functions/domain/failure-policy.ts';
import { CHECKSUM_MISMATCH_LINE } from './runner-log-lines.ts';

const NOW = Date.UTC(2026, 10, 23, 5, 40, 0);
const BROKER_LINE =
  '2026-11-23 05:40:01Z: Runner connect error: Failed to get job message. Request to https://broker.actions.githubusercontent.com/message failed with status: BadRequest. Error message Error: Bad Request. Retrying until reconnected.';
const JIT = 'POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig';

function log(line: string): Classification {
  const c = classifyLogLine(line);
  if (!c) throw new Error(`test line not classified: ${line}`);
  return c;
}

const metadata = log(BROKER_LINE);
const breakerOpen = log(
  '2026-11-23 05:41:12Z: Runner connect error: Failed to get job message. Error message breaker open.',
);
const deprecated = log(
  'An error occured: Forbidden Runner version v2.331.0 is deprecated and cannot receive messages.',
);
const gone = log('The runner no longer exists on the server. Please reconfigure the runner.');
const sessionConflict = log('A session for this runner already exists.');
const api502 = classifyApiError({ status: 502, body: '', endpoint: JIT, scopeKey: 'octo/hello' });
const api403 = classifyApiError({
  status: 403,
  body: '{"message":"Resource not accessible by integration"}',
  endpoint: JIT,
  scopeKey: 'octo/hello',
});
const rateLimited = classifyApiError({
  status: 429,
  body: '',
  endpoint: JIT,
  scopeKey: 'octo/hello',
  retryAfterSeconds: 45,
});
const neverOnline = classifyTimeout({ kind: 'never-online', runnerName: 'jr-1-1', waitedMs: 120_000 });
const stolen = classifyTimeout({ kind: 'not-picked', runnerName: 'jr-1-1', jobId: 1, waitedMs: 1, runnerTookJobId: 2 });

/** The limits the specs decide with (the configuration's defaults, passed in as the use cases do). */
const LIMITS: Readonly<FailureLimits> = {
  maxAttemptsPerJob: 3,
  maxWorkaroundsPerScope: 3,
  maxHealsPerJob: 10,
  maxTheftsPerJob: 10,
};

/** A decision input; the signal is about the job's current attempt unless said otherwise. */
function input(over: Partial<DecideInput> = {}): DecideInput {
  return {
    classification: metadata,
    job: { attempt: 1, heals: 0, status: 'launched' },
    signalAttempt: over.job?.attempt ?? 1,
    runnerMintedAt: NOW - 60_000,
    limits: { ...LIMITS },
    baselinePolicy: 'on-error',
    baseline: undefined,
    versions: { current: '2.331.0', pinned: '2.331.0', fallback: '2.330.0', floor: '2.329.0' },
    now: NOW,
    random: () => 0,
    ...over,
  };
}

function reasonOf(action: FailureAction): string {
  expect(action.kind).toBe('fail');
  return action.kind === 'fail' ? action.reason : '';
}

describe('ACTION_FOR_CLASS', () => {
  it('maps every failure class to an action, as docs/design.md "Failure classes" says', () => {
    expect(Object.keys(ACTION_FOR_CLASS).sort()).toEqual(Object.values(FailureClass).sort());
    expect(ACTION_FOR_CLASS).toMatchObject({
      'metadata-missing': 'heal-metadata',
      'breaker-open': 'open-breaker',
      'version-deprecated': 'relaunch',
      'registration-gone': 'remint',
      transient: 'retry',
      config: 'fail',
      stolen: 'replace-if-queued',
    });
  });
});

describe('decide: the usual action per class', () => {
  it.each<[string, Partial<DecideInput>, FailureAction]>([
    ['metadata-missing in a scope without baseline → heal', {}, { kind: 'heal-metadata' }],
    [
      'metadata-missing from the API (runner lookup 503) → heal',
      {
        classification: classifyApiError({
          status: 503,
          body: '',
          endpoint: 'GET /repos/{owner}/{repo}/actions/runners/{runner_id}',
          scopeKey: 'octo/hello',
          runnerLaunched: true,
        }),
      },
      { kind: 'heal-metadata' },
    ],
    ['breaker-open → open the breaker', { classification: breakerOpen }, { kind: 'open-breaker' }],
    [
      'version-deprecated → relaunch on the fallback',
      { classification: deprecated },
      { kind: 'relaunch', useFallbackVersion: true, version: '2.330.0' },
    ],
    ['registration-gone → remint', { classification: gone }, { kind: 'remint' }],
    ['stolen → replace if still queued', { classification: stolen }, { kind: 'replace-if-queued' }],
    [
      'start-timeout with a present baseline → remint',
      {
        classification: neverOnline,
        baseline: { state: 'present', verifiedOnlineAt: NOW - 3_600_000, workarounds: 1 },
      },
      { kind: 'remint' },
    ],
    ['start-timeout in a scope without baseline → heal', { classification: neverOnline }, { kind: 'heal-metadata' }],
    [
      'start-timeout without baseline under policy off → remint',
      { classification: neverOnline, baselinePolicy: 'off' },
      { kind: 'remint' },
    ],
    [
      'start-timeout once the scope workaround budget is spent → remint',
      { classification: neverOnline, baseline: { state: 'failed', workarounds: 3 } },
      { kind: 'remint' },
    ],
  ])('%s', (_name, over, expected) => {
    expect(decide(input(over))).toEqual(expected);
  });

  it('fails a config error at once with a clear reason and no retry', () => {
    const reason = reasonOf(decide(input({ classification: api403 })));
    expect(reason).toContain('config');
    expect(reason).toContain('Resource not accessible by integration');
    expect(reason).toContain('not retried');
  });

  it('fails a clock-skew runner with the host clock named', () => {
    const reason = reasonOf(
      decide(
        input({
          classification: log(
            "The local machine's clock may be out of sync with the server time by more than five minutes. Please sync your clock.",
          ),
        }),
      ),
    );
    expect(reason).toMatch(/clock/);
  });
});

describe('decide: metadata-missing and the baseline', () => {
  it('re-mints without a second workaround when the baseline was verified after the runner was minted', () => {
    const action = decide(
      input({
        baseline: { state: 'present', verifiedOnlineAt: NOW - 1_000, workarounds: 1 },
        runnerMintedAt: NOW - 60_000,
      }),
    );
    expect(action).toEqual({ kind: 'remint' });
  });

  it('runs the workaround again when the baseline predates the stuck runner', () => {
    const action = decide(
      input({
        baseline: { state: 'present', verifiedOnlineAt: NOW - 120_000, workarounds: 1 },
        runnerMintedAt: NOW - 60_000,
      }),
    );
    expect(action).toEqual({ kind: 'heal-metadata' });
  });

  it('joins a workaround another process is running', () => {
    expect(decide(input({ baseline: { state: 'healing', workarounds: 3 } }))).toEqual({ kind: 'heal-metadata' });
  });

  it('fails with a reason once the scope has spent its workarounds', () => {
    const reason = reasonOf(decide(input({ baseline: { state: 'failed', workarounds: 3 } })));
    expect(reason).toContain('metadata-missing');
    expect(reason).toContain('workaround already ran 3 times');
    expect(reason).toContain('limit 3');
  });

  it('with policy off, re-mints without the workaround while attempts last', () => {
    expect(decide(input({ baselinePolicy: 'off' }))).toEqual({ kind: 'remint' });
  });

  it('with policy off, fails after the bounded attempts and says why', () => {
    const reason = reasonOf(
      decide(input({ baselinePolicy: 'off', job: { attempt: 3, heals: 2, status: 'launched' } })),
    );
    expect(reason).toContain('gave up after 3 attempts');
    expect(reason).toContain('baseline policy off');
    expect(reason).toContain('jit-runners baseline ensure');
  });

  it('heals the same way under the proactive policy (a baseline can still go missing)', () => {
    expect(decide(input({ baselinePolicy: 'proactive' }))).toEqual({ kind: 'heal-metadata' });
  });
});

describe('decide: budgets', () => {
  it.each<[string, Classification]>([
    ['metadata-missing', metadata],
    ['version-deprecated', deprecated],
    ['registration-gone', gone],
    ['stolen', stolen],
    ['start-timeout', neverOnline],
  ])('fails %s once the job has used all its attempts', (cls, classification) => {
    const reason = reasonOf(decide(input({ classification, job: { attempt: 3, heals: 2, status: 'launched' } })));
    expect(reason.startsWith(`${cls}: `)).toBe(true);
    expect(reason).toContain('gave up after 3 attempts (limit 3 per job)');
  });

  it('allows a new runner while attempts remain', () => {
    expect(decide(input({ classification: gone, job: { attempt: 2, heals: 1, status: 'launched' } }))).toEqual({
      kind: 'remint',
    });
  });

  it('does not count attempts that replaced stolen runners: attempt 5 after 3 thefts still has one left', () => {
    const job = { attempt: 5, thefts: 3, heals: 1, status: 'launched' } as const;
    expect(decide(input({ classification: gone, job, signalAttempt: 5 }))).toEqual({ kind: 'remint' });
  });

  it('counts only failure attempts in the give-up reason once the budget is spent after thefts', () => {
    const job = { attempt: 5, thefts: 2, heals: 2, status: 'launched' } as const;
    const reason = reasonOf(decide(input({ classification: gone, job, signalAttempt: 5 })));
    expect(reason).toContain('gave up after 3 attempts (limit 3 per job)');
  });

  it('fails once the job has used all its failure-handling steps, even with attempts left', () => {
    const reason = reasonOf(
      decide(input({ classification: gone, job: { attempt: 1, heals: 10, status: 'launched' } })),
    );
    expect(reason).toContain('gave up after 10 failure-handling steps');
  });

  it('does not spend the job budget on an open breaker', () => {
    expect(decide(input({ classification: breakerOpen, job: { attempt: 3, heals: 10, status: 'launched' } }))).toEqual({
      kind: 'open-breaker',
    });
  });

  it('honours configured limits', () => {
    const limits = { ...LIMITS, maxAttemptsPerJob: 1 };
    expect(decide(input({ classification: gone, limits })).kind).toBe('fail');
  });
});

describe('decide: checksum mismatch', () => {
  const mismatch = log(CHECKSUM_MISMATCH_LINE);

  it('fails the job at once, naming the version and the expected digest, on its first attempt', () => {
    const action = decide(input({ classification: mismatch, job: { attempt: 1, heals: 0, status: 'launched' } }));
    const reason = reasonOf(action);
    expect(reason.startsWith('checksum-mismatch: ')).toBe(true);
    expect(reason).toContain('version v2.330.0');
    expect(reason).toContain('expected sha256 af5c33fa94f3cc33b8e97937939136a6b04197e6dadfcfb3b6e33ae1bf41e79a');
    expect(reason).toContain('not retried');
  });

  it('spends no heal and mints no runner (no retry storm)', () => {
    const action = decide(input({ classification: mismatch }));
    expect(spendsHeal(action)).toBe(false);
    expect(mintsRunner(action)).toBe(false);
    expect(ACTION_FOR_CLASS['checksum-mismatch']).toBe('fail');
  });

  it('still ignores the line of an older attempt (the job already moved on)', () => {
    const action = decide(
      input({ classification: mismatch, job: { attempt: 2, heals: 1, status: 'launched' }, signalAttempt: 1 }),
    );
    expect(action.kind).toBe('ignore');
  });
});

describe('decideRunnerEnded', () => {
  const exited = classifyTimeout({ kind: 'never-online', runnerName: 'jr-1-1', waitedMs: 1 });

  it('mints a fresh runner while the job has attempts and heals left', () => {
    expect(decideRunnerEnded({ classification: exited, job: { attempt: 2, heals: 1 }, limits: LIMITS })).toEqual({
      kind: 'remint',
    });
  });

  it('fails with the class, the detail and the give-up reason once the attempts are spent', () => {
    const reason = reasonOf(
      decideRunnerEnded({ classification: exited, job: { attempt: 3, heals: 2 }, limits: LIMITS }),
    );
    expect(reason.startsWith(`${exited.class}: ${exited.detail}; `)).toBe(true);
    expect(reason).toMatch(/gave up after 3 attempts \(limit 3 per job\)$/);
  });

  it('fails at once when the bootstrap exited with its checksum-mismatch code, attempts left or not', () => {
    const exit4 = classifyBootstrapExit({ runnerName: 'jr-1-1', code: 4 });
    if (!exit4) throw new Error('exit 4 not classified');
    const reason = reasonOf(
      decideRunnerEnded({ classification: exit4, job: { attempt: 1, heals: 0 }, limits: LIMITS }),
    );
    expect(reason.startsWith('checksum-mismatch: ')).toBe(true);
    expect(reason).toContain('not retried');
  });

  it('fails at once when the bootstrap found no checksum for the tarball', () => {
    const exit3 = classifyBootstrapExit({ runnerName: 'jr-1-1', code: 3 });
    if (!exit3) throw new Error('exit 3 not classified');
    expect(decideRunnerEnded({ classification: exit3, job: { attempt: 1, heals: 0 }, limits: LIMITS }).kind).toBe(
      'fail',
    );
  });

  it('fails once the failure-handling steps are spent, with the same reason decide gives', () => {
    const job = { attempt: 1, heals: 10 };
    const ended = decideRunnerEnded({ classification: gone, job, limits: LIMITS });
    expect(reasonOf(ended)).toContain('gave up after 10 failure-handling steps (limit 10 per job)');
    expect(ended).toEqual(decide(input({ classification: gone, job: { ...job, status: 'launched' } })));
  });
});

describe('decideProvisionFailure', () => {
  const base = { cause: 'GitHub answered 502 to POST /x', job: { attempt: 1, heals: 0 }, limits: LIMITS, now: NOW };

  it('parks the job for an open breaker', () => {
    expect(decideProvisionFailure({ ...base, failureClass: FailureClass.breakerOpen, random: () => 0 })).toEqual({
      kind: 'open-breaker',
    });
  });

  it('fails a configuration error with the cause as the reason', () => {
    expect(
      decideProvisionFailure({
        ...base,
        cause: 'launcher: denied',
        failureClass: FailureClass.config,
        random: () => 0,
      }),
    ).toEqual({
      kind: 'fail',
      reason: 'launcher: denied',
    });
  });

  it('fails a checksum mismatch with the cause as the reason', () => {
    expect(
      decideProvisionFailure({
        ...base,
        cause: 'tarball refused',
        failureClass: FailureClass.checksumMismatch,
        random: () => 0,
      }),
    ).toEqual({ kind: 'fail', reason: 'tarball refused' });
  });

  it.each(
    Object.values(FailureClass).filter(
      (c) => c !== FailureClass.breakerOpen && c !== FailureClass.config && c !== FailureClass.checksumMismatch,
    ),
  )('retries %s under the same attempt after a backoff from 1 s', (failureClass) => {
    expect(decideProvisionFailure({ ...base, failureClass, random: () => 0.999_999 })).toEqual({
      kind: 'retry',
      backoffMs: 1_000,
      notBefore: NOW + 1_000,
    });
  });

  it('spends neither an attempt nor a heal on a transient retry: a job with its heals spent still retries', () => {
    const action = decideProvisionFailure({
      ...base,
      failureClass: FailureClass.transient,
      job: { attempt: 3, heals: 10 },
      random: () => 0,
    });
    expect(action.kind).toBe('retry');
  });

  it('backs off by attempt, capped at 30 s', () => {
    const waits = [1, 2, 3, 4, 5, 6].map((attempt) => {
      const a = decideProvisionFailure({
        ...base,
        failureClass: FailureClass.transient,
        job: { attempt, heals: 0 },
        limits: { ...LIMITS, maxAttemptsPerJob: 20 },
        random: () => 0.999_999,
      });
      return a.kind === 'retry' ? a.backoffMs : -1;
    });
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000]);
  });

  it('fails a job past its attempt budget instead of retrying it', () => {
    const action = decideProvisionFailure({
      ...base,
      failureClass: FailureClass.transient,
      job: { attempt: 4, heals: 0 },
      random: () => 0,
    });
    expect(reasonOf(action)).toBe(
      'GitHub answered 502 to POST /x; attempt budget of 3 spent: gave up after 3 attempts (limit 3 per job)',
    );
  });

  it('mints the next attempt at once after our leftover registration is deleted', () => {
    const leftover = { ...base, cause: 'runner name jr-1-1 left over', failureClass: FailureClass.registrationGone };
    expect(decideProvisionFailure({ ...leftover, nameLeftOver: true, random: () => 0 })).toEqual({ kind: 'remint' });
  });

  it('fails instead of taking the next name when that would overrun the attempt budget', () => {
    const action = decideProvisionFailure({
      ...base,
      cause: 'runner name jr-1-3 left over',
      failureClass: FailureClass.registrationGone,
      nameLeftOver: true,
      job: { attempt: 3, heals: 0 },
      random: () => 0,
    });
    expect(reasonOf(action)).toBe(
      'runner name jr-1-3 left over; attempt budget of 3 spent: gave up after 3 attempts (limit 3 per job)',
    );
  });
});

describe('decide: transient failures', () => {
  it('retries an API 5xx after a jittered backoff', () => {
    expect(decide(input({ classification: api502, job: { attempt: 1, heals: 0, status: 'provisioning' } }))).toEqual({
      kind: 'retry',
      backoffMs: 1_000,
      notBefore: NOW + 1_000,
    });
  });

  it('backs off longer as heals accumulate, up to the cap', () => {
    const waits = [0, 1, 2, 3, 4, 5].map((heals) => {
      const a = decide(
        input({ classification: api502, job: { attempt: 1, heals, status: 'provisioning' }, random: () => 0.999_999 }),
      );
      return a.kind === 'retry' ? a.backoffMs : -1;
    });
    expect(waits).toEqual([2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it('waits at least as long as retry-after asks', () => {
    const a = decide(input({ classification: rateLimited }));
    expect(a).toEqual({ kind: 'retry', backoffMs: 45_000, notBefore: NOW + 45_000 });
  });

  it('fails after the job has spent its retries', () => {
    const reason = reasonOf(
      decide(input({ classification: api502, job: { attempt: 1, heals: 10, status: 'provisioning' } })),
    );
    expect(reason).toContain('transient');
    expect(reason).toContain('gave up after 10 failure-handling steps');
  });

  it('ignores transient runner log lines: the runner retries them itself', () => {
    expect(decide(input({ classification: sessionConflict })).kind).toBe('ignore');
  });
});

describe('decide: version-deprecated', () => {
  it('fails with advice when no fallback is configured', () => {
    const reason = reasonOf(
      decide(
        input({
          classification: deprecated,
          versions: { current: '2.331.0', pinned: '2.331.0', floor: '2.329.0' },
        }),
      ),
    );
    expect(reason).toContain('no fallback version is configured');
    expect(reason).toContain('pin a newer runner version');
  });

  it('fails when the fallback itself was refused', () => {
    const action = decide(
      input({
        classification: deprecated,
        versions: { current: '2.330.0', pinned: '2.331.0', fallback: '2.330.0', floor: '2.329.0' },
      }),
    );
    expect(reasonOf(action)).toContain('the fallback 2.330.0 is the version that failed');
  });

  it('fails rather than throws on a pin below the floor', () => {
    const action = decide(
      input({ classification: deprecated, versions: { current: '2.300.0', pinned: '2.300.0', floor: '2.329.0' } }),
    );
    expect(reasonOf(action)).toContain('below the minimum 2.329.0');
  });
});

describe('decide: stale and expected signals', () => {
  it('ignores anything about a job already completed or failed', () => {
    expect(decide(input({ job: { attempt: 1, heals: 0, status: 'completed' } })).kind).toBe('ignore');
    expect(decide(input({ classification: api502, job: { attempt: 1, heals: 0, status: 'failed' } })).kind).toBe(
      'ignore',
    );
  });

  it('ignores a signal from an older attempt', () => {
    const a = decide(input({ job: { attempt: 2, heals: 1, status: 'launched' }, signalAttempt: 1 }));
    expect(a).toEqual({ kind: 'ignore', reason: 'signal from attempt 1; the job is at attempt 2' });
  });

  it('ignores registration-gone from a runner we deleted ourselves', () => {
    expect(decide(input({ classification: gone, runnerStoppedByUs: true })).kind).toBe('ignore');
  });

  it('ignores repeated runner lines while the job is already healing', () => {
    expect(decide(input({ job: { attempt: 1, heals: 1, status: 'healing' } })).kind).toBe('ignore');
  });

  it('still decides on API errors while the job is healing', () => {
    expect(decide(input({ classification: api502, job: { attempt: 1, heals: 1, status: 'healing' } })).kind).toBe(
      'retry',
    );
  });

  it('decides the same action for the same signal seen twice', () => {
    expect(decide(input())).toEqual(decide(input()));
  });
});

describe('spendsHeal and mintsRunner', () => {
  it.each<[FailureAction, boolean, boolean]>([
    [{ kind: 'heal-metadata' }, true, true],
    [{ kind: 'relaunch', useFallbackVersion: true, version: '2.330.0' }, true, true],
    [{ kind: 'remint' }, true, true],
    [{ kind: 'replace-if-queued' }, true, true],
    [{ kind: 'retry', backoffMs: 1, notBefore: 1 }, true, false],
    [{ kind: 'open-breaker' }, false, false],
    [{ kind: 'fail', reason: 'x' }, false, false],
    [{ kind: 'ignore', reason: 'x' }, false, false],
  ])('%o → spends a heal: %s, mints a runner: %s', (action, heal, mint) => {
    expect(spendsHeal(action)).toBe(heal);
    expect(mintsRunner(action)).toBe(mint);
  });
});
