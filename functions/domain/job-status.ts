/**
 * Job lifecycle (docs/design.md "State"). Terminal states are `completed` and `failed`.
 *
 *   queued ─▶ provisioning ─▶ launched ─▶ running ─▶ completed
 *      ▲  ╲        │  ╲           │  ╲                  ▲
 *      │   ╲       ▼   ▼          ▼   ╲                 │
 *      │  waiting-breaker       healing ─▶ (re-provision)│
 *      └──────────── retry ◀──────┘          any ─▶ failed
 *
 * `waiting-capacity` is a job whose pool is full: only a provisioning leaves it for a runner (or an end).
 *
 * `waiting` is GitHub's own state of a job held by an environment's required reviewers
 * (docs/design.md "Approval waits"): any state before `running` may enter it, and it leaves only to
 * `queued` (approved: assignable again) or to an end. It holds no runner and no lease.
 */
export const JobStatus = {
  queued: 'queued',
  provisioning: 'provisioning',
  waitingBreaker: 'waiting-breaker',
  /** Held by an environment approval: not assignable to any runner until GitHub queues it again. */
  waiting: 'waiting',
  /**
   * Its pool has `maxRunners` runners alive: the job waits in the pool's backlog, holding no runner and
   * no lease, until a runner of the pool ends and hands it a slot (docs/design.md "Capacity").
   */
  waitingCapacity: 'waiting-capacity',
  launched: 'launched',
  healing: 'healing',
  running: 'running',
  completed: 'completed',
  failed: 'failed',
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

export const TERMINAL_STATUSES: readonly JobStatus[] = [JobStatus.completed, JobStatus.failed];

export function isTerminal(status: JobStatus): boolean {
  return status === JobStatus.completed || status === JobStatus.failed;
}

const ALLOWED: Record<JobStatus, readonly JobStatus[]> = {
  queued: ['provisioning', 'running', 'completed', 'failed', 'waiting-breaker', 'waiting'],
  provisioning: [
    'queued',
    'launched',
    'waiting-breaker',
    'waiting-capacity',
    'running',
    'completed',
    'failed',
    'healing',
    'waiting',
  ],
  // Why `running`: a runner of the pool minted for another job may take this one (runners match by labels).
  'waiting-capacity': ['provisioning', 'queued', 'running', 'completed', 'failed', 'waiting'],
  'waiting-breaker': ['queued', 'provisioning', 'running', 'completed', 'failed', 'waiting'],
  launched: ['running', 'healing', 'queued', 'provisioning', 'completed', 'failed', 'waiting-breaker', 'waiting'],
  healing: ['queued', 'provisioning', 'running', 'completed', 'failed', 'waiting-breaker', 'waiting'],
  // Why `running` is allowed: an `in_progress` may overtake the `queued` that ended the wait.
  waiting: ['queued', 'running', 'completed', 'failed'],
  running: ['completed', 'failed'],
  completed: [],
  failed: [],
};

/** Whether the state machine allows `from → to`. Staying in the same state is not a transition. */
export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** The states from which `to` may be entered; used to build conditional writes. */
export function statusesAllowing(to: JobStatus): JobStatus[] {
  return (Object.keys(ALLOWED) as JobStatus[]).filter((from) => ALLOWED[from].includes(to));
}
