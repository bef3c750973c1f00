/**
 * A job's budgets and the one backoff, as pure rules (docs/design.md "Budgets and backoff"). Every loop
 * that mints runners or repeats a step is bounded here; the limits are arguments (the configuration's
 * `limits`), so this file holds no default of its own.
 *
 * A job's attempts (runner names `<prefix>-<job id>-<attempt>`) are spent two ways: a runner failed
 * (or the first one), or the runner was stolen — it ran another job of the fleet, so nothing was wrong
 * with it and the fleet had the right number of runners. Only the first kind counts toward
 * `MAX_ATTEMPTS_PER_JOB`; thefts have their own bound (`MAX_THEFTS_PER_JOB`). Heals count the
 * failure-handling steps (heal, relaunch, re-mint, retry) and are bounded by `MAX_HEALS_PER_JOB`.
 */

/** The per-job bounds (`config.limits`). */
export interface JobLimits {
  /** Runners minted because of a failure, counting the first (`MAX_ATTEMPTS_PER_JOB`); thefts are not counted. */
  maxAttemptsPerJob: number;
  /** Failure-handling steps per job: heals, relaunches, re-mints, retries (`MAX_HEALS_PER_JOB`). */
  maxHealsPerJob: number;
  /** Replacements of stolen runners per job (`MAX_THEFTS_PER_JOB`). */
  maxTheftsPerJob: number;
}

/** What a job has spent so far (its `Job` fields). */
export interface JobSpending {
  /** Current attempt (1-based): the runners minted so far, or the one about to be minted. */
  attempt: number;
  /** How many attempts replaced a stolen runner (absent on items written before the field existed: 0). */
  thefts?: number | undefined;
  /** Attempts skipped by an approval wait (docs/design.md "Approval waits"; absent: 0). Never a failure. */
  waits?: number | undefined;
  /** Failure-handling steps already spent. */
  heals: number;
}

/** `Job.thefts`: stolen runners replaced so far (absent on items written before the field existed: 0). */
export function theftsOf(job: { thefts?: number | undefined }): number {
  return job.thefts ?? 0;
}

/** `Job.waits`: attempts skipped because the job went `waiting` for an approval (absent: 0). */
export function waitsOf(job: { waits?: number | undefined }): number {
  return job.waits ?? 0;
}

/**
 * Attempts spent on the first runner and on failures: the figure compared with `MAX_ATTEMPTS_PER_JOB`.
 * Thefts and approval waits spend none.
 */
export function failureAttempts(job: {
  attempt: number;
  thefts?: number | undefined;
  waits?: number | undefined;
}): number {
  return job.attempt - theftsOf(job) - waitsOf(job);
}

export const Budget = { attempts: 'attempts', heals: 'heals', thefts: 'thefts' } as const;
export type Budget = (typeof Budget)[keyof typeof Budget];

/** The next step of a job, named by what it spends (see {@link spentBudget}). */
export const JobStep = {
  /** Mint the runner of the job's current attempt (its first runner, or a mint tried again): that attempt. */
  mint: 'mint',
  /** Handle a runner failure with a new runner (heal, relaunch, re-mint): the next attempt and a heal. */
  newRunner: 'new-runner',
  /** Repeat the failed step later, with no new runner: a heal. */
  retry: 'retry',
  /** Mint under the next attempt's name because our own leftover registration held the current one: the next attempt. */
  nextName: 'next-name',
  /** Replace a stolen runner: the next attempt, counted as a theft rather than a failure attempt. */
  replaceStolen: 'replace-stolen',
} as const;
export type JobStep = (typeof JobStep)[keyof typeof JobStep];

/** A budget the step would overrun: `used` is how much of it the job spent before the step. */
export interface SpentBudget {
  budget: Budget;
  used: number;
  limit: number;
}

/**
 * Whether the job may take `step`: undefined when every budget the step spends has room left, else the
 * first one it would overrun (failure attempts before heals). Only the budgets the step spends are
 * checked: a theft replacement, for one, is not refused because of the job's failures.
 */
export function spentBudget(job: JobSpending, step: JobStep, limits: JobLimits): SpentBudget | undefined {
  /** Minting under attempt `attempt` keeps the failure attempts within the limit. */
  const attempts = (attempt: number): SpentBudget | undefined => {
    const after = failureAttempts({ attempt, thefts: job.thefts, waits: job.waits });
    const limit = limits.maxAttemptsPerJob;
    return after > limit ? { budget: Budget.attempts, used: after - 1, limit } : undefined;
  };
  const heals = (): SpentBudget | undefined => {
    const limit = limits.maxHealsPerJob;
    return job.heals + 1 > limit ? { budget: Budget.heals, used: job.heals, limit } : undefined;
  };
  const thefts = (): SpentBudget | undefined => {
    const used = theftsOf(job);
    const limit = limits.maxTheftsPerJob;
    return used + 1 > limit ? { budget: Budget.thefts, used, limit } : undefined;
  };
  switch (step) {
    case JobStep.mint:
      return attempts(job.attempt);
    case JobStep.newRunner:
      return attempts(job.attempt + 1) ?? heals();
    case JobStep.retry:
      return heals();
    case JobStep.nextName:
      return attempts(job.attempt + 1);
    case JobStep.replaceStolen:
      return thefts();
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The give-up reason of a job that ran out of `spent`, in the one wording every caller uses (the job's
 * `reason`, after the failure that ended it). Thefts read as the swap they are, not as a failure count.
 */
export function giveUpReason(spent: SpentBudget): string {
  switch (spent.budget) {
    case Budget.attempts:
      return `attempt budget of ${spent.limit} spent: gave up after ${plural(spent.used, 'attempt')} (limit ${spent.limit} per job)`;
    case Budget.heals:
      return `failure-handling budget of ${spent.limit} spent: gave up after ${plural(spent.used, 'failure-handling step')} (limit ${spent.limit} per job)`;
    case Budget.thefts:
      return `the theft budget (${plural(spent.limit, 'replacement')} of stolen runners) is spent`;
  }
}

// ───────────── backoff ─────────────

/**
 * How a backoff grows: the window for try n is `min(capMs, startMs · 2^(n-1))`, and `jitter` (0–1) is the
 * share of it drawn at random — the wait is in `[window · (1 - jitter), window]`.
 */
export interface BackoffSchedule {
  startMs: number;
  capMs: number;
  jitter: number;
}

/**
 * "Equal jitter": half the window is random. Why not full jitter: it can draw ~0 ms, which would hammer a
 * scope GitHub just told us to leave alone; keeping half of the window spreads the retries of many jobs
 * apart while guaranteeing a real pause.
 */
export const EQUAL_JITTER = 0.5;

/** Re-provisioning after a transient mint or launch failure (by attempt: such retries do not change it). */
export const PROVISION_RETRY_BACKOFF: Readonly<BackoffSchedule> = {
  startMs: 1_000,
  capMs: 30_000,
  jitter: EQUAL_JITTER,
};

/** A failure-policy retry (by heal: each retry spends one). */
export const FAILURE_RETRY_BACKOFF: Readonly<BackoffSchedule> = { startMs: 2_000, capMs: 30_000, jitter: EQUAL_JITTER };

/**
 * The jittered, capped exponential wait before try `attempt` (1-based), in ms. `random` returns a number
 * in [0, 1) (e.g. `Math.random`), passed in to keep this pure. Every backoff of the fleet is this one:
 * provisioning retries, failure-policy retries, breaker windows and the GitHub client's request retries.
 */
export function backoff(attempt: number, schedule: BackoffSchedule, random: () => number): number {
  const window = backoffCeiling(attempt, schedule);
  const jitter = clampUnit(schedule.jitter);
  return Math.round(window * (1 - jitter) + window * jitter * clampUnit(random()));
}

/** The un-jittered window for `attempt`: `min(capMs, startMs · 2^(attempt-1))`, never negative. */
export function backoffCeiling(attempt: number, schedule: Pick<BackoffSchedule, 'startMs' | 'capMs'>): number {
  const start = Math.max(0, schedule.startMs);
  const cap = Math.max(0, schedule.capMs);
  const n = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
  // 2^(n-1) overflows to Infinity for large n; Math.min with the cap keeps the result finite.
  return Math.min(cap, start * 2 ** (n - 1));
}

function clampUnit(value: number): number {
  if (!Number.isFinite(value) || value < 0) return 0;
  return Math.min(value, 1);
}
