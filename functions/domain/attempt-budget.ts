/**
 * A job's attempts (runner names `<prefix>-<job id>-<attempt>`) are spent two ways: a runner failed
 * (or the first one), or the runner was stolen — it ran another job of the fleet, so nothing was wrong
 * with it and the fleet had the right number of runners. Only the first kind counts toward
 * `MAX_ATTEMPTS_PER_JOB`; thefts have their own bound (`MAX_THEFTS_PER_JOB`).
 */

/** `Job.thefts`: stolen runners replaced so far (absent on items written before the field existed: 0). */
export function theftsOf(job: { thefts?: number | undefined }): number {
  return job.thefts ?? 0;
}

/** Attempts spent on the first runner and on failures: the figure compared with `MAX_ATTEMPTS_PER_JOB`. */
export function failureAttempts(job: { attempt: number; thefts?: number | undefined }): number {
  return job.attempt - theftsOf(job);
}
