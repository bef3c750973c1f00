import type { FailureCheckRun } from '../../domain/failure-advice.ts';
import type { Job } from '../../domain/job.ts';
import { JobStatus } from '../../domain/job-status.ts';
import { type CreatedCheckRun, type GitHubPort, GitHubRequestError } from '../../ports/github.ts';
import type { JobRepository } from '../../ports/store.ts';

/**
 * At least once, never twice (docs/design.md "Failures on GitHub"): how a claimed failure check run is
 * posted, by the report right after the failure and by the reconciler later. A post whose outcome is
 * unknown (5xx, timeout, network) may have created the check run, so it is never sent again blindly: the
 * commit's check runs of that name are looked up by `external_id` (the job id) first.
 */

/** Rounds (the report's, then one per reconciler pass) after which a claimed check run is given up. */
export const FAILURE_CHECK_RUN_MAX_TRIES = 5;
/** A claimed check run older than this is given up: the developer has long stopped looking. */
export const FAILURE_CHECK_RUN_MAX_AGE_MS = 60 * 60 * 1000;
/**
 * The first reconciler round waits this long after the last round's write. Why 2 min: the report gives up
 * after 5 s but a post it sent may still be in flight until the client's own timeout (60 s); a look-up
 * before it lands would miss it and post a second one.
 */
export const FAILURE_CHECK_RUN_FIRST_RETRY_MS = 2 * 60 * 1000;
/** Longest wait between two reconciler rounds. */
export const FAILURE_CHECK_RUN_MAX_RETRY_MS = 16 * 60 * 1000;

/** Rounds made so far; a job claimed before the count was kept made one. */
export function failureCheckRunTries(job: Pick<Job, 'failureCheckRunTries'>): number {
  return job.failureCheckRunTries ?? 1;
}

/** Claimed, neither posted nor given up: the reconciler's to retry. */
export function failureCheckRunPending(
  job: Pick<Job, 'status' | 'failureCheckRunAt' | 'failureCheckRunPostedAt' | 'failureCheckRunGaveUp'>,
): boolean {
  return (
    job.status === JobStatus.failed &&
    job.failureCheckRunAt !== undefined &&
    job.failureCheckRunPostedAt === undefined &&
    job.failureCheckRunGaveUp === undefined
  );
}

/** When the next reconciler round of a pending check run is due: 2, 4, 8, 16 min after the last round. */
export function failureCheckRunDueAt(job: Pick<Job, 'updatedAt' | 'failureCheckRunTries'>): number {
  const tries = failureCheckRunTries(job);
  const wait = Math.min(FAILURE_CHECK_RUN_MAX_RETRY_MS, FAILURE_CHECK_RUN_FIRST_RETRY_MS * 2 ** Math.max(0, tries - 1));
  return job.updatedAt + wait;
}

/** Why a pending check run is given up now, or undefined while it may be tried again. */
export function failureCheckRunExpired(
  job: Pick<Job, 'failureCheckRunAt' | 'failureCheckRunTries'>,
  now: number,
): string | undefined {
  const tries = failureCheckRunTries(job);
  if (tries >= FAILURE_CHECK_RUN_MAX_TRIES) return `not posted after ${tries} tries`;
  if (job.failureCheckRunAt !== undefined && now - job.failureCheckRunAt > FAILURE_CHECK_RUN_MAX_AGE_MS) {
    return 'not posted within an hour of the failure';
  }
  return undefined;
}

/** What a failed request to GitHub says about the post. */
export const PostErrorKind = {
  /** 5xx, a timeout, a network error, a 2xx with a body we cannot read: the check run may exist. */
  unknown: 'unknown',
  /** Rate limited (429, or a 403 naming a rate limit): nothing was created; later. */
  later: 'later',
  /** 403 otherwise: the `checks: write` permission is gone. Final. */
  permission: 'permission',
  /** Any other 4xx (422 a body refused, 404 a repository gone): final. */
  refused: 'refused',
} as const;
export type PostErrorKind = (typeof PostErrorKind)[keyof typeof PostErrorKind];

export function postErrorKind(error: unknown): PostErrorKind {
  if (!(error instanceof GitHubRequestError)) return PostErrorKind.unknown;
  const { status } = error;
  if (status === 0 || status >= 500 || (status >= 200 && status < 300)) return PostErrorKind.unknown;
  if (status === 429) return PostErrorKind.later;
  if (status === 403) return /rate limit/i.test(error.body) ? PostErrorKind.later : PostErrorKind.permission;
  return PostErrorKind.refused;
}

export type Delivery =
  | { kind: 'posted'; run: CreatedCheckRun; posts: number }
  | { kind: 'found'; run: CreatedCheckRun; posts: number }
  | { kind: 'permission' | 'refused'; error: string; posts: number }
  | { kind: 'pending'; error: string; posts: number };

export interface DeliverOptions {
  /** Posts at most (each after the first preceded by a look-up). */
  posts: number;
  /** Look up before the first post too (the reconciler: an earlier round may have landed). */
  lookFirst: boolean;
  /** Wait before each look-up after a failed post: `delayMs × n`. */
  delayMs: number;
  /** True once the caller gave up (its deadline): no new request is started. */
  stopped: () => boolean;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
const sleep = (ms: number) => (ms > 0 ? new Promise<void>((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

/**
 * Look-up-then-post, bounded: a post is sent only when no earlier one is known to have answered and the
 * look-up found none. A look-up that fails stops the round (a post then could be a second one).
 */
export async function deliverFailureCheckRun(
  github: Pick<GitHubPort, 'createCheckRun' | 'findCheckRun'>,
  job: Pick<Job, 'installationId' | 'owner' | 'repo'>,
  body: FailureCheckRun,
  options: DeliverOptions,
): Promise<Delivery> {
  const query = { headSha: body.head_sha, name: body.name, externalId: body.external_id };
  let posts = 0;
  let last = 'no post was tried';
  for (let round = 0; round < options.posts; round++) {
    if (options.stopped()) return { kind: 'pending', error: last, posts };
    if (round > 0 || options.lookFirst) {
      await sleep(round > 0 ? options.delayMs * round : 0);
      if (options.stopped()) return { kind: 'pending', error: last, posts };
      try {
        const found = await github.findCheckRun(job.installationId, job.owner, job.repo, query);
        if (found) return { kind: 'found', run: found, posts };
      } catch (error) {
        const kind = postErrorKind(error);
        if (kind === PostErrorKind.permission || kind === PostErrorKind.refused) {
          return { kind, error: message(error), posts };
        }
        return { kind: 'pending', error: `look-up failed: ${message(error)}`, posts };
      }
      if (options.stopped()) return { kind: 'pending', error: last, posts };
    }
    try {
      posts += 1;
      const run = await github.createCheckRun(job.installationId, job.owner, job.repo, body);
      return { kind: 'posted', run, posts };
    } catch (error) {
      const kind = postErrorKind(error);
      last = message(error);
      if (kind === PostErrorKind.permission || kind === PostErrorKind.refused) return { kind, error: last, posts };
      if (kind === PostErrorKind.later) return { kind: 'pending', error: last, posts };
    }
  }
  return { kind: 'pending', error: last, posts };
}

/**
 * Records a final delivery on the job (still `failed`): `failureCheckRunPostedAt` for a check run posted
 * or found, `failureCheckRunGaveUp` for a final refusal. A pending one writes nothing: its claim already
 * marks it for the reconciler. Returns the written job, or undefined when nothing was written.
 */
export async function recordDelivery(
  jobs: Pick<JobRepository, 'update'>,
  job: Pick<Job, 'jobId'>,
  delivery: Delivery,
  now: number,
): Promise<Job | undefined> {
  switch (delivery.kind) {
    case 'posted':
    case 'found':
      return jobs.update(
        job.jobId,
        { statusIn: [JobStatus.failed] },
        {
          set: { failureCheckRunPostedAt: now },
          event: {
            status: JobStatus.failed,
            note:
              delivery.kind === 'posted'
                ? `failure check run ${delivery.run.id} posted`
                : `failure check run ${delivery.run.id} found posted by an earlier try`,
          },
        },
        now,
      );
    case 'permission':
    case 'refused':
      return giveUp(jobs, job, `GitHub refused it: ${delivery.error.slice(0, 300)}`, now);
    case 'pending':
      return undefined;
  }
}

/** Marks a claimed check run given up, with the reason (history and `failureCheckRunGaveUp`). */
export function giveUp(jobs: Pick<JobRepository, 'update'>, job: Pick<Job, 'jobId'>, why: string, now: number) {
  return jobs.update(
    job.jobId,
    { statusIn: [JobStatus.failed] },
    {
      set: { failureCheckRunGaveUp: why },
      event: { status: JobStatus.failed, note: `failure check run given up: ${why}` },
    },
    now,
  );
}
